"""Forward returns of a portfolio formed on a past date, worked by hand: buy and hold at that day's close,
a holding whose prices end early counts at its last close, a horizon the data does not reach is NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics.forward import forward_returns

START = pd.Timestamp("2020-01-31")


def _prices() -> pd.DataFrame:
    days = pd.bdate_range("2020-01-01", "2020-06-30")
    a = pd.Series(100.0, index=days)
    a[days > START] = 110.0  # +10 % the day after formation, then flat
    b = pd.Series(50.0, index=days)
    b[days > pd.Timestamp("2020-03-15")] = 40.0  # -20 % in mid-March
    b[days > pd.Timestamp("2020-04-15")] = np.nan  # B's prices end (it was bought)
    return pd.DataFrame({"A": a, "B": b})


def test_buy_and_hold_from_the_formation_close_against_the_benchmark() -> None:
    """60/40 A/B: after a month A +10 %, B flat: 6 %; after three months B -20 % at its last close: -2 %;
    a year on the data ends: NaN. The benchmark compounds its daily returns over the same days."""
    prices = _prices()
    days = prices.index
    bench = pd.Series(0.001, index=days)
    out = forward_returns(prices, {"A": 0.6, "B": 0.4}, START, bench)
    assert list(out.index) == ["portfolio", "benchmark", "excess"]
    assert out.loc["portfolio", "1M"] == pytest.approx(0.6 * 0.10)
    assert out.loc["portfolio", "3M"] == pytest.approx(0.6 * 0.10 + 0.4 * -0.20)
    assert np.isnan(out.loc["portfolio", "1Y"])
    month = ((days > START) & (days <= START + pd.DateOffset(months=1))).sum()
    assert out.loc["benchmark", "1M"] == pytest.approx(1.001**month - 1)
    assert out.loc["excess", "1M"] == pytest.approx(0.06 - (1.001**month - 1))
    assert np.isnan(out.loc["benchmark", "1Y"])


def test_weights_are_normalised_over_the_holdings_priced_by_then() -> None:
    """A holding without a close by the formation day is left out and the others re-weighted; no
    benchmark, one row."""
    prices = _prices().assign(C=np.nan)
    out = forward_returns(prices, {"A": 1.0, "C": 1.0}, START)
    assert list(out.index) == ["portfolio"]
    assert out.loc["portfolio", "1M"] == pytest.approx(0.10)
    with pytest.raises(ValueError, match="no holding"):
        forward_returns(prices, {"C": 1.0}, START)
    with pytest.raises(ValueError, match="no close"):
        forward_returns(prices, {"A": 1.0}, pd.Timestamp("2019-01-01"))


def test_an_empty_benchmark_reaches_no_horizon() -> None:
    """A benchmark with no returns (the stored S&P 500 before the serving refresh filled it: an empty
    series without dates) leaves the benchmark and excess rows NaN and the portfolio's returns as they are."""
    prices = _prices()
    out = forward_returns(prices, {"A": 0.6, "B": 0.4}, START, pd.Series(dtype=float))
    assert list(out.index) == ["portfolio", "benchmark", "excess"]
    assert out.loc["portfolio", "1M"] == pytest.approx(0.6 * 0.10)
    assert out.loc[["benchmark", "excess"]].isna().all().all()
