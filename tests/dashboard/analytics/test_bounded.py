"""Optimisation with a weight cap or shorts (#27) checked against oracles of its own: the closed-form minimum
variance where no bound binds, the Karush-Kuhn-Tucker conditions of the box-constrained problem, and the
convex solver at tight tolerances (optimum.py's way) for the maximum Sharpe ratio and the frontier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pypfopt import EfficientFrontier

from dashboard.analytics import bounded, optimize, portfolio
from dashboard.analytics.errors import AnalyticsError
from devkit import factories
from tests.dashboard.analytics import optimum

# Of max |S w|: the shown weights (rounded to 1e-6, as PyPortfolioOpt's clean_weights) meet stationarity to
# this; a wrong active set misses it by orders of magnitude more.
KKT = 1e-4
ROUNDED = 1e-5  # the rounded weights' sum and bounds


def _tight(prices: pd.DataFrame, bounds: bounded.Bounds) -> EfficientFrontier:
    """The solver at 1e-12 tolerances on the covariance scaled to a mean variance of 1 (optimum.py)."""
    mu, cov = optimum.inputs(prices)
    scale = float(np.diag(cov.to_numpy()).mean())
    return EfficientFrontier(
        mu,
        cov / scale,
        weight_bounds=(bounds.lower, bounds.upper),
        solver="CLARABEL",
        solver_options=dict(optimum.TIGHT),
    )


def _kkt_box(cov: np.ndarray, w: np.ndarray, bounds: bounded.Bounds) -> None:
    """w minimises w' S w over sum(w) = 1, lower <= w <= upper: feasible, and one multiplier nu with
    (S w)_i = nu where w_i is inside its bounds, >= nu at the lower bound, <= nu at the upper."""
    g = cov @ w
    tol = KKT * float(np.abs(g).max())
    edge = 1e-6
    assert w.sum() == pytest.approx(1.0, abs=ROUNDED)
    assert w.min() >= bounds.lower - ROUNDED
    assert w.max() <= bounds.upper + ROUNDED
    inside = (w > bounds.lower + edge) & (w < bounds.upper - edge)
    assert inside.any()
    nu = float(g[inside].mean())
    assert np.abs(g[inside] - nu).max() <= tol
    assert (g[w <= bounds.lower + edge] >= nu - tol).all()
    assert (g[w >= bounds.upper - edge] <= nu + tol).all()


@pytest.mark.parametrize("seed", range(6))
def test_capped_minimum_volatility_meets_the_box_optimality_conditions(seed: int) -> None:
    """With a cap of 35 % (or the smallest feasible one), the minimum volatility holds no weight above
    it, meets the KKT conditions of the capped problem, and equals the tight solver's volatility."""
    prices = factories.random_portfolio(seed)
    n = prices.shape[1]
    cap = max(0.35, round(1.0 / n + 0.05, 2))
    bounds = bounded.Bounds.of(cap=cap)
    result = bounded.optimize_all(prices, bounds, points=6)
    best = result.portfolios["min_volatility"]
    assert isinstance(best, optimize.OptimizedPortfolio)
    mu, cov = optimum.inputs(prices)
    w = np.array([best.weights[str(s)] for s in mu.index])
    _kkt_box(cov.to_numpy(), w, bounds)
    exact = np.fromiter(_tight(prices, bounds).min_volatility().values(), dtype=float)
    assert best.volatility == pytest.approx(optimum.volatility(exact, cov), rel=1e-6)


def test_shorts_without_a_binding_bound_give_the_closed_form_minimum_variance() -> None:
    """Allowed -100 %..100 %, the minimum variance is S^-1 1 / (1' S^-1 1) when none of those bounds binds:
    a stock, a more volatile one on the same market, and an unrelated one: the closed form shorts the
    second to hedge the first's market risk."""
    rng = np.random.default_rng(4)
    market = rng.normal(0.0004, 0.01, 800)
    returns = np.column_stack(
        [
            market + rng.normal(0, 0.002, 800),
            1.3 * market + rng.normal(0, 0.004, 800),
            rng.normal(0.0003, 0.008, 800),
        ]
    )
    prices = pd.DataFrame(
        100 * np.cumprod(1 + returns, axis=0),
        index=pd.bdate_range("2020-01-01", periods=800),
        columns=list("ABC"),
    )
    _, cov = optimum.inputs(prices)
    inverse = np.linalg.solve(cov.to_numpy(), np.ones(3))
    closed = inverse / inverse.sum()
    assert closed.min() < 0 < closed.max() < 1  # a short, and no bound binding
    result = bounded.optimize_all(prices, bounded.Bounds.of(shorts=True), points=5)
    best = result.portfolios["min_volatility"]
    assert isinstance(best, optimize.OptimizedPortfolio)
    got = np.array([best.weights[s] for s in "ABC"])
    np.testing.assert_allclose(got, closed, atol=1e-5)  # the solver stops at ~1e-6 in the weights
    long_only = optimize.optimize(prices, "min_volatility")
    assert best.volatility < long_only.volatility


