"""Rows packed for binary COPY here are stored byte for byte as asyncpg's COPY of the same records stores them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import asyncpg
import numpy as np
import pandas as pd
import pytest

from engine.db import queries
from engine.db.copybinary import copy_binary, copy_columns
from engine.runs.refresh import LINES_TYPES, METRIC_HISTORY, _records, _replace
from serving import company, lines

# Every field as bytes (array_send, timestamptz_send...): equal bytes are equal doubles to the last bit.
SENT = """
SELECT symbol, textsend(statement), textsend(basis), array_send(fiscal_dates), array_send(fiscal_years),
       array_send(periods), array_send(lines), array_send(line_values), timestamptz_send(known_since)
  FROM statement_lines WHERE symbol = ANY($1::text[]) ORDER BY symbol, statement, basis"""

RECORDS: list[tuple[Any, ...]] = [
    (
        "AAA",
        "income",
        "FY",
        [date(1994, 12, 31), date(2000, 1, 1), date(2024, 9, 28)],
        [1995, None, -3],
        ["FY", None, 'Q"4\\'],
        ["revenue", "ébitda", "a,b {c}", "NULL"],
        [1.5, None, -0.0, 0.1, 1e308, 5e-324, -2.5e-300, 123456789.0, None, 2.0**53 + 2, 7.0, -1.0],
        datetime(2024, 6, 1, 12, 30, 15, 123456, tzinfo=UTC),
    ),
    (
        "BBB",
        "cashflow",
        "TTM",
        [date(2023, 3, 31)],
        [2023],
        ["Q1"],
        ["line\twith tab\nand newline"],
        [42.0],
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
    ),
]


async def _write(
    pool: asyncpg.Pool, records: Sequence[tuple[Any, ...]], packed: bool
) -> list[asyncpg.Record]:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM statement_lines WHERE symbol = ANY($1::text[])", ["AAA", "BBB"])
        if packed:
            await conn.copy_to_table(
                "statement_lines",
                source=io.BytesIO(b"".join(copy_binary(records, LINES_TYPES))),
                columns=list(lines.COLUMNS),
                format="binary",
            )
        else:
            await conn.copy_records_to_table("statement_lines", records=records, columns=list(lines.COLUMNS))
    stored: list[asyncpg.Record] = await pool.fetch(SENT, ["AAA", "BBB"])
    return stored


async def test_packed_rows_equal_asyncpgs_copy(pool: asyncpg.Pool) -> None:
    """Texts (quotes, commas, tabs, non-ASCII), dates before and after 2000, NULL elements, signed zero,
    subnormal and extreme doubles, time zones: the same bytes stored either way."""
    assert [tuple(r) for r in await _write(pool, RECORDS, packed=True)] == [
        tuple(r) for r in await _write(pool, RECORDS, packed=False)
    ]


async def test_non_finite_floats_are_stored_as_null(pool: asyncpg.Pool) -> None:
    """A NaN or an infinity among the values is a NULL cell, as the statement tables store them."""
    values = [float("nan"), float("inf"), 1.0, float("-inf")] * 3
    await _write(pool, [(*RECORDS[0][:7], values, RECORDS[0][8])], packed=True)
    stored = await pool.fetchval("SELECT line_values FROM statement_lines WHERE symbol = 'AAA'")
    assert stored == [None, None, 1.0, None] * 3


def test_unknown_types_and_naive_timestamps_are_refused() -> None:
    """A type without a packer, or a timestamp without a time zone, raises instead of storing a guess."""
    with pytest.raises(ValueError, match="packer"):
        list(copy_binary([("x",)], ["numeric"]))
    with pytest.raises(ValueError, match="time zone"):
        list(copy_binary([(datetime(2024, 1, 1),)], ["timestamptz"]))


def _metric_frame(fiscal_years: list[Any]) -> pd.DataFrame:
    """metric_history rows as the refresh's frame holds them, with every kind of value a column meets."""
    count = len(fiscal_years)
    rng = np.random.default_rng(7)
    edges = [-0.0, 0.1, 1e308, 5e-324, -2.5e-300, 2.0**53 + 2, np.nan, np.inf, -np.inf]
    columns: dict[str, Any] = {
        "symbol": ["ÉTÉ", "AAA", "AAA", "B.B"][:count],
        "basis": "TTM",
        "fiscal_date": [date(1994, 12, 31), date(2000, 1, 1), date(2024, 9, 28), date(1999, 12, 31)][:count],
        "fiscal_year": fiscal_years,
        "period": ["Q4", None, "FY", "Q1"][:count],
        "fiscal_year_end": [date(1994, 12, 31), None, date(2024, 9, 28), None][:count],
        "known_since": pd.to_datetime(
            [datetime(2024, 6, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))] * count
        ),
    }
    for at, name in enumerate(company.METRIC_COLUMNS[len(columns) :]):
        values = rng.normal(scale=10.0 ** (at % 12), size=count)
        values[at % count] = edges[at % len(edges)]
        columns[name] = values
    return pd.DataFrame(columns)[list(company.METRIC_COLUMNS)]


@pytest.mark.parametrize(
    "fiscal_years", [[1995, 2000, -3, 2024], [1995.0, np.nan, 2024.0, 7.0], [1995, None, 2024, 1]]
)
async def test_metric_history_packed_by_column_equals_asyncpgs_copy_of_its_records(
    pool: asyncpg.Pool, fiscal_years: list[Any]
) -> None:
    """The refresh's frame of metric_history packed a column at a time (`_replace`) is stored byte for
    byte as asyncpg's COPY of `_records` stored it: texts, NULLs, dates, time zones, signed zero,
    subnormal and extreme doubles, NaN and infinities as NULL, fiscal years as ints, floats or objects."""
    frame = _metric_frame(fiscal_years)
    stored = "SELECT record_send(m) FROM metric_history m ORDER BY symbol, fiscal_date"
    symbols = sorted(set(frame["symbol"]))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.DELETE_METRIC_HISTORY, symbols)
        await conn.copy_records_to_table(
            "metric_history", records=_records(frame), columns=list(frame.columns)
        )
    former = await pool.fetch(stored)
    assert len(former) == len(frame)
    assert await _replace(pool, queries.DELETE_METRIC_HISTORY, (symbols,), METRIC_HISTORY, frame) == len(
        frame
    )
    assert await pool.fetch(stored) == former


def test_columns_of_unknown_types_or_out_of_range_are_refused() -> None:
    """A column type without a packer, a naive time or a smallint out of range raises, stores no guess."""
    with pytest.raises(ValueError, match="packer"):
        list(copy_columns([[1]], ["numeric"]))
    with pytest.raises(ValueError, match="time zone"):
        list(copy_columns([[datetime(2024, 1, 1)]], ["timestamptz"]))
    with pytest.raises(ValueError, match="int2"):
        list(copy_columns([[40_000]], ["int2"]))
