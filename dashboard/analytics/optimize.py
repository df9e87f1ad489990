"""Portfolio optimisation with PyPortfolioOpt: minimum volatility, maximum Sharpe, HRP and the efficient frontier.

Inputs are aligned dividend-adjusted prices (see `portfolio.align_prices`). Expected returns are historical
CAGRs (PyPortfolioOpt `mean_historical_return`, 252 days); the covariance is Ledoit-Wolf shrunk, which is
better conditioned than the sample covariance when symbols are many and history is short. Long-only.

The minimum-volatility portfolio and the frontier come from PyPortfolioOpt's critical line algorithm (CLA):
its turning points are exact, and between two of them the frontier's weights are linear in the target return,
so every frontier point is an interpolation (as `CLA.efficient_frontier` builds its points) instead of one
cvxpy solve each. The convex solver (cvxpy) still finds the maximum Sharpe portfolio, and is the fallback when
CLA's turning points fail their checks.

A company page asks for several objectives and the frontier over the same prices: the expected returns,
covariance and turning points are computed once and kept in a small cache keyed by the prices' content
(columns and values; `clear_cache` empties it), so the later calls reuse them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pypfopt import CLA, EfficientFrontier, HRPOpt, expected_returns, risk_models
from pypfopt.exceptions import OptimizationError

from dashboard.analytics.errors import AnalyticsError, NotEnoughDataError

Objective = Literal["min_volatility", "max_sharpe", "hrp"]
OBJECTIVES: tuple[Objective, ...] = ("min_volatility", "max_sharpe", "hrp")
MIN_DATES = 30  # a covariance from fewer daily returns is mostly noise
CACHE_SIZE = 8  # price sets whose inputs are kept: a few pages open at once per worker
# The interior-point solver: OSQP (cvxpy's default for these QPs) stops at ~1e-5 accuracy and answered the
# frontier's last point (just under the best asset's return) "optimal_inaccurate" or "infeasible_inaccurate".
SOLVER = "CLARABEL"
TURNING_TOLERANCE = 1e-9  # how far CLA's turning points may stray from sum 1, long-only and the best return
SAME_RETURN = 1e-12  # turning points whose returns differ less than this are one point of the frontier


@dataclass(frozen=True, slots=True)
class OptimizedPortfolio:
    """Weights (summing to 1) with the expected annual return, volatility and Sharpe they imply."""

    objective: Objective
    weights: dict[str, float]
    expected_return: float
    volatility: float
    sharpe: float


@dataclass(slots=True)
class _Inputs:
    """What every objective derives from one price frame; `min_vol` is filled by the first that needs it."""

    mu: pd.Series
    cov: pd.DataFrame
    min_vol: tuple[dict[str, float], float, float] | None = None  # raw weights, return, volatility
    # CLA's turning points, one row each from the best return down to the minimum variance, and their
    # returns (strictly falling); an empty array when CLA failed its checks (the cvxpy fallback is used).
    turning: tuple[np.ndarray, np.ndarray] | None = None


_cache: OrderedDict[bytes, _Inputs] = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget cached optimisation inputs (tests and benchmarks measure a cold start with it)."""
    with _cache_lock:
        _cache.clear()


def _key(prices: pd.DataFrame) -> bytes:
    # Expected returns, covariance and weights depend only on the symbols and the price values (not the
    # dates), so those are the key. Hashing ~7,500 x 5 floats takes a fraction of a millisecond.
    digest = hashlib.blake2b(repr(list(prices.columns)).encode(), digest_size=20)
    digest.update(np.ascontiguousarray(prices.to_numpy(dtype=float)).tobytes())
    return digest.digest()


