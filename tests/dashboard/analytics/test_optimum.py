"""Every optimiser answer is the exact long-only optimum (the convex solver's), and no request runs unbounded.

The reference is tests/dashboard/analytics/optimum.py (PyPortfolioOpt's `EfficientFrontier` on Clarabel),
never a critical line algorithm. The inputs are seeded factor-model prices (factories.py) where the
optimiser answered wrongly or never before it tested its answers: 45 assets correlated ~0.995 (seed 12: two
assets traded places in CLA forever), ordinary portfolios whose frontier bridged a purged turning point with
a chord (up to +0.3 % volatility), losers only (no frontier), duplicated assets, constant prices and equal
expected returns (0/100 % instead of 50/50 %, +41 % volatility), constant prices beside several moving ones
(the solver's unpolished answer, +1.2e-5); and, as coverage, a constant price among losers and volatility
scales of 1e-5 and 15 % a day.
"""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics import cla, qp
from dashboard.analytics import optimize as opt
from dashboard.analytics.errors import AnalyticsError
from devkit import factories
from tests.dashboard.analytics import optimum

# Ordinary portfolios whose frontier was off the optimum by 8e-6 .. 3e-3 (volatility, relative).
OFF_FRONTIER = (3, 4, 18, 26, 30, 32, 39, 41, 44, 47, 48, 56)


def _every(prices: pd.DataFrame, risk_free: float, points: int = 15) -> dict[str, opt.OptimizedPortfolio]:
    """Minimum volatility and maximum Sharpe, after checking the frontier against the solver's."""
    every = opt.optimize_all(prices, risk_free=risk_free, points=points)
    portfolios: dict[str, opt.OptimizedPortfolio] = {}
    for objective, result in every.portfolios.items():
        if objective != "hrp":  # HRP is no optimum (test_optimize.py pins it to HRPOpt)
            assert isinstance(result, opt.OptimizedPortfolio), result
            portfolios[objective] = result
    optimum.assert_frontier(prices, every.frontier)
    return portfolios


def test_correlated_assets_answer_exactly_within_a_second() -> None:
    """45 assets correlated ~0.995 (where CLA cycled forever) answer in under 1 s of CPU, exactly."""
    prices = factories.correlated_portfolio(12)
    done: dict[str, object] = {}

    def run() -> None:
        start = time.process_time()
        done["result"] = opt.optimize_all(prices, risk_free=0.1, points=20)
        done["cpu"] = time.process_time() - start

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=120)  # a generous wall bound: only a request that never ends reaches it
    assert not worker.is_alive(), "optimize_all did not return"
    assert isinstance(done["cpu"], float)
    assert done["cpu"] < 1.0
    result = done["result"]
    assert isinstance(result, opt.Optimised)
    min_vol, max_sharpe = result.portfolios["min_volatility"], result.portfolios["max_sharpe"]
    assert isinstance(min_vol, opt.OptimizedPortfolio)
    assert isinstance(max_sharpe, opt.OptimizedPortfolio)
    optimum.assert_min_volatility(prices, min_vol)
    optimum.assert_max_sharpe(prices, max_sharpe, 0.1)
    optimum.assert_frontier(prices, result.frontier)


