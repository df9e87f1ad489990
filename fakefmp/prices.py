"""Deterministic daily prices per symbol: 30+ years of business days, pre-serialised rows for speed.

Dividend adjustment is backward-looking, as FMP's dividend-adjusted endpoint: after an ex-dividend
date D with cash dividend d and previous close c, every adjusted price *before* D is multiplied by
(1 - d/c). Only ex-dates on or before the as-of date ("today") count, so when the as-of date moves
past a new ex-date, every earlier adjusted price changes — the case an incremental loader must catch.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import orjson

HISTORY_START = date(1990, 1, 2)
_HOLIDAYS = {(1, 1), (7, 4), (12, 25)}  # enough realism: markets close on these fixed dates


def symbol_rng(seed: int, symbol: str, stream: str) -> np.random.Generator:
    """An independent, reproducible random stream per (seed, symbol, purpose)."""
    return np.random.default_rng([seed, zlib.crc32(symbol.encode()), zlib.crc32(stream.encode())])


def business_days(start: date, end: date) -> list[date]:
    days = []
    day = start
    one = timedelta(days=1)
    while day <= end:
        if day.weekday() < 5 and (day.month, day.day) not in _HOLIDAYS:
            days.append(day)
        day += one
    return days


def first_trading_day(seed: int, symbol: str) -> date:
    """Most symbols trade from 1990; about one in six listed later (an IPO between 1991 and 2012)."""
    rng = symbol_rng(seed, symbol, "ipo")
    if rng.random() < 0.83:
        return HISTORY_START
    return date(int(rng.integers(1991, 2013)), int(rng.integers(1, 13)), 1)


@dataclass(slots=True)
class PriceSeries:
    """One symbol's history, oldest first. Rows are serialised once, on first use, so a request only
    slices and joins bytes (and fundamentals, which need only closes, never pay for it)."""

    symbol: str
    dates: list[str]
    close: np.ndarray
    volume: np.ndarray
    columns: tuple[np.ndarray, ...]  # open, high, low, close, volume, change, changePercent, vwap
    ratios: np.ndarray  # per day: (1 - d/c) on an ex-dividend date, else 1
    dividends: dict[str, float]  # ex-date → cash dividend per share
    _full: list[bytes] | None = None
    _adjusted: tuple[int, list[bytes]] | None = None  # (days visible, their adjusted rows)

    def factor(self, visible: int) -> np.ndarray:
        """Back-adjustment factor of the first `visible` days: the product of the ratios of the
        ex-dates after each day, among those visible (a dividend not yet paid adjusts nothing)."""
        ratios = self.ratios[:visible]
        return np.concatenate((np.cumprod(ratios[::-1])[::-1][1:], [1.0]))[:visible]

    def rows(self, *, adjusted: bool, visible: int | None = None) -> list[bytes]:
        """Serialised rows, oldest first; adjusted rows only for the first `visible` days (as of then)."""
        if adjusted:
            days = len(self.dates) if visible is None else visible
            if self._adjusted is None or self._adjusted[0] != days:
                self._adjusted = (days, _adjusted_rows(self, days))
            return self._adjusted[1]
        if self._full is None:
            self._full = _full_rows(self)
        return self._full

    def body(
        self, *, adjusted: bool, start: str | None, end: str, cap: int, as_of: str | None = None
    ) -> tuple[bytes, int]:
        """The JSON array for [start, end], newest first, keeping only the newest `cap` rows (FMP drops
        the oldest). Adjusted prices count the ex-dates up to `as_of` (default `end`). Returns the
        body and its row count."""
        visible = bisect_right(self.dates, as_of or end)
        lo = bisect_left(self.dates, start) if start else 0
        hi = min(bisect_right(self.dates, end), visible)
        lo = max(lo, hi - cap)
        if hi <= lo:
            return b"[]", 0
        rows = self.rows(adjusted=adjusted, visible=visible)[lo:hi]
        return b"[" + b",".join(reversed(rows)) + b"]", hi - lo

    def close_on_or_before(self, day: str) -> float | None:
        index = bisect_right(self.dates, day) - 1
        return float(self.close[index]) if index >= 0 else None


def dumps_compact(value: object) -> bytes:
    """orjson.dumps for bytes that stay cached: orjson's result keeps its whole growth buffer (measured
    ~32 KB behind a 1.5 KB row), so a copy to the exact size keeps a cached universe in hundreds of
    MB instead of many GB."""
    return bytes(memoryview(orjson.dumps(value)))


def _full_rows(series: PriceSeries) -> list[bytes]:
    symbol, dumps = series.symbol, dumps_compact
    cols = [col.tolist() for col in series.columns]
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
    factor = series.factor(visible)
    adj = [np.round(col[:visible] * factor, 4).tolist() for col in series.columns[:4]]
    volume = series.columns[4][:visible].tolist()
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
        for d, o, h, lo, c, v in zip(series.dates[:visible], *adj, volume, strict=True)
    ]


def generate_prices(seed: int, symbol: str, horizon: date) -> PriceSeries:
    """Prices from the symbol's first trading day to `horizon` (a random walk; identical prefixes for
    any horizon, because each day's draws come in one row of one matrix)."""
    days = business_days(first_trading_day(seed, symbol), horizon)
    n = len(days)
    params = symbol_rng(seed, symbol, "price-params")
    mu = params.uniform(0.04, 0.16)
    sigma = params.uniform(0.18, 0.45)
    start_price = params.uniform(4.0, 60.0)
    pays_dividends = params.random() < 0.7
    yield_ = params.uniform(0.005, 0.04)
    base_volume = params.uniform(5e5, 3e7)
    draws = symbol_rng(seed, symbol, "price-draws").standard_normal((n, 5))
    daily = sigma / np.sqrt(252.0)
    log_returns = (mu - sigma * sigma / 2) / 252.0 + daily * draws[:, 0]
    close = np.maximum(start_price * np.exp(np.cumsum(log_returns)), 0.05)
    prev = np.concatenate(([start_price], close[:-1]))
    open_ = prev * np.exp(0.3 * daily * draws[:, 1])
    close = np.round(close, 2)
    open_ = np.round(open_, 2)
    high = np.round(np.maximum(open_, close) * (1 + np.abs(draws[:, 2]) * daily * 0.6), 2)
    low = np.round(np.minimum(open_, close) * (1 - np.minimum(np.abs(draws[:, 3]) * daily * 0.6, 0.5)), 2)
    high = np.maximum(high, np.maximum(open_, close))  # rounding must not break high ≥ max(open, close)
    low = np.minimum(low, np.minimum(open_, close))
    volume = np.rint(base_volume * np.exp(0.4 * draws[:, 4])).astype(np.int64)
    change = np.round(close - open_, 4)
    change_pct = np.round(np.divide(change, open_, out=np.zeros(n), where=open_ > 0) * 100, 5)
    vwap = np.round((open_ + high + low + close) / 4, 4)

    # Quarterly dividends: each ex-date scales every earlier price by (1 - D / previous close), the
    # back-adjustment FMP's dividend-adjusted endpoint applies (PriceSeries.factor, as of a date).
    ratios = np.ones(n)
    dividends: dict[str, float] = {}
    if pays_dividends:
        for index in range(63, n, 63):
            amount = round(float(close[index - 1]) * yield_ / 4, 4)
            dividends[days[index].isoformat()] = amount
            ratios[index] = 1 - amount / float(close[index - 1])
    iso = [day.isoformat() for day in days]
    columns = (open_, high, low, close, volume, change, change_pct, vwap)
    return PriceSeries(symbol, iso, close, volume, columns, ratios, dividends)
