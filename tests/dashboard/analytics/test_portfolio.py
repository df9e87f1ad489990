"""Portfolio statistics match quantstats on a fixed series; alignment and optimisation behave."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import quantstats as qs
from pypfopt import EfficientFrontier, expected_returns, risk_models

from dashboard.analytics import cla
from dashboard.analytics import optimize as opt
from dashboard.analytics import portfolio as pf
from dashboard.analytics.errors import AnalyticsError, NotEnoughDataError
from devkit import factories

RF = 0.03


@pytest.fixture(scope="module")
def returns() -> pd.Series:
    """A fixed series: 1,000 daily returns of a generated dividend-adjusted price (seed 7)."""
    return factories.prices(1001, seed=7)["adj_close"].pct_change().dropna()


@pytest.fixture(scope="module")
def bench_returns() -> pd.Series:
    return factories.prices(1001, seed=8)["adj_close"].pct_change().dropna()


def test_performance_matches_quantstats_to_12_digits(returns: pd.Series) -> None:
    """CAGR, volatility, Sharpe, Sortino (rf 3%), max drawdown, Calmar, VaR and CVaR equal quantstats'
    to 12 significant digits (rel=1e-12) on the fixed series."""
    p = pf.performance(returns, risk_free=RF)
    checks = {
        "annualized_return": qs.stats.cagr(returns),
        "annualized_volatility": qs.stats.volatility(returns),
        "sharpe": qs.stats.sharpe(returns, rf=RF),
        "sortino": qs.stats.sortino(returns, rf=RF),
        "calmar": qs.stats.calmar(returns),
        "var_parametric": qs.stats.value_at_risk(returns, confidence=0.95),
        "cvar_parametric": qs.stats.conditional_value_at_risk(returns, confidence=0.95),
        "cvar_historical": qs.stats.conditional_value_at_risk(returns, confidence=0.95, method="historical"),
        "cumulative_return": qs.stats.comp(returns),
    }
    for name, expected in checks.items():
        assert getattr(p, name) == pytest.approx(float(expected), rel=1e-12), name
    assert p.max_drawdown.depth == pytest.approx(float(qs.stats.max_drawdown(returns)), rel=1e-12)
    assert p.var_historical == pytest.approx(float(returns.quantile(0.05)), rel=1e-12)


def test_versus_benchmark_matches_quantstats_greeks(returns: pd.Series, bench_returns: pd.Series) -> None:
    """Beta and annualised alpha equal quantstats' greeks; correlation equals pandas' Pearson."""
    ours = pf.versus_benchmark(returns, bench_returns)
    greeks = qs.stats.greeks(returns, bench_returns)
    assert ours.beta == pytest.approx(float(greeks["beta"]), rel=1e-12)
    assert ours.alpha == pytest.approx(float(greeks["alpha"]), rel=1e-12)
    assert ours.correlation == pytest.approx(returns.corr(bench_returns), rel=1e-12)


def test_max_drawdown_dates() -> None:
    """Peak, trough and recovery dates of the deepest drawdown are reported; no recovery gives None."""
    idx = pd.bdate_range("2024-01-01", periods=6)
    r = pd.Series([0.10, -0.20, 0.05, 0.20, -0.01, 0.0], index=idx)
    dd = pf.max_drawdown(r)
    assert dd.depth == pytest.approx(-0.20)
    assert (dd.peak, dd.trough, dd.recovery) == (idx[0], idx[1], idx[3])
    first_down = pf.max_drawdown(pd.Series([-0.1, 0.05], index=idx[:2]))
    assert first_down.peak is None
    assert first_down.trough == idx[0]
    assert first_down.recovery is None


def test_align_prices_reports_late_listing() -> None:
    """A symbol that listed later shortens the window; the report names it and counts dropped dates."""
    idx = pd.bdate_range("2020-01-01", periods=10)
    prices = pd.DataFrame(
        {"OLD": np.linspace(10, 20, 10), "NEW": [np.nan] * 4 + list(np.linspace(5, 6, 6))}, index=idx
    )
    aligned, report = pf.align_prices(prices)
    assert aligned.index[0] == idx[4]
    assert len(aligned) == 6
    assert report.late_starters == ["NEW"]
    assert report.dropped_rows == 4
    assert "NEW" in report.message
    assert str(idx[4].date()) in report.message


def test_portfolio_returns_weights_and_rebalancing() -> None:
    """Rebalanced returns are the weighted mean of returns; buy-and-hold drifts; weights are normalised."""
    idx = pd.bdate_range("2020-01-01", periods=3)
    prices = pd.DataFrame({"A": [100.0, 110.0, 121.0], "B": [100.0, 100.0, 90.0]}, index=idx)
    r = pf.portfolio_returns(prices, {"A": 1.0, "B": 1.0})
    assert r.tolist() == pytest.approx([0.05, 0.0])
    hold = pf.portfolio_returns(prices, {"A": 0.5, "B": 0.5}, rebalance=False)
    assert hold.iloc[1] == pytest.approx((0.5 * 1.21 + 0.5 * 0.9) / (0.5 * 1.1 + 0.5 * 1.0) - 1)
    with pytest.raises(AnalyticsError, match="without prices"):
        pf.portfolio_returns(prices, {"C": 1.0})
    with pytest.raises(AnalyticsError, match="non-zero sum"):
        pf.portfolio_returns(prices, {"A": 1.0, "B": -1.0})


def test_portfolio_bad_inputs() -> None:
    """Empty frames, too few returns and bad confidence raise AnalyticsError subclasses."""
    with pytest.raises(AnalyticsError, match="empty"):
        pf.align_prices(pd.DataFrame())
    with pytest.raises(AnalyticsError, match="no prices"):
        pf.align_prices(pd.DataFrame({"A": [1.0, 2.0], "B": [np.nan, np.nan]}))
    with pytest.raises(NotEnoughDataError):
        pf.performance(pd.Series([0.01, np.nan]))
    with pytest.raises(AnalyticsError, match="confidence"):
        pf.performance(pd.Series([0.01, 0.02, 0.03]), confidence=95)
    flat = pf.performance(pd.Series([0.0, 0.0, 0.0]))
    assert np.isnan(flat.sharpe)
    assert np.isnan(flat.calmar)


@pytest.fixture(scope="module")
def peers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            f"S{i}": factories.prices(600, seed=20 + i, drift=0.0004 + 0.0002 * i)["adj_close"]
            for i in range(4)
        }
    )


def test_optimize_objectives_weights_and_ordering(peers: pd.DataFrame) -> None:
    """Weights sum to 1 and are long-only; min-vol has the lowest volatility, max-Sharpe the best Sharpe."""
    results = {o: opt.optimize(peers, o, risk_free=0.0) for o in opt.OBJECTIVES}
    for res in results.values():
        assert sum(res.weights.values()) == pytest.approx(1.0, abs=1e-5)
        assert min(res.weights.values()) >= 0
    assert results["min_volatility"].volatility <= min(r.volatility for r in results.values()) + 1e-9
    assert results["max_sharpe"].sharpe >= max(r.sharpe for r in results.values()) - 1e-6


def test_efficient_frontier_is_monotone(peers: pd.DataFrame) -> None:
    """Frontier returns rise with volatility, from the min-vol portfolio upward."""
    fr = opt.efficient_frontier(peers, points=6)
    assert len(fr) == 6
    assert fr["expected_return"].is_monotonic_increasing
    assert fr["volatility"].diff().dropna().ge(-1e-7).all()
    assert fr["volatility"].iloc[0] == pytest.approx(
        opt.optimize(peers, "min_volatility").volatility, rel=1e-3
    )


def test_optimize_cache_reuses_inputs_only_for_equal_prices(peers: pd.DataFrame) -> None:
    """Cached inputs serve an equal copy of the prices identically, while changed prices are recomputed."""
    opt.clear_cache()
    cold = opt.optimize(peers, "max_sharpe", risk_free=0.01)
    assert opt.optimize(peers.copy(), "max_sharpe", risk_free=0.01) == cold
    frontier = opt.efficient_frontier(peers, points=3)  # reuses the cached minimum-volatility solve
    opt.clear_cache()
    pd.testing.assert_frame_equal(opt.efficient_frontier(peers, points=3), frontier)
    changed = peers.copy()
    changed.iloc[-1, 0] *= 1.5  # one price differs: a stale cache entry would give the old weights
    opt.clear_cache()
    fresh = opt.optimize(changed, "max_sharpe", risk_free=0.01)
    opt.optimize(peers, "max_sharpe", risk_free=0.01)  # cache the original again
    assert opt.optimize(changed, "max_sharpe", risk_free=0.01) == fresh != cold
    renamed = peers.rename(columns={"S0": "X0"})
    assert "X0" in opt.optimize(renamed, "min_volatility").weights


def _solver_frontier(prices: pd.DataFrame, targets: np.ndarray) -> np.ndarray:
    """The oracle: one interior-point solve per target return, on the same inputs as `optimize`."""
    mu = expected_returns.mean_historical_return(prices)
    cov = risk_models.CovarianceShrinkage(prices).ledoit_wolf()
    ef = EfficientFrontier(mu, cov, solver="CLARABEL")
    return np.array([list(ef.efficient_return(float(t)).values()) for t in targets])


@pytest.mark.parametrize("columns", [["S0", "S1", "S2", "S3"], ["S3", "S1"], ["S0", "S2", "S3"]])
def test_efficient_frontier_matches_one_solve_per_target(peers: pd.DataFrame, columns: list[str]) -> None:
    """The frontier interpolated between CLA's turning points equals a convex solve at each target return."""
    opt.clear_cache()
    prices = peers[columns]
    frontier = opt.efficient_frontier(prices, points=9)
    weights = frontier[columns].to_numpy()
    solved = _solver_frontier(prices, frontier["expected_return"].to_numpy())
    # The first point is the minimum-volatility portfolio, where the variance is flat and a solver's weights
    # wander by ~1e-4; elsewhere they agree to the solver's accuracy.
    assert np.abs(weights[1:] - solved[1:]).max() < 2e-5
    assert np.abs(weights.sum(axis=1) - 1).max() < 1e-5
    mu = expected_returns.mean_historical_return(prices)
    cov = risk_models.CovarianceShrinkage(prices).ledoit_wolf()
    minimum = EfficientFrontier(mu, cov, solver="CLARABEL").min_volatility()
    result = opt.optimize(prices, "min_volatility")
    assert max(abs(result.weights[s] - minimum[s]) for s in columns) < 1e-4
    assert result.volatility == pytest.approx(frontier["volatility"].iloc[0], abs=1e-6)
    assert frontier["volatility"].iloc[0] <= frontier["volatility"].min() + 1e-9