def test_cla_stops_at_its_step_and_time_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLA raises CLAError past its step budget or its time budget, and the optimiser still answers the
    optimum (from the convex solver)."""
    prices = factories.random_portfolio(3)
    mu, cov = (x.to_numpy() for x in optimum.inputs(prices))
    assert len(cla.turning_points(mu, cov)) > 2
    clock = itertools.count(0.0, 10.0)  # ten seconds a reading
    with pytest.raises(cla.CLAError, match=r"after 1\.0 s of CPU"):
        cla.turning_points(mu, cov, clock=lambda: float(next(clock)))
    monkeypatch.setattr(cla, "max_steps", lambda n: 1)
    with pytest.raises(cla.CLAError, match="after 1 steps"):
        cla.turning_points(mu, cov)
    portfolios = _every(prices, 0.04)
    optimum.assert_min_volatility(prices, portfolios["min_volatility"])
    optimum.assert_max_sharpe(prices, portfolios["max_sharpe"], 0.04)


@pytest.mark.parametrize(
    "limits", [{"max_iter": 1, "time_limit": 5.0}, {"max_iter": 200, "time_limit": 1e-9}]
)
def test_the_convex_solver_stops_at_its_bounds(
    monkeypatch: pytest.MonkeyPatch, limits: dict[str, float]
) -> None:
    """Clarabel gets the optimiser's iteration and time bounds: past either, the objectives it answers (here
    all but HRP: duplicated assets) fail with a message and the frontier is empty, instead of running on."""
    base = factories.random_portfolio(0).iloc[:, :4]
    prices = base.join(base.rename(columns=lambda s: f"{s}B"))
    monkeypatch.setattr(opt, "SOLVER_OPTIONS", limits)
    every = opt.optimize_all(prices, risk_free=0.02, points=15)
    for objective in ("min_volatility", "max_sharpe"):
        error = every.portfolios[objective]
        assert isinstance(error, AnalyticsError)
        assert str(error) == (
            f"{objective} optimisation failed: the convex solver stopped at its limit "
            f"({limits['max_iter']} iterations or {limits['time_limit']} s) without an answer"
        )
    assert isinstance(every.portfolios["hrp"], opt.OptimizedPortfolio)
    assert every.frontier.empty


@pytest.mark.parametrize("seed", OFF_FRONTIER)
def test_every_answer_is_the_optimum_on_ordinary_portfolios(seed: int) -> None:
    """Minimum volatility, maximum Sharpe and every frontier point equal the convex optimum to 1e-6."""
    prices = factories.random_portfolio(seed)
    portfolios = _every(prices, 0.04)
    optimum.assert_min_volatility(prices, portfolios["min_volatility"])
    optimum.assert_max_sharpe(prices, portfolios["max_sharpe"], 0.04)


@pytest.mark.parametrize(
    "prices",
    [
        factories.random_portfolio(20),
        factories.factor_prices(
            4, assets=3, days=500, factors=1, loading=(1.0, 0.3), noise=0.01, drift=(-0.003, 0.001)
        ),
    ],
    ids=["four losers", "three losers"],
)
def test_losers_have_a_frontier(prices: pd.DataFrame) -> None:
    """Every expected return negative: the frontier runs up to just under the best (least bad) return, each
    point the optimum; max Sharpe above a zero rate is refused with PyPortfolioOpt's message."""
    mu, _ = optimum.inputs(prices)
    assert (mu < 0).all()
    every = opt.optimize_all(prices, risk_free=0.0, points=15)
    optimum.assert_frontier(prices, every.frontier)
    assert isinstance(every.portfolios["max_sharpe"], AnalyticsError)
    assert "exceeding the risk-free rate" in str(every.portfolios["max_sharpe"])
    min_vol = every.portfolios["min_volatility"]
    assert isinstance(min_vol, opt.OptimizedPortfolio)
    optimum.assert_min_volatility(prices, min_vol)


def test_a_constant_price_among_losers_tops_the_frontier() -> None:
    """Losers beside a constant price (cash: the best return, exactly 0): the minimum volatility holds it
    almost alone, the frontier ends just under 0 (1e-6 of its span), every point the optimum, and max
    Sharpe above a zero rate is refused."""
    losers = factories.factor_prices(
        900, assets=4, days=500, factors=1, loading=(1.0, 0.3), noise=0.01, drift=(-0.003, 0.001)
    )
    prices = losers.assign(CASH=50.0)
    mu, _ = optimum.inputs(prices)
    assert mu["CASH"] == 0.0
    assert (mu.drop("CASH") < 0).all()
    every = opt.optimize_all(prices, risk_free=0.0, points=15)
    optimum.assert_frontier(prices, every.frontier)
    assert -1e-6 * 0.01 < every.frontier["expected_return"].iloc[-1] < 0.0
    min_vol = every.portfolios["min_volatility"]
    assert isinstance(min_vol, opt.OptimizedPortfolio)
    assert min_vol.weights["CASH"] > 0.98
    optimum.assert_min_volatility(prices, min_vol)
    assert isinstance(every.portfolios["max_sharpe"], AnalyticsError)


