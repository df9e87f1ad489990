"""The lean ETS fit finds statsmodels' own ETSModel.fit optimum, and its forecasts are statsmodels'."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from dashboard.analytics import forecast as fc
from dashboard.analytics import statements as st
from dashboard.analytics.ets_fit import DampedETS
from tests.dashboard.analytics import factories


def _series() -> dict[str, np.ndarray]:
    """Statement lines (annual, quarterly; growing, loss-making, noisy) and monthly prices, as forecast."""
    payloads = factories.statement_payloads(years=30, seed=3)
    frames = {
        p: st.combine(*(st.statement_frame(payloads[k], period=p) for k in ("income", "balance", "cashflow")))
        for p in ("FY", ("Q1", "Q2", "Q3", "Q4"))
    }
    out = {
        f"{'FY' if p == 'FY' else 'Q'} {name}": frame[name].dropna().to_numpy()
        for p, frame in frames.items()
        for name in ("revenue", "netIncome", "freeCashFlow")
    }
    out["monthly price"] = fc.monthly(factories.prices(2520, seed=4)["adj_close"]).to_numpy()
    rng = np.random.default_rng(11)
    out["short noisy"] = 50 + rng.normal(0, 5, 9)
    return out


SERIES = _series()


def _statsmodels_params(values: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    model = ETSModel(pd.Series(values), error="add", trend="add", damped_trend=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(model.fit(start_params=start, disp=False, return_params=True))


@pytest.mark.parametrize("name", sorted(SERIES))
def test_fit_params_equal_statsmodels_fit_cold_and_warm(name: str) -> None:
    """From statsmodels' default start and warm-started from the backtest optimum, the optimum is the same."""
    values = SERIES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cold = DampedETS(values).fit_params()
        warm_start = DampedETS(values[:-3]).fit_params()
        warm = DampedETS(values).fit_params(warm_start)
    np.testing.assert_allclose(cold, _statsmodels_params(values, None), rtol=1e-12, atol=0)
    np.testing.assert_allclose(warm, _statsmodels_params(values, warm_start), rtol=1e-12, atol=0)


def test_results_forecast_and_intervals_equal_statsmodels() -> None:
    """Results without the covariance give statsmodels' forecast and prediction intervals, covariance NaN."""
    values = SERIES["FY revenue"]
    model = DampedETS(values)
    ours = model.smooth(model.fit_params())
    ref = ETSModel(pd.Series(values), error="add", trend="add", damped_trend=True).fit(disp=False)
    n = len(values)
    for alpha in (0.05, 0.2):
        np.testing.assert_allclose(
            ours.get_prediction(start=n, end=n + 4).summary_frame(alpha=alpha),
            ref.get_prediction(start=n, end=n + 4).summary_frame(alpha=alpha),
            rtol=1e-12,
        )
    assert np.isnan(np.asarray(ours.cov_params())).all()
    assert np.isfinite(np.asarray(ref.cov_params())).all()
