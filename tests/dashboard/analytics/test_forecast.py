"""Forecasts carry 80%/95% intervals and a holdout backtest; short histories give "not enough data"."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from dashboard.analytics import ets_fit
from dashboard.analytics import forecast as fc
from dashboard.analytics import statements as st
from dashboard.analytics.errors import AnalyticsError
from dashboard.analytics.ets_fit import DampedETS
from devkit import factories
from tests.dashboard import former


@pytest.fixture(scope="module")
def revenue() -> pd.Series:
    idx = pd.date_range("1995-09-30", periods=30, freq="YE-SEP")
    rng = np.random.default_rng(5)
    return pd.Series(1e9 * np.exp(0.06 * np.arange(30) + rng.normal(0, 0.03, 30)), index=idx)


@pytest.mark.parametrize("method", fc.METHODS)
def test_forecast_intervals_nested_and_dated(revenue: pd.Series, method: fc.Method) -> None:
    """The 95% interval contains the 80% one, which contains the mean; dates continue the fiscal year-ends."""
    res = fc.forecast(revenue, method=method, horizon=4)
    assert res.ok
    assert res.forecast is not None
    t = res.forecast
    assert (t["lower_95"] <= t["lower_80"]).all()
    assert (t["lower_80"] <= t["mean"]).all()
    assert (t["mean"] <= t["upper_80"]).all()
    assert (t["upper_80"] <= t["upper_95"]).all()
    assert list(t.index) == list(pd.date_range("2025-09-30", periods=4, freq="YE-SEP"))
    widths = t["upper_95"] - t["lower_95"]
    assert widths.is_monotonic_increasing  # uncertainty grows with the horizon


def _statsmodels_best(values: np.ndarray, horizon: int, holdout: int) -> np.ndarray:
    """statsmodels' forecast table (mean, 80 % and 95 % bounds) of the higher-likelihood of its two fits:
    from its own start values and from the backtest fit's optimum (`ETSModel.fit(start_params=...)`)."""

    def model(y: np.ndarray) -> ETSModel:
        return ETSModel(pd.Series(y), error="add", trend="add", damped_trend=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = model(values[:-holdout]).fit(disp=False, return_params=True)
        fits = [model(values).fit(disp=False), model(values).fit(start_params=start, disp=False)]
    best = max(fits, key=lambda fitted: fitted.llf)
    n = len(values)
    prediction = best.get_prediction(start=n, end=n + horizon - 1)
    frames = [prediction.summary_frame(alpha=alpha) for alpha in (0.2, 0.05)]
    return np.column_stack(
        [
            frames[0]["mean"],
            frames[0]["pi_lower"],
            frames[0]["pi_upper"],
            frames[1]["pi_lower"],
            frames[1]["pi_upper"],
        ]
    )


def test_forecast_ets_equals_statsmodels_directly(revenue: pd.Series) -> None:
    """The ETS forecast and its 80 %/95 % intervals are statsmodels' damped-trend ETSModel's."""
    res = fc.forecast(revenue, method="ets", horizon=3)
    assert res.forecast is not None
    expected = _statsmodels_best(revenue.to_numpy(), 3, 3)
    np.testing.assert_allclose(res.forecast.to_numpy(), expected, rtol=1e-8)


# Series where the fit warm-started from the backtest's optimum found a lower likelihood than statsmodels'
# own start (forecasts 2-20 % apart), and where it found the higher one.
WARM_START_LOWER = (45, 56, 111, 160, 200)
WARM_START_HIGHER = (158, 195, 221, 225)


@pytest.mark.parametrize("seed", WARM_START_LOWER + WARM_START_HIGHER)
def test_forecast_ets_keeps_the_higher_likelihood_of_both_starts(seed: int) -> None:
    """The full-sample ETS fit is the higher-likelihood of statsmodels' fits from its own start and from the
    backtest's optimum: the forecast table equals that fit's `get_prediction`, whichever start won."""
    values = factories.forecast_series(seed)
    res = fc.forecast(pd.Series(values), method="ets", horizon=5, holdout=3)
    assert res.forecast is not None
    np.testing.assert_allclose(res.forecast.to_numpy(), _statsmodels_best(values, 5, 3), rtol=1e-8)


def test_forecast_loglinear_recovers_exact_growth() -> None:
    """On an exact 7% exponential, the log-linear forecast continues it and the backtest MAPE is 0."""
    s = pd.Series(100 * 1.07 ** np.arange(12))
    res = fc.forecast(s, method="loglinear", horizon=2, holdout=3)
    assert res.forecast is not None
    assert res.backtest is not None
    assert res.forecast["mean"].tolist() == pytest.approx([100 * 1.07**12, 100 * 1.07**13], rel=1e-9)
    assert res.backtest.mape == pytest.approx(0.0, abs=1e-9)
    assert res.forecast.index.tolist() == [12, 13]


def test_forecast_backtest_holds_out_last_points(revenue: pd.Series) -> None:
    """The backtest compares the last k actuals with a fit that never saw them, reporting MAPE and coverage."""
    res = fc.forecast(revenue, method="ets", holdout=4)
    bt = res.backtest
    assert bt is not None
    assert bt.holdout == 4
    assert bt.actual.index.equals(revenue.index[-4:])
    expected = np.mean(np.abs(bt.actual.to_numpy() - bt.predicted["mean"].to_numpy()) / bt.actual.to_numpy())
    assert bt.mape == pytest.approx(expected)
    assert 0.0 <= bt.coverage_80 <= bt.coverage_95 <= 1.0


def test_forecast_short_history_not_enough_data(revenue: pd.Series) -> None:
    """Fewer than eight points give status not_enough_data and no fit; a bit more skips only the backtest."""
    short = fc.forecast(revenue.iloc[:3])
    assert short.status == "not_enough_data"
    assert short.forecast is None
    assert not short.ok
    medium = fc.forecast(revenue.iloc[:9], holdout=3)
    assert medium.ok
    assert medium.backtest is None
    assert "no backtest" in medium.message
    assert fc.forecast(pd.Series([np.nan] * 20)).status == "not_enough_data"


def test_forecast_loglinear_rejects_non_positive() -> None:
    """A log-linear trend over values with losses is 'unsuitable', not a crash."""
    s = pd.Series(np.linspace(-5, 20, 15))
    assert fc.forecast(s, method="loglinear").status == "unsuitable"
    assert fc.forecast(s, method="ets").ok


def test_forecast_bad_inputs_raise() -> None:
    """Unknown methods, non-numeric data and bad horizons raise AnalyticsError."""
    with pytest.raises(AnalyticsError, match="unknown forecast method"):
        fc.forecast(pd.Series([1.0] * 10), method="arima")  # type: ignore[arg-type]
    with pytest.raises(AnalyticsError, match="non-numeric"):
        fc.forecast(pd.Series(["x"] * 10))
    with pytest.raises(AnalyticsError, match="horizon"):
        fc.forecast(pd.Series([1.0] * 10), horizon=0)


def test_forecast_price_monthly_with_backtest() -> None:
    """Prices are forecast on month-end closes, 12 months ahead, backtested on the last 12 months."""
    close = factories.prices(2520, seed=3)["adj_close"]
    res = fc.forecast_price(close)
    assert res.ok
    assert res.forecast is not None
    assert res.backtest is not None
    assert len(res.forecast) == 12
    assert res.backtest.holdout == 12
    month_end = close.index[-1] + pd.offsets.MonthEnd(0)
    assert res.forecast.index[0] == month_end + pd.offsets.MonthEnd(1)
    with pytest.raises(AnalyticsError, match="DatetimeIndex"):
        fc.monthly(pd.Series([1.0, 2.0]))


@pytest.mark.parametrize("method", fc.METHODS)
def test_forecast_price_on_kept_month_ends_is_the_same_forecast(method: fc.Method) -> None:
    """Month-end closes kept by the caller (resampled=True) give exactly the forecast of the daily closes;
    an undated series still raises."""
    close = factories.prices(2520, seed=5)["adj_close"]
    months = fc.monthly(close)
    pd.testing.assert_series_equal(fc.monthly(months), months)  # the resample is idempotent
    direct = fc.forecast_price(close, method=method)
    kept = fc.forecast_price(months, method=method, resampled=True)
    assert kept.status == direct.status == "ok"
    assert direct.forecast is not None
    assert kept.forecast is not None
    pd.testing.assert_frame_equal(kept.forecast, direct.forecast, check_exact=True)
    assert direct.backtest is not None
    assert kept.backtest is not None
    assert kept.backtest.mape == direct.backtest.mape
    with pytest.raises(AnalyticsError, match="DatetimeIndex"):
        fc.forecast_price(pd.Series([1.0, 2.0]), resampled=True)


def test_forecast_gaps_use_elapsed_time() -> None:
    """A 10%/yr series with three missing years forecasts 10%/yr on, not 8 % high; ETS says it cannot (item 3)."""
    years = pd.date_range("2005-12-31", periods=15, freq="YE")
    full = pd.Series(100.0 * 1.10 ** np.arange(15), index=years)
    holed = full.drop(index=years[[4, 7, 10]])
    res = fc.forecast(holed, method="loglinear", horizon=2, holdout=3)
    assert res.ok
    assert res.forecast is not None
    assert res.backtest is not None
    assert res.forecast["mean"].tolist() == pytest.approx([100 * 1.10**15, 100 * 1.10**16], rel=1e-9)
    assert list(res.forecast.index) == list(pd.date_range("2020-12-31", periods=2, freq="YE"))
    assert res.backtest.mape == pytest.approx(0.0, abs=1e-9)
    ets = fc.forecast(holed, method="ets")
    assert ets.status == "unsuitable"
    assert "3 missing periods" in ets.message


def test_forecast_duplicated_dates_keep_yearly_steps() -> None:
    """A restated (duplicated) fiscal date keeps the last value and the future index stays yearly (item 3)."""
    years = pd.date_range("2010-09-30", periods=12, freq="YE-SEP")
    s = pd.Series(100.0 * 1.05 ** np.arange(12), index=years)
    doubled = pd.concat([s, s.iloc[[5]] * 0 + 999.0, s.iloc[[5]]]).sort_index(kind="stable")
    res = fc.forecast(doubled, method="loglinear", horizon=2)
    assert res.forecast is not None
    assert list(res.forecast.index) == list(pd.date_range("2022-09-30", periods=2, freq="YE-SEP"))
    assert res.forecast["mean"].iloc[0] == pytest.approx(100 * 1.05**12, rel=1e-9)


def _real_shaped() -> dict[str, pd.Series]:
    """Dated series as the Forecast page fits them: statement lines (annual and quarterly; growing,
    loss-making, noisy), one with a missing year, a short one, and month-end prices."""
    payloads = factories.statement_payloads(years=30, seed=8)
    out: dict[str, pd.Series] = {}
    for label, period in (("FY", "FY"), ("Q", ("Q1", "Q2", "Q3", "Q4"))):
        frame = st.combine(*(st.statement_frame(payloads[k], period=period) for k in ("income", "cashflow")))
        for name in ("revenue", "netIncome", "freeCashFlow"):
            out[f"{label} {name}"] = frame[name].dropna()
    out["FY revenue, a year missing"] = out["FY revenue"].drop(out["FY revenue"].index[10])
    out["FY revenue, 9 years"] = out["FY revenue"].tail(9)
    out["monthly price"] = fc.monthly(factories.prices(2520, seed=9)["adj_close"])
    return out


@pytest.mark.parametrize("method", fc.METHODS)
def test_forecasts_equal_the_former_statsmodels_objects_path(
    method: fc.Method, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forecasts and backtests computed on arrays equal those of the former path through
    statsmodels' results and prediction objects (its ETS get_prediction, its OLS), on every
    real-shaped series."""
    for name, series in _real_shaped().items():
        horizon, holdout = (12, 12) if name == "monthly price" else (5, 3)
        new = fc.forecast(series, method=method, horizon=horizon, holdout=holdout)
        with monkeypatch.context() as patched:
            patched.setattr(DampedETS, "forecast", former.ets_forecast)
            old = fc.forecast(series, method=method, horizon=horizon, holdout=holdout)
        assert (new.status, new.message) == (old.status, old.message), name
        if old.forecast is None:
            continue
        assert new.forecast is not None
        pd.testing.assert_frame_equal(new.forecast, old.forecast, rtol=1e-11, atol=0)
        if old.backtest is None:  # the 9-year history: too short to hold 3 out
            assert new.backtest is None
            continue
        assert new.backtest is not None
        pd.testing.assert_frame_equal(new.backtest.predicted, old.backtest.predicted, rtol=1e-11, atol=0)
        assert new.backtest.mape == pytest.approx(old.backtest.mape, rel=1e-11)
        assert (new.backtest.coverage_80, new.backtest.coverage_95) == (
            old.backtest.coverage_80,
            old.backtest.coverage_95,
        )


def test_log_linear_intervals_equal_statsmodels_ols_prediction_intervals() -> None:
    """The log-linear table is exp of statsmodels' OLS prediction and its conf_int(obs=True) at 80% and
    95%, on elapsed periods with a gap."""
    values = _real_shaped()["FY revenue, a year missing"].to_numpy()
    t = fc.periods(_real_shaped()["FY revenue, a year missing"].index)
    ahead = t[-1] + np.arange(1.0, 6.0)
    table, _ = fc._fit_predict(values, 5, "loglinear", t=t, ahead=ahead)
    prediction = sm.OLS(np.log(values), sm.add_constant(t)).fit().get_prediction(sm.add_constant(ahead))
    expected = [np.exp(prediction.predicted_mean)]
    for level in fc.LEVELS:
        expected += list(np.exp(prediction.conf_int(obs=True, alpha=1 - level)).T)
    np.testing.assert_allclose(table, np.column_stack(expected), rtol=1e-12, atol=0)


def test_undated_series_with_gaps_count_the_gaps() -> None:
    """On integer labels the log-linear trend regresses on the labels, so NaN gaps count as elapsed periods
    (statsmodels' OLS on the labels), the future continues after the last label, and ETS says the series
    has missing periods, as on dates."""
    values = 100.0 * 1.10 ** np.arange(15)
    holed = pd.Series(values).mask(pd.Series(range(15)).isin([3, 7, 11]))
    res = fc.forecast(holed, method="loglinear", horizon=3, holdout=3)
    assert res.forecast is not None
    assert list(res.forecast.index) == [15, 16, 17]
    assert res.forecast["mean"].tolist() == pytest.approx(list(100.0 * 1.10 ** np.arange(15, 18)), rel=1e-9)
    kept = holed.dropna()
    t = kept.index.to_numpy(dtype=float)
    prediction = (
        sm.OLS(np.log(kept.to_numpy()), sm.add_constant(t))
        .fit()
        .get_prediction(sm.add_constant(np.arange(15.0, 18.0)))
    )
    np.testing.assert_allclose(res.forecast["mean"], np.exp(prediction.predicted_mean), rtol=1e-12)
    np.testing.assert_allclose(
        res.forecast[["lower_95", "upper_95"]], np.exp(prediction.conf_int(obs=True, alpha=0.05)), rtol=1e-12
    )
    ets = fc.forecast(holed, method="ets")
    assert ets.status == "unsuitable"
    assert "3 missing periods" in ets.message
    years = pd.Series(values, index=pd.RangeIndex(2010, 2025))
    by_year = fc.forecast(years, method="loglinear", horizon=2)
    assert by_year.forecast is not None
    assert list(by_year.forecast.index) == [2025, 2026]
    assert by_year.forecast["mean"].tolist() == pytest.approx([100 * 1.10**15, 100 * 1.10**16], rel=1e-9)


def test_an_ets_fit_past_its_time_budget_fails_with_a_message(
    revenue: pd.Series, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The likelihood search stops when its clock passes the budget: the forecast says so (status failed)
    instead of running on; the log-linear trend is unaffected."""
    ticks = itertools.count(0.0, 1.0)  # one second a reading
    monkeypatch.setattr(ets_fit, "CLOCK", lambda: float(next(ticks)))
    res = fc.forecast(revenue, method="ets")
    assert res.status == "failed"
    assert "did not end within 2.0 s of CPU" in res.message
    assert fc.forecast(revenue, method="loglinear").ok
