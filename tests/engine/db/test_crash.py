"""A batch whose backend is killed mid-COPY: nothing of it is visible; with retries it lands once, whole."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from engine.db import load_prices
from engine.db.pool import outage_bound
from engine.errors import StoreUnavailable
from tests.conftest import Database
from tests.engine.db.conftest import price

BLOCK_KEY = 4242
# Rows of symbol KILL* wait on an advisory lock the test holds when they reach this date, so the
# COPY is provably in flight (rows before it already inserted) when the test kills the backend.
BLOCKING_TRIGGER = f"""
CREATE OR REPLACE FUNCTION test_block_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.symbol LIKE 'KILL%' AND NEW.date = '2024-03-01' THEN
        PERFORM pg_advisory_xact_lock_shared({BLOCK_KEY});
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER test_block_copy BEFORE INSERT ON prices_daily
    FOR EACH ROW EXECUTE FUNCTION test_block_copy();
"""
DAYS = [f"2024-{month:02d}-{day:02d}" for month in (1, 2, 3, 4) for day in range(1, 29)]


@pytest.fixture
async def admin(store_db: Database) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection to the module's database, holding the lock the COPY will wait on."""
    conn = await asyncpg.connect(store_db.admin_url)
    await conn.execute(BLOCKING_TRIGGER)
    await conn.execute("SELECT pg_advisory_lock($1)", BLOCK_KEY)
    try:
        yield conn
    finally:
        await conn.close()


async def kill_when_blocked(admin: asyncpg.Connection, database: str) -> int:
    """Wait until a backend sits inside its COPY on our lock, check it has copied rows, terminate it."""
    for _ in range(2000):
        row = await admin.fetchrow(
            "SELECT a.pid, p.tuples_processed FROM pg_stat_activity a"
            " JOIN pg_stat_progress_copy p ON p.pid = a.pid"
            " WHERE a.datname = $1 AND a.wait_event_type = 'Lock' AND a.wait_event = 'advisory'",
            database,
        )
        if row is not None:
            assert row["tuples_processed"] > 0, "the COPY should already have inserted rows"
            await admin.fetchval("SELECT pg_terminate_backend($1)", row["pid"])
            await admin.execute("SELECT pg_advisory_unlock($1)", BLOCK_KEY)
            return int(row["tuples_processed"])
        await asyncio.sleep(0.005)
    raise AssertionError("the loader never blocked inside its COPY")


async def test_load_prices_killed_mid_copy_leaves_nothing(
    pool: asyncpg.Pool, admin: asyncpg.Connection, store_db: Database
) -> None:
    """pg_terminate_backend during the COPY: with no retry allowed the loader fails and no row of the batch is visible."""
    rows = [price("KILL1", day) for day in DAYS]
    with outage_bound(0):
        load = asyncio.create_task(load_prices(pool, "KILL1", rows, attempts=1, retry_wait=0))
    copied = await kill_when_blocked(admin, store_db.name)
    with pytest.raises(StoreUnavailable):
        await load
    assert copied > 0
    assert await pool.fetchval("SELECT count(*) FROM prices_daily WHERE symbol = 'KILL1'") == 0


async def test_load_prices_killed_mid_copy_retried_whole(
    pool: asyncpg.Pool, admin: asyncpg.Connection, store_db: Database
) -> None:
    """With retries, the batch is redone from its first row on a new connection and lands exactly once."""
    rows = [price("KILL2", day) for day in DAYS]
    load = asyncio.create_task(load_prices(pool, "KILL2", rows, attempts=2, retry_wait=0))
    await kill_when_blocked(admin, store_db.name)
    result = await load
    assert (result.path, result.inserted) == ("backfill", len(DAYS))
    assert await pool.fetchval("SELECT count(*) FROM prices_daily WHERE symbol = 'KILL2'") == len(DAYS)
