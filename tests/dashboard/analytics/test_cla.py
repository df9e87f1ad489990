"""The critical line algorithm's turning points lie on the true efficient frontier, and the algorithm ends.

The reference is the convex solver (tests/dashboard/analytics/optimum.py), not PyPortfolioOpt's `CLA`, which
cycles forever on highly correlated assets and steps off the budget after binding an asset: every turning
point's volatility is the minimum at its return, the first is the best asset alone, the last the minimum
variance. Inputs: the Portfolio page's Ledoit-Wolf inputs from the seeded demo prices made ragged, seeded
factor-model portfolios (ordinary ones and 45 assets correlated ~0.995), random covariances.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from pypfopt import EfficientFrontier

from dashboard.analytics import cla
from dashboard.analytics import portfolio as pf
from devkit import factories
from tests.dashboard.analytics import optimum

COMBINATIONS = [
    c for k in (2, 3, 5, 8) for c in itertools.islice(itertools.combinations(factories.RAGGED_SYMBOLS, k), 4)
]


def assert_on_frontier(mu: np.ndarray, cov: np.ndarray) -> list[np.ndarray]:
    """Every turning point is long-only, fully invested and the minimum variance at its return."""
    points = [w.ravel() for w in cla.turning_points(mu, cov)]
    returns = np.array([w @ mu for w in points])
    assert len(points) >= 2
    assert np.all(np.diff(returns) <= 1e-12)  # from the best return down (a repeated start: rounding)
    assert np.argmax(points[0]) == np.argmax(mu)
    assert points[0].max() == 1.0
    ef = EfficientFrontier(
        pd.Series(mu), pd.DataFrame(cov), solver="CLARABEL", solver_options=dict(optimum.TIGHT)
    )
    lowest = np.fromiter(ef.min_volatility().values(), dtype=float)
    assert np.sqrt(points[-1] @ cov @ points[-1]) == pytest.approx(np.sqrt(lowest @ cov @ lowest), rel=1e-6)
    for w, target in zip(points[1:-1], returns[1:-1], strict=True):
        assert abs(w.sum() - 1.0) < 1e-12
        assert w.min() > -1e-12
        if target > returns[0] - 1e-9:  # the start repeated: the best asset alone (no solve at its return)
            np.testing.assert_allclose(w, points[0], rtol=0, atol=1e-12)
            continue
        ef = EfficientFrontier(
            pd.Series(mu), pd.DataFrame(cov), solver="CLARABEL", solver_options=dict(optimum.TIGHT)
        )
        solved = np.fromiter(ef.efficient_return(float(target)).values(), dtype=float)
        assert np.sqrt(w @ cov @ w) == pytest.approx(np.sqrt(solved @ cov @ solved), rel=1e-6), target
    return points


@pytest.mark.parametrize("symbols", COMBINATIONS)
def test_turning_points_on_the_frontier_of_the_page_inputs(
    closes: pd.DataFrame, symbols: tuple[str, ...]
) -> None:
    """The page's Ledoit-Wolf inputs of the ragged demo prices: every turning point is on the frontier."""
    mu, cov = optimum.inputs(pf.align_prices(closes[list(symbols)])[0])
    assert_on_frontier(mu.to_numpy(), cov.to_numpy())


@pytest.mark.parametrize("seed", range(12))
def test_turning_points_on_the_frontier_of_factor_portfolios(seed: int) -> None:
    """Ordinary portfolios (where PyPortfolioOpt's steps left the budget and were purged) and 45 assets
    correlated ~0.995 (seed 12: where its free set alternated between two assets forever)."""
    prices = factories.correlated_portfolio(seed) if seed % 4 == 0 else factories.random_portfolio(seed)
    mu, cov = optimum.inputs(prices)
    assert_on_frontier(mu.to_numpy(), cov.to_numpy())


@pytest.mark.parametrize("seed", range(20))
def test_turning_points_on_the_frontier_of_random_covariances(seed: int) -> None:
    """Random covariances of 2-12 assets with distinct expected returns, some negative."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 13))
    factors = rng.normal(0.0, 0.2, (n, n))
    cov = factors @ factors.T + np.eye(n) * rng.uniform(1e-4, 0.05)
    assert_on_frontier(rng.normal(0.08, 0.1, n), cov)


def test_the_correlated_portfolio_ends_within_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the 45 correlated assets the algorithm ends within a tenth of its step budget."""
    mu, cov = (x.to_numpy() for x in optimum.inputs(factories.correlated_portfolio(12)))
    monkeypatch.setattr(cla, "max_steps", lambda n: n + 10)
    assert len(cla.turning_points(mu, cov)) < 55


def test_a_singular_covariance_raises() -> None:
    """Two identical assets and nothing else (a singular covariance) raise, for the optimiser's fallback."""
    cov = np.array([[0.04, 0.04], [0.04, 0.04]])
    with pytest.raises((np.linalg.LinAlgError, TypeError, cla.CLAError)):
        cla.turning_points(np.array([0.1, 0.05]), cov)
