"""The store's boundary rides out a lost connection for the outage bound, and retries nothing else."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from engine.db import pool as pool_module
from engine.db.pool import create_pool, outage_bound, store_boundary
from engine.errors import StoreError, StoreUnavailable
from tests.conftest import Database


def failing(errors: list[BaseException], calls: list[int]) -> Callable[[], Awaitable[int]]:
    """A store call that raises `errors` one per call, then answers 42; `calls` counts the calls."""

    @store_boundary
    async def read_something() -> int:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return 42

    return read_something


@pytest.fixture(autouse=True)
def short_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_module, "RETRY_WAIT_S", 0.001)


async def test_store_boundary_lost_connection_retried_until_it_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A dropped link, then a refused connect: the call is run again, one log line per retry, and answers."""
    calls: list[int] = []
    errors: list[BaseException] = [
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        ConnectionRefusedError(111, "Connect call failed"),
    ]
    with caplog.at_level(logging.WARNING, logger="engine.store"):
        assert await failing(errors, calls)() == 42
    assert len(calls) == 3
    retries = [r for r in caplog.records if getattr(r, "event", None) == "store_retry"]
    assert [r.retry for r in retries] == [1, 2]  # type: ignore[attr-defined]
    assert "read_something: database connection lost" in retries[0].getMessage()


async def test_store_boundary_gives_up_past_the_outage_bound() -> None:
    """A database that stays away longer than the bound: StoreUnavailable naming the bound and its setting."""
    calls: list[int] = []
    errors: list[BaseException] = [ConnectionRefusedError(111, "Connect call failed")] * 10_000
    with outage_bound(0.05), pytest.raises(StoreUnavailable, match=r"MYCFA_DB_OUTAGE_S, is 0.05s"):
        await failing(errors, calls)()
    assert 1 < len(calls) < 10_000


async def test_store_boundary_failed_statement_or_timeout_not_retried() -> None:
    """A statement the server refused, or one that timed out, fails at once: only a lost link is retried."""
    for error in (asyncpg.exceptions.UndefinedTableError("relation does not exist"), TimeoutError()):
        calls: list[int] = []
        with pytest.raises(StoreError):
            await failing([error], calls)()
        assert len(calls) == 1


@pytest.mark.parametrize("transactions_only", [False, True])
async def test_create_pool_transactions_only_skips_the_reset_query_but_not_the_rollback(
    store_db: Database, transactions_only: bool
) -> None:
    """A transactions_only pool hands a connection back without asyncpg's reset query (a session
    setting survives: such callers must keep their state in transactions); an open transaction is
    rolled back on release either way."""
    pool = await create_pool(store_db.owner_url, max_size=1, transactions_only=transactions_only)
    try:
        async with pool.acquire() as conn:
            await conn.execute("SET application_name = 'kept'")
            await conn.execute("BEGIN")
            await conn.execute("CREATE TABLE left_open (id int)")
        async with pool.acquire() as conn:
            name = await conn.fetchval("SHOW application_name")
            table = await conn.fetchval("SELECT to_regclass('left_open')")
    finally:
        await pool.close()
    assert (name == "kept") is transactions_only
    assert table is None


@pytest.mark.parametrize("transactions_only", [False, True])
async def test_store_boundary_rides_out_backends_terminated_while_idle(
    store_db: Database, transactions_only: bool
) -> None:
    """A pooled connection whose backend was killed while idle is refused by the driver on its next
    statement (InternalClientError, or a closed connection): the boundary retries on a fresh one."""

    @store_boundary
    async def backend_pid(pool: asyncpg.Pool) -> int:
        return int(await pool.fetchval("SELECT pg_backend_pid()"))

    pool = await create_pool(store_db.owner_url, max_size=1, transactions_only=transactions_only)
    admin = await asyncpg.connect(store_db.admin_url)
    try:
        pids = [await backend_pid(pool)]
        for _ in range(20):
            await admin.execute("SELECT pg_terminate_backend($1)", pids[-1])
            pids.append(await backend_pid(pool))
    finally:
        await admin.close()
        await pool.close()
    assert len(set(pids)) == len(pids)  # every answer came from a new backend
