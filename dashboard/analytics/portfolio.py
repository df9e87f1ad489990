"""Portfolio statistics on dividend-adjusted prices, with quantstats' conventions (252 periods a year).

Conventions (each matched against quantstats in tests/dashboard/analytics/test_portfolio.py):
- returns are simple daily returns; the risk-free rate is annual and de-annualised as (1 + rf)^(1/252) - 1;
- CAGR = prod(1 + r)^(252 / n) - 1 (n = number of returns); volatility = std(ddof=1) * sqrt(252);
- Sharpe = mean(excess) / std(excess) * sqrt(252); Sortino's downside = sqrt(sum(min(excess, 0)^2) / n);
- max drawdown on the wealth index that starts at 1 the day before the first return; Calmar = CAGR / |MDD|;
- VaR/CVaR are daily returns at the 1 - confidence tail (negative = loss): historical = empirical quantile
  and the mean at or below it; parametric = normal quantile and closed-form normal expected shortfall;
- beta = cov(r, b) / var(b), alpha = (mean(r) - beta * mean(b)) * 252, correlation = Pearson.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from dashboard.analytics import bounded, optimize
from dashboard.analytics.errors import AnalyticsError, NotEnoughDataError

TRADING_DAYS = 252
MIN_RETURNS = 2
# A spread below this many ulps of the values' size is rounding noise: float std of a constant series is
# ~1e-19, not 0, and dividing by it gave a Sharpe of ~1e16.
NOISE_ULPS = 1024


def _dispersed(spread: float, values: np.ndarray) -> bool:
    """True when a standard deviation is real spread, not float noise on (nearly) constant values."""
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    return bool(spread > NOISE_ULPS * np.finfo(float).eps * scale)


@dataclass(frozen=True, slots=True)
class Alignment:
    """How misaligned histories were reconciled: the common window and who shortened it."""

    start: pd.Timestamp
    end: pd.Timestamp
    first_dates: dict[str, pd.Timestamp]
    late_starters: list[str]  # symbols whose history begins after the earliest one
    dropped_rows: int  # dates before the common start (or with a gap) that were left out
    message: str


def align_prices(prices: pd.DataFrame) -> tuple[pd.DataFrame, Alignment]:
    """Restrict a wide price frame (columns = symbols) to the dates where every symbol has a price.

    A stock that listed later shortens the window for all: the report names it, so the dashboard can
    say "from 2015-06-01 (XYZ listed then)" instead of silently comparing different periods.

    Raises:
        AnalyticsError: empty frame, non-numeric prices, or a symbol with no price at all.
        NotEnoughDataError: fewer than two common dates.
    """
    if not isinstance(prices, pd.DataFrame) or prices.empty or prices.shape[1] == 0:
        raise AnalyticsError("empty price frame")
    frame = prices
    # The array's dtype, not `frame.dtypes` (a Series built per call): float64 only when every column is
    # float (or a narrower float, which the conversion below would widen to the same values).
    if frame.to_numpy().dtype != np.float64:
        try:
            frame = frame.apply(pd.to_numeric, errors="raise").astype(float)
        except (TypeError, ValueError) as exc:
            raise AnalyticsError("non-numeric prices") from exc
    if not frame.index.is_monotonic_increasing:
        frame = frame.sort_index(kind="stable")
    # On the array: pandas' where/isna/first_valid_index/dropna per column cost more than the statistics.
    values = frame.to_numpy(dtype=float, copy=True)
    values[~(values > 0)] = np.nan
    missing = np.isnan(values)
    empty = [str(c) for c, none in zip(frame.columns, missing.all(axis=0), strict=True) if none]
    if empty:
        raise AnalyticsError(f"no prices for {empty}")
    first = {str(c): frame.index[i] for c, i in zip(frame.columns, np.argmin(missing, axis=0), strict=True)}
    kept = ~missing.any(axis=1)
    common = pd.DataFrame(values[kept], index=frame.index[kept], columns=frame.columns)
    if len(common) < MIN_RETURNS:
        raise NotEnoughDataError("fewer than two dates on which every symbol has a price")
    earliest = min(first.values())
    late = sorted(s for s, d in first.items() if d > earliest)
    dropped = len(frame) - len(common)
    message = f"{common.index[0].date()} to {common.index[-1].date()}, {len(common)} common dates"
    if late:
        message += "; shortened by the later start of " + ", ".join(f"{s} ({first[s].date()})" for s in late)
    if dropped:
        message += f"; {dropped} dates without a price for every symbol left out"
    return common, Alignment(common.index[0], common.index[-1], first, late, dropped, message)


def normalise_weights(weights: Mapping[str, float], symbols: pd.Index) -> pd.Series:
    """Weights as a Series over `symbols`, scaled to sum to 1; unknown symbols or a zero sum raise."""
    return pd.Series(weight_array(weights, symbols), index=pd.Index(list(symbols)), dtype=float)


def weight_array(weights: Mapping[str, float], symbols: pd.Index) -> np.ndarray:
    """`normalise_weights`' values as an array (a Series per portfolio cost more than its statistics)."""
    unknown = [s for s in weights if s not in symbols]
    if unknown:
        raise AnalyticsError(f"weights for symbols without prices: {unknown}")
    # On an array: a Series from a dict and pandas' checks cost ~0.35 ms a call, twice a report.
    w = np.array([float(weights.get(s, 0.0)) for s in symbols], dtype=float)
    total = w.sum()
    if not np.isfinite(w).all() or total == 0:
        raise AnalyticsError("weights must be finite with a non-zero sum")
    out: np.ndarray = w / total
    return out


