"""Technical indicators as TA-Lib computes them (its default definitions), over pandas Series with the index kept.

Inputs are Series indexed by date; outputs keep that index and are NaN during the warm-up. A row with a
missing input (a NaN anywhere in it) is treated as a day without a price: every indicator is computed on the
rows that have all their inputs and is NaN on the missing row only. TA-Lib itself is inconsistent there (RSI
turns 0.0 and ADX freezes for the rest of the history, SMA/EMA/MACD go NaN for good), so it never sees a NaN.
Use `ohlcv(prices, adjusted=...)` to choose dividend-adjusted (default) or raw prices before calling these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import talib

from dashboard.analytics.errors import AnalyticsError

TRADING_DAYS = 252
PRICE_COLUMNS = ("open", "high", "low", "close", "adj_close", "volume")


def _arrays(*series: pd.Series) -> tuple[pd.Index, list[np.ndarray]]:
    """Validate aligned numeric Series and return their index and float64 arrays (what TA-Lib needs)."""
    first = series[0]
    if not isinstance(first, pd.Series):
        raise AnalyticsError(f"expected a pandas Series, got {type(first).__name__}")
    if first.empty:
        raise AnalyticsError("empty price series")
    arrays = []
    for s in series:
        if not isinstance(s, pd.Series):
            raise AnalyticsError(f"expected a pandas Series, got {type(s).__name__}")
        if not s.index.equals(first.index):
            raise AnalyticsError("input series are not aligned on the same index")
        if s.dtype == np.float64:  # already what TA-Lib needs: skip pd.to_numeric's pass
            arrays.append(np.ascontiguousarray(s.to_numpy()))
            continue
        try:
            arrays.append(np.ascontiguousarray(pd.to_numeric(s, errors="raise").to_numpy(dtype=np.float64)))
        except (TypeError, ValueError) as exc:
            raise AnalyticsError(f"non-numeric values in series {s.name!r}") from exc
    return first.index, arrays


def _period(value: int, name: str = "period", minimum: int = 1) -> int:
    if not isinstance(value, int | np.integer) or value < minimum:
        raise AnalyticsError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _lines(fn: object, arrays: Sequence[np.ndarray], **kwargs: int | float) -> list[np.ndarray]:
    """Every output line of a TA-Lib function, computed on the rows where all inputs are known.

    Rows with a NaN input are left out of the call and come back as NaN, so a missing day neither zeroes
    RSI nor freezes ADX nor blanks the rest of the history; an all-NaN input gives all-NaN lines.
    """
    n = len(arrays[0])
    known = np.logical_and.reduce([~np.isnan(a) for a in arrays])
    if not known.any():
        return [np.full(n, np.nan)]
    inputs = list(arrays) if known.all() else [np.ascontiguousarray(a[known]) for a in arrays]
    try:
        result = fn(*inputs, **kwargs)  # type: ignore[operator]
    except Exception as exc:
        raise AnalyticsError(f"TA-Lib rejected the input: {exc}") from exc
    lines = list(result) if isinstance(result, tuple) else [result]
    if known.all():
        return lines
    out = []
    for line in lines:
        full = np.full(n, np.nan)
        full[known] = line
        out.append(full)
    return out


def _call(fn: object, index: pd.Index, arrays: Sequence[np.ndarray], **kwargs: int | float) -> np.ndarray:
    """A one-line TA-Lib function over the known rows (see `_lines`)."""
    return _lines(fn, arrays, **kwargs)[0]


def _multi(fn: object, arrays: Sequence[np.ndarray], count: int, **kwargs: int | float) -> list[np.ndarray]:
    """A TA-Lib function with `count` output lines over the known rows; all-NaN lines when none is known."""
    lines = _lines(fn, arrays, **kwargs)
    return lines if len(lines) == count else [lines[0]] * count


def sma(close: pd.Series, period: int) -> pd.Series:
    """Simple moving average (TA-Lib SMA)."""
    index, (c,) = _arrays(close)
    return pd.Series(_call(talib.SMA, index, [c], timeperiod=_period(period)), index=index, name="sma")


def ema(close: pd.Series, period: int) -> pd.Series:
    """Exponential moving average, seeded with the SMA of the first `period` values (TA-Lib EMA)."""
    index, (c,) = _arrays(close)
    return pd.Series(_call(talib.EMA, index, [c], timeperiod=_period(period)), index=index, name="ema")


def rsi(close: pd.Series, period: int = 14) -> pd.Series:
    """Wilder's relative strength index (TA-Lib RSI)."""
    index, (c,) = _arrays(close)
    return pd.Series(_call(talib.RSI, index, [c], timeperiod=_period(period)), index=index, name="rsi")


