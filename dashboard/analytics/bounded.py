"""Minimum volatility, maximum Sharpe and the frontier under per-asset bounds: a weight cap, optional shorts.

The long-only optimiser (optimize.py) finds exact answers from the critical line algorithm's turning points,
which assume 0 <= w <= 1. With a cap (each weight at most `upper`) or shorts (each at least `lower` < 0) the
problems are still convex quadratic programmes: PyPortfolioOpt's `EfficientFrontier(weight_bounds=(lower,
upper))` on cvxpy + Clarabel (the optimiser's solver, bounded in iterations and time) answers them on the
same inputs (historical CAGRs, Ledoit-Wolf covariance), to the solver's tolerance (~1e-8 in the variance,
~1e-6 in the weights).
HRP has no bounds in its method (recursive bisection splits by inverse variance): it is computed as without
them, and the page says so.

The frontier runs from the bounded minimum volatility's return to just under the highest return the bounds
allow (every asset at `lower`, the rest of the budget to the best returns, up to `upper` each).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pypfopt import EfficientFrontier
from pypfopt.exceptions import OptimizationError

from dashboard.analytics import optimize
from dashboard.analytics.errors import AnalyticsError


@dataclass(frozen=True, slots=True)
class Bounds:
    """Each weight within [lower, upper]: long-only (0, 1), a cap (0, 0.25), shorts (-1, 1) or (-cap, cap)."""

    lower: float = 0.0
    upper: float = 1.0

    @classmethod
    def of(cls, *, cap: float = 1.0, shorts: bool = False) -> Bounds:
        """The bounds of a cap (a fraction in (0, 1]) and the shorts switch: with shorts, -cap..cap."""
        if not 0.0 < cap <= 1.0:
            raise AnalyticsError(f"the weight cap must be above 0 and at most 100 % (got {cap:.4g})")
        return cls(-cap if shorts else 0.0, cap)

    @property
    def long_only(self) -> bool:
        return self.lower == 0.0 and self.upper == 1.0

    def check(self, assets: int) -> None:
        """Raises AnalyticsError when no weights of `assets` assets within the bounds sum to 1."""
        if assets * self.upper < 1.0 - 1e-12:
            need = int(np.ceil(1.0 / self.upper - 1e-9))
            raise AnalyticsError(
                f"a cap of {self.upper * 100:.4g} % a holding needs at least {need} holdings ({assets} given)"
            )


def highest_return(mu: np.ndarray, bounds: Bounds) -> float:
    """The largest w' mu with sum(w) = 1 and lower <= w <= upper: all at lower, the budget left filled into
    the best expected returns, up to upper each (the linear programme's greedy answer)."""
    w = np.full(len(mu), bounds.lower)
    left = 1.0 - w.sum()
    for i in np.argsort(-mu, kind="stable"):
        take = min(bounds.upper - bounds.lower, left)
        w[i] += take
        left -= take
        if left <= 0:
            break
    return float(w @ mu)


def optimize_all(
    prices: pd.DataFrame, bounds: Bounds, *, risk_free: float = 0.0, points: int = 20
) -> optimize.Optimised:
    """Every objective and the frontier within `bounds`, as `optimize.optimize_all` gives them long-only.

    Raises:
        AnalyticsError: the inputs cannot be built, or no weights within the bounds sum to 1; an objective
            or the frontier failing does not raise.
    """
    if points < 2:
        raise AnalyticsError("the frontier needs at least two points")
    optimize._check(prices)
    bounds.check(prices.shape[1])
    inputs = optimize._build_inputs(prices)
    mu, cov = inputs.mu, inputs.cov
    portfolios: dict[optimize.Objective, optimize.OptimizedPortfolio | AnalyticsError] = {}
    for objective in optimize.OBJECTIVES:
        try:
            portfolios[objective] = _one(inputs, objective, bounds, risk_free)
        except AnalyticsError as exc:
            portfolios[objective] = exc
    try:
        frontier = _frontier(mu, cov, bounds, points, risk_free, portfolios.get("min_volatility"))
    except AnalyticsError:
        frontier = pd.DataFrame()
    return optimize.Optimised(portfolios, frontier, mu.to_numpy(dtype=float), cov.to_numpy(dtype=float))


def _solver(mu: pd.Series, cov: pd.DataFrame, bounds: Bounds) -> EfficientFrontier:
    return EfficientFrontier(
        mu,
        cov,
        weight_bounds=(bounds.lower, bounds.upper),
        solver=optimize.SOLVER,
        solver_options=dict(optimize.SOLVER_OPTIONS),
    )


def _one(
    inputs: optimize._Inputs, objective: optimize.Objective, bounds: Bounds, risk_free: float
) -> optimize.OptimizedPortfolio:
    mu, cov = inputs.mu, inputs.cov
    try:
        if objective == "hrp":
            weights, ret, vol = optimize._hrp(inputs)
        else:
            ef = _solver(mu, cov, bounds)
            if objective == "min_volatility":
                solved = ef.min_volatility()
            else:
                if not (mu.to_numpy() > risk_free).any():
                    raise ValueError(
                        "at least one of the assets must have an expected return exceeding the risk-free rate"
                    )
                solved = ef.max_sharpe(risk_free_rate=risk_free)
            w = np.array([float(solved[str(s)]) for s in mu.index])
            weights = {str(s): float(v) for s, v in zip(mu.index, w, strict=True)}
            ret, vol = float(w @ mu.to_numpy()), _volatility(w, cov)
    except (OptimizationError, ValueError) as exc:
        raise AnalyticsError(f"{objective} optimisation failed: {optimize._reason(exc)}") from exc
    sharpe = (ret - risk_free) / vol if vol > 0 else np.nan
    return optimize.OptimizedPortfolio(objective, optimize._clean(weights), ret, vol, float(sharpe))


def _volatility(w: np.ndarray, cov: pd.DataFrame) -> float:
    return float(np.sqrt(w @ cov.to_numpy(dtype=float) @ w))


def _frontier(
    mu: pd.Series,
    cov: pd.DataFrame,
    bounds: Bounds,
    points: int,
    risk_free: float,
    lowest: optimize.OptimizedPortfolio | AnalyticsError | None,
) -> pd.DataFrame:
    if not isinstance(lowest, optimize.OptimizedPortfolio):
        raise AnalyticsError("no minimum-volatility portfolio within these bounds")
    best = highest_return(mu.to_numpy(dtype=float), bounds)
    low = lowest.expected_return
    top = best - 1e-6 * max(abs(best - low), abs(best), 1e-12)
    targets = np.array([low]) if not top > low else np.linspace(low, top, points)
    ef = _solver(mu, cov, bounds)  # one instance: the target is a cvxpy Parameter, re-solved per point
    rows = []
    try:
        for target in targets:
            solved = ef.efficient_return(float(target))
            rows.append(np.array([float(solved[str(s)]) for s in mu.index]))
    except (OptimizationError, ValueError) as exc:
        raise AnalyticsError(f"efficient frontier failed: {optimize._reason(exc)}") from exc
    returns = [float(w @ mu.to_numpy()) for w in rows]
    volatilities = [_volatility(w, cov) for w in rows]
    columns: dict[str, list[float]] = {
        "expected_return": returns,
        "volatility": volatilities,
        "sharpe": [(r - risk_free) / v for r, v in zip(returns, volatilities, strict=True)],
    }
    cleaned = [optimize._clean(dict(zip(mu.index, w, strict=True))) for w in rows]
    columns.update({str(s): [row[str(s)] for row in cleaned] for s in mu.index})
    return pd.DataFrame({name: np.array(values, dtype=float) for name, values in columns.items()})
