"""The run loop and ledger on a real Postgres: states, failures with reasons, stop and resume, the lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import orjson
import psycopg
import pytest

from engine.errors import (
    FMPAuthError,
    FMPEntitlementError,
    FMPServerError,
    ItemFailed,
    RunLockedError,
    StoreError,
)
from engine.exitcodes import ExitCode
from engine.runs import ledger
from engine.runs.datasets import Job
from engine.runs.lock import RUN_LOCK_KEY, run_lock
from engine.runs.loop import ItemResult, RunLoop
from engine.runs.metrics import RunMetrics
from engine.runs.plan import PlannedItem
from tests.conftest import Database

SCHEMA = Path(__file__).resolve().parents[3] / "schema"
LEDGER_SQL = (SCHEMA / "050_run_ledger.sql", SCHEMA / "130_fmp_plans.sql")  # the ledger and its notes


@pytest.fixture(scope="module")
def ledger_db(pg_database: Database) -> Database:
    with psycopg.connect(pg_database.owner_url, autocommit=True) as conn:
        for sql in LEDGER_SQL:
            conn.execute(sql.read_text())
    return pg_database


@pytest.fixture
async def pool(ledger_db: Database) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(ledger_db.owner_url, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


def items(*symbols: str) -> list[PlannedItem]:
    return [PlannedItem(s, "profile", {"n": i}, 1) for i, s in enumerate(symbols)]


def make_loop(pool: asyncpg.Pool, run_id: int, handler, stop: asyncio.Event | None = None, **kw) -> RunLoop:  # type: ignore[no-untyped-def]
    return RunLoop(
        pool=pool,
        run_id=run_id,
        handler=handler,
        metrics=RunMetrics(rate_limit=120),
        concurrency=kw.pop("concurrency", 3),
        total_items=kw.pop("total", 0),
        planned_requests=0,
        stop=stop or asyncio.Event(),
        secrets=("SECRETKEY",),
        **kw,
    )


async def item_rows(pool: asyncpg.Pool, run_id: int) -> dict[str, asyncpg.Record]:
    rows = await pool.fetch("SELECT * FROM run_items WHERE run_id = $1", run_id)
    return {r["symbol"]: r for r in rows}


async def test_run_loop_all_items_succeed_marks_done_with_counts(pool: asyncpg.Pool) -> None:
    """Every item ends `done` with its requests and rows, and the run exits OK."""
    planned = items("A", "B", "C", "D")
    run_id = await ledger.create_run(pool, Job.FUNDAMENTALS, None, planned)

    async def handler(item: PlannedItem) -> ItemResult:
        return ItemResult(requests=2, rows_changed=10 + item.params["n"])

    outcome = await make_loop(pool, run_id, handler).execute(await ledger.pending_items(pool, run_id))
    assert outcome.exit_code is ExitCode.OK
    rows = await item_rows(pool, run_id)
    assert {r["state"] for r in rows.values()} == {"done"}
    assert rows["D"]["rows_changed"] == 13
    assert rows["D"]["requests"] == 2
    assert rows["D"]["attempts"] == 1


async def test_run_loop_readjusted_item_is_noted_in_params_and_counted(pool: asyncpg.Pool) -> None:
    """An item that refetched a re-adjusted price history keeps its planned params plus `readjusted`."""
    planned = [
        PlannedItem("A", "prices", {"from": "2026-06-23"}, 2),
        PlannedItem("B", "prices", {"from": "2026-06-23"}, 2),
    ]
    run_id = await ledger.create_run(pool, Job.PRICES, None, planned)
    note = {"from": "2016-01-04", "reason": "adj_close changed on 6 stored date(s) from 2026-06-23"}

    async def handler(item: PlannedItem) -> ItemResult:
        return ItemResult(requests=4, rows_changed=2600, readjusted=note if item.symbol == "A" else None)

    loop = make_loop(pool, run_id, handler)
    outcome = await loop.execute(await ledger.pending_items(pool, run_id))
    assert outcome.exit_code is ExitCode.OK
    rows = await item_rows(pool, run_id)
    assert orjson.loads(rows["A"]["params"]) == {"from": "2026-06-23", "readjusted": note}
    assert orjson.loads(rows["B"]["params"]) == {"from": "2026-06-23"}
    assert loop.snapshot().done == 2
    assert loop._metrics.as_dict()["price_readjustments"] == 1


async def test_run_loop_failures_are_recorded_with_class_and_redacted_reason(pool: asyncpg.Pool) -> None:
    """Failed and skipped items keep their error class and a key-free message; the exit is partial."""
    run_id = await ledger.create_run(pool, Job.FULL, ["A", "B", "C"], items("A", "B", "C"))
    calls: dict[str, int] = {}

    async def handler(item: PlannedItem) -> ItemResult:
        calls[item.symbol] = calls.get(item.symbol, 0) + 1
        if item.symbol == "A":
            raise FMPEntitlementError("not in plan", endpoint="profile", symbol="A", status=402)
        if item.symbol == "B":
            raise ItemFailed(FMPServerError("HTTP 503 apikey SECRETKEY", endpoint="profile", symbol="B"), 6)
        raise StoreError("quarantine table missing")

    outcome = await make_loop(pool, run_id, handler).execute(await ledger.pending_items(pool, run_id))
    assert outcome.exit_code is ExitCode.PARTIAL_FAILURE
    rows = await item_rows(pool, run_id)
    assert rows["A"]["state"] == "skipped"
    assert rows["A"]["error_class"] == "FMPEntitlementError"
    assert rows["B"]["state"] == "failed"
    assert "SECRETKEY" not in rows["B"]["error_message"]
    assert rows["B"]["requests"] == 12
    assert calls["B"] == 2
    assert calls["A"] == 1
    assert calls["C"] == 1
    assert rows["C"]["error_class"] == "StoreError"


async def test_run_loop_auth_error_stops_the_run_with_auth_code(pool: asyncpg.Pool) -> None:
    """A rejected key stops the run at once; unstarted items stay pending for the next run."""
    run_id = await ledger.create_run(pool, Job.FULL, None, items(*"ABCDEFGH"))

    async def handler(item: PlannedItem) -> ItemResult:
        raise FMPAuthError("Invalid API KEY", endpoint="profile", symbol=item.symbol)

    outcome = await make_loop(pool, run_id, handler, concurrency=1).execute(
        await ledger.pending_items(pool, run_id)
    )
    assert outcome.exit_code is ExitCode.AUTH
    assert outcome.counts == {"pending": 8}


async def test_run_loop_stop_cancels_late_items_and_resume_finishes_them(pool: asyncpg.Pool) -> None:
    """On stop, in-flight items past the grace go back to pending; a reopened run does only the rest."""
    run_id = await ledger.create_run(pool, Job.PRICES, None, items(*"ABCDEF"))
    stop = asyncio.Event()
    started: list[str] = []

    async def slow(item: PlannedItem) -> ItemResult:
        started.append(item.symbol)
        if item.symbol == "A":
            return ItemResult(1, 1)
        stop.set()
        await asyncio.sleep(3600)  # never finishes: cancelled after the grace period
        return ItemResult(1, 1)

    loop = make_loop(pool, run_id, slow, stop=stop, concurrency=2, grace_s=0.05)
    outcome = await loop.execute(await ledger.pending_items(pool, run_id))
    assert outcome.exit_code is ExitCode.INTERRUPTED
    assert outcome.counts == {"done": 1, "pending": 5}

    await ledger.reopen_run(pool, run_id)
    seen: list[str] = []

    async def quick(item: PlannedItem) -> ItemResult:
        seen.append(item.symbol)
        return ItemResult(1, 1)

    outcome = await make_loop(pool, run_id, quick).execute(await ledger.pending_items(pool, run_id))
    assert outcome.exit_code is ExitCode.OK
    assert sorted(seen) == list("BCDEF")
    assert (await pool.fetchval("SELECT resumes FROM runs WHERE run_id = $1", run_id)) == 1


async def test_reopen_run_returns_crashed_running_items_to_pending(pool: asyncpg.Pool) -> None:
    """Items a killed process left `running` are redone; `done` items are not."""
    planned = items("A", "B")
    run_id = await ledger.create_run(pool, Job.PRICES, None, planned)
    await ledger.start_item(pool, run_id, planned[0])
    await ledger.start_item(pool, run_id, planned[1])
    await ledger.finish_item(pool, run_id, planned[1], ledger.ItemOutcome("done", 1, 5))
    assert (await ledger.latest_unfinished(pool)) is not None
    await ledger.reopen_run(pool, run_id)
    assert [i.symbol for i in await ledger.pending_items(pool, run_id)] == ["A"]
    assert (await ledger.pending_items(pool, run_id))[0].params == {"n": 0}


async def test_run_lock_second_holder_is_refused_until_the_first_connection_dies(ledger_db: Database) -> None:
    """Only one session holds the run lock; the lock is freed when its connection is gone."""
    async with run_lock(ledger_db.owner_url) as holder:
        with pytest.raises(RunLockedError):
            async with run_lock(ledger_db.owner_url):
                pass
        admin = await asyncpg.connect(ledger_db.admin_url)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", holder.get_server_pid())
        finally:
            await admin.close()
    # The server releases a terminated session's locks as the backend exits: poll, do not guess a delay.
    for _ in range(100):
        try:
            async with run_lock(ledger_db.owner_url):
                return
        except RunLockedError:
            await asyncio.sleep(0.05)
    pytest.fail("the lock of a terminated session was never released")


async def lock_holders(admin: asyncpg.Connection) -> list[int]:
    rows = await admin.fetch(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database ="
        " (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return [int(row["pid"]) for row in rows]


async def wait_for(predicate, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout_s / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    pytest.fail("condition never became true")


async def test_run_lock_retakes_the_lock_after_its_connection_drops(
    ledger_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A dropped lock connection (restart, terminated backend) is replaced and the lock taken again: the run goes on."""
    lost: list[str] = []
    admin = await asyncpg.connect(ledger_db.admin_url)
    try:
        async with run_lock(ledger_db.owner_url, on_lost=lost.append) as holder:
            first = holder.get_server_pid()
            await admin.execute("SELECT pg_terminate_backend($1)", first)

            async def retaken() -> bool:
                pids = await lock_holders(admin)
                return bool(pids) and first not in pids

            await wait_for(retaken)
            with pytest.raises(RunLockedError):
                async with run_lock(ledger_db.owner_url):
                    pass
        assert await lock_holders(admin) == []
    finally:
        await admin.close()
    assert lost == []
    assert "reconnecting" in caplog.text
    assert "re-acquired" in caplog.text


