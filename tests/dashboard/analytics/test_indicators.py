"""Indicators equal TA-Lib's own output after warm-up, keep the index, and reject bad input clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from dashboard.analytics import indicators as ind
from dashboard.analytics.errors import AnalyticsError

TOL = 1e-8


def _same(ours: pd.Series, ref: np.ndarray, warmup: int) -> None:
    assert ours.iloc[:warmup].isna().all()
    assert not np.isnan(ours.to_numpy()[warmup:]).any()
    np.testing.assert_allclose(ours.to_numpy()[warmup:], ref[warmup:], rtol=0, atol=TOL)


def _hlcv(p: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(p[c].to_numpy(dtype=float) for c in ("high", "low", "close", "volume"))


def test_indicators_generated_prices_equal_talib(generated_prices: pd.DataFrame) -> None:
    """Every indicator matches TA-Lib to 1e-8 on 1,500 generated bars, with TA-Lib's warm-up length."""
    p = ind.ohlcv(generated_prices, adjusted=False)
    h, lo, c, v = _hlcv(p)
    _same(ind.sma(p["close"], 20), talib.SMA(c, 20), 19)
    _same(ind.ema(p["close"], 20), talib.EMA(c, 20), 19)
    _same(ind.rsi(p["close"]), talib.RSI(c, 14), 14)
    ref = talib.MACD(c, 12, 26, 9)
    out = ind.macd(p["close"])
    for col, r in zip(("macd", "signal", "hist"), ref, strict=True):
        _same(out[col], r, 33)
    ref = talib.BBANDS(c, 20, 2.0, 2.0)
    out = ind.bbands(p["close"])
    for col, r in zip(("upper", "middle", "lower"), ref, strict=True):
        _same(out[col], r, 19)
    _same(ind.atr(p["high"], p["low"], p["close"]), talib.ATR(h, lo, c, 14), 14)
    _same(ind.adx(p["high"], p["low"], p["close"]), talib.ADX(h, lo, c, 14), 27)
    stoch_ref = talib.STOCH(h, lo, c, fastk_period=5, slowk_period=3, slowd_period=3)
    out = ind.stoch(p["high"], p["low"], p["close"])
    _same(out["slowk"], stoch_ref[0], 8)
    _same(out["slowd"], stoch_ref[1], 8)
    _same(ind.obv(p["close"], p["volume"]), talib.OBV(c, v), 0)
    _same(ind.mfi(p["high"], p["low"], p["close"], p["volume"]), talib.MFI(h, lo, c, v, 14), 14)


def test_indicators_recorded_prices_equal_talib(recorded_prices: pd.DataFrame) -> None:
    """On the six recorded AAPL bars, short-period indicators match TA-Lib and OBV matches a hand count."""
    p = recorded_prices
    h, lo, c, v = _hlcv(p)
    _same(ind.sma(p["close"], 3), talib.SMA(c, 3), 2)
    _same(ind.ema(p["close"], 3), talib.EMA(c, 3), 2)
    _same(ind.rsi(p["close"], 3), talib.RSI(c, 3), 3)
    _same(ind.atr(p["high"], p["low"], p["close"], 3), talib.ATR(h, lo, c, 3), 3)
    _same(ind.mfi(p["high"], p["low"], p["close"], p["volume"], 3), talib.MFI(h, lo, c, v, 3), 3)
    _same(
        ind.stoch(p["high"], p["low"], p["close"], 3, 2, 2)["slowd"],
        talib.STOCH(h, lo, c, fastk_period=3, slowk_period=2, slowd_period=2)[1],
        4,
    )
    # Hand check of OBV: add volume on up-closes, subtract on down-closes, starting from the first volume.
    expected = [v[0]]
    for i in range(1, len(c)):
        expected.append(expected[-1] + (v[i] if c[i] > c[i - 1] else -v[i] if c[i] < c[i - 1] else 0))
    np.testing.assert_allclose(ind.obv(p["close"], p["volume"]).to_numpy(), expected)
    # The first SMA(3) value is the mean of the first three closes (125.07, 126.36, 125.02).
    assert ind.sma(p["close"], 3).iloc[2] == pytest.approx((125.07 + 126.36 + 125.02) / 3, abs=TOL)


