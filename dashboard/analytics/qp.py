"""Long-only minimum-variance problems: their optimality test, and the convex solver when a candidate fails it.

Every portfolio the optimiser shows solves min w' S w subject to A w = b and w >= 0, with A the budget row
(minimum volatility), the budget and expected-return rows (a frontier point at its target return) or the
excess-return row (maximum Sharpe: w / (e' w) minimises y' S y subject to e' y = 1, y >= 0). The problem is
convex, so a candidate is the optimum exactly when it meets the Karush-Kuhn-Tucker conditions: feasible,
g = S w equal to A' nu on the assets it holds and at least A' nu on the others, for one multiplier nu.
`optimal` tests that to a relative tolerance of 1e-9 of g, which bounds the variance above the optimum by
a few parts in 1e9 (a volatility within ~1e-8, relative). `solve` asks PyPortfolioOpt's convex solver
(cvxpy + Clarabel, bounded in iterations and time) and then solves the KKT equations on the assets it holds
(`polish`, correcting that set where the equations show it wrong): the solver stops at ~1e-8 in the objective
and ~1e-5 in the weights, the polished answer is exact (tested by `optimal`, else the solver's answer is kept).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

TOLERANCE = 1e-9  # of max |S w|: stationarity residuals and slack below -tolerance fail the test
HELD = 1e-9  # a weight at or below this is not held (the solver's zeros are ~1e-10)
SPANNED = 1e-10  # the held assets' share of the constraint rows' span (a Gram determinant in [0, 1])
HELD_BY_SOLVER = 1e-7  # the interior-point solver's weights below this are taken as zeros before polishing
CORRECTIONS = 20  # changes to the solver's support while polishing (a bound: one or two are usual)


def optimal(cov: np.ndarray, w: np.ndarray, rows: np.ndarray, b: np.ndarray) -> bool:
    """True when `w` minimises w' cov w subject to rows @ w = b and w >= 0 (to TOLERANCE).

    `rows` has one or two constraint rows (k x n). When the held assets leave one multiplier free (two rows
    whose restriction to them has rank one: equal expected returns on the held assets), the test asks for
    one value of it that leaves every slack non-negative.
    """
    return bool(optimal_rows(cov, w[None, :], rows, b[None, :])[0])


def optimal_rows(cov: np.ndarray, weights: np.ndarray, rows: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """`optimal` for every row of `weights` (p x n) with its row of `targets` (p x k), at once (a frontier's
    points in one batch of array operations instead of a least-squares solve per point)."""
    finite = np.isfinite(weights).all(axis=1)
    w = np.where(finite[:, None], weights, 0.0)
    g = w @ cov  # cov is symmetric: each row is cov @ w
    tol = TOLERANCE * np.maximum(np.abs(g).max(axis=1), np.finfo(float).tiny)
    feasible = (
        finite
        & (w.min(axis=1) >= -HELD)
        & (np.abs(w @ rows.T - targets) <= TOLERANCE * np.maximum(1.0, np.abs(targets))).all(axis=1)
    )
    held = w > HELD
    h = held.astype(float)
    # Stationarity asks g on the held assets to lie in the span of the constraint rows restricted to them.
    # The multipliers on an orthonormal basis q of that span (well conditioned whatever the scale of the
    # expected returns), from the normal equations of each point's held assets, written out for one or two
    # basis vectors.
    q = _basis(rows)
    hg = h * g
    if len(q) == 1:
        m11 = h @ (q[0] * q[0])
        spanned = m11 > SPANNED
        nu1 = (hg @ q[0]) / np.where(spanned, m11, 1.0)
        slack = g - nu1[:, None] * q[0]
    else:
        m11, m12, m22 = h @ (q[0] * q[0]), h @ (q[0] * q[1]), h @ (q[1] * q[1])
        determinant = m11 * m22 - m12 * m12
        spanned = determinant > SPANNED
        r1, r2 = hg @ q[0], hg @ q[1]
        safe = np.where(spanned, determinant, 1.0)
        nu1, nu2 = (m22 * r1 - m12 * r2) / safe, (m11 * r2 - m12 * r1) / safe
        slack = g - nu1[:, None] * q[0] - nu2[:, None] * q[1]
    stationary = np.where(held, np.abs(slack), 0.0).max(axis=1) <= tol
    complementary = np.where(held, np.inf, slack).min(axis=1) >= -tol
    result: np.ndarray = feasible & spanned & stationary & complementary
    if len(q) == 2:
        for i in np.flatnonzero(feasible & ~spanned):
            result[i] = _one_free_multiplier(g[i], rows, held[i], float(tol[i]))
    return result


def _basis(rows: np.ndarray) -> list[np.ndarray]:
    """An orthonormal basis of the span of one or two constraint rows (Gram-Schmidt): one vector when the
    second row is a multiple of the first (every expected return equal)."""
    first = rows[0] / np.linalg.norm(rows[0])
    if len(rows) == 1:
        return [first]
    rest = rows[1] - (rows[1] @ first) * first
    size = float(np.linalg.norm(rest))
    if size <= 1e-12 * float(np.linalg.norm(rows[1])):
        return [first]
    return [first, rest / size]


def _one_free_multiplier(g: np.ndarray, rows: np.ndarray, held: np.ndarray, tol: float) -> bool:
    """The test when the held assets share one expected return m (rows = budget, returns): g must be one
    value c on them, and some t must keep g_i - c - t (mu_i - m) >= 0 on every other asset."""
    mu = rows[1]
    m = float(mu[held][0])
    c = float(g[held].mean())
    if np.abs(g[held] - c).max() > tol or np.abs(mu[held] - m).max() > TOLERANCE * max(1.0, abs(m)):
        return False
    others = ~held
    gap, rise = g[others] - c + tol, mu[others] - m
    if (gap[rise == 0] < 0).any():
        return False
    upper = (gap[rise > 0] / rise[rise > 0]).min(initial=np.inf)
    lower = (gap[rise < 0] / rise[rise < 0]).max(initial=-np.inf)
    return bool(lower <= upper)


def polish(cov: np.ndarray, rows: np.ndarray, b: np.ndarray, held: np.ndarray) -> np.ndarray | None:
    """The minimum of w' cov w subject to rows @ w = b and w >= 0, from the KKT equations on the `held`
    assets (the others at 0), the held set corrected where those equations say it is wrong; None when no
    correction within CORRECTIONS gives a non-negative solution with non-negative slacks.

    The solver's support is often right but not always: a weight that should be 0 may sit at ~1e-6 on a
    badly scaled problem (two constant prices next to moving ones), and the equations on that support then
    give it a negative weight. Each correction drops the most negative weight, or, once none is negative,
    adds the asset with the most negative slack (g_i - (A' nu)_i); one or two are usual.
    """
    held = held.copy()
    for _ in range(CORRECTIONS):
        solved = _kkt_on(cov, rows, b, held)
        if solved is None:
            return None
        w, nu = solved
        if w.min() < 0:
            held[int(np.argmin(w))] = False
            continue
        g = 2.0 * (cov @ w)
        slack = np.where(held, np.inf, g - rows.T @ nu)
        worst = int(np.argmin(slack))
        if slack[worst] >= -TOLERANCE * max(float(np.abs(g).max()), np.finfo(float).tiny):
            return w
        held[worst] = True
    return None


def _kkt_on(
    cov: np.ndarray, rows: np.ndarray, b: np.ndarray, held: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The weights (the others at 0) and multipliers that solve the KKT equations on the `held` assets, as
    equalities: 2 cov_hh w_h = A_h' nu, A_h w_h = b; None when that system is singular or not finite."""
    n, k = int(held.sum()), rows.shape[0]
    if n == 0:
        return None
    a = rows[:, held]
    system = np.zeros((n + k, n + k))
    system[:n, :n] = 2.0 * cov[np.ix_(held, held)]
    system[:n, n:] = -a.T
    system[n:, :n] = a
    rhs = np.concatenate([np.zeros(n), b])
    try:
        solution = np.linalg.solve(system, rhs)
    except np.linalg.LinAlgError:
        return None
    if not np.isfinite(solution).all():
        return None
    w = np.zeros(cov.shape[0])
    w[held] = solution[:n]
    return w, solution[n:]


def exact(cov: np.ndarray, rows: np.ndarray, b: np.ndarray, solve: Callable[[], np.ndarray]) -> np.ndarray:
    """The convex solver's answer (`solve()`), polished on the assets it holds when that passes `optimal`."""
    w = np.asarray(solve(), dtype=float)
    held = w > HELD_BY_SOLVER * max(1.0, float(np.abs(w).max()))
    polished = polish(cov, rows, b, held) if held.any() else None
    if polished is not None and optimal(cov, polished, rows, b):
        return polished
    return w
