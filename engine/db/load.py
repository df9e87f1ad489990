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
A price batch that wrote rows then derives its symbol's month-end closes in that transaction
(month_ends.py: from the rows a backfill COPYed, else read back by SQL).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypedDict, Unpack

import asyncpg
import orjson

from engine.db import queries
from engine.db.month_ends import upsert_month_end_closes
from engine.db.partitions import ensure_partitions
from engine.db.pool import BATCH_ATTEMPTS, RETRY_WAIT_S, run_batch
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


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one batch did to the main tables, and how many rows went to quarantine instead."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    path: LoadPath = "none"
    # A backfill's rows as COPYed, with the transaction's now() (the tables' updated_at default): the
    # statement follower computes a new company's tables from them (engine/runs/copied.py).
    copied: tuple[Sequence[Any], datetime] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def merged(
        cls, counts: Mapping[str, Any] | None, rows: int, quarantined: int, *, removed: int = 0
    ) -> LoadResult:
        """The result of a merge statement that returned `inserted` and `updated` counts over `rows`.

        `removed` rows (constituents that left the index) count as updated, not as unchanged.
        """
        assert counts is not None  # the merge statements always return one row of counts
        inserted, updated = int(counts["inserted"]), int(counts["updated"])
        unchanged = rows - inserted - updated
        return cls(inserted, updated + removed, unchanged, quarantined, "merge")

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


async def _open_batch(
    conn: asyncpg.Connection, quarantined: Sequence[QuarantineRow], run_id: int | None, timeout_s: float
) -> None:
    """What a batch's transaction starts with: its quarantine rows, and the run it belongs to (read by
    the statements' run_id default and trigger, schema 171)."""
    await write_quarantine(conn, quarantined, timeout_s=timeout_s)
    if run_id is not None:
        await conn.execute(queries.SET_BATCH_RUN, str(run_id), timeout=timeout_s)


def _as_given(rows: Sequence[Any]) -> Sequence[Any]:
    return rows


