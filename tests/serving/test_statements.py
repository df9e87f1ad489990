"""Statement frames from payload dicts, combining kinds, and trailing-twelve-month rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from devkit import factories
from serving import statements as st
from serving.errors import AnalyticsError, NotEnoughDataError


@pytest.fixture(scope="module")
def payloads() -> dict[str, list[dict[str, Any]]]:
    return factories.statement_payloads(years=3, seed=4)


def test_statement_frame_sorted_numeric_and_filtered(payloads: dict[str, list[dict[str, Any]]]) -> None:
    """Rows come back ascending by fiscal date, numeric fields only, filtered by period."""
    fy = st.statement_frame(reversed(payloads["income"]), period="FY")
    assert len(fy) == 3
    assert fy.index.is_monotonic_increasing
    assert "symbol" not in fy.columns
    assert "period" not in fy.columns
    assert fy["revenue"].dtype == float
    quarters = st.statement_frame(payloads["income"], period=("Q1", "Q2", "Q3", "Q4"))
    assert len(quarters) == 12


def test_statement_frame_restatement_and_bad_date() -> None:
    """A repeated fiscal date keeps the last row given; a row without a date raises AnalyticsError."""
    rows = [{"date": "2024-09-28", "revenue": 1}, {"date": "2024-09-28", "revenue": 2, "note": "x"}]
    frame = st.statement_frame(rows)
    assert frame["revenue"].tolist() == [2.0]
    assert "note" not in frame.columns
    with pytest.raises(AnalyticsError, match="date"):
        st.statement_frame([{"revenue": 1}])
    assert st.statement_frame([]).empty


def test_payload_values_keep_numbers_only() -> None:
    """Ints, floats (numpy's too) and None (as NaN) are values; booleans, texts, lists and metadata are not."""
    payload = {
        "date": "2024-09-28", "symbol": "X", "revenue": 5, "netIncome": 1.5, "eps": None, "flag": True,
        "note": "x", "items": [1], "ebitda": np.float64(2.5), "cik": 123, "count": np.int64(3),
    }  # fmt: skip
    values = st.payload_values(payload)
    assert list(values) == ["revenue", "netIncome", "eps", "ebitda"]
    assert values["revenue"] == 5.0
    assert type(values["revenue"]) is float
    assert np.isnan(values["eps"])
    assert st.payload_values(payload, frozenset({"netIncome", "date", "flag", "ebitda"})) == {
        "netIncome": 1.5,
        "ebitda": 2.5,
    }


def test_statement_frame_rows_with_other_fields() -> None:
    """Rows that do not share their fields (in number, order or type) give every field, in order of
    first appearance, NaN where a row has none: as rows that all share them do."""
    rows = [
        {"date": "2023-09-30", "revenue": 1, "cost": 2},
        {"date": "2024-09-28", "cost": 3, "revenue": "n/a", "other": 4},
    ]
    frame = st.statement_frame(rows)
    assert list(frame.columns) == ["revenue", "cost", "other"]
    expected = np.array([[1.0, 2.0, np.nan], [np.nan, 3.0, 4.0]])
    np.testing.assert_array_equal(frame.to_numpy(), expected)
    same = st.statement_frame([rows[0], {"date": "2024-09-28", "revenue": 5, "cost": None}])
    assert list(same.columns) == ["revenue", "cost"]
    np.testing.assert_array_equal(same.to_numpy(), np.array([[1.0, 2.0], [5.0, np.nan]]))


def test_combine_keeps_balance_inventory_over_cashflow_change(
    payloads: dict[str, list[dict[str, Any]]],
) -> None:
    """The cash flow's `inventory` (a change) never overwrites the balance sheet's inventory level."""
    frames = [st.statement_frame(payloads[k], period="FY") for k in ("income", "balance", "cashflow")]
    combined = st.combine(*frames)
    assert (combined["inventory"] == frames[1]["inventory"]).all()
    assert "operatingCashFlow" in combined.columns
    with pytest.raises(AnalyticsError):
        st.combine()


def test_ttm_sums_flows_takes_latest_stocks(payloads: dict[str, list[dict[str, Any]]]) -> None:
    """TTM revenue is the sum of the last four quarters (= the FY row), balances are the latest quarter's."""
    q = ("Q1", "Q2", "Q3", "Q4")
    inc = st.statement_frame(payloads["income"], period=q)
    bal = st.statement_frame(payloads["balance"], period=q)
    quarterly = st.combine(inc, bal)
    ttm = st.ttm(quarterly, stock_columns=bal.columns)
    fy = st.combine(
        st.statement_frame(payloads["income"], period="FY"),
        st.statement_frame(payloads["balance"], period="FY"),
    )
    assert ttm.index[0] == fy.index[-1]
    assert ttm["revenue"].iloc[0] == pytest.approx(fy["revenue"].iloc[-1])
    assert ttm["totalAssets"].iloc[0] == pytest.approx(bal["totalAssets"].iloc[-1])
    assert ttm["weightedAverageShsOut"].iloc[0] == pytest.approx(
        inc["weightedAverageShsOut"].iloc[-4:].mean()
    )
    rolling = st.ttm(quarterly, stock_columns=bal.columns, rolling=True)
    assert len(rolling) == 9
    pd.testing.assert_series_equal(rolling.iloc[-1], ttm.iloc[0], check_names=False)


def test_ttm_missing_quarter_and_short_history(payloads: dict[str, list[dict[str, Any]]]) -> None:
    """A gap in the last four quarters raises; fewer than four quarters is NotEnoughDataError."""
    inc = st.statement_frame(payloads["income"], period=("Q1", "Q2", "Q3", "Q4"))
    gap = inc.drop(inc.index[-2])
    with pytest.raises(AnalyticsError, match="quarter is missing"):
        st.ttm(gap)
    rolled = st.ttm(gap, rolling=True)
    assert np.isnan(rolled["revenue"].iloc[-1])
    with pytest.raises(NotEnoughDataError):
        st.ttm(inc.iloc[:3])


def test_ttm_cash_flow_cash_balances_not_summed(payloads: dict[str, list[dict[str, Any]]]) -> None:
    """TTM cash at end is the last quarter's, cash at beginning the first quarter's, not four summed (item 8)."""
    cf = st.statement_frame(payloads["cashflow"], period=("Q1", "Q2", "Q3", "Q4"))
    assert {"cashAtEndOfPeriod", "cashAtBeginningOfPeriod"} <= set(cf.columns)
    one = st.ttm(cf)
    assert one["cashAtEndOfPeriod"].iloc[0] == cf["cashAtEndOfPeriod"].iloc[-1]
    assert one["cashAtBeginningOfPeriod"].iloc[0] == cf["cashAtBeginningOfPeriod"].iloc[-4]
    assert one["netChangeInCash"].iloc[0] == pytest.approx(cf["netChangeInCash"].iloc[-4:].sum())
    rolling = st.ttm(cf, rolling=True)
    pd.testing.assert_series_equal(rolling["cashAtEndOfPeriod"], cf["cashAtEndOfPeriod"].iloc[3:])
    pd.testing.assert_series_equal(
        rolling["cashAtBeginningOfPeriod"], cf["cashAtBeginningOfPeriod"].shift(3).iloc[3:]
    )