@pytest.mark.parametrize(
    ("loading", "noise"), [((0.001, 0.0005), 1e-5), ((3.0, 2.0), 0.05)], ids=["1e-5 a day", "15 % a day"]
)
def test_volatility_scales_far_from_ordinary(loading: tuple[float, float], noise: float) -> None:
    """Assets moving ~1e-5 a day (annual variances ~1e-8) or ~15 % a day: every answer is the optimum
    (tolerances relative to the covariance's scale, in the optimality test as in the reference)."""
    prices = factories.factor_prices(
        920, assets=6, days=400, factors=2, loading=loading, noise=noise, drift=(1e-4, 5e-5)
    )
    portfolios = _every(prices, 0.0)
    optimum.assert_min_volatility(prices, portfolios["min_volatility"])
    optimum.assert_max_sharpe(prices, portfolios["max_sharpe"], 0.0)


@pytest.mark.parametrize("seed", [0, 2])
@pytest.mark.parametrize("copy", [1.0, 2.5], ids=["identical", "scaled"])
def test_duplicated_assets_share_their_weight(seed: int, copy: float) -> None:
    """Four assets each held twice (the same prices, or scaled: the same returns to the last bits): each
    pair splits its weight evenly, for minimum volatility and maximum Sharpe, at the solver's optimum (CLA
    held one of a pair at 0 and the other at 42 %, 0.18 % above the minimum volatility)."""
    base = factories.random_portfolio(seed).iloc[:, :4]
    prices = base.join((base * copy).rename(columns=lambda s: f"{s}B"))
    portfolios = _every(prices, 0.02)
    for objective in ("min_volatility", "max_sharpe"):
        weights = portfolios[objective].weights
        assert [weights[s] for s in base.columns] == [weights[f"{s}B"] for s in base.columns]
    optimum.assert_min_volatility(prices, portfolios["min_volatility"])
    optimum.assert_max_sharpe(prices, portfolios["max_sharpe"], 0.02)


def test_constant_prices_are_the_calm_assets() -> None:
    """Two constant prices next to a moving one: the minimum volatility is the solver's (CLA put 99.8 % in
    one of them, 41 % above it) and splits evenly between them."""
    moving = factories.random_portfolio(7).iloc[:, :1]
    prices = moving.assign(CALM=50.0, STILL=70.0)
    portfolios = _every(prices, 0.0)
    with pytest.raises(
        AnalyticsError, match="HRP needs prices that move; constant over these dates: CALM, STILL"
    ):
        opt.optimize(prices, "hrp")
    weights = portfolios["min_volatility"].weights
    assert weights["CALM"] == weights["STILL"]
    optimum.assert_min_volatility(prices, portfolios["min_volatility"])
    optimum.assert_max_sharpe(prices, portfolios["max_sharpe"], 0.0)


def _calm_beside(seed: int, moving: int, twins: int = 0) -> pd.DataFrame:
    """`moving` seeded prices (the first `twins` of them held twice, doubled) and two constant ones."""
    base = factories.random_portfolio(seed).iloc[:, :moving]
    copies = (base.iloc[:, :twins] * 2.0).rename(columns=lambda s: f"{s}T")
    return base.join(copies).assign(CALM=10.0, STILL=20.0)