def macd(close: pd.Series, fast: int = 12, slow: int = 26, signal: int = 9) -> pd.DataFrame:
    """MACD line, signal line and histogram (TA-Lib MACD): columns macd, signal, hist."""
    index, (c,) = _arrays(close)
    kwargs = {"fastperiod": _period(fast, "fast", 2), "slowperiod": _period(slow, "slow", 2)}
    lines = _multi(talib.MACD, [c], 3, signalperiod=_period(signal, "signal"), **kwargs)
    return pd.DataFrame({"macd": lines[0], "signal": lines[1], "hist": lines[2]}, index=index)


def bbands(close: pd.Series, period: int = 20, nbdev: float = 2.0) -> pd.DataFrame:
    """Bollinger bands on an SMA with population standard deviation (TA-Lib BBANDS): upper, middle, lower."""
    index, (c,) = _arrays(close)
    bands = _multi(talib.BBANDS, [c], 3, timeperiod=_period(period, minimum=2), nbdevup=nbdev, nbdevdn=nbdev)
    return pd.DataFrame({"upper": bands[0], "middle": bands[1], "lower": bands[2]}, index=index)


def atr(high: pd.Series, low: pd.Series, close: pd.Series, period: int = 14) -> pd.Series:
    """Wilder's average true range (TA-Lib ATR)."""
    index, arrays = _arrays(high, low, close)
    return pd.Series(_call(talib.ATR, index, arrays, timeperiod=_period(period)), index=index, name="atr")


def adx(high: pd.Series, low: pd.Series, close: pd.Series, period: int = 14) -> pd.Series:
    """Wilder's average directional index (TA-Lib ADX); its warm-up is 2 * period - 1 rows."""
    index, arrays = _arrays(high, low, close)
    return pd.Series(_call(talib.ADX, index, arrays, timeperiod=_period(period)), index=index, name="adx")


def stoch(
    high: pd.Series, low: pd.Series, close: pd.Series, fastk: int = 5, slowk: int = 3, slowd: int = 3
) -> pd.DataFrame:
    """Slow stochastic oscillator with SMA smoothing (TA-Lib STOCH defaults): columns slowk, slowd."""
    index, arrays = _arrays(high, low, close)
    lines = _multi(
        talib.STOCH,
        arrays,
        2,
        fastk_period=_period(fastk, "fastk"),
        slowk_period=_period(slowk, "slowk"),
        slowd_period=_period(slowd, "slowd"),
    )
    return pd.DataFrame({"slowk": lines[0], "slowd": lines[1]}, index=index)


def obv(close: pd.Series, volume: pd.Series) -> pd.Series:
    """On-balance volume (TA-Lib OBV: starts at the first volume, no warm-up)."""
    index, arrays = _arrays(close, volume)
    return pd.Series(_call(talib.OBV, index, arrays), index=index, name="obv")


def mfi(high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series, period: int = 14) -> pd.Series:
    """Money flow index (TA-Lib MFI)."""
    index, arrays = _arrays(high, low, close, volume)
    return pd.Series(_call(talib.MFI, index, arrays, timeperiod=_period(period)), index=index, name="mfi")


