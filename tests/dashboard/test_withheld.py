"""Which points of the Company page's charts a withheld value marks, and how (#29, point 4); the browser
test (tests/dashboard/test_browser_history.py) checks the same on a value the engine withheld."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dashboard.components import bars, charts, trails, withheld

YEARS = pd.DatetimeIndex(["2021-09-25", "2022-09-24", "2023-09-30", "2024-09-28"])


def _row(day: str, field: str | None, raw: str | None = "n/a", **extra: Any) -> dict[str, Any]:
    """A `withheld_values` row as `queries.withheld_rows` reads it."""
    rule = "text where a number belongs" if field else "balance sheet does not balance"
    base = {"dataset": "statements", "kind": "income", "period": "FY", "day": day, "field": field}
    return {**base, "raw_value": raw if field else None, "rule": rule, **extra}


def _marked(marks: withheld.Marks) -> dict[str, list[int]]:
    return {series: sorted(at) for series, at in marks.points.items()}


def test_a_withheld_line_marks_its_own_bar_and_no_other() -> None:
    """operatingIncome withheld for FY2023: that bar of that line only, its note naming the raw value and
    rule; the badge counts one value."""
    rows = pd.DataFrame([_row("2023-09-30", "operatingIncome")])
    fields = ["revenue", "operatingIncome", "netIncome"]
    marks = withheld.find(rows, {f: ((f,), ()) for f in fields}, YEARS)
    assert _marked(marks) == {"operatingIncome": [2]}
    assert marks.points["operatingIncome"][2] == [
        "Withheld: FMP sent operatingIncome = n/a (text where a number belongs); shown: the figure held before"
    ]
    assert marks.values == ["FY 2023-09-30 operatingIncome = n/a: text where a number belongs"]


def test_a_withheld_balance_marks_the_ratios_averaging_it_that_year_and_the_next() -> None:
    """Equity withheld for FY2022: ROE (averages equity) at FY2022 and FY2023, debt to equity (closing
    equity) at FY2022 only, gross margin nowhere."""
    rows = pd.DataFrame([_row("2022-09-24", "totalStockholdersEquity", "-5", kind="balance")])
    inputs = {r: trails.RATIO_INPUTS[r] for r in ("roe", "debt_to_equity", "gross_margin")}
    assert _marked(withheld.find(rows, inputs, YEARS)) == {"roe": [1, 2], "debt_to_equity": [1]}


def test_a_row_refused_whole_marks_every_line_of_its_statement() -> None:
    """A balance sheet that does not balance names no field: every series reading a balance line that
    year is marked; one reading only income lines is not; a year not plotted marks nothing."""
    rows = pd.DataFrame([_row("2024-09-28", None, kind="balance"), _row("2019-09-28", None, kind="balance")])
    inputs = {r: trails.RATIO_INPUTS[r] for r in ("current_ratio", "debt_to_assets", "net_margin")}
    marks = withheld.find(rows, inputs, YEARS)
    assert _marked(marks) == {"current_ratio": [3], "debt_to_assets": [3]}
    assert marks.values == ["FY 2024-09-28 (the whole row): balance sheet does not balance"]


def test_a_withheld_quarter_marks_the_four_trailing_sums_holding_it() -> None:
    quarters = pd.DatetimeIndex(pd.date_range("2022-03-31", periods=9, freq="QE"))
    rows = pd.DataFrame([_row("2022-12-31", "revenue", period="Q4")])
    marks = withheld.find(rows, {"revenue": (("revenue",), ())}, quarters, trailing=True)
    assert [quarters[i].date().isoformat() for i in marks.points["revenue"]] == [
        "2022-12-31",
        "2023-03-31",
        "2023-06-30",
        "2023-09-30",
    ]


def test_marked_bars_are_outlined_and_hatched_and_lines_ringed_with_the_note_on_hover() -> None:
    rows = pd.DataFrame([_row("2023-09-30", "operatingIncome")])
    frame = pd.DataFrame(
        {"revenue": [1.0, 2.0, 3.0, 4.0], "operatingIncome": [0.5, 0.6, 0.7, 0.8]}, index=YEARS
    )
    names = {"revenue": "Revenue", "operatingIncome": "Operating income"}
    marks = withheld.find(rows, {f: ((f,), ()) for f in frame}, YEARS)
    grouped = withheld.mark(charts.bars(frame, "t", names=names, scale=1.0), marks, names)
    revenue, income = grouped["data"]
    assert "customdata" not in revenue
    assert income["marker"]["pattern"]["shape"] == ["", "", "/", ""]
    assert income["marker"]["line"]["width"] == [0, 0, 3, 0]
    assert "operatingIncome = n/a (text where a number belongs)" in income["customdata"][2]
    assert income["customdata"][0] == ""
    assert income["hovertemplate"].endswith("%{customdata}")
    assert grouped["layout"]["meta"]["withheld"] == marks.values

    lines = withheld.mark(charts.lines(frame, "t", names=names), marks, names)
    ring = lines["data"][-1]
    assert ring["name"] == "withheld as implausible"
    assert len(lines["data"]) == 3
    assert ring["x"] == ["2023-09-30"]
    assert ring["y"] == [0.7]
    assert "operatingIncome = n/a (text where a number belongs)" in ring["text"][0]
    assert withheld.chart_badge(lines, "b").children == "1 value withheld as implausible"
    unmarked = charts.lines(frame, "t", names=names)
    assert withheld.mark(unmarked, withheld.find(rows.iloc[0:0], {}, YEARS)) is unmarked
    assert withheld.chart_badge(unmarked, "b") is None


def test_a_withheld_price_row_rings_the_bar_holding_its_day() -> None:
    """Weekly bars dated on their last trading day: a withheld Wednesday rings that week's bar at its
    close; a day before the first bar or after the last marks nothing."""
    days = pd.bdate_range("2024-01-01", "2024-01-31")
    daily = pd.DataFrame(
        {"open": 1.0, "high": 2.0, "low": 0.5, "close": np.arange(len(days), dtype=float), "volume": 10.0},
        index=days,
    )
    shown = bars.resample(daily, "W")
    rows = pd.DataFrame(
        [
            {**_row(d, "close"), "dataset": "prices", "kind": None, "period": None}
            for d in ("2024-01-10", "2023-12-29", "2024-02-05")
        ]
    )
    figure = withheld.mark_prices(charts.candles(shown, {}, "t"), shown, rows)
    ring = figure["data"][-1]
    assert ring["x"] == ["2024-01-12"]
    assert ring["y"] == [float(daily.loc["2024-01-12", "close"])]
    assert ring["text"] == [
        "2024-01-10: Withheld: FMP sent close = n/a (text where a number belongs); shown: the figure held before"
    ]
    assert figure["layout"]["meta"]["withheld"] == ["2024-01-10 close = n/a: text where a number belongs"]
