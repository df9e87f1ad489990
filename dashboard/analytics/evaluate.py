"""Portfolios side by side over the same prices (#27): the chosen mix, the optimisers' and a benchmark,
each with its statistics, its growth of 10,000 and its place on the efficient frontier's axes.

The frontier's axes are the optimiser's (optimize.py): expected return = the weighted CAGRs of the
assets, volatility = sqrt(w' S w) on the Ledoit-Wolf covariance; the statistics are each portfolio's
realised daily returns, rebalanced daily (portfolio.portfolio_returns).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.analytics import optimize
from dashboard.analytics.errors import NotEnoughDataError
from dashboard.analytics.portfolio import (
    MIN_RETURNS,
    TRADING_DAYS,
    Performance,
    _dispersed,
    _performance,
    beta_on,
    performance,
    versus_benchmark,
    weight_array,
)

GROWTH_START = 10_000.0
# Statistic, unit (the Portfolio page's units: fraction, ratio, ...).
ROWS: tuple[tuple[str, str], ...] = (
    ("Annualised return", "fraction"),
    ("Annualised volatility", "fraction"),
    ("Sharpe", "ratio"),
    ("Max drawdown", "fraction"),
    ("Cumulative return", "fraction"),
    ("Active return (vs benchmark, annualised)", "fraction"),
    ("Tracking error", "fraction"),
    ("Information ratio", "ratio"),
    ("Beta (vs benchmark)", "ratio"),
    ("R² (daily, vs benchmark)", "ratio"),
    ("Beta (weekly OLS, vs benchmark)", "ratio"),
    ("R² (weekly OLS, vs benchmark)", "ratio"),
)
REGRESSION_ROWS = 3  # the last rows: daily R², the weekly regression's beta and R²
WEEK = "W-FRI"  # weeks end on Friday, as weekly closes do


@dataclass(frozen=True, slots=True)
class Relative:
    """A portfolio against a benchmark: annualised mean active return, tracking error (annualised
    standard deviation of the daily active return), their ratio (information ratio), and beta."""

    active_return: float
    tracking_error: float
    information_ratio: float
    beta: float


def relative(returns: pd.Series, benchmark: pd.Series, *, periods_per_year: int = TRADING_DAYS) -> Relative:
    """`returns` against `benchmark` over the dates both have (daily simple returns).

    Raises:
        NotEnoughDataError: fewer than three shared dates.
    """
    if _same_dates(returns, benchmark):
        # The Portfolio page's case (both on the holdings' dates): the rows both have, on the arrays.
        # pandas' concat, dropna and a second join in versus_benchmark cost ~3 ms of a ~4 ms call.
        return _relative_on(returns.to_numpy(), benchmark.to_numpy(), periods_per_year)
    joined = pd.concat([returns.rename("r"), benchmark.rename("b")], axis=1).dropna()
    if len(joined) < MIN_RETURNS + 1:
        raise NotEnoughDataError("fewer than three dates shared with the benchmark")
    active = (joined["r"] - joined["b"]).to_numpy()
    beta = versus_benchmark(joined["r"], joined["b"], periods_per_year=periods_per_year).beta
    return _active(active, beta, periods_per_year)


def _relative_on(r: np.ndarray, b: np.ndarray, periods_per_year: int) -> Relative:
    """`relative` of two return arrays of the same dates (the rows where neither is NaN)."""
    kept = ~(np.isnan(r) | np.isnan(b))
    r, b = r[kept], b[kept]
    if len(r) < MIN_RETURNS + 1:
        raise NotEnoughDataError("fewer than three dates shared with the benchmark")
    return _active(r - b, beta_on(r, b), periods_per_year)


def _active(active: np.ndarray, beta: float, periods_per_year: int) -> Relative:
    mean = float(active.mean()) * periods_per_year
    error = float(active.std(ddof=1)) * float(np.sqrt(periods_per_year))
    ratio = mean / error if error > 0 else float("nan")
    return Relative(mean, error, ratio, beta)


@dataclass(frozen=True, slots=True)
class Regression:
    """An ordinary least-squares fit r = alpha + beta b + e of a portfolio's returns on the benchmark's."""

    beta: float
    r_squared: float
    observations: int


def regression(returns: pd.Series, benchmark: pd.Series, *, weekly: bool = False) -> Regression:
    """OLS with an intercept (numpy lstsq) over the dates both have. On daily returns its slope is the
    covariance beta; `weekly` first compounds both over the same Friday-ending weeks, which damps the
    stale-close noise of daily returns (a weekly 2-year beta is the terminal convention).

    Raises:
        NotEnoughDataError: fewer than three shared periods.
    """
    if _same_dates(returns, benchmark) and (not weekly or _daily_dates(returns.index)):
        # The Portfolio page's case (both on the holdings' dates), on the arrays: pandas' join and weekly
        # groupby cost ~8 ms a call, four portfolios a request.
        r, b = returns.to_numpy(), benchmark.to_numpy()
        kept = np.isfinite(r) & np.isfinite(b)
        y, x = r[kept], b[kept]
        if weekly:
            y, x = _weekly(pd.DatetimeIndex(returns.index[kept]), y, x)
    else:
        joined = pd.concat([returns.rename("r"), benchmark.rename("b")], axis=1)
        joined = joined[np.isfinite(joined.to_numpy(dtype=float)).all(axis=1)]
        if weekly:
            joined.index = pd.DatetimeIndex(joined.index)
            joined = ((1.0 + joined).groupby(pd.Grouper(freq=WEEK)).prod(min_count=1) - 1.0).dropna()
        y, x = joined["r"].to_numpy(dtype=float), joined["b"].to_numpy(dtype=float)
    return _ols(y, x)


def _ols(y: np.ndarray, x: np.ndarray) -> Regression:
    """`regression`'s fit of the shared periods' returns `y` on the benchmark's `x`."""
    return _fit(y, _design(x))


