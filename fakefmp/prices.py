"""Deterministic daily prices per symbol: 30+ years of business days, pre-serialised rows for speed.

The log price is the company's value per share (its course: trend earnings times a multiple,
`course.py`) plus beta x the market's swing around its trend, the sector factor and the company's
own news (`market.py`; nil on the anchor day, quieter for larger companies), so prices follow
earnings and move together. The level holds on the company's anchor: a known company's real
end-2025 price, a drawn one for the others. Prices are generated as traded; a company splits when
its price has run high, and FMP's `full` endpoint is split-adjusted as of "today": after a split
every earlier open, high, low and close is divided by the ratio (volume multiplied).

Dividend adjustment is backward-looking, as FMP's dividend-adjusted endpoint: after an ex-dividend
date D with cash dividend d and previous close c, every adjusted price *before* D is multiplied by
(1 - d/c). Only ex-dates on or before the as-of date ("today") count, so when the as-of date moves
past a new ex-date, every earlier adjusted price changes — the case an incremental loader must catch.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date

import numpy as np
import orjson

from fakefmp.constituents import Company
from fakefmp.course import Course, course
from fakefmp.draws import symbol_rng
from fakefmp.market import (
    ANCHOR,
    HISTORY_START,
    MARKET_VOL,
    MODEL_END,
    calendar,
    day_index,
    factors,
    levels,
    ordinals,
)
from fakefmp.outline import Outline, first_trading_day, outline
from fakefmp.sectors import SECTOR_NAMES

__all__ = [
    "HISTORY_START", "PriceSeries", "dumps_compact", "first_trading_day", "generate_prices", "symbol_rng"
]  # fmt: skip
MIN_SPLIT_GAP = 500  # trading days between two splits of one company
SPLIT_RATIOS = (1.5, 2.0, 3.0)  # before 2008: 3-for-2, 2-for-1, 3-for-1
MODERN_RATIOS = (2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0, 20.0)  # since: fewer, larger splits
MODERN_SPLITS = date(2008, 1, 1).toordinal()
MODERN_SPLIT_PRICE = 100.0  # below this price today, a stock has not split since 2008
SPLIT_QUIET_DAYS = (250, 450)  # trading days before a known company's anchor without a split
DAILY_TURNOVER = 0.008  # of the shares outstanding, a typical large-cap day
NEWS_DAYS = 250  # a company's own price news fades over about this many trading days
TYPICAL_CAP, SIZE_EXPONENT, MEGA_CAP_DAMPING = 35e9, 0.12, 0.6  # own news quietens with size (USD cap)


def _back_product(ratios: np.ndarray) -> np.ndarray:
    """Per day, the product of the ratios of the days after it (1 for the last day)."""
    return np.concatenate((np.cumprod(ratios[::-1])[::-1][1:], [1.0]))


@dataclass(slots=True)
class PriceSeries:
    """One symbol's history as traded, oldest first. Rows are serialised once, on first use, so a request
    only slices and joins bytes (and fundamentals, which need only closes, never pay for it)."""

    symbol: str
    dates: list[str]
    close: np.ndarray  # as traded (not split-adjusted)
    volume: np.ndarray
    columns: tuple[np.ndarray, ...]  # open, high, low, close, volume, change, changePercent, vwap
    ratios: np.ndarray  # per day: (1 - d/c) on an ex-dividend date, else 1
    dividends: dict[str, float]  # ex-date → cash dividend per share as paid then
    splits: dict[str, float]  # ex-date → split ratio (2.0 for 2-for-1)
    split_ratios: np.ndarray  # per day: 1/ratio on a split's ex-date, else 1
    beta: float  # the beta the series was drawn with (vs the market factor)
    _full: tuple[int, list[bytes]] | None = None  # (splits visible, the split-adjusted rows)
    _adjusted: tuple[int, list[bytes]] | None = None  # (days visible, their adjusted rows)

    def factor(self, visible: int) -> np.ndarray:
        """Back-adjustment factor of the first `visible` days: the product of the ratios of the
        ex-dates after each day, among those visible (a dividend not yet paid adjusts nothing)."""
        return _back_product(self.ratios[:visible])

    def split_factor(self, visible: int) -> np.ndarray:
        """Per day, 1 / the product of the ratios of the splits visible after it (FMP's split adjustment)."""
        factor = np.ones(len(self.dates))
        factor[:visible] = _back_product(self.split_ratios[:visible])
        return factor

    def rows(self, *, adjusted: bool, visible: int | None = None) -> list[bytes]:
        """Serialised rows, oldest first, adjusted for the splits (and, if `adjusted`, the dividends)
        among the first `visible` days (as of then)."""
        days = len(self.dates) if visible is None else visible
        if adjusted:
            if self._adjusted is None or self._adjusted[0] != days:
                self._adjusted = (days, _adjusted_rows(self, days))
            return self._adjusted[1]
        splits = int(np.count_nonzero(self.split_ratios[:days] != 1.0))
        if self._full is None or self._full[0] != splits:
            self._full = (splits, _full_rows(self, days))
        return self._full[1]

    def body(
        self, *, adjusted: bool, start: str | None, end: str, cap: int, as_of: str | None = None
    ) -> tuple[bytes, int]:
        """The JSON array for [start, end], newest first, keeping only the newest `cap` rows (FMP drops
        the oldest). Splits and dividends count up to `as_of` (default `end`). Returns the body and
        its row count."""
        visible = bisect_right(self.dates, as_of or end)
        lo = bisect_left(self.dates, start) if start else 0
        hi = min(bisect_right(self.dates, end), visible)
        lo = max(lo, hi - cap)
        if hi <= lo:
            return b"[]", 0
        rows = self.rows(adjusted=adjusted, visible=visible)[lo:hi]
        return b"[" + b",".join(reversed(rows)) + b"]", hi - lo

    def index_on_or_before(self, day: str) -> int:
        return bisect_right(self.dates, day) - 1

    def close_on_or_before(self, day: str) -> float | None:
        """The close as traded that day (or the last trading day before it)."""
        index = self.index_on_or_before(day)
        return float(self.close[index]) if index >= 0 else None

    def splits_after(self, day: str) -> float:
        """The product of the ratios of every split after `day`: shares then x this = shares now."""
        product = 1.0
        for ex_date, ratio in self.splits.items():
            if ex_date > day:
                product *= ratio
        return product


def dumps_compact(value: object) -> bytes:
    """orjson.dumps for bytes that stay cached: orjson's result keeps its whole growth buffer (measured
    ~32 KB behind a 1.5 KB row), so a copy to the exact size keeps a cached universe in hundreds of
    MB instead of many GB."""
    return bytes(memoryview(orjson.dumps(value)))


def _split_adjusted(series: PriceSeries, visible: int) -> list[list[float]]:
    """The eight row columns split-adjusted as of the `visible`-th day (prices divided, volume multiplied)."""
    factor = series.split_factor(visible)
    if (factor == 1.0).all():
        return [col.tolist() for col in series.columns]
    o, h, lo, c, v, ch, cp, vw = series.columns
    prices = [np.round(col * factor, 4).tolist() for col in (o, h, lo, c)]
    volume = np.rint(v / factor).astype(np.int64).tolist()
    return [
        *prices,
        volume,
        np.round(ch * factor, 4).tolist(),
        cp.tolist(),
        np.round(vw * factor, 4).tolist(),
    ]


def _full_rows(series: PriceSeries, visible: int) -> list[bytes]:
    symbol, dumps = series.symbol, dumps_compact
    cols = _split_adjusted(series, visible)
    return [
        dumps(
            {
                "symbol": symbol,
                "date": d,
                "open": o,
                "high": h,
                "low": lo,
                "close": c,
                "volume": v,
                "change": ch,
                "changePercent": cp,
                "vwap": vw,
            }
        )
        for d, o, h, lo, c, v, ch, cp, vw in zip(series.dates, *cols, strict=True)
    ]


def _adjusted_rows(series: PriceSeries, visible: int) -> list[bytes]:
    symbol, dumps = series.symbol, dumps_compact
    factor = series.factor(visible) * series.split_factor(visible)[:visible]
    adj = [np.round(col[:visible] * factor, 4).tolist() for col in series.columns[:4]]
    volume = np.rint(series.columns[4][:visible] / series.split_factor(visible)[:visible]).astype(np.int64)
    return [
        dumps(
            {
                "symbol": symbol,
                "date": d,
                "adjOpen": o,
                "adjHigh": h,
                "adjLow": lo,
                "adjClose": c,
                "volume": v,
            }
        )
        for d, o, h, lo, c, v in zip(series.dates[:visible], *adj, volume.tolist(), strict=True)
    ]


def _nearest(choices: tuple[float, ...], ratio: float) -> float:
    """The split ratio among `choices` nearest to `ratio` (on a log scale)."""
    return min(choices, key=lambda r: abs(np.log(r / max(ratio, 1e-9))))


def _split_days(
    adj: np.ndarray, at: np.ndarray, anchor: int, plan: Outline, rng: np.random.Generator
) -> list[tuple[int, float]]:
    """Split ex-days (indexes) and ratios. A company splits when its price as traded has run up so far
    that a split brings it back to its usual level. Since 2008, only a stock priced above USD 100
    today splits, to 30-80 % of today's price, from a few hundred dollars or more (fewer splits,
    larger ratios: 4-, 10-, 20-for-1); before, to USD 40-75 (or 80 % of its 2008 price, if lower)
    by 3-for-2, 2-for-1 or 3-for-1, from about USD 80-150, as companies did then. Found walking back
    from the anchor, where the price as traded is known: going back, the price falls as the company
    shrinks, and where it falls below the usual level, the split sits the next day. At most one
    split in MIN_SPLIT_GAP days, none in the year or so before a known company's anchor (where its
    price is the real one)."""
    old_floor, new_floor = rng.uniform(40.0, 75.0), plan.price * rng.uniform(0.3, 0.8)
    old_target, new_target = rng.uniform(80.0, 150.0), rng.uniform(300.0, 1200.0)
    quiet = int(rng.integers(*SPLIT_QUIET_DAYS)) if plan.known else 0
    if plan.never_split:
        return []
    boundary = int(np.searchsorted(at, MODERN_SPLITS))
    found: list[tuple[int, float]] = []
    product, limit = 1.0, anchor - quiet
    if plan.price >= MODERN_SPLIT_PRICE:
        ratio = _nearest(MODERN_RATIOS, new_target / new_floor)
        limit = _walk_back(adj, product, new_floor, ratio, boundary, limit, found)
        product = float(np.prod([r for _, r in found]))
    if 0 < boundary < len(adj):
        old_floor = min(old_floor, 0.8 * float(adj[min(boundary, limit - 1) if limit > 0 else 0]) * product)
    ratio = _nearest(SPLIT_RATIOS, old_target / old_floor)
    _walk_back(adj, product, old_floor, ratio, 0, min(limit, boundary), found)
    return found


def _walk_back(
    adj: np.ndarray,
    product: float,
    floor: float,
    ratio: float,
    first: int,
    limit: int,
    found: list[tuple[int, float]],
) -> int:
    """Splits (appended to `found`) between `first` and `limit`, walking back; returns the new limit."""
    while len(found) < 16 and limit > max(first, 1):
        low = np.flatnonzero(adj[first:limit] * product < floor)
        if not len(low):
            break
        day = first + int(low[-1]) + 1
        found.append((day, ratio))
        product *= ratio
        limit = day - MIN_SPLIT_GAP
    return limit


def _dividends(
    outline: Outline,
    course: Course,
    rng: np.random.Generator,
    days: list[date],
    at: np.ndarray,
    splits_after: np.ndarray,
) -> dict[int, float]:
    """Quarterly cash dividends by day index (as paid, per share then).

    Each year's dividend is the payout ratio times the trend earnings per share, and is never cut
    unless that has halved (banks in 2009, energy in 2015 and 2020)."""
    if outline.pays_from is None:
        return {}
    paid: dict[int, float] = {}
    level, year = 0.0, 0
    for index in range(int(rng.integers(20, 83)), len(days), 63):
        if days[index].year < outline.pays_from or index < 126:
            continue
        if days[index].year != year:
            year = days[index].year
            eps = float(np.interp(at[index], course.ordinals, course.eps))
            target = outline.payout * max(eps, 0.0) / 4
            level = target if target < 0.5 * level or target > level else level
        if level > 0:
            paid[index] = round(level * float(splits_after[index]), 4)
    return paid


def _size_damping(plan: Outline) -> float:
    """How much quieter a large company's own news is than a typical constituent's: a mega cap's own
    moves are about 60 % of a USD 35 bn company's (diversified businesses, more analysts)."""
    return float(np.clip((plan.market_cap / TYPICAL_CAP) ** -SIZE_EXPONENT, MEGA_CAP_DAMPING, 1.0))


def _mean_reverting(steps: np.ndarray, window: int) -> np.ndarray:
    """A random walk less its trailing `window`-day mean: daily moves as the walk's, but it never
    strays far (a company's own news moves its price; it does not keep it off its earnings forever)."""
    walk = np.cumsum(steps)
    total = np.cumsum(walk)
    mean = np.empty_like(walk)
    head = min(window, len(walk))
    mean[:head] = total[:head] / np.arange(1, head + 1)
    mean[head:] = (total[head:] - total[:-head]) / head
    deviation: np.ndarray = walk - mean
    return deviation


def generate_prices(seed: int, company: Company, horizon: date) -> PriceSeries:
    """Prices from the symbol's first trading day to `horizon` (or its delisting), identical prefixes for
    any horizon: the factors are drawn to a fixed end, each day's own draws come in one row of one matrix."""
    if horizon > MODEL_END:
        raise ValueError(f"the price model ends on {MODEL_END}")
    symbol = company.symbol
    plan = outline(seed, company)
    path = course(seed, plan)
    sector = plan.sector
    all_days, all_iso = calendar(max(horizon, ANCHOR))
    first = day_index(plan.first_day)
    end = len(all_days) if plan.last_day is None else min(len(all_days), day_index(plan.last_day) + 1)
    days, iso = all_days[first:end], all_iso[first:end]
    n = len(days)
    params = symbol_rng(seed, symbol, "price-params")
    beta = params.uniform(*sector.beta)
    vol = params.uniform(*sector.vol)
    own = np.sqrt(max(vol**2 - (beta * MARKET_VOL) ** 2 - sector.factor_vol**2, 0.08**2))
    own *= _size_damping(plan)
    draws = symbol_rng(seed, symbol, "price-draws").standard_normal((n, 5))
    _, _, loud = factors(seed)
    swing, sectors = levels(seed)
    column = SECTOR_NAMES.index(company.sector)
    noise = _mean_reverting(own / np.sqrt(252.0) * np.sqrt(loud[first:end]) * draws[:, 0], NEWS_DAYS)
    at = ordinals()[first:end]
    value = np.interp(at, path.ordinals, path.value)
    level = beta * swing[first:end] + sectors[first:end, column] + noise + value
    anchor = min(day_index(plan.anchor), end - 1) - first
    # on its anchor day a company trades at its value (a known one at its real price): no own news
    # then, or the price would drift back to its value from the anchor on (up to 2x in a year)
    level -= noise[anchor] * np.exp(-np.abs(np.arange(n) - anchor) / NEWS_DAYS)
    adj = plan.price * np.exp(level - level[anchor])  # split-adjusted as of the anchor

    split_rng = symbol_rng(seed, symbol, "splits")
    split_days = _split_days(adj, at, anchor, plan, split_rng)
    split_ratios = np.ones(n)
    for index, ratio in split_days:
        split_ratios[index] = 1.0 / ratio
    splits_after = 1.0 / _back_product(split_ratios)
    close = np.maximum(np.round(adj * splits_after, 2), 0.01)

    daily = vol / np.sqrt(252.0)
    prev = np.concatenate(([close[0]], close[:-1] * split_ratios[1:]))  # a split day opens split
    open_ = np.maximum(np.round(prev * np.exp(0.3 * daily * draws[:, 1]), 2), 0.01)
    high = np.round(np.maximum(open_, close) * (1 + np.abs(draws[:, 2]) * daily * 0.6), 2)
    low = np.round(np.minimum(open_, close) * (1 - np.minimum(np.abs(draws[:, 3]) * daily * 0.6, 0.5)), 2)
    high = np.maximum(high, np.maximum(open_, close))  # rounding must not break high ≥ max(open, close)
    low = np.minimum(low, np.minimum(open_, close))
    shares = plan.market_cap / plan.price
    volume = np.rint(shares * DAILY_TURNOVER * np.exp(0.4 * draws[:, 4]) / splits_after).astype(np.int64)
    change = np.round(close - open_, 4)
    change_pct = np.round(np.divide(change, open_, out=np.zeros(n), where=open_ > 0) * 100, 5)
    vwap = np.round((open_ + high + low + close) / 4, 4)

    # Each ex-date scales every earlier price by (1 - D / previous close), the back-adjustment FMP's
    # dividend-adjusted endpoint applies (PriceSeries.factor, as of a date).
    paid = _dividends(plan, path, symbol_rng(seed, symbol, "dividends"), days, at, splits_after)
    ratios = np.ones(n)
    dividends: dict[str, float] = {}
    for index, amount in paid.items():
        dividends[iso[index]] = amount
        ratios[index] = 1 - amount / float(close[index - 1])
    columns = (open_, high, low, close, volume, change, change_pct, vwap)
    splits = {iso[index]: ratio for index, ratio in sorted(split_days)}
    return PriceSeries(
        symbol, iso, close, volume, columns, ratios, dividends, splits, split_ratios, round(beta, 3)
    )
