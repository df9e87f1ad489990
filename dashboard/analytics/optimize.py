"""Portfolio optimisation: minimum volatility, maximum Sharpe, HRP and the efficient frontier, long-only.

Inputs are aligned dividend-adjusted prices (see `portfolio.align_prices`). Expected returns are historical
CAGRs (PyPortfolioOpt `mean_historical_return`, 252 days); the covariance is Ledoit-Wolf shrunk, which is
better conditioned than the sample covariance when symbols are many and history is short.

Every answer is the exact optimum, and no request can run unbounded:
- the candidates come from the critical line algorithm's turning points (dashboard/analytics/cla.py,
  bounded in steps and time): the minimum variance is the last one, each frontier point an interpolation
  between two of them (the weights are linear in the target return there), the maximum Sharpe the best
  stationary point along the segments between them (a + b t) / sqrt(q(t)), a linear equation per segment;
- each candidate is then tested against the problem's optimality conditions (dashboard/analytics/qp.py);
  any that fails, and every answer when CLA stopped or the expected returns tie (identical assets,
  constant prices, equal returns: CLA's lambda has no direction there), comes from the convex solver
  (PyPortfolioOpt's `EfficientFrontier` on cvxpy + Clarabel, bounded in iterations and time), polished to
  the exact solution of the KKT equations on the assets it holds.
HRP is PyPortfolioOpt's `HRPOpt.optimize` (scipy single linkage, recursive bisection) on arrays
(dashboard/analytics/hrp.py).

The Portfolio page asks for every objective and the frontier over the same prices: `optimize_all` computes
the daily returns, expected returns, covariance and turning points once for all of them. Separate calls
(`optimize`, `efficient_frontier`) keep them in a small cache keyed by the prices' content (columns and
values; `clear_cache` empties it), so the later calls reuse them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pypfopt import EfficientFrontier
from pypfopt.exceptions import OptimizationError

from dashboard.analytics import cla, hrp, qp
from dashboard.analytics.errors import AnalyticsError, NotEnoughDataError

Objective = Literal["min_volatility", "max_sharpe", "hrp"]
OBJECTIVES: tuple[Objective, ...] = ("min_volatility", "max_sharpe", "hrp")
TRADING_DAYS = 252
MIN_DATES = 30  # a covariance from fewer daily returns is mostly noise
CACHE_SIZE = 8  # price sets whose inputs are kept: a few pages open at once per worker
# The interior-point solver: OSQP (cvxpy's default for these QPs) stops at ~1e-5 accuracy and answered the
# frontier's last point (just under the best asset's return) "optimal_inaccurate" or "infeasible_inaccurate".
SOLVER = "CLARABEL"
# Clarabel's bounds (its own default is 200 iterations and no time limit, which is wall time): a solve on 45
# assets takes ~10 ms of CPU, so 5 s is only reached by a solve that would not end.
SOLVER_OPTIONS = {"max_iter": 200, "time_limit": 5.0}
TIED = 1e-12  # expected returns closer than this (relative to the largest) are taken as equal
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
    returns: np.ndarray  # daily simple returns, one column per symbol
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
    """The inputs of `prices`, from the cache when the same prices were optimised recently."""
    _check(prices)
    key = _key(prices)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    inputs = _build_inputs(prices)
    with _cache_lock:
        inputs = _cache.setdefault(key, inputs)  # another thread may have stored the same meanwhile
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return inputs


def _check(prices: pd.DataFrame) -> None:
    if prices.shape[1] < 2:
        raise AnalyticsError("optimisation needs at least two symbols")
    # On the array: pandas' isna().any().any() cost ~0.3 ms a call, more than the covariance.
    if len(prices) < MIN_DATES or np.isnan(prices.to_numpy(dtype=float)).any():
        raise NotEnoughDataError(
            f"optimisation needs {MIN_DATES}+ aligned dates without gaps (use align_prices)"
        )


def _build_inputs(prices: pd.DataFrame) -> _Inputs:
    values = prices.to_numpy(dtype=float)
    # The daily returns once, for every estimator: `mean_historical_return` (the CAGR of the daily simple
    # returns over 252 days) and the Ledoit-Wolf covariance (`ledoit_wolf`) on the array.
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = values[1:] / values[:-1] - 1.0  # as pandas' pct_change
    if not np.isfinite(returns).all():
        raise AnalyticsError("optimisation needs positive, finite prices")
    symbols = prices.columns
    mu = pd.Series(np.prod(1.0 + returns, axis=0) ** (TRADING_DAYS / len(returns)) - 1.0, index=symbols)
    shrunk = ledoit_wolf(returns)
    if not shrunk.any():  # every return 0 (a zero column keeps a shrunk variance when another one moves)
        raise AnalyticsError("every price is constant over these dates: there is no risk to optimise")
    cov = pd.DataFrame(shrunk, index=symbols, columns=symbols)
    return _Inputs(mu, cov, returns)


def ledoit_wolf(returns: np.ndarray, frequency: int = TRADING_DAYS) -> np.ndarray:
    """`CovarianceShrinkage(returns, returns_data=True).ledoit_wolf()` of finite daily returns, annualised.

    The same operations in the same order as scikit-learn's `ledoit_wolf` (centred data, one block: fewer
    than 1,000 symbols) and PyPortfolioOpt's annualising and spectral fix of a matrix that is not positive
    semidefinite, so the same bits (tested). Kept instead of calling them (issue #26) because it matters:
    building a portfolio's inputs took 0.8-1.0 ms with it and 2.0-2.1 ms with `sklearn.covariance.ledoit_wolf`
    and `risk_models.fix_nonpositive_semidefinite` on the array (2-6 symbols x 9,500 days), ~7 % of a
    Portfolio request, whose budget goes to testing every answer's optimality.
    """
    n, p = returns.shape
    x = returns - returns.mean(0)
    x2 = x**2
    trace = np.sum(x2, axis=0) / n
    mu = np.sum(trace) / p
    delta_ = np.sum(np.dot(x.T, x) ** 2) / n**2
    beta_ = np.sum(np.dot(x2.T, x2))
    beta = 1.0 / (p * n) * (beta_ / n - delta_)
    delta = (delta_ - 2.0 * mu * trace.sum() + p * mu**2) / p
    beta = min(beta, delta)
    shrinkage = 0 if beta == 0 else beta / delta
    sample = np.dot(x.T, x) / n
    shrunk = (1.0 - shrinkage) * sample
    shrunk.flat[:: p + 1] += shrinkage * (np.sum(np.trace(sample)) / p)
    cov: np.ndarray = shrunk * frequency
    try:
        np.linalg.cholesky(cov + 1e-16 * np.eye(p))  # PyPortfolioOpt's positive semidefinite test
    except np.linalg.LinAlgError:
        q, v = np.linalg.eigh(cov)
        cov = v @ np.diag(np.where(q > 0, q, 0)) @ v.T
    return cov


def _turning_points(inputs: _Inputs) -> tuple[np.ndarray, np.ndarray]:
    """CLA's turning points (rows) and their returns, computed once per input set; empty when unusable:
    tied expected returns (CLA would start from one of the tied assets and never free the other), CLA
    stopped (`cla.CLAError`: its step or time budget) or failed, or points that fail the basic checks."""
    if inputs.turning is None:
        mu = inputs.mu.to_numpy(dtype=float)
        points = np.empty((0, len(mu)))
        if not _tied(mu):
            try:
                found = cla.turning_points(mu, inputs.cov.to_numpy(dtype=float))
                points = np.array([np.asarray(w, dtype=float).ravel() for w in found]).reshape(
                    len(found), len(mu)
                )
            except (ValueError, np.linalg.LinAlgError, IndexError, TypeError):
                pass  # cla.CLAError is a ValueError
        returns = points @ mu if points.size else np.empty(0)
        if len(points) > 1:
            # CLA may repeat a point (its start is often also its first turning point): of points with
            # one return keep the last, the lowest variance.
            keep = np.append(np.diff(returns) < -SAME_RETURN, True)
            points, returns = points[keep], returns[keep]
        valid = (
            len(points) >= 1
            and bool(np.isfinite(points).all())
            and bool(np.all(np.abs(points.sum(axis=1) - 1.0) < TURNING_TOLERANCE))
            and bool(points.min() > -TURNING_TOLERANCE)
            and bool(np.all(np.diff(returns) < 0))
            and abs(float(returns[0]) - float(mu.max())) < TURNING_TOLERANCE
        )
        inputs.turning = (points, returns) if valid else (np.empty((0, len(mu))), np.empty(0))
    return inputs.turning


def _tied(mu: np.ndarray) -> bool:
    """Two expected returns equal (to TIED): identical assets, constant prices, or a coincidence."""
    return bool((np.diff(np.sort(mu)) <= TIED * max(1.0, float(np.abs(mu).max()))).any())


def _solver(inputs: _Inputs) -> EfficientFrontier:
    return EfficientFrontier(inputs.mu, inputs.cov, solver=SOLVER, solver_options=dict(SOLVER_OPTIONS))


def _min_volatility(inputs: _Inputs) -> tuple[dict[str, float], float, float]:
    """The minimum-volatility weights with their return and volatility, found once per input set.

    CLA's last turning point when it passes the optimality test, else the convex solver's.
    """
    if inputs.min_vol is None:
        points, _ = _turning_points(inputs)
        cov, mu = inputs.cov.to_numpy(dtype=float), inputs.mu.to_numpy(dtype=float)
        budget, one = np.ones((1, len(mu))), np.ones(1)
        if len(points) and qp.optimal(cov, points[-1], budget, one):
            w = points[-1]
        else:
            ef = _solver(inputs)
            w = qp.exact(cov, budget, one, lambda: _weights(ef.min_volatility()))
        weights = {str(k): float(v) for k, v in zip(inputs.mu.index, w, strict=True)}
        inputs.min_vol = (weights, float(w @ mu), float(np.sqrt(np.dot(w, cov.dot(w)))))
    return inputs.min_vol


def _weights(weights: dict[str, float]) -> np.ndarray:
    return np.fromiter(weights.values(), dtype=float, count=len(weights))


def _hrp(inputs: _Inputs) -> tuple[dict[str, float], float, float]:
    """`HRPOpt(returns=daily returns).optimize()` on the symbols in sorted order (dashboard/analytics/hrp.py):
    the weights by sorted symbol, and the return and volatility from the shrunk inputs, as PyPortfolioOpt
    computes them. Sorted, because the clustering's tie-break follows the column order: one set of
    holdings gives one answer, in whatever order it was typed (the page caches it by the sorted set)."""
    symbols = [str(s) for s in inputs.mu.index]
    # A constant price's CAGR is exactly 0: only those columns are scanned (a scan of all cost ~0.2 ms).
    still = [symbols[i] for i in np.flatnonzero(inputs.mu.to_numpy() == 0) if not inputs.returns[:, i].any()]
    if still:  # no correlation to cluster on (HRPOpt fails on the distances' NaN)
        raise ValueError(f"HRP needs prices that move; constant over these dates: {', '.join(still)}")
    order = sorted(range(len(symbols)), key=symbols.__getitem__)
    w = np.empty(len(symbols))
    w[order] = hrp.weights(inputs.returns[:, order])
    cov = inputs.cov.to_numpy(dtype=float)
    ret, vol = float(w @ inputs.mu.to_numpy()), float(np.sqrt(w @ cov @ w))
    return {symbols[i]: float(w[i]) for i in order}, ret, vol


def _max_sharpe(inputs: _Inputs, risk_free: float) -> tuple[dict[str, float], float, float]:
    """The long-only maximum Sharpe weights with their return and volatility.

    From CLA's turning points: along the segment w(t) = w0 + t (w1 - w0) the excess return is a + b t and
    the variance q0 + 2 q1 t + q2 t^2, so d/dt Sharpe = 0 where (b q0 - a q1) + (b q1 - a q2) t = 0. The
    best candidate is kept when it passes the optimality test (qp.py, on w / excess return), else the
    convex solver's (`EfficientFrontier.max_sharpe`).

    Raises:
        ValueError: no symbol is expected to beat the risk-free rate (PyPortfolioOpt's message).
    """
    mu = inputs.mu.to_numpy(dtype=float)
    if not (mu > risk_free).any():
        raise ValueError(
            "at least one of the assets must have an expected return exceeding the risk-free rate"
        )
    cov = inputs.cov.to_numpy(dtype=float)
    excess_row, one = (mu - risk_free)[None, :], np.ones(1)
    points, _ = _turning_points(inputs)
    w = _best_sharpe(points, mu, cov, risk_free) if len(points) else None
    if w is None or not qp.optimal(cov, w / float(excess_row[0] @ w), excess_row, one):
        ef = _solver(inputs)

        def scaled() -> np.ndarray:  # y = w / (e' w): the problem qp.py tests and polishes
            solved = _weights(ef.max_sharpe(risk_free_rate=risk_free))
            return solved / float(excess_row[0] @ solved)

        y = qp.exact(cov, excess_row, one, scaled)
        w = y / y.sum()
    weights = {str(k): float(v) for k, v in zip(inputs.mu.index, w, strict=True)}
    return weights, float(w @ mu), float(np.sqrt(w @ cov @ w))


def _best_sharpe(points: np.ndarray, mu: np.ndarray, cov: np.ndarray, risk_free: float) -> np.ndarray | None:
    """The best Sharpe ratio among the turning points and each segment's stationary point; None when no
    candidate has a positive excess return."""
    candidates = [points]
    if len(points) > 1:
        w0, step = points[:-1], np.diff(points, axis=0)
        a, b = w0 @ mu - risk_free, step @ mu
        cov_w0, cov_step = w0 @ cov, step @ cov
        q0 = np.einsum("ij,ij->i", cov_w0, w0)
        q1 = np.einsum("ij,ij->i", cov_step, w0)
        q2 = np.einsum("ij,ij->i", cov_step, step)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (a * q1 - b * q0) / (b * q1 - a * q2)
        inside = np.isfinite(t) & (t > 0) & (t < 1)
        candidates.append(w0[inside] + t[inside, None] * step[inside])
    every = np.vstack(candidates)
    excess = every @ mu - risk_free
    vol = np.sqrt(np.einsum("ij,jk,ik->i", every, cov, every))
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where((vol > 0) & (excess > 0), excess / vol, -np.inf)
    best = int(np.argmax(sharpe))
    return every[best] if np.isfinite(sharpe[best]) else None


def _reason(exc: Exception) -> str:
    """The error's text, with the convex solver's stop at its bounds (cvxpy's status "user_limit") said
    plainly instead of PyPortfolioOpt's advice to change solver."""
    if isinstance(exc, OptimizationError) and "user_limit" in str(exc):
        limits = f"{SOLVER_OPTIONS['max_iter']} iterations or {SOLVER_OPTIONS['time_limit']} s"
        return f"the convex solver stopped at its limit ({limits}) without an answer"
    return str(exc)


def _clean(weights: dict[str, float]) -> dict[str, float]:
    # cvxpy returns tiny negatives and 1e-17s; round as PyPortfolioOpt's clean_weights does.
    return {str(k): round(float(v), 6) if abs(v) > 1e-6 else 0.0 for k, v in weights.items()}


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
    return _optimize(_inputs(prices), objective, risk_free)


def _optimize(inputs: _Inputs, objective: Objective, risk_free: float) -> OptimizedPortfolio:
    try:
        if objective == "hrp":
            weights, ret, vol = _hrp(inputs)
        elif objective == "min_volatility":
            weights, ret, vol = _min_volatility(inputs)
        else:
            weights, ret, vol = _max_sharpe(inputs, risk_free)
    except (OptimizationError, ValueError) as exc:
        raise AnalyticsError(f"{objective} optimisation failed: {_reason(exc)}") from exc
    sharpe = (ret - risk_free) / vol if vol > 0 else np.nan
    return OptimizedPortfolio(objective, _clean(weights), float(ret), float(vol), float(sharpe))


def efficient_frontier(prices: pd.DataFrame, *, points: int = 20, risk_free: float = 0.0) -> pd.DataFrame:
    """Long-only frontier: `points` portfolios from the minimum-volatility return to the best single return.

    Returns:
        DataFrame with columns expected_return, volatility, sharpe and one weight column per symbol.
    """
    if points < 2:
        raise AnalyticsError("the frontier needs at least two points")
    return _frontier(_inputs(prices), points, risk_free)


def _frontier(inputs: _Inputs, points: int, risk_free: float) -> pd.DataFrame:
    mu, cov = inputs.mu.to_numpy(dtype=float), inputs.cov.to_numpy(dtype=float)
    try:
        min_vol = _min_volatility(inputs)
        targets = _targets(min_vol[1], float(mu.max()), points)
        frontier = _interpolated(inputs, targets)
        if frontier is None:
            frontier = np.full((len(targets), len(mu)), np.nan)
        if len(targets) == 1:  # every long-only portfolio's return is the minimum variance's
            frontier[0] = _weights(min_vol[0])
        rows = np.vstack([np.ones(len(mu)), mu])
        b = np.column_stack([np.ones(len(targets)), targets])
        wrong = np.flatnonzero(~qp.optimal_rows(cov, frontier, rows, b))
        if len(wrong):
            frontier[wrong] = _solved(inputs, rows, targets[wrong])
    except (OptimizationError, ValueError) as exc:
        raise AnalyticsError(f"efficient frontier failed: {_reason(exc)}") from exc
    # Row by row, as one portfolio's figures are computed everywhere else (a matrix product may sum in
    # another order), into columns: a frame from a list of row dicts cost ~0.5 ms.
    returns = [float(w @ mu) for w in frontier]
    volatilities = [float(np.sqrt(np.dot(w, cov.dot(w)))) for w in frontier]
    cleaned = [_clean(dict(zip(inputs.mu.index, w, strict=True))) for w in frontier]
    sharpes = [(ret - risk_free) / vol for ret, vol in zip(returns, volatilities, strict=True)]
    columns = {"expected_return": returns, "volatility": volatilities, "sharpe": sharpes}
    columns.update({str(s): [row[str(s)] for row in cleaned] for s in inputs.mu.index})
    # One float block from one array (rows are the columns' values): a frame from a dict of columns
    # checks and consolidates each (~0.5 ms), and from lists infers each one's dtype element by element.
    return pd.DataFrame(np.array(list(columns.values()), dtype=float).T, columns=list(columns))


def _targets(low: float, best: float, points: int) -> np.ndarray:
    """From the minimum variance's return to just under the best asset's (1e-6 of it, below it whatever
    its sign: exactly at it the convex solver's problem is degenerate); one target when that range is
    empty (equal expected returns, or equal but for noise below that 1e-6: closer to the best than that,
    the solver's own maximum return is not exact enough to ask for a point)."""
    top = best - 1e-6 * (abs(best) if best != 0 else best - low)
    if not top > low:
        return np.array([low])
    return np.linspace(low, top, points)


@dataclass(frozen=True, slots=True)
class Optimised:
    """Every objective's portfolio (or the error that objective raised) and the frontier (empty if it failed)."""

    portfolios: dict[Objective, OptimizedPortfolio | AnalyticsError]
    frontier: pd.DataFrame
    # The inputs every objective used, over the prices' columns: the frontier's axes for other portfolios.
    expected_returns: np.ndarray
    covariance: np.ndarray


def optimize_all(prices: pd.DataFrame, *, risk_free: float = 0.0, points: int = 20) -> Optimised:
    """Every objective and the frontier from one set of inputs, as `optimize` and `efficient_frontier` give
    them one at a time.

    The inputs are built once and not cached: the Portfolio page caches its whole report, and the digest of
    the prices plus a lookup per call (~1 ms each over 9,500 days) cost more than the covariance.

    Raises:
        AnalyticsError: the inputs cannot be built (fewer than two symbols or 30 dates, gaps, prices that
            are not positive); an objective or the frontier failing does not raise.
    """
    if points < 2:
        raise AnalyticsError("the frontier needs at least two points")
    _check(prices)
    inputs = _build_inputs(prices)
    portfolios: dict[Objective, OptimizedPortfolio | AnalyticsError] = {}
    for objective in OBJECTIVES:
        try:
            portfolios[objective] = _optimize(inputs, objective, risk_free)
        except AnalyticsError as exc:
            portfolios[objective] = exc
    try:
        frontier = _frontier(inputs, points, risk_free)
    except AnalyticsError:
        frontier = pd.DataFrame()
    return Optimised(portfolios, frontier, inputs.mu.to_numpy(dtype=float), inputs.cov.to_numpy(dtype=float))


def _interpolated(inputs: _Inputs, targets: np.ndarray) -> np.ndarray | None:
    """Frontier weights (one row per target) between CLA's turning points; None when CLA was unusable."""
    points, returns = _turning_points(inputs)
    if len(points) < 2:
        return None
    # Returns rise along the reversed turning points; each weight is linear in the return between two of them.
    rising, weights = returns[::-1], points[::-1]
    return np.column_stack([np.interp(targets, rising, weights[:, j]) for j in range(points.shape[1])])


def _solved(inputs: _Inputs, rows: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Frontier weights from one convex solve per target, each polished (qp.exact)."""
    # One instance: PyPortfolioOpt keeps the target return as a cvxpy Parameter, so later points re-solve
    # the compiled problem instead of rebuilding it (about 5x faster).
    ef = _solver(inputs)
    cov = inputs.cov.to_numpy(dtype=float)

    def at(target: float) -> np.ndarray:
        return qp.exact(cov, rows, np.array([1.0, target]), lambda: _weights(ef.efficient_return(target)))

    return np.array([at(float(t)) for t in targets])
