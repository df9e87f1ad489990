"""Deterministic daily prices per symbol: 30+ years of business days, pre-serialised rows for speed.

Returns come from the factor model of `market.py` (market, sector, own noise); the level is set so
the close on ANCHOR hits a plausible target. Prices are generated as traded; a company splits when
its price has run high (2-for-1 mostly), and FMP's `full` endpoint is split-adjusted as of "today":
after a split every earlier open, high, low and close is divided by the ratio (volume multiplied).

Dividend adjustment is backward-looking, as FMP's dividend-adjusted endpoint: after an ex-dividend
date D with cash dividend d and previous close c, every adjusted price *before* D is multiplied by
(1 - d/c). Only ex-dates on or before the as-of date ("today") count, so when the as-of date moves
past a new ex-date, every earlier adjusted price changes — the case an incremental loader must catch.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date

import numpy as np
import orjson

from fakefmp.constituents import Company
from fakefmp.market import (
    ANCHOR,
    HISTORY_START,
    MARKET_VOL,
    MODEL_END,
    calendar,
    day_index,
    factors,
    market_cap_of,
)
from fakefmp.sectors import SECTOR_NAMES, sector_of

__all__ = ["HISTORY_START", "PriceSeries", "dumps_compact", "first_trading_day", "generate_prices"]
MIN_SPLIT_GAP = 500  # trading days between two splits of one company
SPLIT_RATIOS = (2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 4.0, 2.0)  # mostly 2-for-1
MIN_TRADED_PRICE = 6.0  # a price as traded below this calls for an earlier split
DAILY_TURNOVER = 0.008  # of the shares outstanding, a typical large-cap day


def symbol_rng(seed: int, symbol: str, stream: str) -> np.random.Generator:
    """An independent, reproducible random stream per (seed, symbol, purpose)."""
    return np.random.default_rng([seed, zlib.crc32(symbol.encode()), zlib.crc32(stream.encode())])


def first_trading_day(seed: int, symbol: str) -> date:
    """Most symbols trade from 1990; about one in six listed later (an IPO between 1991 and 2012)."""
    rng = symbol_rng(seed, symbol, "ipo")
    if rng.random() < 0.83:
        return HISTORY_START
    return date(int(rng.integers(1991, 2013)), int(rng.integers(1, 13)), 1)


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


def _split_days(
    adj: np.ndarray, anchor: int, rng: np.random.Generator, *, never: bool
) -> list[tuple[int, float]]:
    """Split ex-days (indexes) and ratios, found walking back from `anchor`: a split sits where the price
    as traded before it would have run past the company's threshold. The price then stays in a
    traded range however far it has grown since 1990 (as real prices do)."""
    threshold = rng.uniform(90.0, 420.0)
    if never:
        return []
    ratios = rng.choice(SPLIT_RATIOS, size=16)
    found: list[tuple[int, float]] = []
    product, current = 1.0, anchor + MIN_SPLIT_GAP  # a recent split may sit right before the anchor
    for ratio in ratios:
        traded = adj[: max(current - MIN_SPLIT_GAP, 0)] * product
        below = traded < threshold / ratio
        crossings = np.flatnonzero(below[:-1] & ~below[1:])
        if len(crossings):
            current = int(crossings[-1]) + 1
        else:
            # never that high since, but far below any traded price before: split at the peak between
            too_low = np.flatnonzero(traded < MIN_TRADED_PRICE)
            if not len(too_low) or too_low[-1] + 2 >= len(traded):
                break
            current = int(too_low[-1]) + 1 + int(traded[too_low[-1] + 1 :].argmax())
        found.append((current, float(ratio)))
        product *= ratio
    return found


def _dividends(
    company: Company, rng: np.random.Generator, days: list[date], adj: np.ndarray, splits_after: np.ndarray
) -> tuple[dict[int, float], float]:
    """Quarterly cash dividends by day index (as paid, per share then), and the drawn yield (0: none).

    Each year's dividend is set from the past year's average price and the company's yield, and is
    never cut unless the price has halved (banks in 2009, energy in 2015 and 2020)."""
    sector = sector_of(company)
    pays = rng.random() < sector.payers
    dividend_yield = rng.uniform(*sector.dividend_yield)
    # growth companies start paying late (Apple 2012, Microsoft 2003) if at all
    start_year = days[0].year + 1 if rng.random() < 0.6 else int(rng.integers(1995, 2021))
    if not pays:
        return {}, 0.0
    paid: dict[int, float] = {}
    level, year = 0.0, 0
    for index in range(int(rng.integers(20, 83)), len(days), 63):
        if days[index].year < start_year or index < 126:
            continue
        if days[index].year != year:
            year = days[index].year
            trailing = float(adj[max(0, index - 252) : index].mean()) * dividend_yield / 4
            level = trailing if trailing < 0.5 * level or trailing > level else level
        paid[index] = round(level * float(splits_after[index]), 4)
    return paid, dividend_yield


def generate_prices(seed: int, company: Company, horizon: date) -> PriceSeries:
    """Prices from the symbol's first trading day to `horizon` (identical prefixes for any horizon:
    the factors are drawn to a fixed end, each day's own draws come in one row of one matrix)."""
    if horizon > MODEL_END:
        raise ValueError(f"the price model ends on {MODEL_END}")
    symbol = company.symbol
    sector = sector_of(company)
    all_days, all_iso = calendar(max(horizon, ANCHOR))
    first = day_index(first_trading_day(seed, symbol))
    end = len(all_days)
    days, iso = all_days[first:end], all_iso[first:end]
    n = len(days)
    params = symbol_rng(seed, symbol, "price-params")
    beta = params.uniform(*sector.beta)
    vol = params.uniform(*sector.vol)
    alpha = params.normal(0.0, 0.025)
    target = float(np.clip(np.exp(params.normal(np.log(150.0), 0.7)), 18.0, 900.0))
    never_split = params.random() < 0.02  # the odd stock that never split (NVR, AutoZone)
    if never_split:
        target = params.uniform(1000.0, 5000.0)
    own = np.sqrt(max(vol**2 - (beta * MARKET_VOL) ** 2 - sector.factor_vol**2, 0.08**2))
    draws = symbol_rng(seed, symbol, "price-draws").standard_normal((n, 5))
    market, sectors, loud = factors(seed)
    column = SECTOR_NAMES.index(company.sector)
    noise = own / np.sqrt(252.0) * np.sqrt(loud[first:end]) * draws[:, 0]
    log_returns = beta * market[first:end] + sectors[first:end, column] + alpha / 252.0 + noise
    level = np.cumsum(log_returns)
    anchor = day_index(ANCHOR) - first
    adj = target * np.exp(level - level[anchor])  # split-adjusted as of the anchor

    split_rng = symbol_rng(seed, symbol, "splits")
    split_days = _split_days(adj, anchor, split_rng, never=never_split)
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
    shares = market_cap_of(seed, symbol) / target
    volume = np.rint(shares * DAILY_TURNOVER * np.exp(0.4 * draws[:, 4]) / splits_after).astype(np.int64)
    change = np.round(close - open_, 4)
    change_pct = np.round(np.divide(change, open_, out=np.zeros(n), where=open_ > 0) * 100, 5)
    vwap = np.round((open_ + high + low + close) / 4, 4)

    # Each ex-date scales every earlier price by (1 - D / previous close), the back-adjustment FMP's
    # dividend-adjusted endpoint applies (PriceSeries.factor, as of a date).
    paid, _ = _dividends(company, symbol_rng(seed, symbol, "dividends"), days, adj, splits_after)
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
