"""Forecasts with prediction intervals and an honest holdout backtest: damped-trend ETS and a log-linear trend.

Each forecast comes with a backtest (fit on all but the last k points, forecast those k, report MAPE and how
often the actuals fell inside the 80% and 95% intervals), so the analyst sees how far to trust it. Short
histories give a "not_enough_data" result instead of a fit: a trend model on three points is noise.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm
from scipy.stats import t as student_t
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from dashboard.analytics.errors import AnalyticsError
from dashboard.analytics.ets_fit import DampedETS
from dashboard.analytics.fundamentals import day_numbers, period_days

Method = Literal["ets", "loglinear"]
Status = Literal["ok", "not_enough_data", "unsuitable", "failed"]
METHODS: tuple[Method, ...] = ("ets", "loglinear")
MIN_OBS = 8  # damped ETS estimates five parameters (alpha, beta, phi, level, trend): fewer points overfit
LEVELS = (0.80, 0.95)
COLUMNS = ("mean", "lower_80", "upper_80", "lower_95", "upper_95")
# Normal quantiles of the ETS intervals, computed as statsmodels does: norm.ppf(1 - alpha / 2).
_Z = {level: float(norm.ppf(1 - (1 - level) / 2)) for level in LEVELS}


@dataclass(frozen=True, slots=True)
class Backtest:
    """Holdout check: the last `holdout` actuals against a forecast fitted without them."""

    holdout: int
    mape: float  # mean absolute percentage error, as a fraction (0.05 = 5%)
    coverage_80: float  # share of actuals inside the 80% interval
    coverage_95: float
    actual: pd.Series
    predicted: pd.DataFrame


@dataclass(frozen=True, slots=True)
class Forecast:
    """A forecast (columns mean, lower_80, upper_80, lower_95, upper_95) or the reason there is none."""

    method: Method
    status: Status
    message: str
    forecast: pd.DataFrame | None
    backtest: Backtest | None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _clean(series: pd.Series) -> pd.Series:
    if not isinstance(series, pd.Series):
        raise AnalyticsError(f"expected a pandas Series, got {type(series).__name__}")
    if series.dtype != np.float64:
        try:
            series = pd.to_numeric(series, errors="raise").astype(float)
        except (TypeError, ValueError) as exc:
            raise AnalyticsError(f"non-numeric values in series {series.name!r}") from exc
    # NumPy mask instead of replace/dropna: this runs on every forecast of a company page.
    values = series[np.isfinite(series.to_numpy())]
    values = values if values.index.is_monotonic_increasing else values.sort_index(kind="stable")
    if values.index.has_duplicates:  # a restated date: the last row given wins, as in statement_frame
        values = values[~values.index.duplicated(keep="last")]
    return values


def _step_days(index: pd.DatetimeIndex) -> float:
    """The history's period in days: a year, a quarter, a month, else the shortest spacing."""
    step = period_days(index)
    if step is None:
        raise AnalyticsError("a dated series needs two distinct dates")
    return 30.4375 if 27 <= step <= 32 else step


def periods(index: pd.Index) -> np.ndarray:
    """Each point's period number from the first (0): elapsed time in periods, so a gap counts.

    On dates, each spacing is rounded to whole periods (a 53-week year is one year, a missing year makes the
    next point two periods on). Integer labels (years, period numbers, or positions left by dropped NaNs)
    count in steps of their smallest spacing; any other undated index is taken as evenly spaced.
    """
    n = len(index)
    if n < 2:
        return np.zeros(n)
    if isinstance(index, pd.DatetimeIndex):
        gaps = np.diff(day_numbers(index)) / _step_days(index)
        return np.concatenate([[0.0], np.cumsum(np.maximum(np.rint(gaps), 1.0))])
    labels = _integer_labels(index)
    if labels is None:
        return np.arange(n, dtype=float)
    elapsed: np.ndarray = (labels - labels[0]) / _integer_step(labels)
    return elapsed


