"""A run creates its partitions before workers start: no loader takes a parent's exclusive lock mid-run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import pytest

from engine.db import PriceRow, load_price_rows, migrate
from engine.db.partitions import ensure_run_partitions
from tests.conftest import Database

TODAY = date.today()  # the loader creates partitions up to a year after the real today
NEXT_YEAR = TODAY.year + 1


@pytest.fixture
async def pool(pg_database: Database) -> AsyncIterator[asyncpg.Pool]:
    await migrate(pg_database.owner_url)
    pool = await asyncpg.create_pool(pg_database.owner_url, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


def one_day(symbol: str, day: str) -> list[PriceRow]:
    return [PriceRow(symbol, date.fromisoformat(day), 10.0, 11.0, 9.0, 10.5, 10.4, 1000, 10.2)]


async def partitions(pool: asyncpg.Pool, parent: str) -> set[str]:
    rows = await pool.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = $1::regclass",
        parent,
    )
    return {r["relname"] for r in rows}


async def test_ensure_run_partitions_covers_history_and_next_year(pool: asyncpg.Pool) -> None:
    """Price years from the history start to a year ahead and statement slices from 1985 exist."""
    await ensure_run_partitions(pool, date(1990, 1, 1), TODAY)
    prices = await partitions(pool, "prices_daily")
    assert {f"prices_daily_y{year}" for year in range(1990, NEXT_YEAR + 1)} <= prices
    statements = await partitions(pool, "statements")
    assert {f"statements_y{y}_{y + 4}" for y in range(1985, NEXT_YEAR + 1, 5)} <= statements


async def test_ensure_run_partitions_lets_loads_pass_a_busy_writer(pool: asyncpg.Pool) -> None:
    """With a writer's transaction open on prices_daily, a load into a pre-created year goes through,
    while a load needing a new partition waits for the parent's exclusive lock (why runs pre-create)."""
    await ensure_run_partitions(pool, date(1990, 1, 1), TODAY)
    async with pool.acquire() as writer:
        transaction = writer.transaction()
        await transaction.start()
        try:
            await writer.execute(  # an in-flight batch: holds RowExclusiveLock on prices_daily
                "INSERT INTO prices_daily (symbol, date, open, high, low, close, volume)"
                " VALUES ('BUSY', '2020-05-05', 1, 1, 1, 1, 1)"
            )
            result = await asyncio.wait_for(load_price_rows(pool, "OLD", one_day("OLD", "1991-03-04")), 10)
            assert result.inserted == 1
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(load_price_rows(pool, "OLDER", one_day("OLDER", "1975-03-03")), 1)
        finally:
            await transaction.rollback()