def _inputs(prices: pd.DataFrame) -> _Inputs:
    if prices.shape[1] < 2:
        raise AnalyticsError("optimisation needs at least two symbols")
    if len(prices) < MIN_DATES or prices.isna().any().any():
        raise NotEnoughDataError(
            f"optimisation needs {MIN_DATES}+ aligned dates without gaps (use align_prices)"
        )
    key = _key(prices)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    mu = expected_returns.mean_historical_return(prices)
    cov = risk_models.CovarianceShrinkage(prices).ledoit_wolf()
    inputs = _Inputs(mu, cov)
    with _cache_lock:
        inputs = _cache.setdefault(key, inputs)  # another thread may have stored the same meanwhile
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return inputs


def _turning_points(inputs: _Inputs) -> tuple[np.ndarray, np.ndarray]:
    """CLA's turning points (rows) and their returns, computed once per input set; empty when unusable."""
    if inputs.turning is None:
        mu = inputs.mu.to_numpy(dtype=float)
        try:
            cla = CLA(inputs.mu, inputs.cov)
            cla.min_volatility()  # runs the algorithm; `cla.w` then holds every turning point
            points = np.array([np.asarray(w, dtype=float).ravel() for w in cla.w])
        except (ValueError, np.linalg.LinAlgError, IndexError, TypeError):
            points = np.empty((0, len(mu)))
        returns = points @ mu if points.size else np.empty(0)
        if len(points) > 1:
            # CLA may repeat a point (its start is often also its first turning point) or step along equal
            # returns (tied expected returns): of points with one return keep the last, the lowest variance.
            keep = np.append(np.diff(returns) < -SAME_RETURN, True)
            points, returns = points[keep], returns[keep]
        valid = (
            len(points) >= 1
            and points.shape[1] == len(mu)
            and bool(np.isfinite(points).all())
            and bool(np.all(np.abs(points.sum(axis=1) - 1.0) < TURNING_TOLERANCE))
            and bool(points.min() > -TURNING_TOLERANCE)
            and bool(np.all(np.diff(returns) < 0))
            and abs(float(returns[0]) - float(mu.max())) < TURNING_TOLERANCE
        )
        inputs.turning = (points, returns) if valid else (np.empty((0, len(mu))), np.empty(0))
    return inputs.turning


def _min_volatility(inputs: _Inputs) -> tuple[dict[str, float], float, float]:
    """The minimum-volatility weights with their return and volatility, found once per input set.

    CLA's last turning point is the minimum-variance portfolio; the convex solver when CLA was unusable.
    """
    if inputs.min_vol is None:
        points, _ = _turning_points(inputs)
        if len(points):
            w = points[-1]
            cov = inputs.cov.to_numpy(dtype=float)
            weights = {str(k): float(v) for k, v in zip(inputs.mu.index, w, strict=True)}
            inputs.min_vol = (weights, float(w @ inputs.mu.to_numpy()), float(np.sqrt(np.dot(w, cov.dot(w)))))
        else:
            ef = EfficientFrontier(inputs.mu, inputs.cov, solver=SOLVER)
            weights = dict(ef.min_volatility())
            inputs.min_vol = (weights, *_performance(ef))
    return inputs.min_vol


def _clean(weights: dict[str, float]) -> dict[str, float]:
    # cvxpy returns tiny negatives and 1e-17s; round as PyPortfolioOpt's clean_weights does.
    return {str(k): round(float(v), 6) if abs(v) > 1e-6 else 0.0 for k, v in weights.items()}


def _performance(ef: EfficientFrontier) -> tuple[float, float]:
    """Expected return and volatility of the optimiser's weights, as `portfolio_performance` computes them.

    PyPortfolioOpt evaluates w @ mu and cvxpy's quad_form value, w . (S w), through cvxpy expressions (and a
    Sharpe ratio we compute ourselves); the same products on the arrays take microseconds instead of ~1 ms.
    """
    w = np.asarray(ef.weights, dtype=float)
    return float(w @ ef.expected_returns), float(np.sqrt(np.dot(w, ef.cov_matrix.dot(w))))


