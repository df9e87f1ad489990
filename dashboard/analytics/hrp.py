"""Hierarchical risk parity weights: PyPortfolioOpt's `HRPOpt(returns=...).optimize()` on arrays.

As PyPortfolioOpt does when given returns, the clustering (scipy single linkage on the distance
sqrt((1 - correlation) / 2)) and the recursive bisection use the sample correlation and covariance of the
daily returns. HRPOpt's pandas label lookups cost ~18 ms for a handful of symbols; here the correlation is
np.corrcoef's own normalising of the covariance the bisection needs anyway, and the leaf order is read off
the linkage instead of scipy's tree of node objects: the same weights, bit for bit
(tests/dashboard/analytics/test_optimize.py compares them with HRPOpt and each step with numpy and scipy).
"""

from __future__ import annotations

import numpy as np
import scipy.cluster.hierarchy as sch
import scipy.spatial.distance as ssd


def weights(returns: np.ndarray) -> np.ndarray:
    """HRP weights (summing to 1) of the columns of `returns` (daily returns, one column per asset)."""
    sample = np.cov(returns, rowvar=False)
    corr = correlation(sample)
    distance = np.sqrt(np.clip((1.0 - corr) / 2.0, a_min=0.0, a_max=1.0))
    order = leaf_order(sch.linkage(ssd.squareform(distance, checks=False), "single"))
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


def leaf_order(linkage: np.ndarray) -> list[int]:
    """The leaves from left to right, as `sch.to_tree(linkage).pre_order()` lists them (row i of the
    linkage joins its left and right child into node n + i) without building ~2n node objects."""
    n = len(linkage) + 1
    order: list[int] = []
    stack = [2 * n - 2]  # the root
    while stack:
        node = stack.pop()
        if node < n:
            order.append(node)
        else:
            left, right = int(linkage[node - n, 0]), int(linkage[node - n, 1])
            stack += [right, left]
    return order


def _cluster_variance(cov: np.ndarray, items: list[int]) -> float:
    """The variance of a cluster's inverse-variance portfolio (`HRPOpt._get_cluster_var`)."""
    part = cov[np.ix_(items, items)]
    inverse = 1 / np.diag(part)
    inverse /= inverse.sum()
    return float(np.linalg.multi_dot((inverse, part, inverse)))
