"""Rolling sums and means of many columns at once, held bit for bit to pandas' rolling windows; the TTM
tables and payload matrices built on them, held to the pandas and per-payload paths they replaced."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from devkit import factories
from serving import statements as st
from serving.company import QUARTERS
from serving.rolling import rolling_mean, rolling_sum
from tests.serving.former import pandas_ttm


def _bits(values: np.ndarray) -> np.ndarray:
    """Each float's bit pattern, every NaN as one (so -0.0 differs from 0.0 and NaNs compare equal)."""
    return np.where(np.isnan(values), np.nan, values).view(np.int64)


def _columns(seed: int) -> np.ndarray:
    """Columns that make a rolling sum's order of operations show: wide magnitudes, cancellations, runs
    of one value, signed zeros, NaN and infinity."""
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(0, 50))
    shape = (rows, 6)
    values = np.concatenate(
        [
            rng.normal(size=shape) * 10.0 ** rng.integers(-3, 15, size=shape),
            rng.choice([1e15, 1.0, -1e15, 0.1, 0.2, 0.3, -0.0, 0.0, 3.0], size=shape),
            rng.choice([5.0, 5.0, 5.0, 7.0, -2.0], size=shape),
            rng.lognormal(20, 3, size=shape) * rng.choice([1, -1], size=shape),
        ],
        axis=1,
    )
    values[rng.random(values.shape) < rng.choice([0.0, 0.05, 0.3])] = np.nan
    if rows:
        values[rng.integers(0, rows), rng.integers(0, values.shape[1])] = np.inf
    return values


@pytest.mark.parametrize("seed", range(40))
def test_rolling_sum_and_mean_equal_pandas_bit_for_bit(seed: int) -> None:
    """Each column's rolling sum and mean over four rows is pandas' own, to the last bit."""
    values = _columns(seed)
    windows = pd.DataFrame(values).rolling(4, min_periods=4)
    np.testing.assert_array_equal(_bits(rolling_sum(values, 4)), _bits(windows.sum().to_numpy()))
    np.testing.assert_array_equal(_bits(rolling_mean(values, 4)), _bits(windows.mean().to_numpy()))


def test_columns_rolled_together_equal_each_rolled_alone() -> None:
    """Tables of different lengths rolled side by side (NaN below the shorter) give each its own result."""
    short, long = _columns(3)[:9], _columns(5)
    stacked = np.full((len(long), 2 * long.shape[1]), np.nan)
    stacked[: len(short), : short.shape[1]] = short
    stacked[:, short.shape[1] :] = long
    together = rolling_sum(stacked, 4)
    np.testing.assert_array_equal(
        _bits(together[: len(short), : short.shape[1]]), _bits(rolling_sum(short, 4))
    )
    np.testing.assert_array_equal(_bits(together[:, short.shape[1] :]), _bits(rolling_sum(long, 4)))


@pytest.mark.parametrize("seed", [1, 4, 11])
def test_rolling_ttm_equals_pandas_windows(seed: int) -> None:
    """Income and cash flow TTM tables (a quarter missing in one) equal pandas' windows bit for bit, one
    table at a time and all at once."""
    payloads = factories.statement_payloads(years=8, seed=seed)
    tables = []
    for kind in ("income", "cashflow"):
        quarterly = st.statement_frame(payloads[kind], period=QUARTERS)
        tables += [quarterly, quarterly.drop(quarterly.index[13])]
    together = st.rolling_ttms([(t.index, list(t.columns), t.to_numpy(dtype=float)) for t in tables])
    for table, values in zip(tables, together, strict=True):
        expected = pandas_ttm(table)
        assert expected.isna().all(axis=1).any() == (len(table) % 4 != 0)  # the gap's windows are NaN
        got = st.ttm(table, rolling=True)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        np.testing.assert_array_equal(_bits(got.to_numpy()), _bits(expected.to_numpy()))
        np.testing.assert_array_equal(_bits(values), _bits(expected.to_numpy()))


def _payload_rows(payloads: list[dict[str, Any]]) -> tuple[list[str], np.ndarray]:
    return st.value_matrix([st.payload_values(p) for p in payloads])


@pytest.mark.parametrize(
    "payloads",
    [
        [],
        [{"date": "2024-09-28", "revenue": 1, "eps": None, "note": "x", "flag": True, "fiscalYear": "2024"}],
        [{"date": "d", "revenue": 1, "eps": 2.5}, {"date": "d", "revenue": None, "eps": 3}],
        [{"date": "d", "revenue": 1, "eps": 2.5}, {"date": "d", "eps": 3, "revenue": 4}],  # another order
        [{"date": "d", "revenue": 1, "eps": 2.5}, {"date": "d", "revenue": "n/a", "eps": 3}],  # a text
        [{"date": "d", "revenue": 2**53 + 1, "eps": np.float64(0.1)}, {"date": "d", "revenue": 7, "eps": 1}],
        [{"date": "d", "revenue": 1, "eps": 2}, {"date": "d", "revenue": False, "eps": 3}],
    ],
)
def test_payload_matrix_equals_each_payloads_values(payloads: list[dict[str, Any]]) -> None:
    """The columns and values taken a column at a time equal those of each payload's numbers."""
    columns, matrix = st.payload_matrix(payloads)
    want_columns, want = _payload_rows(payloads)
    assert columns == want_columns
    assert matrix.shape == want.shape
    np.testing.assert_array_equal(_bits(matrix), _bits(want))


def test_payload_matrix_of_generated_statements() -> None:
    """Every kind of the generated statements: the same columns and values as per payload."""
    for kind, payloads in factories.statement_payloads(years=6, seed=2).items():
        columns, matrix = st.payload_matrix(payloads)
        want_columns, want = _payload_rows(payloads)
        assert columns == want_columns, kind
        np.testing.assert_array_equal(_bits(matrix), _bits(want))
