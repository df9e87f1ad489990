"""The true long-only optimum, from the convex solver, to check the optimiser's answers against.

PyPortfolioOpt's `EfficientFrontier` on cvxpy + Clarabel with tolerances of 1e-12 (Clarabel's default 1e-8
left a volatility 5e-6 above the optimum on a badly scaled problem: two constant prices next to a moving
one), on the covariance divided by its mean variance: the weights do not change with that scale, but the
solver's tolerances are absolute, and on assets moving 1e-5 a day (variances ~1e-8 a year) they left the
reference 1e-5 above the optimiser's answer. Volatilities and Sharpe ratios are compared to 1e-6, relative.
No critical line algorithm here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pypfopt import EfficientFrontier

from dashboard.analytics import optimize as opt

RELATIVE = 1e-6  # the bound: within 1e-6 of the convex optimum
TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "tol_ktratio": 1e-10}


def inputs(prices: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Expected returns and covariance as the optimiser builds them (pinned to PyPortfolioOpt's estimators
    in test_optimize.py)."""
    built = opt._build_inputs(prices)
    return built.mu, built.cov


def _solver(prices: pd.DataFrame) -> EfficientFrontier:
    """The solver on the covariance scaled to a mean variance of 1 (the same weights, see above)."""
    mu, cov = inputs(prices)
    scale = float(np.diag(cov.to_numpy()).mean())
    return EfficientFrontier(mu, cov / scale, solver="CLARABEL", solver_options=dict(TIGHT))


def volatility(weights: np.ndarray, cov: pd.DataFrame) -> float:
    return float(np.sqrt(weights @ cov.to_numpy() @ weights))


def min_volatility(prices: pd.DataFrame) -> np.ndarray:
    return np.fromiter(_solver(prices).min_volatility().values(), dtype=float)


def max_sharpe(prices: pd.DataFrame, risk_free: float) -> np.ndarray:
    return np.fromiter(_solver(prices).max_sharpe(risk_free_rate=risk_free).values(), dtype=float)


def assert_min_volatility(prices: pd.DataFrame, result: opt.OptimizedPortfolio) -> np.ndarray:
    """The optimiser's minimum volatility is the solver's, to 1e-6; returns the solver's weights."""
    _, cov = inputs(prices)
    exact = min_volatility(prices)
    assert result.volatility == pytest.approx(volatility(exact, cov), rel=RELATIVE)
    return exact


def assert_max_sharpe(prices: pd.DataFrame, result: opt.OptimizedPortfolio, risk_free: float) -> np.ndarray:
    """The optimiser's Sharpe ratio is the solver's best, to 1e-6; returns the solver's weights."""
    mu, cov = inputs(prices)
    exact = max_sharpe(prices, risk_free)
    sharpe = (float(exact @ mu.to_numpy()) - risk_free) / volatility(exact, cov)
    assert result.sharpe == pytest.approx(sharpe, rel=RELATIVE)
    return exact


def assert_frontier(prices: pd.DataFrame, frontier: pd.DataFrame) -> None:
    """Each frontier point's volatility is the solver's minimum at that point's return, to 1e-6; the
    points run from the minimum volatility to just under the best asset's return (by 1e-6 of it, or of the
    frontier's span when the best return is 0: a constant price among losers)."""
    mu, cov = inputs(prices)
    assert not frontier.empty
    best = float(mu.max())
    span = abs(best) if best != 0 else best - float(frontier["expected_return"].iloc[0])
    assert frontier["expected_return"].iloc[-1] == pytest.approx(best - 1e-6 * span, rel=1e-9, abs=1e-15)
    lowest = volatility(min_volatility(prices), cov)
    assert frontier["volatility"].iloc[0] == pytest.approx(lowest, rel=RELATIVE)
    ef = _solver(prices)
    for target, vol in zip(frontier["expected_return"], frontier["volatility"], strict=True):
        solved = np.fromiter(ef.efficient_return(float(target)).values(), dtype=float)
        assert vol == pytest.approx(volatility(solved, cov), rel=RELATIVE), target