def test_indicators_index_kept_and_named(generated_prices: pd.DataFrame) -> None:
    """Outputs carry the input's date index, so charts line up with prices."""
    close = generated_prices["close"]
    assert ind.rsi(close).index.equals(close.index)
    assert ind.macd(close).index.equals(close.index)
    assert list(ind.bbands(close).columns) == ["upper", "middle", "lower"]


def test_ohlcv_adjusted_scales_by_adj_close(generated_prices: pd.DataFrame) -> None:
    """adjusted=True scales open/high/low/close by adj_close/close; adjusted=False returns traded prices."""
    adj = ind.ohlcv(generated_prices)
    raw = ind.ohlcv(generated_prices, adjusted=False)
    factor = generated_prices["adj_close"] / generated_prices["close"]
    np.testing.assert_allclose(adj["high"], generated_prices["high"] * factor)
    np.testing.assert_allclose(adj["close"], generated_prices["adj_close"])
    np.testing.assert_allclose(raw["low"], generated_prices["low"])
    assert (factor.iloc[:60] < 1).all()  # dividends paid later make early adjusted prices lower
    np.testing.assert_allclose(adj["volume"], generated_prices["volume"])


def test_drawdown_volatility_beta_match_direct_formulas(generated_prices: pd.DataFrame) -> None:
    """Drawdown, realised volatility and rolling beta equal their numpy definitions."""
    c = generated_prices["adj_close"]
    dd = ind.drawdown(c)
    np.testing.assert_allclose(dd, c / np.maximum.accumulate(c.to_numpy()) - 1)
    vol = ind.realized_volatility(c, 21)
    logret = np.diff(np.log(c.to_numpy()))
    assert vol.iloc[21] == pytest.approx(np.std(logret[:21], ddof=1) * np.sqrt(252), rel=1e-10)
    assert vol.iloc[:21].isna().all()
    bench = c * 0.5 + c.shift(1).bfill() * 0.5
    beta = ind.rolling_beta(c, bench, 60)
    r, b = c.pct_change().to_numpy()[1:61], bench.pct_change().to_numpy()[1:61]
    assert beta.iloc[60] == pytest.approx(np.cov(r, b)[0, 1] / np.var(b, ddof=1), rel=1e-10)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ind.sma(pd.Series([], dtype=float), 5), "empty"),
        (lambda: ind.sma(pd.Series(["a", "b"]), 1), "non-numeric"),
        (lambda: ind.sma(pd.Series([1.0, 2.0]), 0), "period"),
        (lambda: ind.atr(pd.Series([1.0, 2.0]), pd.Series([1.0]), pd.Series([1.0, 2.0])), "aligned"),
        (lambda: ind.ohlcv(pd.DataFrame({"close": [1.0]})), "lacks"),
        (lambda: ind.rsi([1.0, 2.0]), "Series"),
    ],
)
def test_indicators_bad_input_raises_analytics_error(call: object, message: str) -> None:
    """Empty, non-numeric, misaligned input or a bad period raise AnalyticsError naming the problem."""
    with pytest.raises(AnalyticsError, match=message):
        call()  # type: ignore[operator]


def test_indicators_nan_and_short_input_give_nan() -> None:
    """All-NaN input and a series shorter than the warm-up give NaN, not an exception."""
    assert ind.rsi(pd.Series([np.nan] * 30)).isna().all()
    assert ind.sma(pd.Series([1.0, 2.0, 3.0]), 10).isna().all()
    assert ind.macd(pd.Series([np.nan] * 40)).isna().all().all()
    leading = pd.Series([np.nan, np.nan, *range(1, 21)], dtype=float)
    assert ind.sma(leading, 5).iloc[6] == pytest.approx(3.0)  # leading NaNs are skipped


