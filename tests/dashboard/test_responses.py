"""dashboard/responses.py: every page's real callback answer encodes to the JSON plotly's encoder writes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import dash._callback
import numpy as np
import pandas as pd
import pytest
from dash import dcc, html
from flask.testing import FlaskClient
from plotly.io.json import to_json_plotly  # type: ignore[import-untyped]

from dashboard import responses
from devkit import callbacks
from tests.dashboard import former
from tests.dashboard.test_pages import SCREENER_DEFAULTS

# plotly writes a datetime64 array it meets while walking an answer as nanosecond strings
# (2024-01-02T00:00:00.000000000); orjson writes the same instant without the zero fraction.
ZERO_FRACTION = re.compile(r"(\d{2}:\d{2}:\d{2})\.0+\b")

# One request per callback the load test replays, plus the page layouts (tests/load/locustfile.py).
REQUESTS: list[tuple[str, dict[str, Any]]] = [
    (
        "company-price-graph",
        {
            "company-symbol": "MSFT",
            "company-adjusted": "adj",
            "company-overlays": ["sma_50", "bbands"],
            "company-range": "5Y",
        },
    ),
    ("company-profile", {"company-symbol": "AAPL"}),
    (
        "company-statement-table",
        {"company-symbol": "MSFT", "company-period": "TTM", "company-kind": "income"},
    ),
    ("compare-table", {"compare-symbols": ["AAPL", "MSFT", "JPM"], "compare-span": "3Y"}),
    (
        "valuation-summary",
        {
            "valuation-symbol": "MSFT",
            **{f"valuation-{k}": v for k, v in callbacks.VALUATION_TYPED.items()},
        },
    ),
    (
        "forecast-graph",
        {
            "forecast-symbol": "AAPL",
            "forecast-series": "revenue",
            "forecast-frequency": "Q",
            "forecast-method": "ets",
        },
    ),
    (
        "portfolio-stats",
        {"portfolio-run": 1, "portfolio-holdings": "AAPL:0.5, MSFT:0.3, JPM:0.2", "portfolio-rf": 4.0},
    ),
    ("screener-results", SCREENER_DEFAULTS),
    ("status-runs", {"status-interval": 1}),
]


def plotly_json(value: Any) -> Any:
    return json.loads(ZERO_FRACTION.sub(r"\1", to_json_plotly(value)))


@pytest.fixture
def answers(
    logged_in: Callable[[str], FlaskClient],
    deps: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> list[Any]:
    """The Python values of every page's callback answers, as Dash handed them to its encoder."""
    seen: list[Any] = []

    def recording(value: Any) -> str:
        seen.append(value)
        return responses.to_json(value)

    monkeypatch.setattr(dash._callback, "to_json", recording)
    client = logged_in("ada")  # the admin: every page, Status included
    for path in (
        "/",
        "/compare",
        "/valuation",
        "/forecast",
        "/portfolio",
        "/screener",
        "/history",
        "/status",
    ):
        response = client.post("/_dash-update-component", json=callbacks.page_body(deps, path))
        assert response.status_code == 200
    for output_id, values in REQUESTS:
        body = callbacks.body(callbacks.find(deps, output_id), values)
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 200, (output_id, response.get_data(as_text=True)[:300])
    return seen


def test_the_app_answers_callbacks_through_the_fast_encoder(dash_app: Any) -> None:
    assert dash._callback.to_json is responses.to_json  # type: ignore[attr-defined]


def test_every_page_answer_encodes_to_the_json_plotly_writes(answers: list[Any]) -> None:
    """Same JSON values as Dash's own encoder for the layouts and every replayed callback."""
    assert len(answers) == 8 + len(REQUESTS)
    for value in answers:
        assert json.loads(responses.to_json(value)) == plotly_json(value)


def test_every_page_answer_is_the_former_text_to_the_character(answers: list[Any]) -> None:
    """Escaping the markup characters in the encoded bytes writes the text the former escaping of the
    decoded text wrote, for the layouts and every replayed callback (and a line separator's answer)."""
    for value in [*answers, {"name": "</script>\u2028 \u2029 \u00b2 \u2014"}]:
        assert responses.to_json(value) == former.to_json(value)


def test_components_pandas_and_missing_values_convert_as_plotly_converts_them() -> None:
    """The values orjson refuses on its own: components, Timestamps, NaT/NA, Series, string arrays."""
    value = {
        "table": html.Div([dcc.Markdown("**x**"), html.Span(np.float64("nan"))], id="t"),
        "when": pd.Timestamp("2024-01-02 10:11:12"),
        "missing": [pd.NaT, pd.NA, None],
        "series": pd.Series([1.5, np.nan]),
        "dates": pd.Series(pd.to_datetime(["2024-01-02", "2024-03-04"])),
        "index": pd.DatetimeIndex(["2024-01-02"]),
        "labels": np.array(["FY2023", "FY2024"]),
        "objects": np.array([1, "a", None], dtype=object),
        "ints": np.arange(3),
        1: "non-string key",
    }
    assert json.loads(responses.to_json(value)) == plotly_json(value)


def test_markup_characters_are_escaped_as_plotly_escapes_them() -> None:
    """An answer is embedded in pages: `</script>` and the JS line separators never appear raw."""
    text = responses.to_json({"name": "</script><b>\u2028\u2029"})
    for raw in ("<", ">", "/", "\u2028", "\u2029"):
        assert raw not in text
    assert text == to_json_plotly({"name": "</script><b>\u2028\u2029"})


def test_an_unencodable_value_is_refused() -> None:
    with pytest.raises(TypeError):
        responses.to_json({"x": object()})


def test_the_valuation_assumptions_replayed_are_the_pages_defaults(dash_app: Any) -> None:
    """VALUATION_DEFAULTS are the page's own defaults (beta, cost of debt and tax blank, as the page's link
    state has them); VALUATION_TYPED, which the load mix and these tests send, types the market defaults
    into those three and keeps every other default."""
    from dashboard.pages import valuation

    page = {p.name: p.default for p in valuation.URL.params if p.name in valuation.ASSUMPTIONS}
    assert callbacks.VALUATION_DEFAULTS == page
    assert [callbacks.VALUATION_DEFAULTS[k] for k in valuation.OWN] == [None, None, None]
    assert callbacks.VALUATION_TYPED == {key: spec[1] for key, spec in valuation.ASSUMPTIONS.items()}
    assert list(callbacks.VALUATION_TYPED) == list(valuation.ASSUMPTIONS)  # the callback's argument order
