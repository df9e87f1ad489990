"""Rows packed for binary COPY here are stored byte for byte as asyncpg's COPY of the same records stores them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from engine.db.copybinary import copy_binary
from engine.runs.refresh import LINES_TYPES
from serving import lines

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
