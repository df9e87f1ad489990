"""The benchmarks of Portfolio and Compare: the S&P 500 series the serving refresh stores
(benchmark_returns, schema 181) or the holdings' own equal weight, as returns over the holdings' dates
or as a level beside Compare's rebased prices."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.analytics import evaluate, portfolio
from dashboard.analytics.errors import NotEnoughDataError
from dashboard.components import company_data, serving_state
from dashboard.components.portfolio_inputs import BENCHMARKS
from dashboard.data import queries
from dashboard.services import services

REGRESSION_YEARS = 2  # a company's beta on the S&P 500: two years of weekly returns, the terminals' default
MIN_WEEKS = 26  # fewer weekly returns than half a year give no regression beta
# The stored series (serving/benchmark.py) behind each S&P 500 choice, and each benchmark's column name.
STORED = {"sp500": "sp500_cap", "sp500_equal": "sp500_equal"}
NAMES = {
    "sp500": "S&P 500 (cap weight)",
    "sp500_equal": "S&P 500 (equal weight)",
    "equal": "Benchmark (equal weight)",
}


def stored(name: str) -> pd.Series:
    """An S&P 500 series' daily returns (benchmark_returns), once per data version; empty when the serving
    refresh has not filled the table on this store."""
    svc = services()
    if not serving_state.usable(serving_state.BENCHMARK_RETURNS):
        return pd.Series(dtype=float)
    return svc.cache.cached("benchmark", (name,), lambda: queries.benchmark_returns(svc.router, name))


def returns(choice: str, aligned: pd.DataFrame) -> tuple[pd.Series | None, str | None]:
    """The chosen benchmark's returns over the holdings' dates, and a note when it cannot be shown."""
    if choice == "none":
        return None, None
    if choice == "equal":
        return portfolio.equal_weight_index(aligned), None
    daily = stored(STORED[choice])
    if daily.empty:
        return None, f"{BENCHMARKS[choice]}: not computed on this store yet (the engine's serving refresh)"
    series = evaluate.returns_over(daily, pd.DatetimeIndex(aligned.index))
    if series.notna().sum() < 3:
        first, last = daily.index[0].date(), daily.index[-1].date()
        return None, f"{BENCHMARKS[choice]}: its stored days ({first} to {last}) miss this window"
    return series, None


def rebased(choice: str, dates: pd.DatetimeIndex) -> pd.Series:
    """The stored S&P 500 series as a level on `dates`, 100 on the last of them before its first return
    (as Compare rebases each company at its first price); NaN where the series has no level; empty when
    the series is not stored or misses the dates."""
    daily = stored(STORED[choice])
    moves = evaluate.returns_over(daily, dates) if not daily.empty else pd.Series(dtype=float)
    first = moves.first_valid_index()
    if first is None:
        return pd.Series(dtype=float)
    start = dates.get_loc(first) - 1
    growth = np.cumprod(1.0 + moves.iloc[start:].fillna(0.0).to_numpy())
    level = np.full(len(dates), np.nan)
    level[start] = 100.0
    level[start + 1 :] = 100.0 * growth
    level[start + 1 :][moves.iloc[start:].isna().to_numpy()] = np.nan  # days past the series' last
    return pd.Series(level, index=dates, name=NAMES[choice])


def regression_beta(symbol: str, last: str | None = None) -> tuple[evaluate.Regression, str] | None:
    """The company's beta on the cap-weighted S&P 500: the OLS slope of its weekly returns on the index's
    (`evaluate.regression`, weeks ending Friday) over the two years of closes up to `last` (all when None),
    with the last close's day; None when the series is not stored or fewer than MIN_WEEKS weeks are shared."""
    closes = company_data.adjusted_close(symbol)
    if last is not None:
        closes = closes[closes.index <= pd.Timestamp(last)]
    daily = stored(STORED["sp500"])
    if closes.empty or daily.empty:
        return None
    closes = closes[closes.index >= closes.index[-1] - pd.DateOffset(years=REGRESSION_YEARS)]
    dates = pd.DatetimeIndex(closes.index)
    values = closes.to_numpy(dtype=float)
    own = pd.Series(values[1:] / values[:-1] - 1.0, index=dates[1:])
    try:
        fit = evaluate.regression(own, evaluate.returns_over(daily, dates), weekly=True)
    except NotEnoughDataError:
        return None
    if fit.observations < MIN_WEEKS or not np.isfinite(fit.beta):
        return None
    return fit, dates[-1].date().isoformat()
