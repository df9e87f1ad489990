"""The Portfolio page's benchmarks: the S&P 500 series the serving refresh stores (benchmark_returns,
schema 181) or the holdings' own equal weight, as returns over the holdings' dates."""

from __future__ import annotations

import pandas as pd

from dashboard.analytics import evaluate, portfolio
from dashboard.components import serving_state
from dashboard.components.portfolio_inputs import BENCHMARKS
from dashboard.data import queries
from dashboard.services import services

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