@pytest.mark.parametrize(("seed", "moving", "twins"), [(603, 4, 0), (605, 6, 0), (612, 5, 0), (801, 5, 2)])
def test_constant_prices_beside_several_moving_ones_are_the_optimum(
    seed: int, moving: int, twins: int
) -> None:
    """Constant prices (and duplicated assets) beside several moving ones, where the convex solver answers:
    every answer is the optimum. The solver left an asset that should hold nothing at ~6e-6; the KKT
    equations on its support gave that asset a negative weight, and its unpolished answer was kept: up to
    1.2e-5 above the minimum volatility and the frontier's (seed 605). The support is now corrected."""
    prices = _calm_beside(seed, moving, twins)
    portfolios = _every(prices, 0.02)
    assert portfolios["min_volatility"].weights["CALM"] == portfolios["min_volatility"].weights["STILL"]
    optimum.assert_min_volatility(prices, portfolios["min_volatility"])
    optimum.assert_max_sharpe(prices, portfolios["max_sharpe"], 0.02)


def test_polish_corrects_the_solvers_support() -> None:
    """Given every asset as held (one must hold nothing), the KKT equations give it a negative weight;
    polish drops it and answers the optimum, which qp.optimal accepts."""
    prices = _calm_beside(603, 4)
    mu, cov = (x.to_numpy() for x in optimum.inputs(prices))
    budget, one = np.ones((1, len(mu))), np.ones(1)
    held = np.ones(len(mu), dtype=bool)
    on_all = qp._kkt_on(cov, budget, one, held)
    assert on_all is not None
    assert on_all[0].min() < 0
    polished = qp.polish(cov, budget, one, held)
    assert polished is not None
    assert qp.optimal(cov, polished, budget, one)
    exact = optimum.min_volatility(prices)
    assert np.sqrt(polished @ cov @ polished) <= np.sqrt(exact @ cov @ exact) * (1 + 1e-9)


def test_equal_expected_returns_give_one_frontier_point() -> None:
    """Two assets with the same CAGR by different paths: every portfolio has that return, so the frontier
    is the minimum-volatility portfolio alone, which is also the best Sharpe ratio."""
    prices = factories.random_portfolio(9).iloc[:, :2].copy()
    growth = prices.iloc[-1] / prices.iloc[0]
    ramp = np.linspace(0.0, 1.0, len(prices))
    prices.iloc[:, 1] *= (growth.iloc[0] / growth.iloc[1]) ** ramp  # the first asset's growth, another path
    mu, cov = optimum.inputs(prices)
    assert mu.iloc[0] == pytest.approx(mu.iloc[1], rel=1e-12)
    rate = float(mu.iloc[0]) - 0.02  # below the common return, whatever its sign
    every = opt.optimize_all(prices, risk_free=rate, points=15)
    min_vol, max_sharpe = every.portfolios["min_volatility"], every.portfolios["max_sharpe"]
    assert isinstance(min_vol, opt.OptimizedPortfolio)
    assert isinstance(max_sharpe, opt.OptimizedPortfolio)
    exact = optimum.assert_min_volatility(prices, min_vol)
    assert list(min_vol.weights.values()) == pytest.approx(list(exact), abs=1e-4)
    assert len(every.frontier) == 1
    assert every.frontier["volatility"].iloc[0] == pytest.approx(optimum.volatility(exact, cov), rel=1e-6)
    optimum.assert_max_sharpe(prices, max_sharpe, rate)


def test_every_price_constant_is_refused_with_a_message() -> None:
    """Prices that never move leave nothing to optimise: a clear error, not a portfolio of noise."""
    index = pd.bdate_range("2020-01-01", periods=60)
    prices = pd.DataFrame({"A": 10.0, "B": 20.0}, index=index)
    with pytest.raises(AnalyticsError, match="every price is constant"):
        opt.optimize_all(prices)
    with pytest.raises(AnalyticsError, match="every price is constant"):
        opt.optimize(prices, "hrp")


