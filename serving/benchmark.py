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

What a day's figures read of a company beyond its prices is two step functions of the date, its
`inputs` (`member_steps`, `share_steps`): whether it is a member, and its share count (looked up at the
previous price date). Kept beside the series, they say from which day a change of membership or of a
reported count can move it (`first_change`), so a restated or newly reported count recomputes the days
from its period end, not the whole series.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date

import numpy as np
import pandas as pd

CAP, EQUAL = "sp500_cap", "sp500_equal"
BENCHMARKS = (CAP, EQUAL)
COLUMNS = ("benchmark", "date", "daily_return", "members", "coverage")
# Per date, over the members with a return: how many, how many with a cap, and the sums the returns need.
SUMS = ("members", "capped", "return_sum", "cap_sum", "cap_return_sum")
# The inputs' kinds (benchmark_inputs, schema 111) and the first day of every step function: "from the start".
MEMBER, SHARES = "member", "shares"
ORIGIN = date(1, 1, 1)
INPUT_COLUMNS = ("symbol", "kind", "since", "value")
# A step function: ascending days from which each value holds (none before the first).
Steps = list[tuple[date, float]]
DAY_NS = 86_400_000_000_000
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()  # datetime64's day 0


def _slices(codes: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `count` groups starts and stops in `codes` (sorted ascending)."""
    groups = np.arange(count)
    return np.searchsorted(codes, groups, "left"), np.searchsorted(codes, groups, "right")


def _whole_days(day: np.ndarray) -> np.ndarray | None:
    """`day` (datetime64[ns]) as days from its first, None when one has a time of day or is NaT."""
    if len(day) == 0 or np.isnat(day).any():
        return None
    ticks = day.view(np.int64) - day.view(np.int64).min()
    days = ticks // DAY_NS
    return days if bool((days * DAY_NS == ticks).all()) else None


def _date_bins(day: np.ndarray, whole: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, int]:
    """The distinct dates of `day`, each row's bin and the bins' count: one bin per day of the span
    when the dates are `whole` days (no sort), else one per distinct date (np.unique)."""
    if whole is None:
        dates, at = np.unique(day, return_inverse=True)
        return dates, at, len(dates)
    if len(whole) == 0:
        return day[:0], whole, 0
    first = int(whole.min())
    at = whole - first
    held = np.bincount(at) > 0
    origin = day[int(np.argmin(whole))]
    dates = origin + np.flatnonzero(held).astype(np.int64) * np.timedelta64(DAY_NS, "ns")
    return dates, at, len(held)


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
    whole = _whole_days(day)
    if whole is None:  # a time of day: the dates are not whole days, sort and count them as given
        order = np.lexsort((day, codes))
    else:  # one integer key (unique per row: a company's price dates), not a sort per key
        order = np.argsort(codes.astype(np.int64) * (int(whole.max()) + 1) + whole, kind="stable")
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
    dates, at, bins = _date_bins(day[member], None if whole is None else whole[order][member])
    r, c = ret[member], np.where(capped, cap, 0.0)[member]
    # bincount adds each date's terms in row order, whatever numbers the dates' bins
    sums = {
        "members": np.bincount(at, minlength=bins).astype(float),
        "capped": np.bincount(at, weights=capped[member].astype(float), minlength=bins),
        "return_sum": np.bincount(at, weights=r, minlength=bins),
        "cap_sum": np.bincount(at, weights=c, minlength=bins),
        "cap_return_sum": np.bincount(at, weights=c * r, minlength=bins),
    }
    if whole is not None:  # the bins of every day in the span: keep those with members
        held = sums["members"] > 0
        sums = {name: column[held] for name, column in sums.items()}
    return pd.DataFrame(sums, index=pd.DatetimeIndex(dates, name="date"))


def _members(
    day: np.ndarray, symbols: pd.Index, starts: np.ndarray, stops: np.ndarray, spells: pd.DataFrame
) -> np.ndarray:
    """Per price row: a spell of its company holds its date (added <= date < removed, open ends)."""
    inside = np.zeros(len(day), dtype=bool)
    column = {str(s): i for i, s in enumerate(symbols)}
    own_spells = spells[spells["symbol"].astype(str).isin(list(column))]  # the other companies' mark no row
    for symbol, added, removed in own_spells[["symbol", "added", "removed"]].itertuples(index=False):
        i = column[str(symbol)]
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
    owned = [(i, own) for i, own in ((i, steps.get(str(s))) for i, s in enumerate(symbols)) if own]
    if not owned:
        return out
    # The first step holds from ORIGIN (before any price): the later ones' days pick the rest. Every
    # company's at once, by ordinal (NumPy takes ~6 µs to convert a date object, most of this function).
    ordinals = np.fromiter((day.toordinal() for _, own in owned for day, _ in own[1:]), dtype=np.int64)
    later = (ordinals - EPOCH_ORDINAL).astype("datetime64[D]").astype("datetime64[ns]")
    counts = np.array([count for _, own in owned for _, count in own], dtype=float)
    at_later = at_count = 0
    for i, own in owned:
        lo, hi = int(starts[i]), int(stops[i])
        own_later = later[at_later : at_later + len(own) - 1]
        out[lo:hi] = counts[at_count : at_count + len(own)][
            np.searchsorted(own_later, before[lo:hi], "right")
        ]
        at_later, at_count = at_later + len(own) - 1, at_count + len(own)
    return out


def share_steps(reported: pd.DataFrame, profile: pd.Series, symbols: Iterable[str]) -> dict[str, Steps]:
    """Each of `symbols`' share count as a step function of the date it is looked up at (the module
    docstring): from ORIGIN its first reported count, then from each period end the last count given for
    it; the profile's count from ORIGIN for a company with no positive reported count; no steps without
    either. Args as for `partial_sums`."""
    counts = reported["shares"].to_numpy(dtype=float)
    usable = np.isfinite(counts) & (counts > 0)
    codes, names = pd.factorize(reported["symbol"].astype(str).to_numpy()[usable])
    ends = pd.to_datetime(reported["date"]).to_numpy(dtype="datetime64[ns]")[usable].astype("datetime64[D]")
    counts = counts[usable]
    if len(counts) == 0:
        return _profile_steps({}, profile, symbols)
    order = np.lexsort((ends, codes))  # stable: of one company's counts for one period end, as given
    codes, ends, counts = codes[order], ends[order], counts[order]
    new_company = np.concatenate([[True], codes[1:] != codes[:-1]])
    last_of_end = np.concatenate([(codes[1:] != codes[:-1]) | (ends[1:] != ends[:-1]), [True]])
    # Each company's sequence: its first count from ORIGIN, then each period end's last count.
    firsts, lasts = np.flatnonzero(new_company), np.flatnonzero(last_of_end)
    position = np.argsort(np.concatenate([2 * firsts, 2 * lasts + 1]), kind="stable")
    seq_codes = np.concatenate([codes[firsts], codes[lasts]])[position]
    seq_days = np.concatenate([np.full(len(firsts), np.datetime64(ORIGIN, "D")), ends[lasts]])[position]
    seq_counts = np.concatenate([counts[firsts], counts[lasts]])[position]
    # _canonical: a step that repeats the count before it (of the same company) is no step.
    starts = np.concatenate([[True], seq_codes[1:] != seq_codes[:-1]])
    kept = starts | np.concatenate([[True], seq_counts[1:] != seq_counts[:-1]])
    kept_codes = seq_codes[kept]
    pairs = list(zip(seq_days[kept].astype(object).tolist(), seq_counts[kept].tolist(), strict=True))
    bounds = np.searchsorted(kept_codes, np.arange(len(names) + 1), "left").tolist()
    by_symbol = {str(name): pairs[bounds[code] : bounds[code + 1]] for code, name in enumerate(names)}
    return _profile_steps(by_symbol, profile, symbols)


def _profile_steps(
    reported: Mapping[str, Steps], profile: pd.Series, symbols: Iterable[str]
) -> dict[str, Steps]:
    """`symbols`' reported steps, else the profile's count from ORIGIN (when positive), else none."""
    out: dict[str, Steps] = {}
    for symbol in symbols:
        own = reported.get(str(symbol))
        if own:
            out[str(symbol)] = own
            continue
        fallback = profile.get(str(symbol), np.nan)
        if fallback is not None and np.isfinite(fallback) and fallback > 0:
            out[str(symbol)] = [(ORIGIN, float(fallback))]
    return out


def member_steps(spells: pd.DataFrame) -> dict[str, Steps]:
    """Each symbol's membership (1 a member, 0 not) as a step function: added <= date < removed over its
    spells (NaT ends open; ORIGIN before an open start)."""
    by_symbol: dict[str, list[tuple[date, date | None]]] = {}
    for symbol, added, removed in spells[["symbol", "added", "removed"]].itertuples(index=False):
        start = ORIGIN if pd.isna(added) else pd.Timestamp(added).date()
        end = None if pd.isna(removed) else pd.Timestamp(removed).date()
        by_symbol.setdefault(str(symbol), []).append((start, end))
    out: dict[str, Steps] = {}
    for symbol, own in by_symbol.items():
        days = sorted({ORIGIN} | {d for spell in own for d in spell if d is not None})
        inside = [
            (day, 1.0 if any(a <= day and (r is None or day < r) for a, r in own) else 0.0) for day in days
        ]
        out[symbol] = _canonical(inside)
    return out


def _canonical(steps: Steps) -> Steps:
    """`steps` (ascending, distinct days) without those that repeat the value before them: one form for
    one function."""
    out: Steps = []
    for day, value in steps:
        if not out or not _same(out[-1][1], value):
            out.append((day, value))
    return out


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _first_difference(a: Steps, b: Steps) -> date | None:
    """The first day two step functions differ on (NaN before a first step), None when never."""
    i = j = 0
    value_a = value_b = math.nan
    for day in sorted({d for d, _ in a} | {d for d, _ in b}):
        while i < len(a) and a[i][0] <= day:
            value_a, i = a[i][1], i + 1
        while j < len(b) and b[j][0] <= day:
            value_b, j = b[j][1], j + 1
        if not _same(value_a, value_b):
            return day
    return None


def first_change(old: Mapping[str, Steps], new: Mapping[str, Steps], symbols: Iterable[str]) -> date | None:
    """The first day on which any of `symbols`' step functions differ between `old` and `new` (ORIGIN:
    from the start), None when they are equal."""
    days = [_first_difference(old.get(s, []), new.get(s, [])) for s in symbols]
    return min((d for d in days if d is not None), default=None)


def input_rows(kind: str, steps: Mapping[str, Steps]) -> list[tuple[str, str, date, float]]:
    """benchmark_inputs rows (INPUT_COLUMNS) of one kind's step functions."""
    return [(symbol, kind, day, value) for symbol in sorted(steps) for day, value in steps[symbol]]


def input_steps(rows: Iterable[tuple[str, str, date, float]]) -> dict[str, dict[str, Steps]]:
    """benchmark_inputs rows back into step functions, by kind and symbol (rows by symbol and day)."""
    out: dict[str, dict[str, Steps]] = {MEMBER: {}, SHARES: {}}
    for symbol, kind, day, value in sorted(rows, key=lambda r: (r[1], r[0], r[2])):
        out[kind].setdefault(symbol, []).append((day, float(value)))
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
