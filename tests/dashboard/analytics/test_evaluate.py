"""Portfolios side by side (#27, review R2/R3): each one's statistics equal `performance` of its own
returns, relative statistics follow their definitions, growth starts at 10,000 and ends at the
cumulative return, and the frontier points are on the optimiser's axes."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics import bounded, evaluate, optimize, portfolio
from dashboard.analytics.errors import NotEnoughDataError
from tests.dashboard import former


def _prices(seed: int = 7, days: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    returns = rng.normal([0.0004, 0.0006, 0.0002], [0.012, 0.02, 0.008], size=(days, 3))
    index = pd.bdate_range("2020-01-01", periods=days)
    return pd.DataFrame(100 * np.cumprod(1 + returns, axis=0), index=index, columns=["A", "B", "C"])


def test_each_column_is_that_portfolio_s_own_performance() -> None:
    prices = _prices()
    mixes = {"Chosen": {"A": 0.5, "B": 0.3, "C": 0.2}, "Tilted": {"A": 0.1, "B": 0.1, "C": 0.8}}
    bench = portfolio.equal_weight_index(prices)
    side = evaluate.side_by_side(prices, mixes, risk_free=0.02, benchmark=bench, benchmark_name="EW")
    stats = side.stats.set_index("statistic")
    for name, weights in mixes.items():
        returns = portfolio.portfolio_returns(prices, weights)
        perf = portfolio.performance(returns, risk_free=0.02)
        assert stats.at["Annualised volatility", name] == pytest.approx(perf.annualized_volatility)
        assert stats.at["Sharpe", name] == pytest.approx(perf.sharpe)
        assert stats.at["Max drawdown", name] == pytest.approx(perf.max_drawdown.depth)
        active = (returns - bench.reindex(returns.index)).to_numpy()
        error = active.std(ddof=1) * np.sqrt(252)
        assert stats.at["Tracking error", name] == pytest.approx(error)
        assert stats.at["Information ratio", name] == pytest.approx(active.mean() * 252 / error)
        beta = np.cov(returns, bench.reindex(returns.index))[0, 1] / bench.var(ddof=1)
        assert stats.at["Beta (vs benchmark)", name] == pytest.approx(beta)
        assert side.growth[name].iloc[0] == 10_000
        assert side.growth[name].iloc[-1] == pytest.approx(10_000 * (1 + perf.cumulative_return))
    assert stats.at["Beta (vs benchmark)", "EW"] == 1.0


def test_the_equal_weight_mix_against_its_own_benchmark_has_no_active_risk() -> None:
    prices = _prices(3)
    bench = portfolio.equal_weight_index(prices)
    side = evaluate.side_by_side(prices, {"EW mix": {"A": 1, "B": 1, "C": 1}}, benchmark=bench)
    stats = side.stats.set_index("statistic")
    assert stats.at["Tracking error", "EW mix"] == pytest.approx(0.0, abs=1e-12)
    assert stats.at["Beta (vs benchmark)", "EW mix"] == pytest.approx(1.0)


def test_frontier_points_use_the_optimiser_s_axes() -> None:
    prices = _prices(11)
    every = optimize.optimize_all(prices, points=10)
    best = every.portfolios["min_volatility"]
    assert not isinstance(best, Exception)
    points = evaluate.frontier_points(prices, {"min vol": dict(best.weights)}).set_index("name")
    assert points.at["min vol", "volatility"] == pytest.approx(best.volatility, rel=1e-6)
    assert points.at["min vol", "expected_return"] == pytest.approx(best.expected_return, rel=1e-6)
    assert points.loc[["A", "B", "C"], "kind"].tolist() == ["asset"] * 3
    assert points.at["min vol", "volatility"] <= points.loc[["A", "B", "C"], "volatility"].min() + 1e-9


def test_relative_statistics_equal_hand_computed_values_and_an_ols_beta() -> None:
    """Active return, tracking error and information ratio of four returns worked out by hand; beta is
    the slope of an ordinary least-squares fit (numpy lstsq with an intercept)."""
    index = pd.bdate_range("2024-01-01", periods=4)
    r = pd.Series([0.01, -0.02, 0.03, 0.00], index=index)
    b = pd.Series([0.005, -0.01, 0.02, 0.001], index=index)
    # active = 0.005, -0.01, 0.01, -0.001: mean 0.001; squared deviations sum to 0.000222 (3 degrees of freedom)
    rel = evaluate.relative(r, b, periods_per_year=252)
    assert rel.active_return == pytest.approx(0.001 * 252)
    assert rel.tracking_error == pytest.approx(np.sqrt(0.000222 / 3) * np.sqrt(252))
    assert rel.information_ratio == pytest.approx(0.001 * 252 / (np.sqrt(0.000222 / 3) * np.sqrt(252)))
    rng = np.random.default_rng(5)
    days = pd.bdate_range("2020-01-01", periods=500)
    bench = pd.Series(rng.normal(0.0004, 0.01, 500), index=days)
    mine = 0.0001 + 1.3 * bench + rng.normal(0, 0.004, 500)
    design = np.column_stack([np.ones(500), bench.to_numpy()])
    slope = np.linalg.lstsq(design, mine.to_numpy(), rcond=None)[0][1]
    assert evaluate.relative(mine, bench).beta == pytest.approx(slope, rel=1e-10)


def test_regression_beta_and_r_squared_equal_a_hand_computation() -> None:
    """The daily OLS fit of four returns worked out by hand: x mean 0.005, Sxx 0.0005; y mean 0.00725,
    Sxy 0.000745, Syy 0.00112075; beta = Sxy / Sxx = 1.49, R^2 = Sxy^2 / (Sxx Syy)."""
    index = pd.bdate_range("2024-01-01", periods=4)
    b = pd.Series([-0.01, 0.0, 0.01, 0.02], index=index)
    r = pd.Series([-0.015, 0.001, 0.012, 0.031], index=index)
    fit = evaluate.regression(r, b)
    assert fit.beta == pytest.approx(1.49, rel=1e-12)
    assert fit.r_squared == pytest.approx(0.000745**2 / (0.0005 * 0.00112075), rel=1e-12)
    assert fit.observations == 4
    assert fit.beta == pytest.approx(evaluate.relative(r, b).beta, rel=1e-12)  # the covariance beta


def test_weekly_regression_compounds_friday_weeks_and_matches_statsmodels() -> None:
    """Weekly: each series compounded over its Monday-Friday weeks by hand (a day missing from one
    series leaves that day out of both), then statsmodels' OLS with a constant gives the same slope and
    R^2; the side-by-side grid shows them (and the daily R^2) for each portfolio, 1 for the benchmark."""
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    days = pd.bdate_range("2024-01-01", periods=60)  # a Monday: twelve whole weeks
    bench = pd.Series(rng.normal(0.0005, 0.01, 60), index=days)
    mine = 0.0002 + 0.8 * bench + rng.normal(0, 0.006, 60)
    mine.iloc[9] = np.nan
    weeks_r, weeks_b = [], []
    for week in range(12):
        kept = [d for d in range(week * 5, week * 5 + 5) if d != 9]
        weeks_r.append(np.prod([1 + mine.iloc[d] for d in kept]) - 1)
        weeks_b.append(np.prod([1 + bench.iloc[d] for d in kept]) - 1)
    model = sm.OLS(np.array(weeks_r), sm.add_constant(np.array(weeks_b))).fit()
    fit = evaluate.regression(mine, bench, weekly=True)
    assert fit.observations == 12
    assert fit.beta == pytest.approx(model.params[1], rel=1e-10)
    assert fit.r_squared == pytest.approx(model.rsquared, rel=1e-10)
    prices = _prices(5, days=120)
    market = portfolio.equal_weight_index(prices)
    side = evaluate.side_by_side(prices, {"Mix": {"A": 0.7, "C": 0.3}}, benchmark=market, benchmark_name="EW")
    stats = side.stats.set_index("statistic")
    returns = portfolio.portfolio_returns(prices, {"A": 0.7, "C": 0.3})
    weekly = evaluate.regression(returns, market, weekly=True)
    assert stats.at["Beta (weekly OLS, vs benchmark)", "Mix"] == pytest.approx(weekly.beta)
    assert stats.at["R² (weekly OLS, vs benchmark)", "Mix"] == pytest.approx(weekly.r_squared)
    corr = np.corrcoef(returns, market.reindex(returns.index))[0, 1]
    assert stats.at["R² (daily, vs benchmark)", "Mix"] == pytest.approx(corr**2)
    assert stats.loc[["R² (daily, vs benchmark)", "Beta (weekly OLS, vs benchmark)"], "EW"].tolist() == [
        1.0,
        1.0,
    ]
    with pytest.raises(NotEnoughDataError):
        evaluate.regression(mine.iloc[:10], bench.iloc[:10], weekly=True)


def test_relative_on_shared_dates_equals_the_joined_computation() -> None:
    """The Portfolio page's series share their dates, so relative() reads their arrays: the same figures,
    bit for bit, as joining the series (a benchmark with one more date takes that path), NaN rows left
    out alike, and the same error when too few dates are left."""
    rng = np.random.default_rng(11)
    days = pd.bdate_range("2021-01-01", periods=300)
    bench = pd.Series(rng.normal(0.0004, 0.01, 300), index=days)
    mine = 0.0002 + 0.9 * bench + rng.normal(0, 0.005, 300)
    mine.iloc[[3, 40]] = np.nan
    bench.iloc[7] = np.nan
    later = pd.Series([0.5], index=pd.DatetimeIndex([days[-1] + pd.offsets.BDay()]))
    joined = evaluate.relative(mine, pd.concat([bench, later]))
    assert evaluate.relative(mine, bench) == joined
    assert joined.beta == pytest.approx(0.9, abs=0.1)
    flat = pd.Series(0.001, index=days)
    fast, slow = evaluate.relative(mine, flat), evaluate.relative(mine, pd.concat([flat, later]))
    assert np.isnan(fast.beta)
    assert np.isnan(slow.beta)
    assert (fast.active_return, fast.tracking_error) == (slow.active_return, slow.tracking_error)
    few = pd.Series(np.nan, index=days)
    few.iloc[:2] = 0.01
    messages = []
    for other in (few, pd.concat([few, later])):
        with pytest.raises(NotEnoughDataError) as caught:
            evaluate.relative(mine, other)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("weekly", [False, True])
def test_regression_on_shared_dates_equals_the_joined_computation(weekly: bool) -> None:
    """The Portfolio page's series share their dates, so regression() reads their arrays and compounds
    the weeks itself: the same beta, R² and count, bit for bit, as joining the series and grouping by
    Friday-ending weeks in pandas (a benchmark with one more date takes that path), holidays, a week of
    one day and NaN rows included."""
    rng = np.random.default_rng(12)
    days = pd.bdate_range("2019-01-01", periods=400)
    days = days.delete([10, 11, 12, 13, 57])  # a week of one day, a Monday holiday
    bench = pd.Series(rng.normal(0.0004, 0.01, len(days)), index=days)
    mine = 0.0001 + 1.1 * bench + rng.normal(0, 0.006, len(days))
    mine.iloc[[30, 31]] = np.nan
    bench.iloc[90] = np.inf
    later = pd.Series([0.2], index=pd.DatetimeIndex([days[-1] + pd.offsets.BDay()]))
    fast = evaluate.regression(mine, bench, weekly=weekly)
    assert fast == evaluate.regression(mine, pd.concat([bench, later]), weekly=weekly)
    assert fast.beta == pytest.approx(1.1, abs=0.15)
    kept = days.delete([30, 31, 90])
    assert fast.observations == (len(kept) if not weekly else len(set(kept.to_period("W-FRI"))))


def test_benchmark_returns_compound_between_the_portfolio_s_dates() -> None:
    """Over dates that skip benchmark days the benchmark's returns are compounded; dates before its first
    day or after its last have none."""
    days = pd.bdate_range("2024-01-01", periods=6)
    daily = pd.Series([0.01, 0.02, -0.01, 0.03, 0.005, -0.02], index=days)
    wanted = pd.DatetimeIndex(
        [pd.Timestamp("2023-12-29"), days[0], days[2], days[5], days[5] + pd.Timedelta(days=3)]
    )
    got = evaluate.returns_over(daily, wanted)
    assert np.isnan(got.iloc[0])  # no level before the first day
    assert got.iloc[1] == pytest.approx(1.02 * 0.99 - 1)
    assert got.iloc[2] == pytest.approx(1.03 * 1.005 * 0.98 - 1)
    assert np.isnan(got.iloc[3])  # after the last day
    assert list(got.index) == list(wanted[1:])


def _benchmarks(dates: pd.DatetimeIndex, prices: pd.DataFrame) -> list[pd.Series | None]:
    """No benchmark, the holdings' equal weight, and a stored-like series with days missing (NaN) and a
    non-finite day, all on the portfolios' dates."""
    rng = np.random.default_rng(3)
    stored = pd.Series(rng.normal(0.0003, 0.011, len(dates) - 1), index=dates[1:])
    stored.iloc[:40] = np.nan
    stored.iloc[len(stored) // 2] = np.inf
    return [None, portfolio.equal_weight_index(prices), stored]


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the infinite day
@pytest.mark.parametrize(
    ("symbols", "days"),
    [(["AAPL", "MSFT", "KO"], None), (["XOM", "JPM"], None), (["NVDA", "PG", "JNJ", "KO", "AAPL"], 400)],
)
def test_side_by_side_with_the_report_s_statistics_and_axes_equals_it_computing_them(
    closes: pd.DataFrame, symbols: list[str], days: int | None
) -> None:
    """The chosen mix's statistics and the optimiser's axes passed in from the report give, bit for bit,
    the side-by-side answer that computes them itself (seeded closes: a late listing, a gap), long-only
    and capped."""
    frame = closes[symbols] if days is None else closes[symbols].iloc[-days:]
    weights = {s: 1.0 + i for i, s in enumerate(symbols)}
    for bounds in (None, bounded.Bounds.of(cap=0.6)):
        report = portfolio.report(frame, weights, risk_free=0.03, bounds=bounds)
        aligned = report.prices
        assert aligned is not None
        assert report.performance is not None
        assert report.axes is not None
        table = report.weights.set_index("symbol")
        mixes: dict[str, dict[str, float]] = {"Chosen": weights}
        mixes.update(
            {k: {str(s): float(w) for s, w in table[k].items()} for k in optimize.OBJECTIVES if k in table}
        )
        for bench in _benchmarks(pd.DatetimeIndex(aligned.index), aligned):
            given = evaluate.side_by_side(
                aligned,
                mixes,
                risk_free=0.03,
                benchmark=bench,
                performances={"Chosen": report.performance},
                axes=report.axes,
            )
            computed = evaluate.side_by_side(aligned, mixes, risk_free=0.03, benchmark=bench)
            for name in ("stats", "growth", "points"):
                pd.testing.assert_frame_equal(getattr(given, name), getattr(computed, name), check_exact=True)


def test_the_benchmark_column_on_its_array_equals_the_reindexed_series() -> None:
    """On the portfolios' dates the benchmark's statistics and growth returns, taken from its array, equal
    the reindexed, NaN-dropped Series' (days missing and an infinite day included)."""
    prices = _prices(5, days=900)
    dates = prices.index[1:]
    for bench in _benchmarks(pd.DatetimeIndex(prices.index), prices)[1:]:
        shared = evaluate._Shared.of(dates, bench)
        assert shared is not None
        perf, growth = evaluate._benchmark_performance(bench, shared, dates, 0.03)
        former_perf, former_growth = evaluate._benchmark_performance(bench, None, dates, 0.03)
        assert repr(perf) == repr(former_perf)
        np.testing.assert_array_equal(growth, former_growth)


def test_fits_on_the_benchmark_s_design_built_once_equal_the_former_per_fit_design() -> None:
    """Each portfolio's daily R², weekly beta and weekly R² on the benchmark's design matrices, built once
    per benchmark, are the former ones that built them per fit, bit for bit: holidays, NaN and infinite
    benchmark days, a benchmark that does not move, a week of one day and too few days for a fit."""
    rng = np.random.default_rng(21)
    days = pd.bdate_range("2015-01-01", periods=700).delete([10, 11, 12, 13, 57, 300])
    dates = days[1:]
    moving = rng.normal(0.0004, 0.01, len(dates))
    holes = moving.copy()
    holes[[5, 6, 90]] = np.nan
    holes[200] = np.inf
    benchmarks = [moving, holes, np.full(len(dates), 0.0003)]
    for bench in benchmarks:
        for length in (len(dates), 3, 2):
            index = dates[:length]
            shared = evaluate._Shared.of(index, pd.Series(bench[:length], index=index))
            assert shared is not None
            for beta in (0.0, 0.8, 1.3):
                mine = (
                    0.0001 + beta * np.nan_to_num(bench[:length], posinf=0.0) + rng.normal(0, 0.005, length)
                )
                outcomes = []
                for fits in (shared.fits, functools.partial(former.shared_fits, shared)):
                    try:
                        outcomes.append(repr(fits(mine)))
                    except NotEnoughDataError as exc:
                        outcomes.append(f"raised {exc}")
                assert outcomes[0] == outcomes[1], (length, beta)
