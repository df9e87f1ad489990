"""Portfolio optimisation with PyPortfolioOpt: minimum volatility, maximum Sharpe, HRP and the efficient frontier.

Inputs are aligned dividend-adjusted prices (see `portfolio.align_prices`). Expected returns are historical
CAGRs (PyPortfolioOpt `mean_historical_return`, 252 days); the covariance is Ledoit-Wolf shrunk, which is
better conditioned than the sample covariance when symbols are many and history is short. Long-only.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class OptimizedPortfolio:
    """Weights (summing to 1) with the expected annual return, volatility and Sharpe they imply."""

    objective: Objective
    weights: dict[str, float]
    expected_return: float
    volatility: float
    sharpe: float


def _inputs(prices: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    if prices.shape[1] < 2:
        raise AnalyticsError("optimisation needs at least two symbols")
    if len(prices) < MIN_DATES or prices.isna().any().any():
        raise NotEnoughDataError(
            f"optimisation needs {MIN_DATES}+ aligned dates without gaps (use align_prices)"
        )
    mu = expected_returns.mean_historical_return(prices)
    cov = risk_models.CovarianceShrinkage(prices).ledoit_wolf()
    return mu, cov


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
    mu, cov = _inputs(prices)
    try:
        if objective == "hrp":
            hrp = HRPOpt(returns=prices.pct_change(fill_method=None).dropna(), cov_matrix=cov)
            weights = dict(hrp.optimize())
            w = pd.Series(weights)
            ret, vol = float(w @ mu[w.index]), float(np.sqrt(w @ cov.loc[w.index, w.index] @ w))
        else:
            ef = EfficientFrontier(mu, cov)
            if objective == "min_volatility":
                weights = dict(ef.min_volatility())
            else:
                weights = dict(ef.max_sharpe(risk_free_rate=risk_free))
            ret, vol, _ = ef.portfolio_performance(risk_free_rate=risk_free)
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
    mu, cov = _inputs(prices)
    try:
        low = EfficientFrontier(mu, cov)
        low.min_volatility()
        low_ret = low.portfolio_performance()[0]
        # Just under the best asset's return: exactly at it the problem is degenerate for the solver.
        targets = np.linspace(low_ret, float(mu.max()) * (1 - 1e-6), points)
        rows = []
        # One instance: PyPortfolioOpt keeps the target return as a cvxpy Parameter, so later points re-solve
        # the compiled problem instead of rebuilding it (about 5x faster).
        ef = EfficientFrontier(mu, cov)
        for target in targets:
            w = ef.efficient_return(float(target))
            ret, vol, _ = ef.portfolio_performance(risk_free_rate=risk_free)
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