def drawdown(close: pd.Series) -> pd.Series:
    """Fall from the running peak: close / cummax(close) - 1 (0 at a new high, -0.25 when 25% below it)."""
    index, (c,) = _arrays(close)
    s = pd.Series(c, index=index)
    peak = s.where(s > 0).cummax()
    return (s / peak - 1.0).rename("drawdown")


def realized_volatility(
    close: pd.Series, window: int = 21, *, periods_per_year: int = TRADING_DAYS
) -> pd.Series:
    """Rolling annualised volatility: std (ddof=1) of daily log returns over `window` * √periods_per_year."""
    index, (c,) = _arrays(close)
    s = pd.Series(c, index=index)
    log_ret = np.log(s.where(s > 0)).diff()
    vol = log_ret.rolling(_period(window, "window", 2), min_periods=window).std() * np.sqrt(periods_per_year)
    return vol.rename("realized_volatility")


def rolling_beta(close: pd.Series, benchmark: pd.Series, window: int = 252) -> pd.Series:
    """Rolling beta of simple daily returns vs a benchmark: cov(r, b) / var(b) over `window` returns."""
    index, (c, b) = _arrays(close, benchmark)
    w = _period(window, "window", 2)
    r = pd.Series(c, index=index).pct_change(fill_method=None)
    m = pd.Series(b, index=index).pct_change(fill_method=None)
    var = m.rolling(w, min_periods=w).var()
    return (r.rolling(w, min_periods=w).cov(m) / var.where(var > 0)).rename("rolling_beta")


def ohlcv(prices: pd.DataFrame, *, adjusted: bool = True) -> pd.DataFrame:
    """The open/high/low/close/volume frame to feed the indicators, adjusted or raw.

    Args:
        prices: columns open, high, low, close, adj_close, volume, indexed by date.
        adjusted: True scales open, high and low by adj_close / close and uses adj_close as close, so
            dividends do not show up as price gaps; False returns the traded prices. Volume is unchanged
            (a dividend adjustment does not change the number of shares traded). A missing adj_close
            falls back to the traded price times the nearest later (else earlier) day's factor.
    """
    missing = [c for c in PRICE_COLUMNS if c not in prices.columns and (adjusted or c != "adj_close")]
    if missing:
        raise AnalyticsError(f"price frame lacks columns {missing}")
    if prices.empty:
        raise AnalyticsError("empty price frame")
    columns = {c: _numbers(prices[c]) for c in ("open", "high", "low", "close", "volume")}
    if adjusted:
        close = columns["close"]
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = _numbers(prices["adj_close"]) / np.where(close != 0, close, np.nan)
        # A day without adj_close takes the adjustment factor of the next day that has one (the factor only
        # changes on ex-dates), else the previous one: one NULL must not blank the adjusted series.
        factor = _filled(factor)
        for col in ("open", "high", "low", "close"):
            columns[col] = columns[col] * factor
    return pd.DataFrame(columns, index=prices.index)


def _filled(values: np.ndarray) -> np.ndarray:
    """NaNs filled as `pd.Series(values).bfill().ffill()` fills them (the next known value, after the
    last one the last), in numpy: pandas' pair cost ~0.15 ms on every chart."""
    known = ~np.isnan(values)
    if known.all() or not known.any():
        return values
    positions = np.arange(len(values))
    following = np.minimum.accumulate(np.where(known, positions, len(values))[::-1])[::-1]
    preceding = np.maximum.accumulate(np.where(known, positions, -1))
    taken: np.ndarray = values[np.where(following < len(values), following, preceding)]
    return taken


def _numbers(column: pd.Series) -> np.ndarray:
    """A price column as float64, anything unparsable as NaN (in numpy: this runs on every chart)."""
    if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        column = pd.to_numeric(column, errors="coerce")
    values: np.ndarray = column.to_numpy(dtype=float, na_value=np.nan)
    return values