def _design(x: np.ndarray) -> np.ndarray | None:
    """The design matrix [1, x] of a fit on the benchmark's returns `x`, None when they do not move (the
    fit is NaN) or are too few to fit. It depends on the benchmark alone: the Portfolio page builds it
    once for its four portfolios (its spread and the matrix cost ~0.07 ms a fit, two fits a portfolio)."""
    if len(x) < MIN_RETURNS + 1 or not _dispersed(float(x.std()), x):
        return None
    return np.column_stack([np.ones(len(x)), x])


def _fit(y: np.ndarray, design: np.ndarray | None) -> Regression:
    """The fit of `y` on a benchmark's `_design` (rows: the same periods)."""
    if len(y) < MIN_RETURNS + 1:
        raise NotEnoughDataError("fewer than three periods shared with the benchmark")
    if design is None:
        return Regression(np.nan, np.nan, len(y))
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    total = float(((y - y.mean()) ** 2).sum())
    residual = float(((y - design @ coef) ** 2).sum())
    return Regression(float(coef[1]), 1.0 - residual / total if total > 0 else np.nan, len(y))


def _daily_dates(index: pd.Index) -> bool:
    """Ascending dates at midnight: each falls in the Friday-ending week of its calendar day."""
    if not isinstance(index, pd.DatetimeIndex) or index.tz is not None or not index.is_monotonic_increasing:
        return False
    stamps = index.to_numpy()  # on the array: DatetimeIndex.normalize() cost ~1 ms for ten years
    return bool((stamps.astype("datetime64[D]").astype(stamps.dtype) == stamps).all())


