"""statsmodels' damped-trend ETS fitted with the same L-BFGS-B search as `ETSModel.fit`, at less overhead.

`ETSModel.fit` maximises the likelihood with SciPy's L-BFGS-B and a forward-difference gradient built by
`scipy.optimize.approx_derivative`; that generic helper costs far more per call than the model's own
likelihood (~15 µs), and `fit` then builds results with a numerical-Hessian covariance we never use.
`fit_params` runs the identical search (same internal parameterisation and bounds, the same
likelihood evaluated on the model's own smoothing routine, the same forward-difference steps as
`approx_derivative` with `abs_step=1e-8`, the same L-BFGS-B settings) with a lean gradient loop, so it
returns the same optimum to the last bit on our data (tests compare it with `ETSModel.fit`).

`forecast` gives what `smooth(params).get_prediction(...)` gives for the next steps (the mean and the
"exact" forecast variance), as statsmodels computes them, without its results and prediction objects:
building those (a numerical-Hessian covariance, pandas indexes, a zero-error simulation) cost more than
the fit itself.

Kept instead of `ETSModel.fit` + `get_prediction` because it matters (issue #26,
scripts/bench_reimplementations.py): 3.5-6.7 ms against 10.7-17.9 ms a fit of 30-300 points, and an ETS
forecast fits three times (the backtest, and the full sample from two starts).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from scipy.optimize import OptimizeResult, minimize
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

# scipy.optimize's defaults as fmin_l_bfgs_b passes them from statsmodels' `_fit_lbfgs`.
MAXITER = 1000  # ETSModel.fit's default
ABS_STEP = 1e-8  # fmin_l_bfgs_b's `epsilon`: an absolute finite-difference step
FALLBACK_REL_STEP = float(np.sqrt(np.finfo(float).eps))  # approx_derivative's 2-point relative step
FTOL = 1e7 * float(np.finfo(float).eps)  # factr=1e7
GTOL = 1e-5  # pgtol
SECONDS = 2.0  # a fit's CPU budget; a fit of 30-300 points took 5-10 ms
# The thread's CPU time, not the wall clock: a busy machine must not fail a fit that is doing its work.
CLOCK: Callable[[], float] = time.thread_time  # read at each iteration (tests replace it)


class DampedETS(ETSModel):
    """statsmodels' ETSModel(error="add", trend="add", damped_trend=True) on an array. `fit` is
    statsmodels' own; `fit_params` is the same search with a leaner gradient; `forecast` the same
    forecast and variance as its results' `get_prediction`, on arrays."""

    def __init__(self, values: np.ndarray) -> None:
        # An array, not a Series: no pandas index to carry (only get_prediction needed one).
        super().__init__(np.asarray(values, dtype=float), error="add", trend="add", damped_trend=True)

    def forecast(self, params: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the next `horizon` values, as `smooth(params).get_prediction(start=nobs,
        end=nobs + horizon - 1)` gives them (`predicted_mean`, `forecast_variance`, method "exact").

        The steps follow statsmodels 0.14/0.15: `ETSModel._smooth` for the fitted states and residuals,
        `ETSResults.simulate` with zero errors from the last state for the mean, and the results' `mse`
        times `_relative_forecast_variance` (model "AAdN") for the variance; tests pin it to statsmodels.
        """
        params = np.asarray(params, dtype=float)
        internal = self._internal_params(params)
        yhat = np.zeros(self.nobs)
        xhat = np.zeros((self.nobs, self._k_states_internal))
        is_fixed = np.zeros(self._k_params_internal, dtype=np.int64)
        fixed_values = np.empty(self._k_params_internal)
        self._smoothing_func(internal, self.endog, yhat, xhat, is_fixed, fixed_values)
        mse = np.sum((self.endog - yhat) ** 2) / self.nobs
        # The zero-error simulation: the damped trend shrinks by phi a step and adds to the level.
        level, trend, phi = float(xhat[-1, 0]), float(xhat[-1, 1]), float(internal[3])
        mean = np.empty(horizon)
        for step in range(horizon):
            trend = trend * phi
            level = level + trend
            mean[step] = level
        alpha, beta = float(params[0]), float(params[1])
        h = np.arange(1.0, horizon + 1.0)
        relative = (
            1
            + alpha**2 * (h - 1)
            + ((beta * phi * h) / ((1 - phi) ** 2) * (2 * alpha * (1 - phi) + beta * phi))
            - (
                (beta * phi * (1 - phi**h))
                / ((1 - phi) ** 2 * (1 - phi**2))
                * (2 * alpha * (1 - phi**2) + beta * phi * (1 + 2 * phi - phi**h))
            )
        )
        return mean, mse * relative

    def fit_params(self, start: np.ndarray | None = None) -> np.ndarray:
        """Maximum-likelihood parameters, as `ETSModel.fit(start_params=start, return_params=True)`.

        Raises:
            ValueError: the search ran past SECONDS by CLOCK (it also stops after MAXITER iterations).
        """
        # The steps below follow ETSModel.fit (statsmodels 0.14/0.15) for a model without fixed parameters.
        start_params = self.start_params if start is None else np.asarray(start, dtype=float)
        internal = self._convert_and_bound_start_params(start_params)
        bounds = self._setup_bounds()
        use_beta_star = "smoothing_trend" not in self.bounds
        if use_beta_star:
            internal[1] /= internal[0]
        use_gamma_star = "smoothing_seasonal" not in self.bounds
        if use_gamma_star:
            internal[2] /= 1 - internal[0]
        fixed = np.array([lo == hi for lo, hi in bounds])
        is_fixed = fixed.astype(np.int64)
        fixed_values = np.array([lo if f else 0.0 for (lo, _), f in zip(bounds, fixed, strict=True)])
        lower = np.array([lo for (lo, _), f in zip(bounds, fixed, strict=True) if not f], dtype=float)
        upper = np.array([hi for (_, hi), f in zip(bounds, fixed, strict=True) if not f], dtype=float)
        yhat = np.zeros(self.nobs)
        xhat = np.zeros((self.nobs, self._k_states_internal))
        res = np.empty(self.nobs)
        smooth, endog, nobs = self._smoothing_func, self.endog, self.nobs
        half, two_pi = -nobs / 2, 2 * np.pi
        free_bounds = list(zip(lower.tolist(), upper.tolist(), strict=True))

        def objective(x: np.ndarray) -> float:
            # statsmodels' LikelihoodModel.fit objective -loglike / nobs, with ETSModel._loglike_internal's
            # additive-error likelihood -n/2 (log(2 pi mean(res^2)) + 1) written out (np.mean is add.reduce / n)
            # to skip its per-call checks; the test against ETSModel.fit pins it to statsmodels' numbers.
            # The residuals and their squares in one kept array: the same values, no allocation.
            smooth(x, endog, yhat, xhat, is_fixed, fixed_values, use_beta_star, use_gamma_star)
            np.subtract(endog, yhat, out=res)
            np.multiply(res, res, out=res)
            loglike = half * (np.log(two_pi * (np.add.reduce(res) / nobs)) + 1)
            return float(-loglike / nobs)

        def objective_and_gradient(x0: np.ndarray) -> tuple[float, np.ndarray]:
            f0 = objective(x0)
            # approx_derivative(method="2-point", abs_step=1e-8) with its bound handling, step for step,
            # on floats one parameter at a time (five of them: array operations cost more than they save).
            grad = np.empty(len(x0))
            x = x0.copy()
            for i, (xi, (lo, hi)) in enumerate(zip(x0.tolist(), free_bounds, strict=True)):
                x[i] = xi + _step(xi, lo, hi)
                grad[i] = (objective(x) - f0) / (x[i] - xi)
                x[i] = xi
            return f0, grad

        found = _search(objective_and_gradient, internal[~fixed], lower, upper)
        fitted = internal.copy()
        fitted[~fixed] = found
        fitted[fixed] = fixed_values[fixed]
        if use_beta_star:
            fitted[1] *= fitted[0]
        if use_gamma_star:
            fitted[2] *= 1 - fitted[0]
        return np.asarray(self._model_params(fitted))


def _step(x: float, lower: float, upper: float) -> float:
    """approx_derivative's 2-point step for one parameter at `x` within [lower, upper] (abs_step=1e-8)."""
    h = (
        ABS_STEP
        if (x + ABS_STEP) - x != 0
        else FALLBACK_REL_STEP * (1.0 if x >= 0 else -1.0) * max(1.0, abs(x))
    )
    below, above = x - lower, upper - x
    if abs(h) > max(below, above):  # no room either way: the wider side's whole width
        return above if above >= below else -below
    return h if lower <= x + h <= upper else -h  # else room on the other side only


def _search(
    objective_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> np.ndarray:
    """`ETSModel.fit`'s L-BFGS-B search, stopped past SECONDS (ValueError) as well as after MAXITER."""
    deadline = CLOCK() + SECONDS

    def stop_late(intermediate_result: OptimizeResult) -> None:
        if CLOCK() > deadline:
            raise StopIteration

    found = minimize(
        objective_and_gradient,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=list(zip(lower, upper, strict=True)),
        options={"maxiter": MAXITER, "ftol": FTOL, "gtol": GTOL},
        callback=stop_late,
    )
    if found.status == 99:  # scipy's status when the callback stops the search
        raise ValueError(f"the ETS likelihood search did not end within {SECONDS} s of CPU")
    x: np.ndarray = found.x
    return x
