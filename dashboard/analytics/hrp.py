"""Hierarchical risk parity weights: PyPortfolioOpt's `HRPOpt(returns=...).optimize()` on arrays.

As PyPortfolioOpt does when given returns, the clustering (scipy single linkage on the distance
sqrt((1 - correlation) / 2)) and the recursive bisection use the sample correlation and covariance of the
daily returns. Kept instead of `HRPOpt` because its pandas label lookups cost ~18 ms of a ~20 ms Portfolio
request for a handful of symbols (measured again in docs/analytics.md); here the correlation is np.corrcoef's
own normalising of the covariance the bisection needs anyway, and the leaf order is scipy's `leaves_list`.

Ties: the correlations are rounded to 12 decimals before the distances, so that two correlations equal
but for rounding are equal (np.corrcoef gives an exactly duplicated column 0.9999999999999994 where pandas
gives 1.0, and which twin pair merged first then hung on that last digit); scipy merges tied pairs in
column order, and the optimiser passes the columns sorted by symbol. The weights equal HRPOpt's on the same
columns (tests/dashboard/analytics/test_optimize.py, twins included).
"""

from __future__ import annotations

import numpy as np
import scipy.cluster.hierarchy as sch
import scipy.spatial.distance as ssd

CORRELATION_DECIMALS = 12  # rounding noise in a correlation is ~1e-15; real near-ties are far wider


def weights(returns: np.ndarray) -> np.ndarray:
    """HRP weights (summing to 1) of the columns of `returns` (daily returns, one column per asset)."""
    sample = np.cov(returns, rowvar=False)
    # Rounded, so that correlations equal but for rounding (an exactly duplicated column: np.corrcoef gives
    # 0.9999999999999994 where pandas gives 1.0) are equal, and tied merges go in column order.
    corr = np.round(correlation(sample), CORRELATION_DECIMALS)
    distance = np.sqrt(np.clip((1.0 - corr) / 2.0, a_min=0.0, a_max=1.0))
    order = sch.leaves_list(sch.linkage(ssd.squareform(distance, checks=False), "single")).tolist()
    w = np.ones(returns.shape[1])
    clusters = [order]
    while clusters:
        clusters = [
            c[j:k] for c in clusters for j, k in ((0, len(c) // 2), (len(c) // 2, len(c))) if len(c) > 1
        ]
        for first, second in zip(clusters[::2], clusters[1::2], strict=True):
            first_var, second_var = _cluster_variance(sample, first), _cluster_variance(sample, second)
            alpha = 1 - first_var / (first_var + second_var)
            w[first] *= alpha
            w[second] *= 1 - alpha
    return w


def correlation(cov: np.ndarray) -> np.ndarray:
    """`np.corrcoef` from the covariance it would compute first (np.cov, then each entry over the two
    standard deviations, clipped to [-1, 1]): the same bits without a second pass over the returns."""
    stddev = np.sqrt(np.diag(cov))
    corr = cov / stddev[:, None]
    corr /= stddev[None, :]
    np.clip(corr, -1, 1, out=corr)
    return corr


def _cluster_variance(cov: np.ndarray, items: list[int]) -> float:
    """The variance of a cluster's inverse-variance portfolio (`HRPOpt._get_cluster_var`)."""
    part = cov[np.ix_(items, items)]
    inverse = 1 / np.diag(part)
    inverse /= inverse.sum()
    return float(np.linalg.multi_dot((inverse, part, inverse)))