def test_efficient_frontier_falls_back_to_the_solver_when_cla_fails(
    peers: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When PyPortfolioOpt's CLA raises, the convex solver gives the same frontier and minimum volatility."""
    opt.clear_cache()
    exact = opt.efficient_frontier(peers, points=6)
    exact_min = opt.optimize(peers, "min_volatility")

    def broken(*_: object, **__: object) -> None:
        raise np.linalg.LinAlgError("singular matrix")

    monkeypatch.setattr(cla, "turning_points", broken)
    opt.clear_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Solution may be inaccurate" from the solver either
        solved = opt.efficient_frontier(peers, points=6)
        solved_min = opt.optimize(peers, "min_volatility")
    opt.clear_cache()
    columns = list(peers.columns)
    assert np.abs(solved[columns].to_numpy()[1:] - exact[columns].to_numpy()[1:]).max() < 2e-5
    assert np.abs(solved["volatility"] - exact["volatility"]).max() < 1e-6
    assert solved_min.volatility == pytest.approx(exact_min.volatility, abs=1e-8)


def test_efficient_frontier_with_tied_symbols(peers: pd.DataFrame) -> None:
    """Two symbols with the same prices (tied returns) still give a monotone frontier with weights summing to 1."""
    opt.clear_cache()
    prices = peers.assign(S4=peers["S3"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frontier = opt.efficient_frontier(prices, points=6)
    weights = frontier[list(prices.columns)]
    assert np.abs(weights.sum(axis=1) - 1).max() < 1e-5
    assert weights.min().min() >= 0
    assert frontier["expected_return"].is_monotonic_increasing
    assert frontier["volatility"].diff().dropna().ge(-1e-7).all()
    assert frontier["expected_return"].iloc[-1] == pytest.approx(opt._inputs(prices).mu.max(), rel=1e-5)


def test_optimize_bad_inputs(peers: pd.DataFrame) -> None:
    """One symbol, too little history or an unknown objective raise AnalyticsError."""
    with pytest.raises(AnalyticsError, match="two symbols"):
        opt.optimize(peers[["S0"]])
    with pytest.raises(NotEnoughDataError):
        opt.optimize(peers.iloc[:10])
    with pytest.raises(AnalyticsError, match="unknown objective"):
        opt.optimize(peers, "max_return")  # type: ignore[arg-type]


def test_drawdown_series_starts_before_first_return_and_matches_statistic() -> None:
    """The drawdown path starts at 0 the day before the first return; its low is max_drawdown (item 9)."""
    index = pd.bdate_range("2024-01-02", periods=6)
    returns = pd.Series([-0.10, 0.05, 0.02, -0.01, 0.03], index=index[1:])
    path = pf.drawdown_series(returns, index[0])
    assert path.index[0] == index[0]
    assert path.iloc[0] == 0.0
    assert len(path) == len(returns) + 1
    assert path.min() == pytest.approx(-0.10)
    assert path.min() == pytest.approx(pf.max_drawdown(returns).depth)
    with pytest.raises(AnalyticsError):
        pf.drawdown_series(returns, returns.index[0])


@pytest.mark.parametrize("daily", [0.001, 0.0004, 0.01 / 3])
def test_performance_constant_returns_sharpe_is_nan(daily: float) -> None:
    """Constant returns have no volatility: Sharpe is NaN, not ~1e16 from float noise in the std (item 10)."""
    returns = pd.Series(daily, index=pd.bdate_range("2024-01-01", periods=252))
    perf = pf.performance(returns, risk_free=0.04)
    assert np.isnan(perf.sharpe)
    assert perf.var_parametric == pytest.approx(daily)
    stats = pf.versus_benchmark(returns, returns)
    assert np.isnan(stats.beta)
    assert np.isnan(stats.correlation)


def test_a_wipeout_day_gives_a_cagr_of_minus_100_percent() -> None:
    """A -100 % day leaves wealth 0: CAGR = prod(1 + r)^(252/n) - 1 = -100 % (and Calmar -1), not NaN."""
    returns = pd.Series([0.02, -0.01, -1.0, 0.0, 0.0], index=pd.bdate_range("2024-01-02", periods=5))
    perf = pf.performance(returns)
    assert perf.annualized_return == float(np.prod(1.0 + returns.to_numpy()) ** (252 / 5) - 1.0) == -1.0
    assert perf.cumulative_return == -1.0
    assert perf.max_drawdown.depth == -1.0
    assert perf.calmar == -1.0