def _weekly(dates: pd.DatetimeIndex, *series: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each series compounded over the Friday-ending weeks its dates fall in (ascending, midnight), as
    `(1 + s).groupby(pd.Grouper(freq="W-FRI")).prod() - 1` gives it for the weeks with a date: the same
    products in the same order (1 x the first day, x the next...), one column of days at a time."""
    weeks = _weeks(dates)
    return tuple(_compound(weeks, values) for values in series)


Weeks = tuple[np.ndarray, np.ndarray, int, int] | None  # each day's week and place in it; weeks, width


def _weeks(dates: pd.DatetimeIndex) -> Weeks:
    """Which Friday-ending week each of `dates` (ascending, midnight) falls in, and its place in that
    week: computed once for every series on those dates."""
    if not len(dates):
        return None
    days = dates.to_numpy(dtype="datetime64[D]").astype(np.int64)
    friday = days + (4 - (days + 3) % 7) % 7  # 1970-01-01 was a Thursday (weekday 3); Friday is 4
    starts = np.flatnonzero(np.r_[True, friday[1:] != friday[:-1]])
    week = np.cumsum(np.r_[True, friday[1:] != friday[:-1]]) - 1
    position = np.arange(len(days)) - starts[week]
    return week, position, len(starts), int(position.max()) + 1


def _compound(weeks: Weeks, values: np.ndarray) -> np.ndarray:
    """`values` compounded over the `weeks` their dates fall in (`_weekly`, one series)."""
    if weeks is None:
        return np.array([], dtype=float)
    week, position, count, width = weeks
    grid = np.ones((count, width))
    grid[week, position] = 1.0 + values
    product = grid[:, 0].copy()
    for column in range(1, width):
        product = product * grid[:, column]
    out: np.ndarray = product - 1.0
    return out


def _fits(returns: pd.Series, benchmark: pd.Series) -> tuple[float, float, float]:
    """Daily R², weekly beta and weekly R² (NaN where too few periods are shared)."""
    return _fit_or_nan(lambda weekly: regression(returns, benchmark, weekly=weekly))


def _fit_or_nan(fit: Callable[[bool], Regression]) -> tuple[float, float, float]:
    """Daily R², weekly beta and weekly R² of `fit(weekly)`, NaN where it has too few periods."""
    out = []
    for weekly in (False, True):
        try:
            out.append(fit(weekly))
        except NotEnoughDataError:
            out.append(Regression(np.nan, np.nan, 0))
    return out[0].r_squared, out[1].beta, out[1].r_squared


def _same_dates(returns: pd.Series, benchmark: pd.Series) -> bool:
    """Both float series on one unique index: joining them would only drop the rows with a NaN."""
    return bool(
        returns.dtype == np.float64
        and benchmark.dtype == np.float64
        and returns.index.equals(benchmark.index)
        and returns.index.is_unique
    )


def returns_over(daily: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """A benchmark's return from each of `dates` to the next, compounded over the benchmark's own days
    between them (a portfolio whose holdings share fewer dates than the benchmark's spans several of its
    days at once). Indexed by `dates[1:]`; NaN where the benchmark has no level at both ends (before its
    first day, or after its last).

    Args:
        daily: simple daily returns by date (e.g. benchmark_returns' S&P 500 series).
        dates: the portfolio's dates, ascending.
    """
    clean = daily[np.isfinite(daily.to_numpy(dtype=float))].sort_index()
    if clean.empty or len(dates) < 2:
        return pd.Series(np.nan, index=dates[1:], dtype=float)
    # A date's level is the index after the last return on or before it; before the first return's day
    # (where the series' own start date is not known) and after its last day there is none.
    level = np.cumprod(1.0 + clean.to_numpy(dtype=float))
    days, wanted = clean.index.to_numpy(), dates.to_numpy()
    at = np.searchsorted(days, wanted, "right") - 1
    values = np.where((at >= 0) & (wanted <= days[-1]), level[np.maximum(at, 0)], np.nan)
    with np.errstate(invalid="ignore"):
        out = values[1:] / values[:-1] - 1.0
    return pd.Series(out, index=dates[1:], dtype=float)


@dataclass(frozen=True, slots=True)
class SideBySide:
    """`stats`: one row per ROWS statistic (columns statistic, unit, then one per portfolio);
    `growth`: 10,000 invested at the first date, one column per portfolio (and the benchmark);
    `points`: name, volatility, expected_return of each portfolio and each single asset (`kind`)."""

    stats: pd.DataFrame
    growth: pd.DataFrame
    points: pd.DataFrame


def side_by_side(
    prices: pd.DataFrame,
    portfolios: Mapping[str, Mapping[str, float]],
    *,
    risk_free: float = 0.0,
    benchmark: pd.Series | None = None,
    benchmark_name: str = "Benchmark",
    performances: Mapping[str, Performance] | None = None,
    axes: tuple[np.ndarray, np.ndarray] | None = None,
) -> SideBySide:
    """Each portfolio's statistics, growth and frontier point over `prices` (aligned, see align_prices).

    Args:
        prices: aligned dividend-adjusted closes, one column per symbol.
        portfolios: name -> symbol -> weight (normalised here).
        risk_free: annual risk-free rate as a fraction.
        benchmark: daily benchmark returns (None: the relative rows are empty).
        performances: name -> `performance` of that portfolio's daily returns over `prices` at
            `risk_free`, where the caller has it (the Portfolio report's chosen mix): not computed again.
        axes: the expected returns and Ledoit-Wolf covariance of `prices`' columns where the caller has
            them (the optimiser's inputs, `optimize.Optimised`): not computed again.
    """
    values = prices.to_numpy(dtype=float)
    daily = values[1:] / values[:-1] - 1.0  # each asset's, once: `portfolio_returns` per portfolio
    dates = prices.index[1:]
    shared = _Shared.of(dates, benchmark)
    returns: dict[str, np.ndarray] = {}
    columns: dict[str, list[float]] = {}
    for name, weights in portfolios.items():
        returns[name] = mine = daily @ weight_array(weights, prices.columns)
        # On the arrays where the Series' functions would keep every row (finite returns; a benchmark on
        # the same dates): the same arithmetic, without pandas' construction and checks, which cost more
        # than the statistics (~1 ms a portfolio, four a request).
        plain = bool(np.isfinite(mine).all()) and len(mine) >= MIN_RETURNS
        series = None if plain else pd.Series(mine, index=dates, name="portfolio")
        perf = (performances or {}).get(name) or (
            _performance(mine, dates, risk_free, 0.95, TRADING_DAYS)
            if series is None
            else performance(series, risk_free=risk_free)
        )
        rel: Relative | None = None
        fits: tuple[float, ...] = (np.nan,) * REGRESSION_ROWS
        if shared is not None and series is None:
            rel, fits = _relative_on(mine, shared.benchmark, TRADING_DAYS), shared.fits(mine)
        elif benchmark is not None:
            series = pd.Series(mine, index=dates, name="portfolio") if series is None else series
            rel, fits = relative(series, benchmark), _fits(series, benchmark)
        columns[name] = _column(perf, rel, fits)
    if benchmark is not None:
        perf, returns[benchmark_name] = _benchmark_performance(benchmark, shared, dates, risk_free)
        columns[benchmark_name] = [
            perf.annualized_return,
            perf.annualized_volatility,
            perf.sharpe,
            perf.max_drawdown.depth,
            perf.cumulative_return,
            0.0,
            0.0,
            np.nan,
            1.0,
            *(1.0,) * REGRESSION_ROWS,
        ]
    stats = pd.DataFrame(
        {"statistic": [r for r, _ in ROWS], "unit": [u for _, u in ROWS], **columns},
    )
    growth = pd.DataFrame(
        {name: GROWTH_START * np.cumprod(np.append(1.0, 1.0 + s)) for name, s in returns.items()},
        index=prices.index,
    )
    return SideBySide(stats, growth, _frontier_points(daily, prices.columns, portfolios, axes))


def _benchmark_performance(
    benchmark: pd.Series, shared: _Shared | None, dates: pd.Index, risk_free: float
) -> tuple[Performance, np.ndarray]:
    """The benchmark's statistics over `dates` (its days with a finite return) and its daily returns there
    with 0 where it has none (its growth line). On the array when it is on those dates (`shared`): the
    reindex, dropna and Series checks cost ~0.3 ms and keep the same values."""
    if shared is not None and int(shared.finite.sum()) >= MIN_RETURNS:
        b = shared.benchmark
        perf = _performance(b[shared.finite], dates[shared.finite], risk_free, 0.95, TRADING_DAYS)
        return perf, np.where(np.isnan(b), 0.0, b)
    shown = benchmark.reindex(dates)
    return performance(shown.dropna(), risk_free=risk_free), shown.fillna(0.0).to_numpy()


def _column(perf: Performance, rel: Relative | None, fits: tuple[float, ...]) -> list[float]:
    """One portfolio's ROWS."""
    return [
        perf.annualized_return,
        perf.annualized_volatility,
        perf.sharpe,
        perf.max_drawdown.depth,
        perf.cumulative_return,
        *(
            (rel.active_return, rel.tracking_error, rel.information_ratio, rel.beta)
            if rel is not None
            else (np.nan,) * 4
        ),
        *fits,
    ]


@dataclass(frozen=True, slots=True)
class _Shared:
    """A benchmark on the portfolios' own dates (the Portfolio page's case), with what every portfolio's
    regressions on it share: its finite days, its weeks and its weekly returns."""

    benchmark: np.ndarray
    finite: np.ndarray
    weeks: Weeks
    weekly: np.ndarray | None  # None: the dates are not plain days, the weekly fit goes through pandas
    series: pd.Series
    designs: tuple[np.ndarray | None, np.ndarray | None] = (None, None)  # its daily and weekly `_design`

    @classmethod
    def of(cls, dates: pd.Index, benchmark: pd.Series | None) -> _Shared | None:
        """None without a benchmark, or one not on `dates` (then each portfolio joins it in pandas)."""
        if (
            benchmark is None
            or benchmark.dtype != np.float64
            or not benchmark.index.equals(dates)
            or not dates.is_unique
        ):
            return None
        b = benchmark.to_numpy()
        finite = np.isfinite(b)
        if not _daily_dates(dates):
            return cls(b, finite, None, None, benchmark)
        weeks = _weeks(pd.DatetimeIndex(dates[finite]))
        weekly = _compound(weeks, b[finite])
        return cls(b, finite, weeks, weekly, benchmark, (_design(b[finite]), _design(weekly)))

    def fits(self, mine: np.ndarray) -> tuple[float, float, float]:
        """`_fits` of finite returns on the benchmark's dates, on the arrays."""
        if self.weekly is None:
            return _fits(pd.Series(mine, index=self.series.index), self.series)
        y, (daily, weekly_design) = mine[self.finite], self.designs
        return _fit_or_nan(
            lambda weekly: _fit(_compound(self.weeks, y), weekly_design) if weekly else _fit(y, daily)
        )


def frontier_points(prices: pd.DataFrame, portfolios: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Each portfolio's and each asset's (volatility, expected return) on the frontier's axes."""
    values = prices.to_numpy(dtype=float)
    return _frontier_points(values[1:] / values[:-1] - 1.0, prices.columns, portfolios)


def _frontier_points(
    daily: np.ndarray,
    columns: pd.Index,
    portfolios: Mapping[str, Mapping[str, float]],
    axes: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    if axes is None:  # the optimiser's inputs (optimize._build_inputs), computed alike
        n = len(daily)
        axes = np.prod(1.0 + daily, axis=0) ** (TRADING_DAYS / n) - 1.0, optimize.ledoit_wolf(daily)
    mu, cov = axes
    rows = []
    symbols = list(columns)
    for name, weights in portfolios.items():
        w = np.array([float(weights.get(s, 0.0)) for s in symbols])
        w = w / w.sum()
        rows.append((name, "portfolio", float(np.sqrt(w @ cov @ w)), float(w @ mu)))
    for i, symbol in enumerate(symbols):
        rows.append((str(symbol), "asset", float(np.sqrt(cov[i, i])), float(mu[i])))
    return pd.DataFrame(rows, columns=["name", "kind", "volatility", "expected_return"])
