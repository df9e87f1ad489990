"""The critical line algorithm's turning points, long-only: PyPortfolioOpt's `CLA._solve`, corrected and bounded.

Kept instead of `pypfopt.CLA` because the library is wrong where it matters (and ~2x the CPU, as it recomputes
for every asset it tries the products that depend only on the free set, computed once per step here):
- it loops forever when an asset that has just changed sides changes back at the same lambda (highly
  correlated assets; upstream issue #345): here an event counts only below the previous lambda by more than
  LAMBDA_TOLERANCE of it, entering or leaving alike, and the loop stops with `CLAError` past
  `max_steps(n)` steps or SECONDS;
- after binding an asset it steps from the previous point's bound weights, which leaves the budget (the point
  was purged and the frontier bridged it with a chord): here the current ones;
- its upper bound of 1 let it bind the second of two free assets at 1 where the first reached 0 at the same
  lambda, and the next assets to enter went negative: here there is none (w <= 1 follows from w >= 0 and
  the budget).
The turning points are only candidates: dashboard/analytics/optimize.py tests every answer it derives from
them against the optimality conditions (qp.py) and asks the convex solver where one fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

PURGE_TOLERANCE = 10e-10  # PyPortfolioOpt's `_purge_num_err(10e-10)`
LAMBDA_TOLERANCE = 1e-9  # relative: events closer than this to the previous lambda are that same event
SECONDS = 1.0  # the CPU budget of one run; runs on 20 or 45 assets took ~10 ms


class CLAError(ValueError):
    """The algorithm stopped without reaching the minimum variance: cycling, too many steps or too long."""


def max_steps(n: int) -> int:
    """The step budget for `n` assets: each asset enters and leaves the free set a few times at most."""
    return 10 * n + 100


def turning_points(
    expected_returns: np.ndarray,
    cov: np.ndarray,
    *,
    seconds: float = SECONDS,
    clock: Callable[[], float] = time.thread_time,
) -> list[np.ndarray]:
    """Every turning point (an (n, 1) weight column) from the highest return down to the minimum variance.

    Raises:
        CLAError: more than `max_steps(n)` steps, or more than `seconds` by `clock` (the thread's CPU time:
            a busy machine must not stop a run that is doing its work).
        np.linalg.LinAlgError: a singular sub-matrix of the covariance (as PyPortfolioOpt raises).
        TypeError: a degenerate step (PyPortfolioOpt compares None with a float there).
    """
    mean = np.array(expected_returns, dtype=float).reshape((len(expected_returns), 1))
    cov = np.asarray(cov, dtype=float)
    # No upper bound: w <= 1 follows from w >= 0 and the budget. PyPortfolioOpt's bound of 1 lets it bind
    # the second of two free assets at 1 where the first reaches 0 (the same lambda): the next asset to enter
    # then has only the free ones to take weight from, and they go negative.
    lower, upper = np.zeros(mean.shape), np.full(mean.shape, np.inf)
    free, w = _start(mean)
    points = [np.copy(w)]
    previous: float | None = None  # the last lambda; none before the first step
    deadline, budget = clock() + seconds, max_steps(mean.shape[0])
    while True:
        if len(points) > budget:
            raise CLAError(f"no minimum variance after {budget} steps")
        if clock() > deadline:
            raise CLAError(f"no minimum variance after {seconds} s of CPU")
        l_in, i_in, bi_in = _freeing(cov, mean, points[-1], free, lower, upper, previous)
        l_out, i_out = _binding(cov, mean, points[-1], free, previous)
        lam: float
        if (l_in is None or l_in < 0) and (l_out is None or l_out < 0):
            lam = 0  # an int, as PyPortfolioOpt appends it
            inv, cov_fb, mean_f, w_b = _matrices(cov, mean, points[-1], free)
            mean_f = np.zeros(mean_f.shape)
        else:
            if l_in is not None and _infnone(l_in) > _infnone(l_out):
                lam = l_in
                free.remove(i_in)
                w[i_in] = bi_in  # set value at the correct boundary
            else:
                lam = _infnone(l_out)
                free.append(i_out)
            # The current bound weights, the one just bound included (PyPortfolioOpt passes the previous
            # point's, which puts the step off the budget).
            inv, cov_fb, mean_f, w_b = _matrices(cov, mean, w, free)
        w_f = _weights(inv, cov_fb, mean_f, w_b, lam)
        for j, i in enumerate(free):
            w[i] = w_f[j]
        points.append(np.copy(w))
        previous = lam
        if lam == 0:
            break
    return _purge_excess(_purge_numerical_errors(points, lower, upper), mean)


def _freeing(
    cov: np.ndarray,
    mean: np.ndarray,
    last: np.ndarray,
    free: list[int],
    lower: np.ndarray,
    upper: np.ndarray,
    previous: float | None,
) -> tuple[float | None, int, float]:
    """The largest lambda (below the previous one) at which a free asset hits a bound: (lambda or None,
    asset, the bound's value).

    Below the previous lambda (`_below`) as in `_binding`; PyPortfolioOpt bounds neither by a tolerance and
    only `_binding` at all, so the asset that has just entered, sitting on its bound at the previous lambda,
    could be bound again and freed again forever (the cycle of upstream issue #345).
    """
    l_in: float | None = None
    i_in, bi_in = -1, 0.0
    if len(free) > 1:
        inv, cov_fb, mean_f, w_b = _matrices(cov, mean, last, free)
        parts = _products(inv, cov_fb, mean_f, w_b)
        for j, i in enumerate(free):
            lam, bi = _from_products(parts, j, (float(lower[i, 0]), float(upper[i, 0])))
            if _below(_infnone(lam), previous) and _infnone(lam) > _infnone(l_in):
                l_in, i_in, bi_in = lam, i, bi
    return l_in, i_in, bi_in


def _binding(
    cov: np.ndarray, mean: np.ndarray, last: np.ndarray, free: list[int], previous: float | None
) -> tuple[float | None, int]:
    """The largest lambda (below the previous one, `_below`) at which a bound asset becomes free: (lambda or
    None, asset)."""
    l_out: float | None = None
    i_out = -1
    if len(free) < mean.shape[0]:
        for i in _bound(mean.shape[0], free):
            inv, cov_fb, mean_f, w_b = _matrices(cov, mean, last, [*free, i])
            lam, _ = _from_products(
                _products(inv, cov_fb, mean_f, w_b), mean_f.shape[0] - 1, float(last[i, 0])
            )
            if lam is None:
                raise TypeError("a zero step in the critical line algorithm")  # where PyPortfolioOpt fails
            if _below(lam, previous) and lam > _infnone(l_out):
                l_out, i_out = lam, i
    return l_out, i_out


def _below(lam: float, previous: float | None) -> bool:
    """An event is ahead only below the previous lambda by more than rounding: the asset that has just
    changed sides has its opposite event at that lambda exactly, which rounding puts a few ulps either way."""
    return previous is None or lam < previous - LAMBDA_TOLERANCE * abs(previous)


def _infnone(x: float | None) -> float:
    return float("-inf") if x is None else x


def _start(mean: np.ndarray) -> tuple[list[int], np.ndarray]:
    """`CLA._init_algo` long-only: the highest-return asset (the last of a tie, as its stable sort gives)
    holds everything."""
    best = int(np.argsort(mean[:, 0], kind="stable")[-1])
    w = np.zeros(mean.shape)
    w[best] = 1.0
    return [best], w


def _bound(n: int, free: list[int]) -> list[int]:
    return list(set(range(n)) - set(free))  # PyPortfolioOpt's order (a set difference)


def _matrices(
    cov: np.ndarray, mean: np.ndarray, w: np.ndarray, free: list[int]
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]:
    """The free assets' inverse covariance, their covariance with the bound ones, their returns and the
    bound weights (None when every asset is free)."""
    rows = np.array(free)
    bound = _bound(mean.shape[0], free)
    inv = np.linalg.inv(cov[rows[:, None], rows])
    if not bound:
        return inv, None, mean[rows], None
    columns = np.array(bound)
    return inv, cov[rows[:, None], columns], mean[rows], w[columns]


def _products(
    inv: np.ndarray, cov_fb: np.ndarray | None, mean_f: np.ndarray, w_b: np.ndarray | None
) -> Products:
    """The products of `CLA._compute_lambda` that do not depend on the asset, as Python floats (the same
    IEEE arithmetic as numpy's on 1 x 1 arrays, without a ufunc call per operation)."""
    ones_f = np.ones(mean_f.shape)
    c1 = float(np.dot(np.dot(ones_f.T, inv), ones_f)[0, 0])
    c2 = np.dot(inv, mean_f)[:, 0].tolist()
    c3 = float(np.dot(np.dot(ones_f.T, inv), mean_f)[0, 0])
    c4 = np.dot(inv, ones_f)[:, 0].tolist()
    if w_b is None or cov_fb is None:
        return Products(c1, c2, c3, c4)
    ones_b = np.ones(w_b.shape)
    l1 = float(np.dot(ones_b.T, w_b)[0, 0])
    l3 = np.dot(np.dot(inv, cov_fb), w_b)
    l2 = float(np.dot(ones_f.T, l3)[0, 0])
    return Products(c1, c2, c3, c4, (l1, l2, l3[:, 0].tolist()))


@dataclass(frozen=True, slots=True)
class Products:
    """c1..c4 of `CLA._compute_lambda`, and l1, l2, l3 when some assets are bound."""

    c1: float
    c2: list[float]
    c3: float
    c4: list[float]
    bound: tuple[float, float, list[float]] | None = None


def _from_products(parts: Products, i: int, bi: float | tuple[float, float]) -> tuple[float | None, float]:
    """`CLA._compute_lambda` from the products of `_products`: the lambda (None for a zero step), and the
    value the asset is bound at (from (lower, upper) by the sign of the step when a pair is given)."""
    c1, c3, c4 = parts.c1, parts.c3, parts.c4[i]
    c = -c1 * parts.c2[i] + c3 * c4
    if c == 0:
        return None, 0.0
    if isinstance(bi, tuple):
        if not (c > 0 or c < 0):
            return float("nan"), 0.0  # a NaN step: the library's lambda is NaN whatever the bound
        bound = bi[1] if c > 0 else bi[0]
    else:
        bound = bi
    if parts.bound is None:
        return (c4 - c1 * bound) / c, bound
    l1, l2, l3 = parts.bound
    return ((1 - l1 + l2) * c4 - c1 * (bound + l3[i])) / c, bound


def _weights(
    inv: np.ndarray, cov_fb: np.ndarray | None, mean_f: np.ndarray, w_b: np.ndarray | None, lam: float
) -> np.ndarray:
    """`CLA._compute_w`: the free assets' weights at this lambda."""
    ones_f = np.ones(mean_f.shape)
    g1 = np.dot(np.dot(ones_f.T, inv), mean_f)
    g2 = np.dot(np.dot(ones_f.T, inv), ones_f)
    if w_b is None or cov_fb is None:
        g = -lam * g1 / g2 + 1 / g2
        w1: np.ndarray | int = 0
    else:
        ones_b = np.ones(w_b.shape)
        g3 = np.dot(ones_b.T, w_b)
        w1 = np.dot(np.dot(inv, cov_fb), w_b)
        g4 = np.dot(ones_f.T, w1)
        g = -lam * g1 / g2 + (1 - g3 + g4) / g2
    g_value = float(g[0, 0])
    w2 = np.dot(inv, ones_f)
    w3 = np.dot(inv, mean_f)
    result: np.ndarray = -w1 + g_value * w2 + lam * w3
    return result


def _purge_numerical_errors(
    points: list[np.ndarray], lower: np.ndarray, upper: np.ndarray
) -> list[np.ndarray]:
    """`CLA._purge_num_err`: drop points off the budget or the bounds."""
    kept = []
    for w in points:
        off = abs(sum(w) - 1) > PURGE_TOLERANCE or any(
            w[j] - lower[j] < -PURGE_TOLERANCE or w[j] - upper[j] > PURGE_TOLERANCE for j in range(w.shape[0])
        )
        if not off:
            kept.append(w)
    return kept


def _purge_excess(points: list[np.ndarray], mean: np.ndarray) -> list[np.ndarray]:
    """`CLA._purge_excess`: drop a point when a later one has a higher return (the first point is kept)."""
    points = list(points)
    i = 1
    while i < len(points) - 1:
        mu = np.dot(points[i].T, mean)[0, 0]
        if any(mu < np.dot(later.T, mean)[0, 0] for later in points[i + 1 :]):
            del points[i]  # the next point moves into place i and is tested in turn
        else:
            i += 1
    return points