async def test_run_lock_taken_by_another_session_meanwhile_is_reported_lost(ledger_db: Database) -> None:
    """If another session takes the lock while the connection is down, on_lost is told why."""
    lost: list[str] = []
    admin = await asyncpg.connect(ledger_db.admin_url)
    try:
        async with run_lock(ledger_db.owner_url, on_lost=lost.append) as holder:
            # terminate, then queue for the lock at once: granted as the old backend exits
            await admin.execute(
                "SELECT pg_terminate_backend($1), pg_advisory_lock($2)", holder.get_server_pid(), RUN_LOCK_KEY
            )

            async def reported() -> bool:
                return bool(lost)

            await wait_for(reported)
        assert lost == ["another run took the lock while the database connection was down"]
    finally:
        await admin.close()


async def test_run_lock_unreachable_past_the_grace_is_reported_lost(ledger_db: Database) -> None:
    """A database that stays unreachable past reconnect_s ends in on_lost with the driver's reason."""
    lost: list[str] = []
    admin = await asyncpg.connect(ledger_db.admin_url.rsplit("/", 1)[0] + "/postgres")
    try:
        async with run_lock(ledger_db.owner_url, on_lost=lost.append, reconnect_s=1.0) as holder:
            await admin.execute(f'ALTER DATABASE "{ledger_db.name}" ALLOW_CONNECTIONS false')
            await admin.execute("SELECT pg_terminate_backend($1)", holder.get_server_pid())

            async def reported() -> bool:
                return bool(lost)

            await wait_for(reported)
    finally:
        await admin.execute(f'ALTER DATABASE "{ledger_db.name}" ALLOW_CONNECTIONS true')
        await admin.close()
    assert len(lost) == 1
    assert lost[0].startswith("no database connection for 1s: run lock: database unreachable: ")
    assert "not currently accepting connections" in lost[0]