def test_indicators_one_missing_price_skips_that_row_only(generated_prices: pd.DataFrame) -> None:
    """A single NaN close is NaN in every indicator on that day only; later rows equal TA-Lib without that day.

    Issue #14 item 1: TA-Lib alone gives RSI 0.0 and a frozen ADX after the gap, and NaN for good elsewhere.
    """
    p = ind.ohlcv(generated_prices.iloc[:400])
    gap = p.index[200]
    holed = p.copy()
    holed.loc[gap, ["high", "low", "close"]] = np.nan
    without = p.drop(index=gap)
    h, lo, c, v = (holed[k] for k in ("high", "low", "close", "volume"))
    h2, lo2, c2, v2 = (without[k] for k in ("high", "low", "close", "volume"))
    pairs = {
        "rsi": (ind.rsi(c), talib.RSI(c2.to_numpy())),
        "adx": (ind.adx(h, lo, c), talib.ADX(h2.to_numpy(), lo2.to_numpy(), c2.to_numpy())),
        "ema": (ind.ema(c, 20), talib.EMA(c2.to_numpy(), 20)),
        "macd": (ind.macd(c)["macd"], talib.MACD(c2.to_numpy())[0]),
        "stoch": (ind.stoch(h, lo, c)["slowk"], talib.STOCH(h2.to_numpy(), lo2.to_numpy(), c2.to_numpy())[0]),
        "mfi": (ind.mfi(h, lo, c, v), talib.MFI(h2.to_numpy(), lo2.to_numpy(), c2.to_numpy(), v2.to_numpy())),
    }
    for name, (ours, reference) in pairs.items():
        assert np.isnan(ours[gap]), name
        after = ours.drop(index=gap)
        np.testing.assert_allclose(after.to_numpy()[250:], reference[250:], rtol=1e-12, err_msg=name)
    rsi_after = ind.rsi(c).iloc[201:]
    assert (rsi_after > 0).all()
    assert rsi_after.nunique() > 100
    assert ind.adx(h, lo, c).iloc[240:].nunique() > 100  # not frozen at one value


def test_ohlcv_missing_adj_close_uses_neighbouring_factor(generated_prices: pd.DataFrame) -> None:
    """One NULL adj_close takes the next day's adjustment factor, so the adjusted close (and overlays) go on."""
    prices = generated_prices.iloc[:300].copy()
    day = prices.index[100]
    prices.loc[day, "adj_close"] = np.nan
    adjusted = ind.ohlcv(prices)
    nxt = prices.index[101]
    factor = generated_prices.loc[nxt, "adj_close"] / generated_prices.loc[nxt, "close"]
    assert adjusted.loc[day, "close"] == pytest.approx(prices.loc[day, "close"] * factor)
    assert not adjusted["close"].isna().any()
    assert not ind.sma(adjusted["close"], 50).iloc[49:].isna().any()


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 2.0, 3.0],
        [np.nan, np.nan],
        [np.nan, 2.0, np.nan, np.nan, 5.0, np.nan],
        [np.inf, np.nan, -np.inf, np.nan],
        [np.nan, np.nan, 0.5],
        [0.5, np.nan, np.nan],
        [],
    ],
)
def test_adjustment_factors_fill_as_pandas_bfill_then_ffill(values: list[float]) -> None:
    """`ohlcv`'s fill of days without an adjustment factor, in numpy, equals pandas' bfill().ffill()
    value for value: gaps, leading and trailing runs, infinities kept, all missing left missing."""
    array = np.array(values, dtype=float)
    expected = pd.Series(array).bfill().ffill().to_numpy()
    np.testing.assert_array_equal(ind._filled(array), expected)
    rng = np.random.default_rng(7)
    noisy = rng.normal(size=500)
    noisy[rng.random(500) < 0.4] = np.nan
    np.testing.assert_array_equal(ind._filled(noisy), pd.Series(noisy).bfill().ffill().to_numpy())
