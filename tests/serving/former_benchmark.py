"""serving/benchmark.py's per-date sums and share-count steps as they were computed before the summing was
vectorised (a sort per key, np.unique, a step list per company in Python): the oracle that test_benchmark
holds the current path equal to, bit for bit."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date

import numpy as np
import pandas as pd

from serving.benchmark import ORIGIN, SUMS, Steps


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _canonical(steps: Steps) -> Steps:
    out: Steps = []
    for day, value in steps:
        if not out or not _same(out[-1][1], value):
            out.append((day, value))
    return out


def _slices(codes: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `count` groups starts and stops in `codes` (sorted ascending)."""
    groups = np.arange(count)
    return np.searchsorted(codes, groups, "left"), np.searchsorted(codes, groups, "right")


def partial_sums(
    prices: pd.DataFrame,
    spells: pd.DataFrame,
    reported: pd.DataFrame | None = None,
    profile: pd.Series | None = None,
    *,
    steps: Mapping[str, Steps] | None = None,
) -> pd.DataFrame:
    """Per date, the SUMS over the companies in `prices` (add several batches' frames, then `finish`).

    Args:
        prices: columns symbol (text, or categorical with sorted categories), date, close (traded), value
            (dividend-adjusted, else traded).
        spells: columns symbol, added, removed (the membership spells; NaT = open).
        reported: columns symbol, date (the period end), shares; counts that are not positive are ignored
            and of several for one period end (a quarter and its fiscal year) the last given wins.
        profile: symbol -> shares from the profile, for companies without a reported count.
        steps: instead of `reported` and `profile`, their `share_steps`.
    """
    if prices.empty:
        return pd.DataFrame({name: [] for name in SUMS}, index=pd.DatetimeIndex([], name="date"))
    column = prices["symbol"]
    if isinstance(column.dtype, pd.CategoricalDtype) and column.cat.categories.is_monotonic_increasing:
        # Already coded (the refresh's batches): factorizing ~475,000 strings was a fifth of its CPU.
        codes, symbols = column.cat.codes.to_numpy(), pd.Index(column.cat.categories.astype(str))
    else:
        codes, symbols = pd.factorize(column.astype(str), sort=True)
    day = pd.to_datetime(prices["date"]).to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((day, codes))
    codes, day = codes[order], day[order]
    value = prices["value"].to_numpy(dtype=float)[order]
    close = prices["close"].to_numpy(dtype=float)[order]
    same = np.concatenate([[False], codes[1:] == codes[:-1]])  # the row before is the same company's
    ret, previous = np.full(len(day), np.nan), np.full(len(day), np.nan)
    before = np.full(len(day), np.datetime64("NaT"), dtype="datetime64[ns]")
    with np.errstate(divide="ignore", invalid="ignore"):
        ret[1:] = value[1:] / value[:-1] - 1.0
    previous[1:], before[1:] = close[:-1], day[:-1]
    ret[~same], previous[~same] = np.nan, np.nan
    starts, stops = _slices(codes, len(symbols))
    member = _members(day, symbols, starts, stops, spells) & np.isfinite(ret)
    if steps is None:
        if reported is None or profile is None:
            raise ValueError("partial_sums needs the reported and profile counts, or their steps")
        steps = share_steps(reported, profile, symbols.astype(str))
    shares = _shares(before, symbols, starts, stops, steps)
    cap = previous * shares  # the market cap at the company's previous close
    capped = member & np.isfinite(cap) & (cap > 0)
    dates, at = np.unique(day[member], return_inverse=True)
    r, c = ret[member], np.where(capped, cap, 0.0)[member]
    sums = {
        "members": np.bincount(at, minlength=len(dates)).astype(float),
        "capped": np.bincount(at, weights=capped[member].astype(float), minlength=len(dates)),
        "return_sum": np.bincount(at, weights=r, minlength=len(dates)),
        "cap_sum": np.bincount(at, weights=c, minlength=len(dates)),
        "cap_return_sum": np.bincount(at, weights=c * r, minlength=len(dates)),
    }
    return pd.DataFrame(sums, index=pd.DatetimeIndex(dates, name="date"))


def _members(
    day: np.ndarray, symbols: pd.Index, starts: np.ndarray, stops: np.ndarray, spells: pd.DataFrame
) -> np.ndarray:
    """Per price row: a spell of its company holds its date (added <= date < removed, open ends)."""
    inside = np.zeros(len(day), dtype=bool)
    column = {str(s): i for i, s in enumerate(symbols)}
    for symbol, added, removed in spells[["symbol", "added", "removed"]].itertuples(index=False):
        i = column.get(str(symbol))
        if i is None:
            continue
        lo, hi = int(starts[i]), int(stops[i])
        own = day[lo:hi]
        first = 0 if pd.isna(added) else int(np.searchsorted(own, np.datetime64(pd.Timestamp(added)), "left"))
        last = (
            len(own)
            if pd.isna(removed)
            else int(np.searchsorted(own, np.datetime64(pd.Timestamp(removed)), "left"))
        )
        inside[lo + first : lo + last] = True
    return inside


def _shares(
    before: np.ndarray, symbols: pd.Index, starts: np.ndarray, stops: np.ndarray, steps: Mapping[str, Steps]
) -> np.ndarray:
    """Per price row: the shares outstanding as of the company's previous price date (`share_steps`)."""
    out = np.full(len(before), np.nan)
    for i, symbol in enumerate(symbols):
        own = steps.get(str(symbol))
        if not own:
            continue
        lo, hi = int(starts[i]), int(stops[i])
        # The first step holds from ORIGIN (before any price): the later ones' days pick the rest.
        later = np.array([np.datetime64(day, "ns") for day, _ in own[1:]], dtype="datetime64[ns]")
        counts = np.array([count for _, count in own], dtype=float)
        out[lo:hi] = counts[np.searchsorted(later, before[lo:hi], "right")]
    return out


def share_steps(reported: pd.DataFrame, profile: pd.Series, symbols: Iterable[str]) -> dict[str, Steps]:
    """Each of `symbols`' share count as a step function of the date it is looked up at (the module
    docstring): from ORIGIN its first reported count, then from each period end the last count given for
    it; the profile's count from ORIGIN for a company with no positive reported count; no steps without
    either. Args as for `partial_sums`."""
    counts = reported["shares"].to_numpy(dtype=float)
    usable = reported[np.isfinite(counts) & (counts > 0)]
    ends = pd.to_datetime(usable["date"]).dt.date.tolist()
    by_symbol: dict[str, list[tuple[date, float]]] = {}
    for symbol, end, count in zip(
        usable["symbol"].astype(str), ends, usable["shares"].astype(float), strict=True
    ):
        by_symbol.setdefault(symbol, []).append((end, count))
    out: dict[str, Steps] = {}
    for symbol in symbols:
        own = sorted(by_symbol.get(str(symbol), []), key=lambda step: step[0])  # stable: as given
        if own:
            last = {end: count for end, count in own}  # of several for one period end, the last given
            out[str(symbol)] = _canonical([(ORIGIN, own[0][1]), *sorted(last.items())])
            continue
        fallback = profile.get(str(symbol), np.nan)
        if fallback is not None and np.isfinite(fallback) and fallback > 0:
            out[str(symbol)] = [(ORIGIN, float(fallback))]
    return out