def test_optimality_test_accepts_the_frontier_and_rejects_a_chord() -> None:
    """qp.optimal accepts a point between two adjacent turning points and rejects the midpoint of the first
    and last ones (a chord across the frontier), whose volatility the solver beats."""
    prices = factories.random_portfolio(3)
    mu, cov = (x.to_numpy() for x in optimum.inputs(prices))
    points = np.array([w.ravel() for w in cla.turning_points(mu, cov)])
    assert len(points) > 2
    rows = np.vstack([np.ones(len(mu)), mu])
    adjacent = (points[0] + points[1]) / 2
    chord = (points[0] + points[-1]) / 2
    assert qp.optimal(cov, adjacent, rows, np.array([1.0, adjacent @ mu]))
    assert not qp.optimal(cov, chord, rows, np.array([1.0, chord @ mu]))
    assert not qp.optimal(
        cov, points[0], rows[:1], np.ones(1)
    )  # the best asset alone is not the min variance


def _edge(kind: str) -> tuple[pd.DataFrame, float]:
    """Seeded inputs of the kinds the 2026-12-06 numbers review tried by hand, with their risk-free rate."""
    factor = factories.factor_prices
    ordinary = {"factors": 2, "loading": (0.8, 0.5), "noise": 0.01, "drift": (0.0002, 0.0003)}
    if kind == "as many assets as days":
        return factor(910, assets=60, days=61, **ordinary), 0.02  # type: ignore[arg-type]
    if kind == "a dominant asset":
        prices = factor(940, assets=7, days=700, **ordinary)  # type: ignore[arg-type]
        prices.iloc[:, 0] *= np.exp(np.linspace(0.0, 3.0, len(prices)))
        return prices, 0.05
    if kind == "an 8x jump":
        prices = factor(950, assets=5, days=600, **ordinary)  # type: ignore[arg-type]
        prices.iloc[300:, 1] *= 8.0
        return prices, 0.02
    if kind == "31 dates":
        return factor(960, assets=5, days=31, **ordinary), 0.0  # type: ignore[arg-type]
    if kind == "near-identical beside others":
        prices = factories.random_portfolio(500)
        rng = np.random.default_rng(500)
        first = prices.iloc[:, 0]
        near = {f"N{j}": first * (1.0 + rng.normal(0.0, 1e-6, len(first))) for j in range(5)}
        return prices.assign(**near), 0.0
    losers = factor(980, assets=1, days=500, factors=1, loading=(1.0, 0.2), noise=0.01, drift=(-0.002, 0.0))
    rng = np.random.default_rng(0)
    near = {f"N{j}": losers.iloc[:, 0] * (1.0 + rng.normal(0.0, 1e-6, len(losers))) for j in range(6)}
    return pd.DataFrame(near), 0.0  # six losers equal up to 1e-6 noise


@pytest.mark.parametrize(
    "kind",
    [
        "as many assets as days",
        "a dominant asset",
        "an 8x jump",
        "31 dates",
        "near-identical beside others",
        "six near-equal losers",
    ],
)
def test_edge_inputs_answer_the_optimum(kind: str) -> None:
    """Every answer on the review's edge inputs is the optimum; max Sharpe is refused with a message exactly
    when no asset beats the risk-free rate. Six losers equal but for 1e-6 noise (returns within 1e-6 of the
    best one, the frontier's margin below it) have a frontier of one point, the minimum volatility."""
    prices, rate = _edge(kind)
    every = opt.optimize_all(prices, risk_free=rate, points=15)
    min_vol, max_sharpe = every.portfolios["min_volatility"], every.portfolios["max_sharpe"]
    assert isinstance(min_vol, opt.OptimizedPortfolio), min_vol
    optimum.assert_min_volatility(prices, min_vol)
    mu, _ = optimum.inputs(prices)
    if (mu > rate).any():
        assert isinstance(max_sharpe, opt.OptimizedPortfolio), max_sharpe
        optimum.assert_max_sharpe(prices, max_sharpe, rate)
    else:
        assert isinstance(max_sharpe, AnalyticsError)
    if kind == "six near-equal losers":
        best = float(mu.max())
        assert best - 1e-6 * abs(best) < min_vol.expected_return < best
        assert len(every.frontier) == 1
        assert every.frontier["volatility"].iloc[0] == min_vol.volatility
    else:
        optimum.assert_frontier(prices, every.frontier)