@pytest.mark.parametrize(("cap", "shorts"), [(0.4, False), (0.6, True)])
def test_maximum_sharpe_and_the_frontier_within_the_bounds_are_the_solver_s_optimum(
    cap: float, shorts: bool
) -> None:
    """The maximum Sharpe ratio equals the tight solver's within the bounds; each frontier point stays
    within them, at the tight solver's minimum volatility for its return, up to the highest return the
    bounds allow."""
    prices = factories.random_portfolio(3)
    bounds = bounded.Bounds.of(cap=cap, shorts=shorts)
    rf = 0.01
    result = bounded.optimize_all(prices, bounds, risk_free=rf, points=5)
    sharpe = result.portfolios["max_sharpe"]
    assert isinstance(sharpe, optimize.OptimizedPortfolio)
    mu, cov = optimum.inputs(prices)
    exact = np.fromiter(_tight(prices, bounds).max_sharpe(risk_free_rate=rf).values(), dtype=float)
    want = (float(exact @ mu.to_numpy()) - rf) / optimum.volatility(exact, cov)
    assert sharpe.sharpe == pytest.approx(want, rel=1e-6)
    frontier = result.frontier
    weights = frontier[[str(s) for s in mu.index]].to_numpy()
    assert weights.max() <= bounds.upper + 1e-6
    assert weights.min() >= bounds.lower - 1e-6
    top = bounded.highest_return(mu.to_numpy(), bounds)
    assert frontier["expected_return"].iloc[-1] == pytest.approx(top, rel=1e-4)
    ef = _tight(prices, bounds)
    for target, vol in zip(frontier["expected_return"], frontier["volatility"], strict=True):
        solved = np.fromiter(ef.efficient_return(float(target)).values(), dtype=float)
        assert vol == pytest.approx(optimum.volatility(solved, cov), rel=1e-5), target


def test_highest_return_fills_the_best_returns_up_to_the_cap() -> None:
    """Worked by hand: returns 10, 8, 5, 1 % with a 40 % cap give 0.4 x 10 + 0.4 x 8 + 0.2 x 5 = 8.2 %;
    at -40..40 % every weight starts at -40 % (sum -160 %) and the 260 % left fills 10, 8 and 5 % to 40 %
    and 1 % to -20 %: 0.4 x (10 + 8 + 5) - 0.2 x 1 = 9.0 %."""
    mu = np.array([0.05, 0.10, 0.01, 0.08])
    assert bounded.highest_return(mu, bounded.Bounds.of(cap=0.4)) == pytest.approx(0.082)
    assert bounded.highest_return(mu, bounded.Bounds.of(cap=0.4, shorts=True)) == pytest.approx(0.090)


def test_a_cap_too_small_for_the_holdings_is_refused_with_the_count_needed() -> None:
    """Three holdings cannot each stay under 30 %: the error says 4 are needed; a cap of 0 is refused."""
    with pytest.raises(AnalyticsError, match="at least 4 holdings"):
        bounded.Bounds.of(cap=0.3).check(3)
    with pytest.raises(AnalyticsError, match="above 0"):
        bounded.Bounds.of(cap=0.0)


def test_the_report_optimises_within_its_bounds() -> None:
    """portfolio.report passes the bounds on: every optimised weight under the cap, HRP as without."""
    prices = factories.random_portfolio(8)
    n = prices.shape[1]
    cap = round(max(0.3, 1.0 / n + 0.05), 2)
    capped = portfolio.report(
        prices, {str(s): 1.0 for s in prices.columns}, bounds=bounded.Bounds.of(cap=cap)
    )
    free = portfolio.report(prices, {str(s): 1.0 for s in prices.columns})
    assert capped.weights[["min_volatility", "max_sharpe"]].to_numpy().max() <= cap + 1e-6
    np.testing.assert_allclose(capped.weights["hrp"], free.weights["hrp"])
