"""Crafted callback bodies and outages: bounded before parsing, a message instead of a 500, sessions kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from dashboard.app import MAX_REQUEST_BYTES
from dashboard.data.router import NoNodeAvailable
from devkit import callbacks


def post(client: FlaskClient, deps: list[dict[str, Any]], output_id: str, values: dict[str, Any]) -> Any:
    return client.post(
        "/_dash-update-component", json=callbacks.body(callbacks.find(deps, output_id), values)
    )


def text_of(response: Any) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    text: str = response.get_data(as_text=True)
    return text


PORTFOLIO = {"portfolio-rf": 4, "portfolio-run": None}


@pytest.mark.parametrize(
    ("output_id", "values", "message"),
    [
        ("portfolio-stats", {**PORTFOLIO, "portfolio-holdings": {"AAPL": 0.5}}, "holdings must be text"),
        ("portfolio-stats", {**PORTFOLIO, "portfolio-holdings": ["AAPL:0.5"]}, "holdings must be text"),
        ("portfolio-stats", {**PORTFOLIO, "portfolio-holdings": "AAPL:0.5, KO:0.5", "portfolio-rf": True},
         "risk-free rate must be a number"),
        ("compare-table", {"compare-symbols": {"AAPL": 1}, "compare-span": "1Y"}, "tickers must be a list"),
        ("compare-table", {"compare-symbols": [["AAPL"], "KO"], "compare-span": "1Y"}, "enter a ticker such as AAPL"),
        ("company-price-graph", {"company-symbol": "AAPL", "company-adjusted": "adj", "company-range": "1Y",
                                 "company-overlays": "sma_50" * 3}, "overlays must be a list"),
        ("screener-results", {"screener-sectors": {"Energy": 1}, "screener-metric": "pe", "screener-sort": "pe",
                            "screener-order": "asc"}, "sectors must be a list"),
        ("valuation-summary", {"valuation-symbol": {"s": "AAPL"}}, "enter a ticker such as AAPL"),
        ("valuation-inputs", {"valuation-symbol": {"s": "AAPL"}}, "enter a ticker such as AAPL"),
        ("valuation-provenance", {"valuation-inputs-grid": {"rowId": ["fcf"]}, "valuation-symbol": "AAPL"},
         "figure must be text"),
        ("compare-provenance", {"compare-grid": {"rowId": {"s": "AAPL"}, "colId": "pe"}}, "company must be text"),
    ],
)  # fmt: skip
def test_callback_wrong_input_type_answers_a_message_not_a_500(
    logged_in: Callable[[str], FlaskClient],
    deps: list[dict[str, Any]],
    output_id: str,
    values: dict[str, Any],
    message: str,
) -> None:
    """Inputs of the wrong JSON type (object, list, bool) get the page's message with HTTP 200."""
    assert message in text_of(post(logged_in("ann"), deps, output_id, values))


FORECAST = {
    "forecast-symbol": "AAPL",
    "forecast-series": "revenue",
    "forecast-frequency": "FY",
    "forecast-method": "ets",
}


@pytest.mark.parametrize(
    ("output_id", "values", "message"),
    [
        ("screener-provenance", {"screener-grid": {"rowId": {"s": "AAPL"}, "colId": "pe"}, "screener-basis": "fy"},
         "company must be text"),
        ("screener-provenance", {"screener-grid": ["AAPL", "pe"], "screener-basis": "fy"}, "null"),
        ("portfolio-provenance", {"portfolio-weights-grid": {"rowId": ["AAPL"]}, **PORTFOLIO,
                                  "portfolio-holdings": "AAPL:0.5, KO:0.5"}, "holding must be text"),
        ("forecast-provenance", {"forecast-graph": {"points": [{"pointIndex": "9" * 99}]}, **FORECAST},
         "point must be a number"),
        ("forecast-provenance", {"forecast-graph": {"points": "AAPL"}, **FORECAST}, "null"),
    ],
)  # fmt: skip
def test_trail_click_of_the_wrong_shape_answers_a_message_or_nothing_not_a_500(
    logged_in: Callable[[str], FlaskClient],
    deps: list[dict[str, Any]],
    output_id: str,
    values: dict[str, Any],
    message: str,
) -> None:
    """A crafted click on a Screener cell, a Portfolio holding or a Forecast point (an object where text
    belongs, a list where an object does) gets the page's message, or no card, with HTTP 200."""
    assert message in text_of(post(logged_in("ann"), deps, output_id, values))


def test_callback_inputs_bounded_before_parsing(
    logged_in: Callable[[str], FlaskClient], deps: list[dict[str, Any]]
) -> None:
    """20,000 holdings or 10,000 tickers are refused by their length, before any entry is parsed or looked up."""
    client = logged_in("ann")
    holdings = ", ".join(f"Z{i:05d}:1" for i in range(20_000))
    assert len(holdings) < MAX_REQUEST_BYTES
    out = text_of(post(client, deps, "portfolio-stats", {**PORTFOLIO, "portfolio-holdings": holdings}))
    assert "holdings is too long (at most 4,000 characters)" in out
    tickers = [f"Z{i:05d}" for i in range(10_000)]
    out = text_of(post(client, deps, "compare-table", {"compare-symbols": tickers, "compare-span": "1Y"}))
    assert "choose between 2 and 10 tickers" in out
    assert "is not a company we hold" not in out


def test_oversized_request_refused_with_413(logged_in: Callable[[str], FlaskClient]) -> None:
    """A body over the server's cap is refused before Dash parses it."""
    client = logged_in("ann")
    response = client.post(
        "/_dash-update-component",
        data=b'{"pad": "' + b"x" * MAX_REQUEST_BYTES + b'"}',
        content_type="application/json",
    )
    assert response.status_code == 413


def test_session_kept_when_no_database_node_answers(
    dash_app: Any,
    logged_in: Callable[[str], FlaskClient],
    deps: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With every node down a user this worker checked stays logged in (pages load, callbacks answer the
    outage message); one it never checked cannot be verified and goes to the login page (review L9)."""
    cached, unseen = logged_in("ann"), logged_in("vic")
    assert cached.get("/compare").status_code == 200  # ann is now in this worker's user cache
    services = dash_app.server.extensions["mycfa"]
    services.cache.clear()  # answers cached by earlier tests would be served without touching a node
    router = services.router

    def down(*_: Any, **__: Any) -> Any:
        raise NoNodeAvailable("no database node answers")

    monkeypatch.setattr(router, "read", down)
    page = cached.get("/compare")
    assert page.status_code == 200, page.headers.get("Location")
    values = {"compare-symbols": ["QQ1", "QQ2"], "compare-span": "1Y"}
    assert "no database node answers" in text_of(post(cached, deps, "compare-table", values))
    assert unseen.get("/compare").headers.get("Location", "").startswith("/login")