# What the serving layer derives from a batch's rows (docs/serving.md), run after they are written, in the
# same transaction: (connection, symbol, first and last date of the batch, the rows when they were
# COPYed by the backfill path else None, timeout).
Derive = Callable[[asyncpg.Connection, str, date, date, Sequence[Any] | None, float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BatchSpec:
    """What one table's loader needs: the table, its COPY columns, its batch lock, and its SQL.

    The shape is shared (see the module docstring); a new table's loader is a spec plus the
    arguments of its key range.
    """

    dataset: str  # as in LoadError and quarantine rows
    table: str
    columns: tuple[str, ...]
    lock_prefix: str  # the advisory lock key is this plus the batch's identity (symbol, kind)
    sql: queries.BatchSQL
    copy_order: Callable[[Sequence[Any]], Sequence[Any]] = _as_given  # the order the backfill COPY feeds
    derive: Derive | None = None


PRICES_BATCH = BatchSpec(
    "prices",
    "prices_daily",
    PRICE_COLUMNS,
    "mycfa:prices:",
    queries.PRICES_BATCH_SQL,
    copy_order,
    derive=upsert_month_end_closes,
)
STATEMENTS_BATCH = BatchSpec(
    "statements", "statements", STATEMENT_COLUMNS, "mycfa:statements:", queries.STATEMENTS_BATCH_SQL
)


class LoadOptions(TypedDict, total=False):
    """How a batch is loaded (every key optional).

    path: "auto" (default) picks backfill when nothing is stored in the batch's key range, else merge;
    "merge" forces the staged merge. timeout_s: per statement (default 120). attempts, retry_wait: how
    often and how patiently a batch whose connection dropped is tried again (pool.run_batch). run_id:
    the run the rows came in (provenance; none outside a run).
    """

    path: Literal["auto", "merge"]
    timeout_s: float
    attempts: int
    retry_wait: float
    run_id: int  # the run writing the batch: kept with each new or restated statement (schema 171)


async def _load(
    pool: asyncpg.Pool,
    spec: BatchSpec,
    identity: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    quarantined: Sequence[QuarantineRow],
    check_args: tuple[Any, ...],
    merge_args: tuple[Any, ...],
    options: LoadOptions,
) -> LoadResult:
    """Load one deduplicated batch the way `spec` says.

    `identity` (symbol, then kind for statements) names the batch lock; `check_args` and `merge_args`
    are the parameters of the spec's SQL after the lock key, both ending with the key range (first, last).
    """
    symbol, lock_key = identity[0], spec.lock_prefix + ":".join(identity)
    timeout_s = options.get("timeout_s", DEFAULT_TIMEOUT_S)
    first, last = merge_args[-2:]
    if rows:
        await ensure_partitions(pool, spec.sql.ensure_partitions, first, last, timeout_s)

    run_id = options.get("run_id")

    async def work(conn: asyncpg.Connection, allow_backfill: bool) -> LoadResult:
        await _open_batch(conn, quarantined, run_id, timeout_s)
        if not rows:
            return LoadResult(quarantined=len(quarantined))
        if not allow_backfill:
            await conn.execute(queries.BATCH_LOCK, lock_key, timeout=timeout_s)
            backfill = False
        else:  # the check takes the batch lock too, in the same round trip
            checked = await conn.fetchrow(spec.sql.lock_and_check, lock_key, *check_args, timeout=timeout_s)
            assert checked is not None
            backfill, now = not checked[0], checked[1]
        if backfill:
            try:
                await conn.copy_records_to_table(
                    spec.table, records=spec.copy_order(rows), columns=spec.columns, timeout=timeout_s
                )
            except asyncpg.UniqueViolationError as exc:
                raise _BackfillConflict from exc
            result = LoadResult(
                inserted=len(rows), quarantined=len(quarantined), path="backfill", copied=(rows, now)
            )
        else:
            await conn.execute(spec.sql.create_stage, timeout=timeout_s)
            await conn.copy_records_to_table(
                spec.sql.stage, records=rows, columns=spec.columns, timeout=timeout_s
            )
            counts = await conn.fetchrow(spec.sql.merge, *merge_args, timeout=timeout_s)
            result = LoadResult.merged(counts, len(rows), len(quarantined))
        if spec.derive is not None and result.changed:
            await spec.derive(conn, symbol, first, last, rows if backfill else None, timeout_s)
        return result

    async def attempt(allow_backfill: bool) -> LoadResult:
        return await run_batch(
            pool,
            lambda conn: work(conn, allow_backfill),
            dataset=spec.dataset,
            symbol=symbol,
            timeout_s=timeout_s,
            attempts=options.get("attempts", BATCH_ATTEMPTS),
            retry_wait=options.get("retry_wait", RETRY_WAIT_S),
        )

    try:
        return await attempt(options.get("path", "auto") == "auto")
    except _BackfillConflict:
        return await attempt(False)


async def load_price_rows(
    pool: asyncpg.Pool,
    symbol: str,
    rows: Iterable[PriceRow],
    *,
    quarantined: Sequence[QuarantineRow] = (),
    **options: Unpack[LoadOptions],
) -> LoadResult:
    """Load already-validated price rows of one symbol (deduplicated here), with their quarantine rows.

    `options` are LoadOptions (path, timeout_s, attempts, retry_wait).

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
    key = (symbol, first, last)
    return await _load(pool, PRICES_BATCH, (symbol,), batch, quarantined, key, key, options)


async def load_prices(
    pool: asyncpg.Pool,
    symbol: str,
    rows: Iterable[Mapping[str, Any]],
    adjusted: Iterable[Mapping[str, Any]] = (),
    **options: Unpack[LoadOptions],
) -> LoadResult:
    """Validate FMP price rows (historical-price-eod/full, plus dividend-adjusted) and load them.

    `options` are LoadOptions (path, timeout_s, attempts, retry_wait).
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
    **options: Unpack[LoadOptions],
) -> LoadResult:
    """Load already-validated statement rows of one symbol and kind; a changed payload is a restatement.

    `options` are LoadOptions (path, timeout_s, attempts, retry_wait).

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
    key = (symbol, kind, first, last)
    check = (symbol, kind, periods, first, last)
    return await _load(pool, STATEMENTS_BATCH, (symbol, kind), batch, quarantined, check, key, options)


async def load_statements(
    pool: asyncpg.Pool,
    symbol: str,
    kind: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    balance_tolerance: float = BALANCE_TOLERANCE,
    **options: Unpack[LoadOptions],
) -> LoadResult:
    """Validate FMP statement rows of one kind (income, balance, cashflow, ratios, key_metrics) and load them.

    `options` are LoadOptions (path, timeout_s, attempts, retry_wait).
    """
    parsed = parse_statements(symbol, kind, rows, balance_tolerance=balance_tolerance)
    return await load_statement_rows(
        pool, symbol, kind, parsed.rows, quarantined=parsed.quarantined, **options
    )