def all_indicators(prices: pd.DataFrame, *, adjusted: bool = True) -> pd.DataFrame:
    """Every indicator above with default parameters in one frame (the price page's and benchmark's bundle)."""
    p = ohlcv(prices, adjusted=adjusted)
    h, lo, c, v = p["high"], p["low"], p["close"], p["volume"]
    parts = [
        sma(c, 50).rename("sma_50"),
        sma(c, 200).rename("sma_200"),
        ema(c, 20).rename("ema_20"),
        rsi(c),
        macd(c),
        bbands(c).add_prefix("bb_"),
        atr(h, lo, c),
        adx(h, lo, c),
        stoch(h, lo, c),
        obv(c, v),
        mfi(h, lo, c, v),
        drawdown(c),
        realized_volatility(c),
    ]
    return pd.concat(parts, axis=1)


@dataclass(frozen=True, slots=True)
class Indicator:
    """One chartable indicator: its label, its panel and how to compute its lines from an `ohlcv` frame.

    panel "price" draws the lines on the price axis (overlays, in USD); "oscillator" gives it an axis of
    its own under the volume, titled `axis`.
    """

    key: str
    label: str
    panel: Literal["price", "oscillator"]
    compute: Callable[[pd.DataFrame], dict[str, pd.Series]]
    axis: str = "Price (USD)"
    guides: tuple[float, ...] = ()  # levels analysts read it against (RSI 30/70), drawn as dotted lines
    bars: tuple[str, ...] = ()  # lines drawn as bars (the MACD histogram)


def _bands(p: pd.DataFrame) -> dict[str, pd.Series]:
    bands = bbands(p["close"])
    return {"BB upper": bands["upper"], "BB lower": bands["lower"]}


def _macd(p: pd.DataFrame) -> dict[str, pd.Series]:
    lines = macd(p["close"])
    return {"MACD": lines["macd"], "Signal": lines["signal"], "Histogram": lines["hist"]}


def _stoch(p: pd.DataFrame) -> dict[str, pd.Series]:
    lines = stoch(p["high"], p["low"], p["close"])
    return {"%K": lines["slowk"], "%D": lines["slowd"]}


# The one list of indicators the Company page offers (overlays and oscillators), in display order.
REGISTRY: dict[str, Indicator] = {
    i.key: i
    for i in (
        Indicator("sma_50", "SMA 50", "price", lambda p: {"SMA 50": sma(p["close"], 50)}),
        Indicator("sma_200", "SMA 200", "price", lambda p: {"SMA 200": sma(p["close"], 200)}),
        Indicator("ema_20", "EMA 20", "price", lambda p: {"EMA 20": ema(p["close"], 20)}),
        Indicator("bbands", "Bollinger bands (20, 2 sd)", "price", _bands),
        Indicator(
            "rsi", "RSI 14", "oscillator", lambda p: {"RSI 14": rsi(p["close"])}, "RSI (0-100)", (30.0, 70.0)
        ),
        Indicator("macd", "MACD 12/26/9", "oscillator", _macd, "MACD (USD)", bars=("Histogram",)),
        Indicator("stoch", "Stochastic 5/3/3", "oscillator", _stoch, "Stochastic (0-100)", (20.0, 80.0)),
        Indicator(
            "adx", "ADX 14", "oscillator", lambda p: {"ADX 14": adx(p["high"], p["low"], p["close"])}, "ADX"
        ),
        Indicator(
            "atr",
            "ATR 14",
            "oscillator",
            lambda p: {"ATR 14": atr(p["high"], p["low"], p["close"])},
            "ATR (USD)",
        ),
        Indicator(
            "obv", "OBV", "oscillator", lambda p: {"OBV": obv(p["close"], p["volume"])}, "OBV (shares)"
        ),
        Indicator(
            "mfi",
            "MFI 14",
            "oscillator",
            lambda p: {"MFI 14": mfi(p["high"], p["low"], p["close"], p["volume"])},
            "MFI (0-100)",
            (20.0, 80.0),
        ),
    )
}


def keys(panel: str) -> tuple[str, ...]:
    """The registry's keys drawn on one panel ("price" or "oscillator"), in display order."""
    return tuple(k for k, i in REGISTRY.items() if i.panel == panel)