def portfolio_returns(
    prices: pd.DataFrame, weights: Mapping[str, float], *, rebalance: bool = True
) -> pd.Series:
    """Daily returns of a weighted portfolio over aligned prices (see `align_prices`).

    rebalance=True keeps the weights constant every day; False buys and holds from the first date.
    """
    if rebalance:
        w = weight_array(weights, prices.columns)
        values = prices.to_numpy(dtype=float)
        daily = (values[1:] / values[:-1] - 1.0) @ w  # pct_change @ w, without pandas' alignment
        return pd.Series(daily, index=prices.index[1:], name="portfolio")
    value = (prices / prices.iloc[0]) @ normalise_weights(weights, prices.columns)
    return value.pct_change(fill_method=None).iloc[1:].rename("portfolio")


def equal_weight_index(prices: pd.DataFrame) -> pd.Series:
    """Benchmark returns: the daily mean return of every symbol priced on both days (an equal-weight index)."""
    if prices.empty:
        raise AnalyticsError("empty price frame")
    rets = prices.sort_index().pct_change(fill_method=None).iloc[1:]
    return rets.mean(axis=1, skipna=True).rename("equal_weight")


def _returns(returns: pd.Series) -> pd.Series:
    if not isinstance(returns, pd.Series):
        raise AnalyticsError(f"expected a pandas Series, got {type(returns).__name__}")
    r = returns
    if r.dtype != np.float64:
        try:
            r = pd.to_numeric(r, errors="raise").astype(float)
        except (TypeError, ValueError) as exc:
            raise AnalyticsError("non-numeric returns") from exc
    r = r[np.isfinite(r.to_numpy())]  # drops NaN and ±inf without pandas' replace/dropna passes
    if len(r) < MIN_RETURNS:
        raise NotEnoughDataError(f"{len(r)} returns; at least {MIN_RETURNS} needed")
    return r


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall of the wealth index: depth (negative) and its peak, trough and recovery dates."""

    depth: float
    peak: pd.Timestamp | None  # None: the peak is the starting value, before the first return
    trough: pd.Timestamp | None
    recovery: pd.Timestamp | None  # None: not recovered by the end of the series


def _wealth(values: np.ndarray) -> np.ndarray:
    """The wealth index 1, (1 + r1), (1 + r1)(1 + r2), ...: it starts the day before the first return."""
    return np.concatenate([[1.0], np.cumprod(1.0 + values)])


def drawdown_series(returns: pd.Series, start: pd.Timestamp) -> pd.Series:
    """Drawdown of the wealth index by date, from 0 on `start` (the date before the first return).

    The same path `max_drawdown` measures, so the chart's lowest point is the statistics table's figure even
    when the first day's return is the fall.
    """
    r = _returns(returns)
    if start >= r.index[0]:
        raise AnalyticsError(f"start {start} must be before the first return ({r.index[0]})")
    wealth = _wealth(r.to_numpy())
    index = pd.DatetimeIndex(r.index).insert(0, start)  # not a list of Timestamps: ~5 ms for ten years
    return pd.Series(wealth / np.maximum.accumulate(wealth) - 1.0, index=index, name="drawdown")


def max_drawdown(returns: pd.Series) -> Drawdown:
    """Maximum drawdown of the wealth index 1, (1 + r1), (1 + r1)(1 + r2), ... with its dates."""
    r = _returns(returns)
    return _max_drawdown(r.to_numpy(), r.index)


def _max_drawdown(values: np.ndarray, index: pd.Index) -> Drawdown:
    """`max_drawdown` of finite returns `values` dated by `index`."""
    wealth = _wealth(values)
    peaks = np.maximum.accumulate(wealth)
    dd = wealth / peaks - 1.0
    trough_i = int(np.argmin(dd))
    if dd[trough_i] == 0:
        return Drawdown(0.0, None, None, None)
    peak_i = int(np.argmax(wealth[: trough_i + 1]))
    after = np.nonzero(wealth[trough_i:] >= wealth[peak_i])[0]

    def date(i: int) -> pd.Timestamp | None:  # wealth[i] is the value after return i - 1; 0 is the start
        return index[i - 1] if i > 0 else None

    recovery = date(trough_i + int(after[0])) if after.size else None
    return Drawdown(float(dd[trough_i]), date(peak_i), date(trough_i), recovery)


@dataclass(frozen=True, slots=True)
class Performance:
    """Return and risk statistics of one return series (fractions; daily VaR/CVaR negative = loss)."""

    cumulative_return: float
    annualized_return: float
    annualized_volatility: float
    sharpe: float
    sortino: float
    max_drawdown: Drawdown
    calmar: float
    var_historical: float
    cvar_historical: float
    var_parametric: float
    cvar_parametric: float
    confidence: float
    risk_free: float
    observations: int


def performance(
    returns: pd.Series,
    *,
    risk_free: float = 0.0,
    confidence: float = 0.95,
    periods_per_year: int = TRADING_DAYS,
) -> Performance:
    """Cumulative/annualised return, volatility, Sharpe, Sortino, drawdown, Calmar, VaR and CVaR.

    Args:
        returns: simple periodic returns (from dividend-adjusted prices); NaNs are dropped.
        risk_free: annual risk-free rate (e.g. 0.04).
        confidence: VaR/CVaR confidence, in (0, 1).
        periods_per_year: 252 for daily returns.
    """
    if not 0.0 < confidence < 1.0:
        raise AnalyticsError(f"confidence must be in (0, 1), got {confidence}")
    r = _returns(returns)
    return _performance(r.to_numpy(), r.index, risk_free, confidence, periods_per_year)


def _performance(
    values: np.ndarray, index: pd.Index, risk_free: float, confidence: float, periods_per_year: int
) -> Performance:
    """`performance` of finite returns `values` (at least MIN_RETURNS) dated by `index`, on the array:
    the Portfolio page computes it for five series a request."""
    n = len(values)
    excess = values - ((1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0)
    growth = float(np.prod(1.0 + values))
    # A -100 % day leaves nothing: growth 0 and CAGR -100 % (NaN only for a negative wealth, below -100 %).
    cagr = growth ** (periods_per_year / n) - 1.0 if growth >= 0 else np.nan
    std = float(np.std(values, ddof=1))
    excess_std = float(np.std(excess, ddof=1))
    downside = float(np.sqrt(np.sum(np.minimum(excess, 0.0) ** 2) / n))
    root = np.sqrt(periods_per_year)
    dd = _max_drawdown(values, index)
    alpha = 1.0 - confidence
    var_hist = float(np.quantile(values, alpha))  # what Series.quantile computes, without its ~0.5 ms
    tail = values[values <= var_hist]
    mu = float(values.mean())
    return Performance(
        cumulative_return=growth - 1.0,
        annualized_return=cagr,
        annualized_volatility=std * root,
        sharpe=float(excess.mean() / excess_std * root) if _dispersed(excess_std, excess) else np.nan,
        sortino=float(excess.mean() / downside * root) if downside > 0 else np.nan,
        max_drawdown=dd,
        calmar=cagr / abs(dd.depth) if dd.depth < 0 else np.nan,
        var_historical=var_hist,
        cvar_historical=float(tail.mean()) if tail.size else np.nan,
        var_parametric=float(ndtri(alpha) * std + mu) if _dispersed(std, values) else mu,
        cvar_parametric=mu - std * _normal_pdf(float(ndtri(alpha))) / alpha,
        confidence=confidence,
        risk_free=risk_free,
        observations=n,
    )


def _normal_pdf(x: float) -> float:
    """The standard normal density, as `scipy.stats.norm.pdf` computes it (its generic argument handling
    and `norm.ppf`'s cost ~0.1 ms a call; `ndtri` is the quantile function `norm.ppf` calls)."""
    z = np.array([x])  # an array, as scipy evaluates it: a scalar's square may round differently
    return float((np.exp(-(z**2) / 2.0) / np.sqrt(2 * np.pi))[0])


@dataclass(frozen=True, slots=True)
class BenchmarkStats:
    """Beta, annualised alpha (quantstats `greeks`) and correlation against a benchmark."""

    beta: float
    alpha: float
    correlation: float
    observations: int  # dates both series have


def versus_benchmark(
    returns: pd.Series, benchmark: pd.Series, *, periods_per_year: int = TRADING_DAYS
) -> BenchmarkStats:
    """Beta, alpha and correlation over the dates both return series have."""
    joined = pd.concat([_returns(returns).rename("r"), _returns(benchmark).rename("b")], axis=1).dropna()
    if len(joined) < MIN_RETURNS + 1:
        raise NotEnoughDataError("fewer than three dates shared with the benchmark")
    b, r = joined["b"].to_numpy(), joined["r"].to_numpy()
    cov, beta, b_moves = _beta(r, b)
    alpha = (joined["r"].mean() - beta * joined["b"].mean()) * periods_per_year
    denom = np.sqrt(cov[0, 0] * cov[1, 1])
    corr = cov[0, 1] / denom if b_moves and _dispersed(float(np.sqrt(cov[0, 0])), r) else np.nan
    return BenchmarkStats(float(beta), float(alpha), float(corr), len(joined))


def _beta(r: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """The covariance matrix of `r` and `b` (finite, shared dates), the beta cov(r, b) / var(b) and
    whether the benchmark moves (beta is NaN when its spread is float noise)."""
    cov = np.cov(r, b)
    b_moves = _dispersed(float(np.sqrt(cov[1, 1])), b)
    return cov, float(cov[0, 1] / cov[1, 1]) if b_moves else np.nan, b_moves


def beta_on(r: np.ndarray, b: np.ndarray) -> float:
    """`versus_benchmark(...).beta` of two return arrays of the same dates (NaN and inf left out as there).

    Raises:
        NotEnoughDataError: fewer than three dates where both are finite.
    """
    finite_r, finite_b = np.isfinite(r), np.isfinite(b)
    for finite in (finite_r, finite_b):  # `_returns`' check of each series, then the shared dates'
        if int(finite.sum()) < MIN_RETURNS:
            raise NotEnoughDataError(f"{int(finite.sum())} returns; at least {MIN_RETURNS} needed")
    both = finite_r & finite_b
    if int(both.sum()) < MIN_RETURNS + 1:
        raise NotEnoughDataError("fewer than three dates shared with the benchmark")
    return _beta(r[both], b[both])[1]


def correlation_matrix(prices: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlation of daily returns, each pair over the dates both symbols have."""
    if prices.empty:
        raise AnalyticsError("empty price frame")
    frame = prices.sort_index()
    values = frame.to_numpy()
    if values.dtype != np.float64:
        return frame.pct_change(fill_method=None).corr(min_periods=MIN_RETURNS + 1)
    # pct_change's returns (x[t] / x[t-1] - 1) on the array, without its first row of NaN (which corr
    # skips): pandas' frame arithmetic and shift cost ~0.6 ms of the ~1.2. The same pairwise corr, so the
    # same bits.
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = values[1:] / values[:-1] - 1.0
    return pd.DataFrame(returns, columns=frame.columns).corr(min_periods=MIN_RETURNS + 1)


@dataclass(frozen=True, slots=True)
class Report:
    """What the Portfolio page shows for one set of holdings (frames ready for tables and charts).

    `stats` has columns statistic, value (raw) and unit; `weights` one row per symbol with the chosen
    (normalised) weights and each optimiser's; `note` says which common window the prices share.
    """

    stats: pd.DataFrame
    drawdown: pd.DataFrame
    correlation: pd.DataFrame
    frontier: pd.DataFrame
    weights: pd.DataFrame
    note: str
    prices: pd.DataFrame | None = None  # the aligned closes it was computed on (`align_prices`)
    performance: Performance | None = None  # the chosen mix's statistics (`stats` shows them)
    # The optimiser's expected returns and covariance over `prices`' columns (the frontier's axes); None
    # when they could not be built (too few dates, a constant price...).
    axes: tuple[np.ndarray, np.ndarray] | None = None


def report(
    prices: pd.DataFrame,
    weights: Mapping[str, float],
    *,
    risk_free: float = 0.0,
    frontier_points: int = 15,
    bounds: bounded.Bounds | None = None,
) -> Report:
    """Statistics, drawdown, correlation, optimised weights and frontier of a weighted portfolio.

    Args:
        prices: wide dividend-adjusted closes, one column per symbol (misaligned histories are cut to
            their common window, see `align_prices`).
        weights: symbol → weight (any positive scale; normalised over the symbols with prices).
        risk_free: the annual risk-free rate as a fraction.
        frontier_points: points on the efficient frontier.
        bounds: each optimised weight's bounds (a cap, shorts); None or long-only: 0..1, solved exactly.

    Raises:
        AnalyticsError: too little common history, or weights that do not match the prices. An optimiser
            or the frontier failing does not raise: that objective is left out (the frontier is empty).
    """
    aligned, alignment = align_prices(prices)
    returns = portfolio_returns(aligned, weights)
    perf = performance(returns, risk_free=risk_free)
    # From the first common date (wealth 1 before the first return), as the Max drawdown statistic.
    drawdown = drawdown_series(returns, aligned.index[0]).to_frame()
    optimised: dict[str, dict[str, Any]] = {}
    axes: tuple[np.ndarray, np.ndarray] | None = None
    try:
        if bounds is None or bounds.long_only:
            every = optimize.optimize_all(aligned, risk_free=risk_free, points=frontier_points)
        else:
            every = bounded.optimize_all(aligned, bounds, risk_free=risk_free, points=frontier_points)
    except AnalyticsError as exc:  # no inputs: every objective fails alike, as each call raised before
        optimised = {objective: {"error": str(exc)} for objective in optimize.OBJECTIVES}
        frontier = pd.DataFrame()
    else:
        for objective, result in every.portfolios.items():
            if isinstance(result, AnalyticsError):
                optimised[objective] = {"error": str(result)}
            else:
                optimised[objective] = dict(result.weights)
        frontier = every.frontier
        axes = (every.expected_returns, every.covariance)
    stats = pd.DataFrame(
        {
            "statistic": [
                "Cumulative return",
                "Annualised return",
                "Annualised volatility",
                "Sharpe",
                "Sortino",
                "Max drawdown",
                "Calmar",
                "VaR 95% (daily, hist.)",
                "CVaR 95% (daily, hist.)",
                "Observations",
            ],
            "value": [
                perf.cumulative_return,
                perf.annualized_return,
                perf.annualized_volatility,
                perf.sharpe,
                perf.sortino,
                perf.max_drawdown.depth,
                perf.calmar,
                perf.var_historical,
                perf.cvar_historical,
                float(perf.observations),
            ],
            "unit": ["fraction"] * 3
            + ["ratio"] * 2
            + ["fraction", "ratio", "fraction (daily)", "fraction (daily)", "trading days"],
        }
    )
    return Report(
        stats=stats,
        drawdown=drawdown,
        correlation=correlation_matrix(aligned),
        frontier=frontier,
        weights=_weights_table(optimised, weights, aligned.columns),
        note=alignment.message,
        prices=aligned,
        performance=perf,
        axes=axes,
    )


def _weights_table(
    optimised: Mapping[str, Mapping[str, Any]], weights: Mapping[str, float], symbols: pd.Index
) -> pd.DataFrame:
    """One row per symbol (column `symbol`): the chosen weights normalised (`chosen`) and each optimiser's
    that did not fail, 0 where it has none.

    When every optimiser weighs exactly the `symbols`, from arrays: a frame of the weight dicts, its
    fillna, insert and reset_index cost ~0.6 ms. The same frame: rows in the first optimiser's order (the
    union of the dicts' keys in order of appearance), the chosen weight of each row's symbol.
    """
    solved = {k: v for k, v in optimised.items() if "error" not in v}
    names = [str(s) for s in symbols]
    order = list(next(iter(solved.values()), ()))
    every = set(names)
    if (
        not solved
        or names != list(symbols)
        or len(every) < len(names)
        or any(v.keys() != every for v in solved.values())
    ):
        table = pd.DataFrame(solved).fillna(0.0)
        table.insert(0, "chosen", pd.Series(normalise_weights(weights, symbols)))
        return table.rename_axis("symbol").reset_index()
    chosen = dict(zip(names, weight_array(weights, symbols).tolist(), strict=True))
    columns: dict[str, Any] = {"symbol": order, "chosen": [chosen[s] for s in order]}
    for key, solution in solved.items():
        values = np.array([solution[s] for s in order], dtype=float)
        columns[key] = np.where(np.isnan(values), 0.0, values)  # fillna(0.0)
    return pd.DataFrame(columns)
