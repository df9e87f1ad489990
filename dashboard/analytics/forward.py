"""What happened next to a portfolio formed on a past date: its buy-and-hold return 1 month, 3 months and
1 year on from that day's close, against a benchmark's compounded daily returns over the same days.

The Portfolio page's analysis as of a date uses only prices up to it; these returns are the one place it
looks later, and says so. A holding whose prices end before a horizon (it was bought, or left the store)
counts at its last close, as the Point in time page's screens count it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

HORIZONS = {"1M": pd.DateOffset(months=1), "3M": pd.DateOffset(months=3), "1Y": pd.DateOffset(years=1)}


def forward_returns(
    prices: pd.DataFrame,
    weights: Mapping[str, float],
    start: pd.Timestamp,
    benchmark: pd.Series | None = None,
) -> pd.DataFrame:
    """Rows "portfolio" (and "benchmark" and "excess" when one is given), columns HORIZONS.

    Args:
        prices: dividend-adjusted closes, dates x symbols, before and after `start`.
        weights: the mix on `start` (normalised over the holdings with a close by then).
        start: the formation day: each holding is bought at its last close on or before it.
        benchmark: the benchmark's daily simple returns by date.

    Returns:
        Simple returns; NaN for a horizon the store's prices (or the benchmark's days) do not reach yet.
    """
    held = prices.sort_index()
    before = held[held.index <= start].ffill()
    if before.empty:
        raise ValueError(f"no close on or before {start.date()}")
    bought = before.iloc[-1]
    symbols = [s for s in weights if s in bought.index and np.isfinite(bought[s]) and bought[s] > 0]
    if not symbols:
        raise ValueError(f"no holding has a close on or before {start.date()}")
    w = pd.Series({s: float(weights[s]) for s in symbols})
    w = w / w.sum()
    rows: dict[str, dict[str, float]] = {"portfolio": {}}
    if benchmark is not None:
        rows["benchmark"], rows["excess"] = {}, {}
    last = held.index.max()
    for name, offset in HORIZONS.items():
        end = start + offset
        if last < end:
            value = np.nan
        else:
            sold = held[held.index <= end][symbols].ffill().iloc[-1]
            value = float((w * (sold / bought[symbols] - 1.0)).sum())
        rows["portfolio"][name] = value
        if benchmark is not None:
            # An empty series (no stored benchmark yet) has no dates to compare with: it reaches no horizon.
            reached = not benchmark.empty and benchmark.index.max() >= end - pd.Timedelta(days=7)
            days = (
                benchmark[(benchmark.index > start) & (benchmark.index <= end)].dropna() if reached else None
            )
            bench = (
                float(np.prod(1.0 + days.to_numpy()) - 1.0) if days is not None and not days.empty else np.nan
            )
            rows["benchmark"][name] = bench
            rows["excess"][name] = value - bench
    return pd.DataFrame.from_dict(rows, orient="index")[list(HORIZONS)]