def optimize(
    prices: pd.DataFrame, objective: Objective = "min_volatility", *, risk_free: float = 0.0
) -> OptimizedPortfolio:
    """Optimal long-only weights for one objective.

    Raises:
        AnalyticsError: unknown objective, fewer than two symbols, or no feasible solution (e.g. max Sharpe
            when no symbol is expected to beat the risk-free rate).
    """
    if objective not in OBJECTIVES:
        raise AnalyticsError(f"unknown objective {objective!r}; use one of {OBJECTIVES}")
    inputs = _inputs(prices)
    mu, cov = inputs.mu, inputs.cov
    try:
        if objective == "hrp":
            hrp = HRPOpt(returns=prices.pct_change(fill_method=None).dropna(), cov_matrix=cov)
            weights = dict(hrp.optimize())
            w = pd.Series(weights)
            ret, vol = float(w @ mu[w.index]), float(np.sqrt(w @ cov.loc[w.index, w.index] @ w))
        elif objective == "min_volatility":
            weights, ret, vol = _min_volatility(inputs)
        else:
            ef = EfficientFrontier(mu, cov, solver=SOLVER)
            weights = dict(ef.max_sharpe(risk_free_rate=risk_free))
            ret, vol = _performance(ef)
    except (OptimizationError, ValueError) as exc:
        raise AnalyticsError(f"{objective} optimisation failed: {exc}") from exc
    sharpe = (ret - risk_free) / vol if vol > 0 else np.nan
    return OptimizedPortfolio(objective, _clean(weights), float(ret), float(vol), float(sharpe))


def efficient_frontier(prices: pd.DataFrame, *, points: int = 20, risk_free: float = 0.0) -> pd.DataFrame:
    """Long-only frontier: `points` portfolios from the minimum-volatility return to the best single return.

    Returns:
        DataFrame with columns expected_return, volatility, sharpe and one weight column per symbol.
    """
    if points < 2:
        raise AnalyticsError("the frontier needs at least two points")
    inputs = _inputs(prices)
    mu, cov = inputs.mu, inputs.cov
    try:
        low_ret = _min_volatility(inputs)[1]
        # Just under the best asset's return: exactly at it the problem is degenerate for the solver.
        targets = np.linspace(low_ret, float(mu.max()) * (1 - 1e-6), points)
        frontier = _interpolated(inputs, targets)
        if frontier is None:
            frontier = _solved(inputs, targets)
    except (OptimizationError, ValueError) as exc:
        raise AnalyticsError(f"efficient frontier failed: {exc}") from exc
    rows = []
    for w in frontier:
        ret = float(w @ mu.to_numpy())
        vol = float(np.sqrt(np.dot(w, cov.to_numpy().dot(w))))
        rows.append(
            {
                "expected_return": ret,
                "volatility": vol,
                "sharpe": (ret - risk_free) / vol,
                **_clean(dict(zip(mu.index, w, strict=True))),
            }
        )
    return pd.DataFrame(rows)


def _interpolated(inputs: _Inputs, targets: np.ndarray) -> np.ndarray | None:
    """Frontier weights (one row per target) between CLA's turning points; None when CLA was unusable."""
    points, returns = _turning_points(inputs)
    if len(points) < 2:
        return None
    # Returns rise along the reversed turning points; each weight is linear in the return between two of them.
    rising, weights = returns[::-1], points[::-1]
    if (
        targets.max() > rising[-1]
    ):  # as EfficientFrontier.efficient_return refuses it (a negative best return)
        raise ValueError("target_return must be lower than the maximum possible return")
    return np.column_stack([np.interp(targets, rising, weights[:, j]) for j in range(points.shape[1])])


def _solved(inputs: _Inputs, targets: np.ndarray) -> np.ndarray:
    """Frontier weights from one cvxpy solve per target (the fallback)."""
    # One instance: PyPortfolioOpt keeps the target return as a cvxpy Parameter, so later points re-solve
    # the compiled problem instead of rebuilding it (about 5x faster).
    ef = EfficientFrontier(inputs.mu, inputs.cov, solver=SOLVER)
    return np.array([list(ef.efficient_return(float(target)).values()) for target in targets], dtype=float)
