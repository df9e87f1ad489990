"""Yearly partitions of prices_daily and statements, created before the loads that need them."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg

from engine.db import queries
from engine.db.pool import store_boundary

PARTITIONS_AHEAD = timedelta(days=366)  # next year's partition exists before its first trading day
STATEMENTS_FROM = date(1985, 1, 1)  # FMP's statement history rarely reaches further back

# Years whose partitions are known to exist, per pool: skips a transaction per batch. A partition
# dropped by hand after being cached makes the COPY fail loudly (no partition for the row).
_partitions_known: dict[tuple[int, str], set[int]] = {}


@store_boundary
async def ensure_partitions(pool: asyncpg.Pool, sql: str, first: date, last: date, timeout_s: float) -> None:
    """Create the partitions one batch needs (`sql` is one of queries.ENSURE_*_PARTITIONS), up to a year ahead.

    Its own short transaction: creating a partition locks the parent, which must not last a batch.
    """
    ahead = max(last, date.today() + PARTITIONS_AHEAD)
    known = _partitions_known.setdefault((id(pool), sql), set())
    years = set(range(first.year, ahead.year + 1))
    if years <= known:
        return
    async with pool.acquire(timeout=timeout_s) as conn, conn.transaction():
        await conn.execute(queries.SET_LOCK_TIMEOUT, timeout=timeout_s)
        await conn.fetchval(sql, first, ahead, timeout=timeout_s)
    known |= years


@store_boundary
async def ensure_run_partitions(pool: asyncpg.Pool, history_start: date, today: date) -> None:
    """Create every partition the run's batches can touch before any worker writes.

    Concurrent creation is safe in the store since schema/006, but creating a partition still takes
    an ACCESS EXCLUSIVE lock on the parent table: mid-run, it would wait for every in-flight COPY and
    merge into that table, stall all the loads queued behind it, and fail its own batch after the
    loader's 10 s lock_timeout. Done here, before the workers start, the loaders find their
    partitions and never take that lock (except for a date outside these ranges).
    """
    until = today + PARTITIONS_AHEAD
    await pool.execute(queries.ENSURE_PRICE_PARTITIONS, min(history_start, today), until)
    await pool.execute(queries.ENSURE_STATEMENT_PARTITIONS, STATEMENTS_FROM, until)
