"""Portfolio optimisation with PyPortfolioOpt: minimum volatility, maximum Sharpe, HRP and the efficient frontier.

Inputs are aligned dividend-adjusted prices (see `portfolio.align_prices`). Expected returns are historical
CAGRs (PyPortfolioOpt `mean_historical_return`, 252 days); the covariance is Ledoit-Wolf shrunk, which is
better conditioned than the sample covariance when symbols are many and history is short. Long-only.

A company page asks for several objectives and the frontier over the same prices: the expected returns,
covariance and minimum-volatility portfolio are computed once and kept in a small cache keyed by the prices'
content (columns and values; `clear_cache` empties it), so the later calls reuse them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pypfopt import EfficientFrontier, HRPOpt, expected_returns, risk_models
from pypfopt.exceptions import OptimizationError

from dashboard.analytics.errors import AnalyticsError, NotEnoughDataError

Objective = Literal["min_volatility", "max_sharpe", "hrp"]
OBJECTIVES: tuple[Objective, ...] = ("min_volatility", "max_sharpe", "hrp")
MIN_DATES = 30  # a covariance from fewer daily returns is mostly noise
CACHE_SIZE = 8  # price sets whose inputs are kept: a few pages open at once per worker


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


def _min_volatility(inputs: _Inputs) -> tuple[dict[str, float], float, float]:
    """The minimum-volatility weights with their return and volatility, solved once per input set."""
    if inputs.min_vol is None:
        ef = EfficientFrontier(inputs.mu, inputs.cov)
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
            ef = EfficientFrontier(mu, cov)
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
        rows = []
        # One instance: PyPortfolioOpt keeps the target return as a cvxpy Parameter, so later points re-solve
        # the compiled problem instead of rebuilding it (about 5x faster).
        ef = EfficientFrontier(mu, cov)
        for target in targets:
            w = ef.efficient_return(float(target))
            ret, vol = _performance(ef)
            rows.append(
                {
                    "expected_return": ret,
                    "volatility": vol,
                    "sharpe": (ret - risk_free) / vol,
                    **_clean(dict(w)),
                }
            )
    except (OptimizationError, ValueError) as exc:
        raise AnalyticsError(f"efficient frontier failed: {exc}") from exc
    return pd.DataFrame(rows)
