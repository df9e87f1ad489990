"""One run at a time: a Postgres advisory lock held on a dedicated connection for the whole run.

A session-level advisory lock belongs to its connection, so a run killed with `kill -9` (or whose
host vanished) loses it as soon as the server sees the connection close: no stale lock files.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg
from asyncpg.exceptions import InternalClientError

from engine.db.pool import describe
from engine.errors import RunLockedError, StoreUnavailable

# Any constant works as long as every engine agrees on it; this one spells "MYCFARUN" in hex-ish.
RUN_LOCK_KEY = 0x4D59_4346_4152_554E
LOCK_TIMEOUT_S = 15.0
# What unlocking on a connection that is dying may raise; its lock is freed by the server anyway.
_DEAD_CONNECTION = (asyncpg.PostgresError, asyncpg.InterfaceError, InternalClientError, OSError, TimeoutError)


@asynccontextmanager
async def run_lock(
    dsn: str, *, on_lost: Callable[[], None] | None = None, key: int = RUN_LOCK_KEY
) -> AsyncIterator[asyncpg.Connection]:
    """Hold the run lock for the duration of the block.

    Args:
        dsn: the database URL (the lock is per database).
        on_lost: called if the lock connection dies mid-run (the lock is then gone too), so the
            run can stop instead of racing a second run.
        key: the advisory lock key.

    Raises:
        RunLockedError: another session holds the lock.
        StoreUnavailable: the lock's connection could not be opened or failed taking the lock.
    """
    try:
        conn: asyncpg.Connection = await asyncpg.connect(dsn, timeout=LOCK_TIMEOUT_S)
    except _DEAD_CONNECTION as exc:
        raise StoreUnavailable(f"run lock: database unreachable: {describe(exc, dsn)}") from None
    try:
        try:
            acquired = await conn.fetchval("SELECT pg_try_advisory_lock($1)", key, timeout=LOCK_TIMEOUT_S)
        except _DEAD_CONNECTION as exc:
            raise StoreUnavailable(f"run lock: {describe(exc, dsn)}") from exc
        if not acquired:
            raise RunLockedError("another run holds the lock (mycfa-engine status shows it)")

        lost = False

        def listener(_conn: object) -> None:
            nonlocal lost
            lost = True
            if on_lost is not None:
                on_lost()

        conn.add_termination_listener(listener)
        try:
            yield conn
        finally:
            conn.remove_termination_listener(listener)
            if not lost and not conn.is_closed():
                # The connection can die between the check and the call (terminated backend): asyncpg
                # then raises from the half-read termination, which must not mask the run's outcome.
                with contextlib.suppress(*_DEAD_CONNECTION):
                    await conn.execute("SELECT pg_advisory_unlock($1)", key, timeout=LOCK_TIMEOUT_S)
    finally:
        await conn.close(timeout=LOCK_TIMEOUT_S)
