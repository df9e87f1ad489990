"""The screener's precomputed table is filtered and ranked correctly and rejects unknown fields."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from devkit import factories
from serving import screener as sc
from serving.errors import AnalyticsError
from serving.fundamentals import ratios


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    long, caps, sectors = factories.universe(60, seed=9)
    latest, previous = sc.cross_sections(long)
    return sc.metrics_table(latest, previous, market_cap=caps, sectors=sectors)


def test_cross_sections_latest_and_previous() -> None:
    """Each symbol's latest and previous fiscal rows are picked by date, whatever the input order."""
    long = pd.DataFrame(
        {"symbol": ["A", "A", "B"], "revenue": [2.0, 1.0, 5.0]},
        index=pd.DatetimeIndex(["2024-12-31", "2023-12-31", "2024-12-31"], name="date"),
    )
    latest, previous = sc.cross_sections(long)
    assert latest.loc["A", "revenue"] == 2.0
    assert previous.loc["A", "revenue"] == 1.0
    assert np.isnan(previous.loc["B", "revenue"])
    with pytest.raises(AnalyticsError, match="symbol"):
        sc.cross_sections(long.drop(columns="symbol"))


def test_metrics_table_matches_single_company_formulas(table: pd.DataFrame) -> None:
    """A symbol's row equals the per-company ratios computed on its own two-year history."""
    long, _, _ = factories.universe(60, seed=9)
    history = long[long["symbol"] == "S007"].drop(columns="symbol").sort_index()
    own = ratios(history).iloc[-1]
    for col in ("roe", "roa", "net_margin", "debt_to_equity", "dso"):
        assert table.loc["S007", col] == pytest.approx(own[col], rel=1e-12), col
    assert {"sector", "pe", "ev_ebitda", "altman_z", "f_score", "revenue_growth"} <= set(table.columns)
    assert len(table) == 60


def test_screen_filters_sectors_sort_limit(table: pd.DataFrame) -> None:
    """Rows pass every filter and the sector list, sorted ascending with NaNs last, truncated to the limit."""
    out = sc.screen(
        table,
        filters=[sc.Filter("pe", "between", (0.0, 40.0)), sc.Filter("roe", ">", 0.0)],
        sectors=["Energy", "Utilities"],
        sort_by="pe",
        ascending=True,
        limit=5,
    )
    assert len(out) <= 5
    assert out["sector"].isin(["Energy", "Utilities"]).all()
    assert (out["pe"].between(0, 40) & (out["roe"] > 0)).all()
    assert out["pe"].is_monotonic_increasing
    everything = sc.screen(table, sort_by="pe")
    assert everything["pe"].isna().sum() == table["pe"].isna().sum()
    assert everything["pe"].iloc[-1:].isna().all() or table["pe"].notna().all()


def test_screen_unknown_field_and_bad_filter(table: pd.DataFrame) -> None:
    """Unknown columns, operators and malformed 'between' values raise AnalyticsError."""
    with pytest.raises(AnalyticsError, match="unknown screener column"):
        sc.screen(table, filters=[sc.Filter("peRatio", ">", 1.0)])
    with pytest.raises(AnalyticsError, match="unknown sort column"):
        sc.screen(table, sort_by="nope")
    with pytest.raises(AnalyticsError, match="between"):
        sc.screen(table, filters=[sc.Filter("pe", "between", 3.0)])
    with pytest.raises(AnalyticsError, match="unknown operator"):
        sc.screen(table, filters=[sc.Filter("pe", "~", 3.0)])  # type: ignore[arg-type]


def test_score_orients_lower_is_better() -> None:
    """A negative weight ranks low values first; missing metrics are left out of that symbol's mean."""
    t = pd.DataFrame(
        {"pe": [10.0, 20.0, 30.0], "roe": [0.3, np.nan, 0.1], "sector": ["X", "X", "Y"]}, index=list("ABC")
    )
    s = sc.score(t, {"pe": -1.0, "roe": 1.0})
    assert s.idxmax() == "A"
    assert s["A"] == pytest.approx(1.0)
    assert s["B"] == pytest.approx(2 / 3)  # ranked on P/E alone
    within = sc.score(t, {"pe": -1.0}, within_sector=True)
    assert within["C"] == pytest.approx(1.0)
    with pytest.raises(AnalyticsError, match="unknown screener columns"):
        sc.score(t, {"ev": 1.0})


def test_cross_sections_previous_must_be_the_year_before() -> None:
    """A symbol whose row before the latest is two years back has no previous period in the screener (item 6)."""
    long = pd.DataFrame(
        {"symbol": ["A", "A", "B", "B"], "revenue": [2.0, 1.0, 5.0, 4.0]},
        index=pd.DatetimeIndex(["2024-12-31", "2022-12-31", "2024-09-28", "2023-09-30"], name="date"),
    )
    _latest, previous = sc.cross_sections(long)
    assert np.isnan(previous.loc["A", "revenue"])
    assert previous.loc["B", "revenue"] == 4.0


def test_screen_negative_equity_not_least_levered() -> None:
    """D/E < 1 does not pass a company with negative equity (item 4)."""
    long, caps, sectors = factories.universe(10, seed=3)
    latest, previous = sc.cross_sections(long)
    latest.loc["S001", "totalStockholdersEquity"] = -abs(latest.loc["S001", "totalStockholdersEquity"])
    table = sc.metrics_table(latest, previous, market_cap=caps, sectors=sectors)
    passed = sc.screen(table, filters=[sc.Filter("debt_to_equity", "<", 1.0)])
    assert "S001" not in passed.index
    assert np.isnan(table.loc["S001", "debt_to_equity"])