def _integer_labels(index: pd.Index) -> np.ndarray | None:
    """The labels of an integer index as floats (ascending and unique after `_clean`), else None."""
    if not pd.api.types.is_integer_dtype(index.dtype):
        return None
    labels: np.ndarray = index.to_numpy(dtype=float)
    return labels


def _integer_step(labels: np.ndarray) -> float:
    return float(np.diff(labels).min()) if len(labels) >= 2 else 1.0


def future_index(index: pd.Index, horizon: int) -> pd.Index:
    """The next `horizon` period labels: dates stepped by the history's period, integer labels by their
    smallest spacing after the last one, else positions after the last."""
    if isinstance(index, pd.DatetimeIndex) and len(index) >= 2 and index[-1] > index[0]:
        # The period, not the median spacing: duplicated dates (spacing 0) must not make a yearly series daily.
        days = _step_days(index)
        if days >= 25:  # monthly or coarser: step in whole months so fiscal year-ends stay aligned
            months = max(1, round(days / 30.4375))
            last = index[-1]
            offset = pd.offsets.MonthEnd if last.is_month_end else (lambda n: pd.DateOffset(months=n))
            return pd.DatetimeIndex([last + offset(months * k) for k in range(1, horizon + 1)])
        if days <= 3:  # daily prices: business days
            return pd.bdate_range(index[-1] + pd.offsets.BDay(1), periods=horizon)
        return pd.DatetimeIndex([index[-1] + pd.Timedelta(days=days * k) for k in range(1, horizon + 1)])
    labels = _integer_labels(index)
    if labels is not None and len(labels):
        step = int(_integer_step(labels))
        return pd.Index([int(labels[-1]) + step * k for k in range(1, horizon + 1)], dtype=index.dtype)
    start = len(index)
    return pd.RangeIndex(start, start + horizon)


