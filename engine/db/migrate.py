"""Apply schema/NNN_*.sql in order, once each, recorded in schema_migrations (what `migrate` runs)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import asyncpg

from engine.db import queries
from engine.db.pool import create_pool, describe
from engine.errors import MigrationError, StoreUnavailable

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schema"
MIGRATION_FILE = re.compile(r"^\d{3}_[a-z0-9_]+\.sql$")
MIGRATE_TIMEOUT_S = 300.0


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
) -> list[str]:
    """Apply the schema files not yet recorded, each in its own transaction; return their names.

    Concurrent callers serialise on an advisory lock, so two engines starting at once apply each
    file once. A recorded file whose text has changed since is refused: schema changes go into a
    new numbered file.

    Raises:
        MigrationError: a file failed (its transaction rolled back) or was edited after being applied.
        StoreUnavailable: the connection was lost.
    """
    files = migration_files(schema_dir)
    if isinstance(target, asyncpg.Pool):
        async with target.acquire(timeout=timeout_s) as conn:
            return await _apply(conn, files, timeout_s)
    return await _apply(target, files, timeout_s)


async def _apply(conn: asyncpg.Connection, files: list[Path], timeout_s: float) -> list[str]:
    applied_now: list[str] = []
    try:
        await conn.execute(queries.MIGRATIONS_LOCK, timeout=timeout_s)
        try:
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
                    async with conn.transaction():
                        await conn.execute(text, timeout=timeout_s)
                        await conn.execute(queries.RECORD_MIGRATION, path.name, digest, timeout=timeout_s)
                except asyncpg.PostgresError as exc:
                    raise MigrationError(describe(exc), filename=path.name) from exc
                applied_now.append(path.name)
        finally:
            if not conn.is_closed():
                await conn.execute(queries.MIGRATIONS_UNLOCK, timeout=timeout_s)
    except (OSError, asyncpg.InterfaceError, asyncpg.exceptions.PostgresConnectionError) as exc:
        raise StoreUnavailable(f"connection lost while migrating: {describe(exc)}") from exc
    except TimeoutError as exc:
        raise MigrationError(
            f"timed out after {timeout_s:g}s", filename=applied_now[-1] if applied_now else ""
        ) from exc
    return applied_now


async def migrate(
    dsn: str, *, schema_dir: Path = SCHEMA_DIR, timeout_s: float = MIGRATE_TIMEOUT_S
) -> list[str]:
    """Connect to `dsn`, apply pending migrations, disconnect: the body of `mycfa-engine migrate`.

    Raises:
        StoreUnavailable: the database cannot be reached (the message never holds the password).
        MigrationError: a migration failed.
    """
    pool = await create_pool(dsn, min_size=1, max_size=1, command_timeout=timeout_s)
    try:
        return await apply_migrations(pool, schema_dir=schema_dir, timeout_s=timeout_s)
    finally:
        await pool.close()
