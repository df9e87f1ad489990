"""Apply schema/NNN_*.sql in order, once each, recorded in schema_migrations (what `migrate` runs).

Each file runs in one transaction under `lock_timeout` and `statement_timeout`, so a migration never
queues the running release's reads behind a lock for long; an index on a large table is built
CONCURRENTLY outside the transaction, and a rewrite of a large table is refused before anything runs
(engine/db/migration_plan.py).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from engine.db import queries
from engine.db.migration_plan import (
    MB,
    ConcurrentIndex,
    InTransaction,
    Step,
    index_sql,
    parse_file,
    plan,
    touched_tables,
)
from engine.db.pool import create_pool, describe
from engine.errors import MigrationError, StoreUnavailable

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schema"
MIGRATION_FILE = re.compile(r"^\d{3}_[a-z0-9_]+\.sql$")
MIGRATE_TIMEOUT_S = 300.0  # waiting for another migrate's advisory lock, and the bookkeeping queries
APPLICATION_NAME = "mycfa-migrate"  # how pg_stat_activity (and scripts/drill upgrade) tells it apart
# A file that met lock_timeout is rolled back and tried again after 1, 2, 4, 8 s: a long dashboard
# query or engine batch holding the table usually ends within that.
LOCK_ATTEMPTS = 5
LOCK_RETRY_FIRST_S = 1.0
CLIENT_MARGIN_S = 30.0  # the client waits this much past statement_timeout, so the server cancels first
MAX_IDENTIFIER = 63


@dataclass(frozen=True, slots=True)
class MigrationLimits:
    """The timeouts a migration runs under, and the size from which a table is large (settings
    MYCFA_MIGRATE_LOCK_TIMEOUT_S, MYCFA_MIGRATE_STATEMENT_TIMEOUT_S, MYCFA_MIGRATE_LARGE_TABLE_MB)."""

    lock_timeout_s: float = 2.0
    statement_timeout_s: float = 900.0
    large_table_mb: float = 10.0

    @property
    def client_timeout_s(self) -> float:
        return self.statement_timeout_s + CLIENT_MARGIN_S


def migration_files(schema_dir: Path = SCHEMA_DIR) -> list[Path]:
    """The schema files in the order they apply (by their number prefix)."""
    if not schema_dir.is_dir():
        raise MigrationError(f"schema directory {schema_dir} not found")
    return sorted(path for path in schema_dir.iterdir() if MIGRATION_FILE.match(path.name))


async def apply_migrations(
    target: asyncpg.Pool | asyncpg.Connection,
    *,
    schema_dir: Path = SCHEMA_DIR,
    timeout_s: float = MIGRATE_TIMEOUT_S,
    limits: MigrationLimits = MigrationLimits(),
) -> list[str]:
    """Apply the schema files not yet recorded, each in its own transaction; return their names.

    Concurrent callers serialise on an advisory lock, so two engines starting at once apply each
    file once. A recorded file whose text has changed since is refused: schema changes go into a
    new numbered file. A file that meets `lock_timeout` is rolled back and retried (LOCK_ATTEMPTS).

    Raises:
        MigrationError: a file failed (its transaction rolled back), was edited after being applied,
            would rewrite a large table, or kept meeting lock_timeout.
        StoreUnavailable: the connection was lost.
    """
    files = migration_files(schema_dir)
    if isinstance(target, asyncpg.Pool):
        async with target.acquire(timeout=timeout_s) as conn:
            return await _apply(conn, files, timeout_s, limits)
    return await _apply(target, files, timeout_s, limits)


async def _apply(
    conn: asyncpg.Connection, files: list[Path], timeout_s: float, limits: MigrationLimits
) -> list[str]:
    applied_now: list[str] = []
    try:
        await conn.execute(queries.MIGRATIONS_LOCK, timeout=timeout_s)
        try:
            # After the advisory lock: waiting for another migrate is not a lock to give up on.
            await _set_limits(conn, limits, timeout_s)
            await conn.execute(queries.CREATE_MIGRATIONS_TABLE, timeout=timeout_s)
            recorded = {
                row["filename"]: row["sha256"]
                for row in await conn.fetch(queries.APPLIED_MIGRATIONS, timeout=timeout_s)
            }
            for path in files:
                text = path.read_text(encoding="utf-8")
                digest = hashlib.sha256(text.encode()).hexdigest()
                if path.name in recorded:
                    if recorded[path.name] != digest:
                        raise MigrationError(
                            "changed after it was applied; add a new file", filename=path.name
                        )
                    continue
                try:
                    await _apply_file(conn, text, (path.name, digest), limits)
                except MigrationError as exc:
                    if exc.filename:
                        raise
                    raise MigrationError(str(exc), filename=path.name) from exc.__cause__
                except asyncpg.PostgresError as exc:
                    raise MigrationError(describe(exc), filename=path.name) from exc
                applied_now.append(path.name)
        finally:
            if not conn.is_closed():
                await conn.execute(queries.MIGRATIONS_UNLOCK, timeout=timeout_s)
                await conn.execute(queries.RESET_MIGRATION_LIMITS, timeout=timeout_s)
    except (OSError, asyncpg.InterfaceError, asyncpg.exceptions.PostgresConnectionError) as exc:
        raise StoreUnavailable(f"connection lost while migrating: {describe(exc)}") from exc
    except TimeoutError as exc:
        raise MigrationError(
            f"timed out after {timeout_s:g}s", filename=applied_now[-1] if applied_now else ""
        ) from exc
    return applied_now


async def _set_limits(conn: asyncpg.Connection, limits: MigrationLimits, timeout_s: float) -> None:
    await conn.execute(
        queries.SET_MIGRATION_LIMITS,
        APPLICATION_NAME,
        f"{round(limits.lock_timeout_s * 1000)}ms",
        f"{round(limits.statement_timeout_s * 1000)}ms",
        timeout=timeout_s,
    )


async def _apply_file(
    conn: asyncpg.Connection, text: str, record: tuple[str, str], limits: MigrationLimits
) -> None:
    """Plan one file against the sizes of the tables it touches, then run its steps; record it last."""
    statements = parse_file(text)
    sizes = {}
    for table in sorted(touched_tables(statements)):
        size = await conn.fetchval(queries.TABLE_BYTES, table, timeout=limits.client_timeout_s)
        if size is not None:  # None: the file creates it
            sizes[table] = int(size)
    steps = plan(text, statements, sizes, large_bytes=round(limits.large_table_mb * MB))
    if not steps:  # nothing but comments
        await conn.execute(queries.RECORD_MIGRATION, *record, timeout=limits.client_timeout_s)
    for number, step in enumerate(steps, start=1):
        last = number == len(steps)
        await _retrying_locks(
            functools.partial(_run_step, conn, step, record if last else None, limits), limits
        )


async def _run_step(
    conn: asyncpg.Connection, step: Step, record: tuple[str, str] | None, limits: MigrationLimits
) -> None:
    """One step; `record` (the file's name and digest) on its last, in the same transaction if it has one."""
    if isinstance(step, InTransaction):
        await _in_transaction(conn, step.sql, record, limits)
        return
    await _build_concurrently(conn, step, limits)
    if record is not None:
        await conn.execute(queries.RECORD_MIGRATION, *record, timeout=limits.client_timeout_s)


async def pause(seconds: float) -> None:
    """The wait between lock attempts (tests replace it, so they never sleep)."""
    await asyncio.sleep(seconds)


async def _retrying_locks(action: Callable[[], Awaitable[None]], limits: MigrationLimits) -> None:
    for attempt in range(LOCK_ATTEMPTS):
        try:
            await action()
            return
        except asyncpg.exceptions.LockNotAvailableError as exc:
            if attempt == LOCK_ATTEMPTS - 1:
                raise MigrationError(
                    f"met lock_timeout ({limits.lock_timeout_s:g} s) {LOCK_ATTEMPTS} times: a long"
                    f" transaction holds a table it changes ({describe(exc)}); nothing of it was applied"
                ) from exc
            await pause(LOCK_RETRY_FIRST_S * 2**attempt)


async def _in_transaction(
    conn: asyncpg.Connection, sql: str, record: tuple[str, str] | None, limits: MigrationLimits
) -> None:
    async with conn.transaction():
        await conn.execute(sql, timeout=limits.client_timeout_s)
        if record is not None:
            await conn.execute(queries.RECORD_MIGRATION, *record, timeout=limits.client_timeout_s)


async def _build_concurrently(
    conn: asyncpg.Connection, step: ConcurrentIndex, limits: MigrationLimits
) -> None:
    """CREATE INDEX CONCURRENTLY; on a partitioned table the parent's index ON ONLY it, each partition's
    built concurrently and attached (an index left INVALID by a failed build is dropped first)."""
    if await conn.fetchval(queries.TABLE_KIND, step.table, timeout=limits.client_timeout_s) != "p":
        await _concurrent(
            conn, index_sql(step.sql, table=step.table, name=step.name, concurrent=True), step.name, limits
        )
        return
    await _partitioned_index(conn, step.sql, step.table, step.name, limits)


async def _partitioned_index(
    conn: asyncpg.Connection, sql: str, table: str, name: str, limits: MigrationLimits
) -> None:
    timeout = limits.client_timeout_s
    # ON ONLY the parent: a catalog entry, invalid until every partition's index is attached.
    await conn.execute(index_sql(sql, table=table, name=name, concurrent=False, only=True), timeout=timeout)
    for row in await conn.fetch(queries.PARTITIONS_AND_INDEXES, table, name, timeout=timeout):
        if row["attached"]:
            continue
        child = _child_index_name(row["relname"], name)
        if await conn.fetchval(queries.TABLE_KIND, row["partition"], timeout=timeout) == "p":
            await _partitioned_index(conn, sql, row["partition"], child, limits)
        else:
            await _concurrent(
                conn, index_sql(sql, table=row["partition"], name=child, concurrent=True), child, limits
            )
        await conn.execute(f"ALTER INDEX {_quoted(name)} ATTACH PARTITION {_quoted(child)}", timeout=timeout)


async def _concurrent(conn: asyncpg.Connection, sql: str, name: str, limits: MigrationLimits) -> None:
    timeout = limits.client_timeout_s
    if await conn.fetchval(queries.INDEX_IS_INVALID, name, timeout=timeout):
        await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {_quoted(name)}", timeout=timeout)
    # A concurrent build waits for the transactions older than it; that wait blocks nobody (its lock
    # lets reads and writes through), so it is bounded by statement_timeout, not lock_timeout.
    await conn.execute(
        queries.SET_LOCK_TIMEOUT_MS, f"{round(limits.statement_timeout_s * 1000)}ms", timeout=timeout
    )
    try:
        await conn.execute(sql, timeout=timeout)
    finally:
        await conn.execute(
            queries.SET_LOCK_TIMEOUT_MS, f"{round(limits.lock_timeout_s * 1000)}ms", timeout=timeout
        )


def _child_index_name(partition: str, index: str) -> str:
    name = f"{partition}_{index}"
    if len(name) <= MAX_IDENTIFIER:
        return name
    return f"{name[: MAX_IDENTIFIER - 9]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _quoted(identifier: str) -> str:
    """An index name from a schema file (code, never input), quoted for DDL."""
    return '"' + identifier.replace('"', '""') + '"'


async def migrate(
    dsn: str,
    *,
    schema_dir: Path = SCHEMA_DIR,
    timeout_s: float = MIGRATE_TIMEOUT_S,
    limits: MigrationLimits = MigrationLimits(),
) -> list[str]:
    """Connect to `dsn`, apply pending migrations, disconnect: the body of `mycfa-engine migrate`.

    Raises:
        StoreUnavailable: the database cannot be reached (the message never holds the password).
        MigrationError: a migration failed.
    """
    pool = await create_pool(dsn, min_size=1, max_size=1, command_timeout=timeout_s)
    try:
        return await apply_migrations(pool, schema_dir=schema_dir, timeout_s=timeout_s, limits=limits)
    finally:
        await pool.close()