def _fit_predict(
    values: np.ndarray,
    horizon: int,
    method: Method,
    start: np.ndarray | None = None,
    t: np.ndarray | None = None,
    ahead: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Columns mean, lower_80, upper_80, lower_95, upper_95 for the next `horizon` steps, and ETS params.

    ETS is fitted from statsmodels' own start values (what `ETSModel.fit` finds) and, given `start`
    (the backtest fit's optimum), from there too, keeping the fit with the higher likelihood. `t` and `ahead` are the period numbers of the values
    and of the points to forecast (the log-linear trend regresses on elapsed time); default evenly spaced.
    """
    n = len(values)
    out = np.empty((horizon, 5))
    if method == "ets":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            model = DampedETS(values)
            params = model.fit_params()  # = ETSModel.fit's optimum from its own start, see ets_fit
            if start is not None:
                # The backtest's optimum as a second start: the likelihood may have several local maxima,
                # and either start can find the higher one; the higher likelihood is the forecast.
                warm = model.fit_params(start)
                if model.loglike(warm) > model.loglike(params):
                    params = warm
            mean, variance = model.forecast(params, horizon)  # = its results' get_prediction, see ets_fit
            sd = np.sqrt(variance)
            out[:, 0] = mean
            for j, level in enumerate(LEVELS):
                # ETS PredictionResults.pred_int's exact formula (mean -/+ z sd), on arrays instead of Series.
                out[:, 1 + 2 * j] = mean - _Z[level] * sd
                out[:, 2 + 2 * j] = mean + _Z[level] * sd
        return out, params
    t = np.arange(n, dtype=float) if t is None else t
    ahead = t[-1] + np.arange(1, horizon + 1, dtype=float) if ahead is None else ahead
    mean, sd_obs, df_resid = _log_trend(np.log(values), t, ahead)
    # exp of the log-scale mean is the median forecast; the interval maps exactly through exp.
    out[:, 0] = np.exp(mean)
    for j, level in enumerate(LEVELS):
        q = _t_quantile(level, df_resid)
        out[:, 1 + 2 * j] = np.exp(mean - q * sd_obs)
        out[:, 2 + 2 * j] = np.exp(mean + q * sd_obs)
    return out, None


def _log_trend(y: np.ndarray, t: np.ndarray, ahead: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The OLS trend of `y` on `t` at `ahead`: mean, standard error of a new observation, residual dof, from
    statsmodels' `OLS(y, add_constant(t)).fit().get_prediction(...)` (`predicted_mean`, `se_obs`); the
    intervals built from them with Student's t are its `conf_int(obs=True)`. The library's objects cost
    ~0.3 ms more a fit than the same arithmetic on arrays did, too little to keep that copy (issue #26)."""
    fit = sm.OLS(y, sm.add_constant(t)).fit()
    # has_constant="add": one future point is a "constant" column to add_constant's default check.
    prediction = fit.get_prediction(sm.add_constant(ahead, has_constant="add"))
    return np.asarray(prediction.predicted_mean), np.asarray(prediction.se_obs), int(fit.df_resid)


@functools.lru_cache(maxsize=256)
def _t_quantile(level: float, df: int) -> float:
    """Student's t quantile of a two-sided `level` interval, as statsmodels' conf_int takes it."""
    return float(student_t.ppf(1 - (1 - level) / 2, df))


def _backtest(
    values: pd.Series, holdout: int, method: Method, t: np.ndarray
) -> tuple[Backtest, np.ndarray | None]:
    train, test = values.iloc[:-holdout], values.iloc[-holdout:]
    predicted, params = _fit_predict(train.to_numpy(), holdout, method, t=t[:-holdout], ahead=t[-holdout:])
    pred = pd.DataFrame(predicted, index=test.index, columns=COLUMNS)
    actual = test.to_numpy()
    nonzero = actual != 0
    mape = float(
        np.mean(np.abs(actual[nonzero] - predicted[nonzero, 0]) / np.abs(actual[nonzero]))
        if nonzero.any()
        else np.nan
    )
    # Columns 1..4 of `predicted` are lower_80, upper_80, lower_95, upper_95.
    inside = [
        float(np.mean((actual >= predicted[:, lo]) & (actual <= predicted[:, lo + 1]))) for lo in (1, 3)
    ]
    return Backtest(holdout, mape, inside[0], inside[1], test, pred), params


def forecast(
    series: pd.Series, *, method: Method = "ets", horizon: int = 5, holdout: int = 3, min_obs: int = MIN_OBS
) -> Forecast:
    """Forecast `horizon` periods ahead with 80%/95% prediction intervals and a holdout backtest.

    Args:
        series: values by date (annual, quarterly or monthly); NaNs are dropped.
        method: "ets" (additive errors, damped additive trend) or "loglinear" (OLS of log value on time;
            needs positive values, e.g. revenue).
        horizon: periods to forecast.
        holdout: last points held out for the backtest (skipped if fewer than `min_obs` would remain).
        min_obs: fewest points to fit on.

    Returns:
        A Forecast; `status` is "not_enough_data" for short histories and "unsuitable" for a log-linear
        trend over non-positive values, with `forecast` None.
    """
    if method not in METHODS:
        raise AnalyticsError(f"unknown forecast method {method!r}; use one of {METHODS}")
    _check(horizon, holdout, min_obs)
    return _forecast(_clean(series), method, horizon, holdout, min_obs, {})


def _check(horizon: int, holdout: int, min_obs: int) -> None:
    if horizon < 1 or holdout < 1 or min_obs < 4:
        raise AnalyticsError("horizon and holdout must be >= 1 and min_obs >= 4")


def _forecast(
    values: pd.Series,
    method: Method,
    horizon: int,
    holdout: int,
    min_obs: int,
    index_memo: dict[int, pd.Index],
) -> Forecast:
    """`forecast` on cleaned values; `index_memo` keeps the future index for the next method's table."""
    if len(values) < min_obs:
        return Forecast(
            method, "not_enough_data", f"{len(values)} points; at least {min_obs} needed", None, None
        )
    if method == "loglinear" and (values <= 0).any():
        return Forecast(method, "unsuitable", "a log-linear trend needs positive values", None, None)
    t = periods(values.index)
    missing = int(t[-1]) + 1 - len(values)
    if method == "ets" and missing:
        return Forecast(
            method,
            "unsuitable",
            f"{missing} missing periods in the history: ETS needs evenly spaced points "
            "(the log-linear trend uses elapsed time)",
            None,
            None,
        )
    try:
        backtest, start = (
            _backtest(values, holdout, method, t) if len(values) - holdout >= min_obs else (None, None)
        )
        predicted, _ = _fit_predict(values.to_numpy(), horizon, method, start, t=t)
        if horizon not in index_memo:
            index_memo[horizon] = future_index(values.index, horizon)
        table = pd.DataFrame(predicted, index=index_memo[horizon], columns=COLUMNS)
    except (np.linalg.LinAlgError, ValueError) as exc:
        return Forecast(method, "failed", f"the {method} fit failed: {exc}", None, None)
    message = (
        "ok"
        if backtest
        else f"no backtest: fewer than {min_obs} points would remain after holding out {holdout}"
    )
    return Forecast(method, "ok", message, table, backtest)


def forecast_both(series: pd.Series, *, horizon: int = 5, holdout: int = 3) -> dict[Method, Forecast]:
    """Both methods on one series, for side-by-side display (cleaned and dated once for both)."""
    _check(horizon, holdout, MIN_OBS)
    values, index_memo = _clean(series), dict[int, pd.Index]()
    return {m: _forecast(values, m, horizon, holdout, MIN_OBS, index_memo) for m in METHODS}


def monthly(close: pd.Series) -> pd.Series:
    """Month-end closes: price forecasts run on monthly points (daily noise would swamp a trend model)."""
    values = _clean(close)
    if not isinstance(values.index, pd.DatetimeIndex):
        raise AnalyticsError("price series needs a DatetimeIndex")
    ends = _month_ends(values.index)
    if ends is not None:
        return pd.Series(values.to_numpy(), index=ends, name=values.name)
    return values.resample("ME").last().dropna()


def _month_ends(dates: pd.DatetimeIndex) -> pd.DatetimeIndex | None:
    """The month ends `resample("ME").last().dropna()` labels `dates` with when each date is its month's
    only one (stored month-end closes), with its unit, name and frequency (monthly when no month is
    missing); None otherwise (the resample then picks each month's last). Its bins and checks cost
    ~2 ms per price forecast, more than the log-linear fit."""
    if dates.tz is not None or len(dates) < 1:
        return None
    months = dates.to_numpy().astype("datetime64[M]")
    steps = np.diff(months.astype(np.int64))
    if (steps < 1).any():  # two dates in one month (ascending after _clean)
        return None
    unit = np.datetime_data(dates.dtype)[0]
    ends = ((months + 1).astype("datetime64[D]") - 1).astype(f"datetime64[{unit}]")
    return pd.DatetimeIndex(ends, name=dates.name, freq="ME" if (steps == 1).all() else None)


def forecast_price(
    close: pd.Series,
    *,
    horizon: int = 12,
    holdout: int = 12,
    method: Method = "ets",
    resampled: bool = False,
) -> Forecast:
    """Forecast month-end (adjusted) closes `horizon` months ahead, backtested on the last `holdout` months.

    `resampled=True` says `close` is already `monthly(...)`'s output (a caller that keeps it for both
    methods skips the resample; `monthly` of it would give it back unchanged).
    """
    if resampled and not isinstance(close.index, pd.DatetimeIndex):
        raise AnalyticsError("price series needs a DatetimeIndex")
    points = close if resampled else monthly(close)
    return forecast(points, method=method, horizon=horizon, holdout=holdout, min_obs=max(MIN_OBS, 24))
