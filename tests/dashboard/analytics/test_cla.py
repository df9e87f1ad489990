"""The critical line algorithm's turning points equal PyPortfolioOpt's `CLA` bit for bit.

The oracle is `CLA(mu, cov).min_volatility()`, whose `CLA.w` the optimiser used before, on the inputs the
Portfolio page builds from the seeded demo prices made ragged (a late listing, a gap), plus tied expected
returns, a symbol alone above the rest and inputs the algorithm cannot handle.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from pypfopt import CLA

from dashboard.analytics import cla
from dashboard.analytics import optimize as opt
from dashboard.analytics import portfolio as pf
from devkit import factories

COMBINATIONS = [
    c for k in (2, 3, 5, 8) for c in itertools.islice(itertools.combinations(factories.RAGGED_SYMBOLS, k), 12)
]


def library(mu: np.ndarray, cov: np.ndarray) -> list[np.ndarray] | type[BaseException]:
    try:
        solver = CLA(pd.Series(mu), pd.DataFrame(cov))
        solver.min_volatility()
    except (ValueError, np.linalg.LinAlgError, IndexError, TypeError) as exc:
        return type(exc)
    return list(solver.w)


def ours(mu: np.ndarray, cov: np.ndarray) -> list[np.ndarray] | type[BaseException]:
    try:
        return cla.turning_points(mu, cov)
    except (ValueError, np.linalg.LinAlgError, IndexError, TypeError) as exc:
        return type(exc)


def assert_same(mu: np.ndarray, cov: np.ndarray) -> list[np.ndarray] | type[BaseException]:
    expected, found = library(mu, cov), ours(mu, cov)
    if isinstance(expected, list):
        assert isinstance(found, list)
        assert len(found) == len(expected)
        for mine, theirs in zip(found, expected, strict=True):
            np.testing.assert_array_equal(mine, theirs)
    else:
        assert found is expected or (isinstance(found, list) and not found)  # an empty list: where it raised
    return found


@pytest.mark.parametrize("symbols", COMBINATIONS)
def test_turning_points_equal_pypfopt(closes: pd.DataFrame, symbols: tuple[str, ...]) -> None:
    """Every turning point equals `CLA.w`, exactly, on the page's Ledoit-Wolf inputs."""
    aligned, _ = pf.align_prices(closes[list(symbols)])
    inputs = opt._build_inputs(aligned)
    found = assert_same(inputs.mu.to_numpy(), inputs.cov.to_numpy())
    assert isinstance(found, list)
    assert len(found) >= 2


@pytest.mark.parametrize("seed", range(40))
def test_turning_points_equal_pypfopt_on_random_inputs(seed: int) -> None:
    """Random covariances of 2-12 assets, some with tied or negative expected returns: the same points."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 13))
    factors = rng.normal(0.0, 0.2, (n, n))
    cov = factors @ factors.T + np.eye(n) * rng.uniform(1e-4, 0.05)
    mu = rng.normal(0.08, 0.1, n)
    if seed % 4 == 0:
        mu[1] = mu[0]  # tied expected returns
    assert_same(mu, cov)


def test_degenerate_inputs_fail_as_pypfopt_fails() -> None:
    """A singular covariance (two identical assets and nothing else) raises or ends as the library does."""
    cov = np.array([[0.04, 0.04], [0.04, 0.04]])
    assert_same(np.array([0.1, 0.1]), cov)
    assert_same(np.array([0.1, 0.05]), cov)
