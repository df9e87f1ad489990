"""The S&P 500 as a benchmark: daily returns of its members on each date, cap-weighted and equal-weighted.

Built from what the store holds, so it is an approximation of the published index, said here once:
- members: a symbol counts on date D when a membership spell holds D (`sp500_membership`: added <= D <
  removed, either end open); its return on D is from its previous stored price to D's;
- returns: total return, from the dividend-adjusted close (the traded close where FMP had no adjusted
  row), as the Portfolio page's own holdings;
- market cap: the previous traded close times the shares outstanding as of that date: the latest
  reported count (`weightedAverageShsOut` of the income statements, quarterly and annual, the diluted
  count where the basic is missing) whose period ended on or before it, the first report's count before
  the first period, and the profile's count (market cap over price) for a company without statements.
  Reported counts are weighted averages and not float-adjusted (S&P weights by float): weights are
  close, not equal, to the published ones;
- rebalancing: the cap-weighted return of D weights each member by its cap at the close before D, which
  is a cap-weighted index held from close to close (reweighted daily to the day's caps, as the index
  itself drifts); the equal-weighted return is the plain mean of the members' returns, rebalanced daily
  (S&P's equal-weight index rebalances quarterly). A member with no share count is left out of the cap
  weights (still in the equal weight): `coverage` says the fraction of members that had one.

The sums behind each date's figures add up over companies, so the refresh computes them a batch of
companies at a time (`partial_sums`, then `finish`): its memory follows the batch, not the universe.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CAP, EQUAL = "sp500_cap", "sp500_equal"
BENCHMARKS = (CAP, EQUAL)
COLUMNS = ("benchmark", "date", "daily_return", "members", "coverage")
# Per date, over the members with a return: how many, how many with a cap, and the sums the returns need.
SUMS = ("members", "capped", "return_sum", "cap_sum", "cap_return_sum")


def _slices(codes: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `count` groups starts and stops in `codes` (sorted ascending)."""
    groups = np.arange(count)
    return np.searchsorted(codes, groups, "left"), np.searchsorted(codes, groups, "right")


def partial_sums(
    prices: pd.DataFrame, spells: pd.DataFrame, reported: pd.DataFrame, profile: pd.Series
) -> pd.DataFrame:
    """Per date, the SUMS over the companies in `prices` (add several batches' frames, then `finish`).

    Args:
        prices: columns symbol, date, close (traded), value (dividend-adjusted, else traded).
        spells: columns symbol, added, removed (the membership spells; NaT = open).
        reported: columns symbol, date (the period end), shares; counts that are not positive are ignored
            and of several for one period end (a quarter and its fiscal year) the last given wins.
        profile: symbol -> shares from the profile, for companies without a reported count.
    """
    if prices.empty:
        return pd.DataFrame({name: [] for name in SUMS}, index=pd.DatetimeIndex([], name="date"))
    codes, symbols = pd.factorize(prices["symbol"].astype(str), sort=True)
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
    shares = _shares(before, symbols, starts, stops, reported, profile)
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
    before: np.ndarray,
    symbols: pd.Index,
    starts: np.ndarray,
    stops: np.ndarray,
    reported: pd.DataFrame,
    profile: pd.Series,
) -> np.ndarray:
    """Per price row: the shares outstanding as of the company's previous price date (module docstring)."""
    out = np.full(len(before), np.nan)
    counts = reported["shares"].to_numpy(dtype=float)
    usable = reported[np.isfinite(counts) & (counts > 0)]
    column = {str(s): i for i, s in enumerate(symbols)}
    owner = np.array([column.get(str(s), -1) for s in usable["symbol"]], dtype=int)
    ends = pd.to_datetime(usable["date"]).to_numpy(dtype="datetime64[ns]")
    counts = usable["shares"].to_numpy(dtype=float)
    keep = owner >= 0
    owner, ends, counts = owner[keep], ends[keep], counts[keep]
    order = np.lexsort((np.arange(len(owner)), ends, owner))  # by company, period end, then as given
    owner, ends, counts = owner[order], ends[order], counts[order]
    first, last = _slices(owner, len(symbols))
    for i, symbol in enumerate(symbols):
        lo, hi = int(starts[i]), int(stops[i])
        if first[i] == last[i]:
            fallback = profile.get(str(symbol), np.nan)
            if fallback is not None and np.isfinite(fallback) and fallback > 0:
                out[lo:hi] = float(fallback)
            continue
        own_ends, own = ends[first[i] : last[i]], counts[first[i] : last[i]]
        # The last period ended on or before the previous price date; before the first, the first count.
        at = np.searchsorted(own_ends, before[lo:hi], "right") - 1
        out[lo:hi] = own[np.maximum(at, 0)]
    return out


def finish(sums: pd.DataFrame) -> pd.DataFrame:
    """Both benchmarks' rows (COLUMNS, by benchmark and date) from the per-date SUMS of every company
    (batches' frames are added date by date first). A date with members has an equal-weight row; the
    cap-weighted row also needs a member with a market cap."""
    if sums.empty:
        return pd.DataFrame({c: [] for c in COLUMNS})
    total = sums.groupby(level=0).sum().sort_index()
    dates = pd.DatetimeIndex(total.index)
    members = total["members"].to_numpy()
    cap_sum = total["cap_sum"].to_numpy()
    has_cap, has_members = cap_sum > 0, members > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        cap_return = total["cap_return_sum"].to_numpy() / cap_sum
        equal_return = total["return_sum"].to_numpy() / members
        coverage = total["capped"].to_numpy() / members
    cap_rows = pd.DataFrame(
        {
            "benchmark": CAP,
            "date": dates[has_cap].date,
            "daily_return": cap_return[has_cap],
            "members": members[has_cap].astype(int),
            "coverage": coverage[has_cap],
        }
    )
    equal_rows = pd.DataFrame(
        {
            "benchmark": EQUAL,
            "date": dates[has_members].date,
            "daily_return": equal_return[has_members],
            "members": members[has_members].astype(int),
            "coverage": 1.0,
        }
    )
    return pd.concat([cap_rows, equal_rows], ignore_index=True)[list(COLUMNS)]


def index_returns(
    prices: pd.DataFrame, spells: pd.DataFrame, reported: pd.DataFrame, profile: pd.Series
) -> pd.DataFrame:
    """Both benchmarks' daily returns from every company's prices at once (`partial_sums`, `finish`)."""
    return finish(partial_sums(prices, spells, reported, profile))
