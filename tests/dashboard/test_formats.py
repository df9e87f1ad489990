"""Display units: text formatters, table column formats and row data that stays raw."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.components import formats, tables


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1_338_438_429_930.0, "USD 1.34 tn"),
        (310_812_345_678.0, "USD 310.8 bn"),
        (-55_912_000_000.0, "USD -55.9 bn"),
        (723_400_000.0, "USD 723.4 m"),
        (287.031, "USD 287.03"),
        (float("nan"), "n/a"),
        (None, "n/a"),
    ],
)
def test_money_picks_the_unit_by_size(value: float | None, text: str) -> None:
    """Amounts read as USD tn/bn/m by size, small ones with cents, missing ones as n/a."""
    assert formats.money(value) == text


def test_pct_and_scale_for() -> None:
    """Fractions show as percentages; money axes switch to USD bn from 10 bn."""
    assert formats.pct(0.12154) == "12.2%"
    assert formats.pct(-0.2414, digits=2) == "-24.14%"
    assert formats.pct(0.3721, signed=True) == "+37.2%"
    assert formats.scale_for([105e9, 33e9]) == (1e9, "USD bn")
    assert formats.scale_for([2.5e9, float("nan")]) == (1e6, "USD m")


def test_column_defs_format_by_kind_and_keep_rows_raw() -> None:
    """Known metrics get their header and formatter; rows keep the full number for sorting and export."""
    frame = pd.DataFrame(
        {"symbol": ["KO"], "market_cap": [3.2e12], "pe": [54.93181], "roe": [0.4012], "rows": [12]}
    )
    defs = {d["field"]: d for d in tables.column_defs(frame)}
    assert defs["market_cap"]["headerName"] == "Market cap (USD bn)"
    assert defs["market_cap"]["valueFormatter"] == {"function": "mycfaFormat(params.value, 'usd_bn')"}
    assert defs["pe"]["valueFormatter"]["function"].endswith("'x')")
    assert defs["roe"]["valueFormatter"]["function"].endswith("'pct')")
    assert defs["rows"]["valueFormatter"]["function"].endswith("'int')")
    assert defs["symbol"]["pinned"] == "left"
    assert "valueFormatter" not in defs["symbol"]
    assert tables.records(frame)[0]["market_cap"] == 3.2e12


def test_statement_table_labels_units_and_row_kinds() -> None:
    """Statement rows carry a readable line item, a unit and the kind their cells are formatted by."""
    frame = pd.DataFrame(
        {"revenue": [9.1e10, 1.05e11], "epsDiluted": [11.2, 12.6], "weightedAverageShsOutDil": [2e9, 2e9]},
        index=pd.to_datetime(["2023-12-31", "2024-12-31"]),
    )
    body = tables.statement_table(frame, ["revenue", "epsDiluted", "weightedAverageShsOutDil"])
    assert list(body["item"]) == ["Revenue", "EPS (diluted)", "Diluted shares"]
    assert list(body["unit"]) == ["USD m", "USD", "m shares"]
    assert list(body["kind"]) == ["usd_m", "usd", "shares_m"]
    assert list(body.columns[3:5]) == ["2024-12-31", "2023-12-31"]  # newest first
    defs = tables.column_defs(body, row_kind="kind", hidden=("field",))
    assert [d["field"] for d in defs][:2] == ["item", "unit"]
    assert defs[2]["valueFormatter"] == {"function": "mycfaFormat(params.value, params.data.kind)"}


def test_records_keep_the_time_of_timestamps() -> None:
    """Run times keep hours and minutes (in UTC); plain dates stay dates."""
    frame = pd.DataFrame(
        {
            "started_at": pd.to_datetime(["2026-11-25 14:47:03+00:00"]),
            "date": pd.to_datetime(["2024-12-31"]),
        }
    )
    row = tables.records(frame)[0]
    assert row == {"started_at": "2026-11-25 14:47 UTC", "date": "2024-12-31"}


def test_short_tables_fit_their_rows_and_long_ones_page() -> None:
    """Up to AUTO_HEIGHT_ROWS rows the grid grows to fit; longer grids keep a height and paginate."""
    short = tables.grid("t-short", pd.DataFrame({"a": range(10)}))
    long = tables.grid("t-long", pd.DataFrame({"a": range(120)}), height=500)
    assert short.dashGridOptions["domLayout"] == "autoHeight"
    assert short.style == {"height": None}
    assert "domLayout" not in long.dashGridOptions
    assert long.style == {"height": "500px"}
    assert long.dashGridOptions["pagination"] is True


@pytest.mark.parametrize(
    "name",
    ["2023-12-31", "2023-12-31 (restated)", "netIncome", "roe", "weightedAverageShsOutDil", "ev_ebitda", "x"],
)
def test_label_kept_per_name_equals_its_computation(name: str) -> None:
    """`label` is kept per name (a quarterly statement grid asks it ~140 times a request): the kept text
    is the one the function computes, asked once or twice."""
    computed = formats.label.__wrapped__(name)
    assert formats.label(name) == computed
    assert formats.label(name) == computed
