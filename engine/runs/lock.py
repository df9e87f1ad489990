"""One run at a time: a Postgres advisory lock held on a dedicated connection for the whole run.

A session-level advisory lock belongs to its connection, so a run killed with `kill -9` (or whose
host vanished) loses it as soon as the server sees the connection close: no stale lock files.
The flip side: a primary restart drops the lock with the connection. The holder then reconnects and
takes the lock again for up to `reconnect_s`, so a restart of a few seconds does not end the run;
only when that fails (still unreachable, or another run took the lock meanwhile) is the run told,
with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg
from asyncpg.exceptions import InternalClientError

from engine.db.pool import describe
from engine.errors import RunLockedError, StoreUnavailable

log = logging.getLogger("engine.run")

# Any constant works as long as every engine agrees on it; this one spells "MYCFARUN" in hex-ish.
RUN_LOCK_KEY = 0x4D59_4346_4152_554E
LOCK_TIMEOUT_S = 15.0
# A lost lock connection is retried this long: a restart or a managed failover takes seconds to ~30 s.
LOCK_RECONNECT_S = 30.0
RECONNECT_PAUSE_S = 0.5
# What unlocking on a connection that is dying may raise; its lock is freed by the server anyway.
_DEAD_CONNECTION = (asyncpg.PostgresError, asyncpg.InterfaceError, InternalClientError, OSError, TimeoutError)


class _LockHolder:
    """The lock's connection, replaced by a fresh one (lock re-taken) when the first one drops."""

    def __init__(self, dsn: str, key: int, on_lost: Callable[[str], None] | None, reconnect_s: float) -> None:
        self.dsn = dsn
        self.key = key
        self.on_lost = on_lost
        self.reconnect_s = reconnect_s
        self.conn: asyncpg.Connection | None = None
        self.retaking: asyncio.Task[None] | None = None
        self.released = False

    async def take(self, timeout_s: float = LOCK_TIMEOUT_S) -> asyncpg.Connection:
        try:
            conn: asyncpg.Connection = await asyncpg.connect(self.dsn, timeout=timeout_s)
        except _DEAD_CONNECTION as exc:
            raise StoreUnavailable(f"run lock: database unreachable: {describe(exc, self.dsn)}") from None
        try:
            acquired = await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key, timeout=timeout_s)
        except BaseException as exc:
            conn.terminate()  # the connection may be half-dead: no goodbye round trip
            if isinstance(exc, _DEAD_CONNECTION):
                raise StoreUnavailable(f"run lock: {describe(exc, self.dsn)}") from exc
            raise
        if not acquired:
            await conn.close(timeout=timeout_s)
            raise RunLockedError("another run holds the lock (mycfa-engine status shows it)")
        conn.add_termination_listener(self._dropped)
        self.conn = conn
        return conn

    def _dropped(self, _conn: object) -> None:
        if not self.released and self.retaking is None:
            self.retaking = asyncio.get_running_loop().create_task(self._retake())

    async def _retake(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        log.warning(
            "run lock: the database connection closed (restart, failover or terminated backend); "
            "reconnecting for up to %gs",
            self.reconnect_s,
            extra={"event": "lock_connection_lost"},
        )
        reason = ""
        while True:
            remaining = started + self.reconnect_s - loop.time()
            try:
                await self.take(timeout_s=max(0.1, min(LOCK_TIMEOUT_S, remaining)))
            except RunLockedError:
                reason = "another run took the lock while the database connection was down"
                break
            except StoreUnavailable as exc:
                reason = f"no database connection for {self.reconnect_s:g}s: {exc}"
            else:
                log.warning(
                    "run lock: re-acquired after %.1fs; the run goes on",
                    loop.time() - started,
                    extra={"event": "lock_reacquired"},
                )
                self.retaking = None
                return
            if loop.time() + RECONNECT_PAUSE_S > started + self.reconnect_s:
                break
            await asyncio.sleep(RECONNECT_PAUSE_S)
        self.retaking = None
        if self.on_lost is not None:
            self.on_lost(reason)

    async def release(self) -> None:
        self.released = True
        if self.retaking is not None:
            self.retaking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.retaking
        conn = self.conn
        if conn is None:
            return
        conn.remove_termination_listener(self._dropped)
        if not conn.is_closed():
            # The connection can die between the check and the call (terminated backend): asyncpg
            # then raises from the half-read termination, which must not mask the run's outcome.
            with contextlib.suppress(*_DEAD_CONNECTION):
                await conn.execute("SELECT pg_advisory_unlock($1)", self.key, timeout=LOCK_TIMEOUT_S)
        await conn.close(timeout=LOCK_TIMEOUT_S)


@asynccontextmanager
async def run_lock(
    dsn: str,
    *,
    on_lost: Callable[[str], None] | None = None,
    key: int = RUN_LOCK_KEY,
    reconnect_s: float = LOCK_RECONNECT_S,
) -> AsyncIterator[asyncpg.Connection]:
    """Hold the run lock for the duration of the block.

    Args:
        dsn: the database URL (the lock is per database).
        on_lost: called with the reason when the lock connection died and the lock could not be
            taken again within `reconnect_s`, so the run can stop instead of racing a second run.
        key: the advisory lock key.
        reconnect_s: how long a dropped lock connection is retried before `on_lost` is called.

    Yields:
        The connection the lock was first taken on (after a drop, the lock lives on a new one).

    Raises:
        RunLockedError: another session holds the lock.
        StoreUnavailable: the lock's connection could not be opened or failed taking the lock.
    """
    holder = _LockHolder(dsn, key, on_lost, reconnect_s)
    conn = await holder.take()
    try:
        yield conn
    finally:
        await holder.release()
