"""Load typed batches into prices_daily and statements: a COPY backfill path and a staged merge path.

Per batch (one symbol's prices, or one symbol's statements of one kind), inside one transaction:

- **backfill** when nothing is stored for that symbol in the batch's key range (a first load, or
  new dates after the last stored one): binary COPY straight into the partitioned table, rows fed
  in the order PostgreSQL routes fastest (rows.copy_order). No row can conflict, so the end state is
  exactly what the merge would give.
- **merge** otherwise: binary COPY into a temporary staging table, then one INSERT ... SELECT ...
  ON CONFLICT DO UPDATE that writes only new or changed rows.

Either way duplicates are removed first (rows.dedupe_*), quarantined rows are written in the same
transaction, and a dropped connection repeats the whole batch (pool.run_batch), never half a COPY.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import asyncpg
import orjson

from engine.db import queries
from engine.db.pool import BATCH_ATTEMPTS, RETRY_WAIT_S, run_batch, store_boundary
from engine.db.rows import (
    PRICE_COLUMNS,
    STATEMENT_COLUMNS,
    PriceRow,
    QuarantineRow,
    StatementRow,
    copy_order,
    dedupe_prices,
    dedupe_statements,
)
from engine.db.validate import BALANCE_TOLERANCE, parse_prices, parse_statements
from engine.errors import LoadError

LoadPath = Literal["backfill", "merge", "none"]
DEFAULT_TIMEOUT_S = 120.0
PARTITIONS_AHEAD = timedelta(days=366)  # next year's partition exists before its first trading day


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one batch did to the main tables, and how many rows went to quarantine instead."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    path: LoadPath = "none"

    @property
    def changed(self) -> int:
        """Rows written to the main table (inserted + updated): 0 for an identical rerun."""
        return self.inserted + self.updated


class _BackfillConflict(Exception):
    """The COPY met a stored row after all (written outside our lock): redo the batch as a merge."""


async def write_quarantine(
    conn: asyncpg.Connection, rows: Sequence[QuarantineRow], *, timeout_s: float
) -> None:
    """Record refused rows (in the caller's transaction, so they commit with the batch or not at all)."""
    if not rows:
        return
    await conn.execute(
        queries.INSERT_QUARANTINE,
        [r.dataset for r in rows],
        [r.symbol for r in rows],
        [r.kind for r in rows],
        [r.reason for r in rows],
        [orjson.dumps(r.payload, option=orjson.OPT_NON_STR_KEYS).decode() for r in rows],
        timeout=timeout_s,
    )


# Years whose partitions are known to exist, per pool: skips a transaction per batch. A partition
# dropped by hand after being cached makes the COPY fail loudly (no partition for the row).
_partitions_known: dict[tuple[int, str], set[int]] = {}


@store_boundary
async def _ensure_partitions(pool: asyncpg.Pool, sql: str, first: date, last: date, timeout_s: float) -> None:
    # Its own short transaction: creating a partition locks the parent, which must not last a batch.
    ahead = max(last, date.today() + PARTITIONS_AHEAD)
    known = _partitions_known.setdefault((id(pool), sql), set())
    years = set(range(first.year, ahead.year + 1))
    if years <= known:
        return
    async with pool.acquire(timeout=timeout_s) as conn, conn.transaction():
        await conn.execute(queries.SET_LOCK_TIMEOUT, timeout=timeout_s)
        await conn.fetchval(sql, first, ahead, timeout=timeout_s)
    known |= years


async def _load(
    pool: asyncpg.Pool,
    *,
    dataset: str,
    symbol: str,
    lock_key: str,
    rows: Sequence[tuple[Any, ...]],
    quarantined: Sequence[QuarantineRow],
    lock_and_check: Callable[[asyncpg.Connection], Awaitable[bool]],
    backfill: Callable[[asyncpg.Connection], Awaitable[None]],
    merge: Callable[[asyncpg.Connection], Awaitable[tuple[int, int]]],
    path: Literal["auto", "merge"],
    timeout_s: float,
    attempts: int,
    retry_wait: float,
) -> LoadResult:
    async def work(conn: asyncpg.Connection, allow_backfill: bool) -> LoadResult:
        await write_quarantine(conn, quarantined, timeout_s=timeout_s)
        if not rows:
            return LoadResult(quarantined=len(quarantined))
        if not allow_backfill:
            await conn.execute(queries.BATCH_LOCK, lock_key, timeout=timeout_s)
        elif not await lock_and_check(conn):  # takes the batch lock too, in the same round trip
            try:
                await backfill(conn)
            except asyncpg.UniqueViolationError as exc:
                raise _BackfillConflict from exc
            return LoadResult(inserted=len(rows), quarantined=len(quarantined), path="backfill")
        inserted, updated = await merge(conn)
        return LoadResult(
            inserted=inserted,
            updated=updated,
            unchanged=len(rows) - inserted - updated,
            quarantined=len(quarantined),
            path="merge",
        )

    async def attempt(allow_backfill: bool) -> LoadResult:
        return await run_batch(
            pool,
            lambda conn: work(conn, allow_backfill),
            dataset=dataset,
            symbol=symbol,
            timeout_s=timeout_s,
            attempts=attempts,
            retry_wait=retry_wait,
        )

    try:
        return await attempt(path == "auto")
    except _BackfillConflict:
        return await attempt(False)


async def load_price_rows(
    pool: asyncpg.Pool,
    symbol: str,
    rows: Iterable[PriceRow],
    *,
    quarantined: Sequence[QuarantineRow] = (),
    path: Literal["auto", "merge"] = "auto",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    attempts: int = BATCH_ATTEMPTS,
    retry_wait: float = RETRY_WAIT_S,
) -> LoadResult:
    """Load already-validated price rows of one symbol (deduplicated here), with their quarantine rows.

    Args:
        path: "auto" picks backfill when nothing is stored for the symbol in the batch's date range,
            else merge; "merge" forces the staged merge.

    Raises:
        LoadError: a row belongs to another symbol, or the database refused the batch.
        StoreUnavailable: the connection dropped on every attempt.
    """
    batch = dedupe_prices(rows)
    # Sorted by (symbol, date): every row is `symbol`'s exactly when the first and last ones are.
    if batch and not batch[0].symbol == batch[-1].symbol == symbol:
        raise LoadError("batch holds rows of another symbol", dataset="prices", symbol=symbol)
    first = batch[0].date if batch else date.today()
    last = batch[-1].date if batch else first

    if batch:
        await _ensure_partitions(pool, queries.ENSURE_PRICE_PARTITIONS, first, last, timeout_s)

    lock_key = f"mycfa:prices:{symbol}"

    async def lock_and_check(conn: asyncpg.Connection) -> bool:
        found = await conn.fetchval(
            queries.LOCK_PRICES_STORED_IN_RANGE, lock_key, symbol, first, last, timeout=timeout_s
        )
        return bool(found)

    async def backfill(conn: asyncpg.Connection) -> None:
        await conn.copy_records_to_table(
            "prices_daily", records=copy_order(batch), columns=PRICE_COLUMNS, timeout=timeout_s
        )

    async def merge(conn: asyncpg.Connection) -> tuple[int, int]:
        await conn.execute(queries.CREATE_STAGE_PRICES, timeout=timeout_s)
        await conn.copy_records_to_table(
            queries.STAGE_PRICES, records=batch, columns=PRICE_COLUMNS, timeout=timeout_s
        )
        counts = await conn.fetchrow(queries.MERGE_PRICES, symbol, first, last, timeout=timeout_s)
        assert counts is not None
        return int(counts["inserted"]), int(counts["updated"])

    return await _load(
        pool,
        dataset="prices",
        symbol=symbol,
        lock_key=lock_key,
        rows=batch,
        quarantined=quarantined,
        lock_and_check=lock_and_check,
        backfill=backfill,
        merge=merge,
        path=path,
        timeout_s=timeout_s,
        attempts=attempts,
        retry_wait=retry_wait,
    )


async def load_prices(
    pool: asyncpg.Pool,
    symbol: str,
    rows: Iterable[Mapping[str, Any]],
    adjusted: Iterable[Mapping[str, Any]] = (),
    **options: Any,
) -> LoadResult:
    """Validate FMP price rows (historical-price-eod/full, plus dividend-adjusted) and load them.

    `options` are those of load_price_rows (path, timeout_s, attempts, retry_wait).
    """
    parsed = parse_prices(symbol, rows, adjusted)
    return await load_price_rows(pool, symbol, parsed.rows, quarantined=parsed.quarantined, **options)


async def load_statement_rows(
    pool: asyncpg.Pool,
    symbol: str,
    kind: str,
    rows: Iterable[StatementRow],
    *,
    quarantined: Sequence[QuarantineRow] = (),
    path: Literal["auto", "merge"] = "auto",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    attempts: int = BATCH_ATTEMPTS,
    retry_wait: float = RETRY_WAIT_S,
) -> LoadResult:
    """Load already-validated statement rows of one symbol and kind; a changed payload is a restatement.

    Raises:
        LoadError: a row belongs to another symbol or kind, or the database refused the batch.
        StoreUnavailable: the connection dropped on every attempt.
    """
    batch = dedupe_statements(rows)
    if any(row.symbol != symbol or row.kind != kind for row in batch):
        raise LoadError(
            f"batch holds rows of another symbol or kind than {kind}", dataset="statements", symbol=symbol
        )
    first = min((row.fiscal_date for row in batch), default=date.today())
    last = max((row.fiscal_date for row in batch), default=first)
    periods = sorted({row.period for row in batch})

    if batch:
        await _ensure_partitions(pool, queries.ENSURE_STATEMENT_PARTITIONS, first, last, timeout_s)

    lock_key = f"mycfa:statements:{symbol}:{kind}"

    async def lock_and_check(conn: asyncpg.Connection) -> bool:
        found = await conn.fetchval(
            queries.LOCK_STATEMENTS_STORED_IN_RANGE,
            lock_key,
            symbol,
            kind,
            periods,
            first,
            last,
            timeout=timeout_s,
        )
        return bool(found)

    async def backfill(conn: asyncpg.Connection) -> None:
        await conn.copy_records_to_table(
            "statements", records=batch, columns=STATEMENT_COLUMNS, timeout=timeout_s
        )

    async def merge(conn: asyncpg.Connection) -> tuple[int, int]:
        await conn.execute(queries.CREATE_STAGE_STATEMENTS, timeout=timeout_s)
        await conn.copy_records_to_table(
            queries.STAGE_STATEMENTS, records=batch, columns=STATEMENT_COLUMNS, timeout=timeout_s
        )
        counts = await conn.fetchrow(queries.MERGE_STATEMENTS, symbol, kind, first, last, timeout=timeout_s)
        assert counts is not None
        return int(counts["inserted"]), int(counts["updated"])

    return await _load(
        pool,
        dataset="statements",
        symbol=symbol,
        lock_key=lock_key,
        rows=batch,
        quarantined=quarantined,
        lock_and_check=lock_and_check,
        backfill=backfill,
        merge=merge,
        path=path,
        timeout_s=timeout_s,
        attempts=attempts,
        retry_wait=retry_wait,
    )


async def load_statements(
    pool: asyncpg.Pool,
    symbol: str,
    kind: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    balance_tolerance: float = BALANCE_TOLERANCE,
    **options: Any,
) -> LoadResult:
    """Validate FMP statement rows of one kind (income, balance, cashflow, ratios, key_metrics) and load them.

    `options` are those of load_statement_rows (path, timeout_s, attempts, retry_wait).
    """
    parsed = parse_statements(symbol, kind, rows, balance_tolerance=balance_tolerance)
    return await load_statement_rows(
        pool, symbol, kind, parsed.rows, quarantined=parsed.quarantined, **options
    )
