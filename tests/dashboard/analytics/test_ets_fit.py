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
from devkit import factories


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
    # Where the two starts of a forecast's full-sample fit find different optima (test_forecast.py).
    for seed in (45, 158):
        out[f"forecast series {seed}"] = factories.forecast_series(seed)
    return out


SERIES = _series()


def _statsmodels_params(values: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    model = ETSModel(pd.Series(values), error="add", trend="add", damped_trend=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(model.fit(start_params=start, disp=False, return_params=True))


@pytest.mark.parametrize("name", sorted(SERIES))
def test_fit_params_equal_statsmodels_fit_cold_and_warm(name: str) -> None:
    """From statsmodels' default start and warm-started from the backtest optimum, the optimum is the same
    to the last bit: the same search over the same objective and gradient values."""
    values = SERIES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cold = DampedETS(values).fit_params()
        warm_start = DampedETS(values[:-3]).fit_params()
        warm = DampedETS(values).fit_params(warm_start)
    np.testing.assert_array_equal(cold, _statsmodels_params(values, None))
    np.testing.assert_array_equal(warm, _statsmodels_params(values, warm_start))


@pytest.mark.parametrize("name", sorted(SERIES))
def test_forecast_mean_and_variance_equal_statsmodels_prediction(name: str) -> None:
    """`forecast` gives statsmodels' own get_prediction mean and exact variance on its fitted results
    (every series: growing, loss-making, noisy, monthly, short), at the fitted and at other parameters."""
    values = SERIES[name]
    n, horizon = len(values), 12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DampedETS(values)
        fitted = model.fit_params()
        reference = ETSModel(pd.Series(values), error="add", trend="add", damped_trend=True)
        for params in (fitted, np.array([0.5, 0.05, 0.9, values[0], 0.0])):
            mean, variance = model.forecast(params, horizon)
            pred = reference.smooth(params).get_prediction(start=n, end=n + horizon - 1)
            assert pred.method == "exact"
            np.testing.assert_allclose(mean, np.asarray(pred.predicted_mean), rtol=1e-13, atol=0)
            np.testing.assert_allclose(variance, np.asarray(pred.forecast_variance), rtol=1e-12, atol=0)
