"""The statement follower: each company's metric_history and statement_lines written during the run, equal
to what the run-end refresh writes, and what it leaves to the run end."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import asyncpg
import orjson
import pytest

from devkit import seed
from engine.config import EngineSettings
from engine.db import create_pool, migrate
from engine.errors import ItemFailed, LoadError
from engine.exitcodes import ExitCode
from engine.runs import following
from engine.runs import refresh as refresh_module
from engine.runs.datasets import STATEMENTS, Job
from engine.runs.following import StatementFollower
from engine.runs.loop import ItemResult
from engine.runs.plan import PlannedItem
from engine.runs.refresh import refresh
from engine.runs.service import RunService
from fakefmp import serve
from fakefmp.config import FakeConfig
from tests.conftest import Cluster, Database, throwaway_database

DAY = date(2026, 3, 2)
ORDER = {"metric_history": "symbol, basis, fiscal_date", "statement_lines": "symbol, statement, basis"}


async def contents(pool: asyncpg.Pool) -> dict[str, list[asyncpg.Record]]:
    return {t: await pool.fetch(f"SELECT * FROM {t} ORDER BY {o}") for t, o in ORDER.items()}


@pytest.fixture
def run_database(pg_cluster: Cluster) -> Iterator[str]:
    with throwaway_database(pg_cluster, "following_run") as database:
        asyncio.run(migrate(database.owner_url))
        yield database.owner_url


@pytest.mark.e2e
async def test_a_run_writes_each_companys_tables_as_its_statements_come_in(
    run_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fundamentals run from empty: most companies' statement tables are written during the run (3
    a batch here, each company from the rows its items COPYed), the rest at its end, and together they
    equal a full refresh's rows exactly."""
    monkeypatch.setattr(following, "BATCH", 3)
    from_copies: list[str] = []
    held = refresh_module._held

    async def counted(*args: Any) -> Any:
        found = await held(*args)
        from_copies.extend(found)
        return found

    monkeypatch.setattr(refresh_module, "_held", counted)
    async with serve(FakeConfig(symbols=10, seed=5, rate_limit=10**6, as_of=DAY)) as fake:
        settings = EngineSettings(
            database_url=run_database,  # type: ignore[arg-type]
            fmp_api_key="follow-key",  # type: ignore[arg-type]
            fmp_base_url=fake.base_url,
            fmp_rate_limit=10**6,
            fmp_bulk_interval_s=0,
            former_members_since=None,
            log_format="json",
        )
        service = RunService(settings, Job.FUNDAMENTALS, (), metrics_stream=io.StringIO(), today=DAY)
        assert await service.execute() == ExitCode.OK
    pool = await create_pool(run_database, max_size=2)
    try:
        metrics = orjson.loads(await pool.fetchval("SELECT metrics FROM runs ORDER BY run_id DESC LIMIT 1"))
        companies = await pool.fetchval("SELECT count(DISTINCT symbol) FROM statements WHERE kind = 'income'")
        for table in ORDER:
            report = metrics["serving"][table]
            assert report["state"] == "ok"
            assert report["symbols"] == companies > 3
            assert report["during_run"] == companies - companies % 3  # whole batches only
        assert len(from_copies) == companies - companies % 3  # each from the rows it COPYed
        written = await contents(pool)
        assert all(written.values())
        assert (await refresh(pool, full=True)).ok
        assert await contents(pool) == written
    finally:
        await pool.close()


@pytest.fixture(scope="module")
def demo(pg_cluster: Cluster) -> Iterator[Database]:
    with throwaway_database(pg_cluster, "following_demo") as db:
        seed.seed(db.owner_url, first_seed=1)
        yield db


async def test_a_company_with_a_failed_or_unchanged_item_is_left_to_the_run_end(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The follower writes a company only once all its statement items of the run finished, one of them
    changed rows and none failed; the run-end refresh writes the others and counts both."""
    monkeypatch.setattr(following, "BATCH", 2)
    assert (await refresh(pool, full=True)).ok
    full = await contents(pool)
    await pool.execute("TRUNCATE metric_history, statement_lines")
    failing, unchanged = "JNJ", "XOM"
    items = [PlannedItem(s, d.name, {}, 1) for s in seed.SYMBOLS for d in STATEMENTS]
    run_id = await pool.fetchval(
        "INSERT INTO runs (job, state) VALUES ('fundamentals', 'running') RETURNING run_id"
    )

    async def handler(item: PlannedItem) -> ItemResult:
        """The store already holds every statement: an item only says what it changed, and records it
        in the ledger as the loop would (the run-end scope reads it)."""
        if item.symbol == failing and item.dataset == "balance_quarter":
            raise ItemFailed(LoadError("refused", dataset="statements", symbol=failing), 1)
        changed = 0 if item.symbol == unchanged else 1
        await pool.execute(
            "INSERT INTO run_items (run_id, symbol, dataset, state, rows_changed, params, finished_at)"
            " VALUES ($1, $2, $3, 'done', $4, '{}', clock_timestamp())",
            run_id,
            item.symbol,
            item.dataset,
            changed,
        )
        return ItemResult(requests=1, rows_changed=changed)

    follower = StatementFollower(pool, items)
    wrapped = follower.wrap(handler)
    for item in items:
        try:
            await wrapped(item)
        except ItemFailed:
            pass
    followed = await follower.close()
    expected = {s for s in seed.SYMBOLS if s not in (failing, unchanged)}
    # Whole batches of two, in the order their companies' items ended (symbol-major here).
    assert followed.symbols == expected  # six: three batches of two
    stored = {r["symbol"] for r in await pool.fetch("SELECT DISTINCT symbol FROM metric_history")}
    assert stored == followed.symbols
    await pool.execute("UPDATE runs SET state = 'succeeded', finished_at = now() WHERE run_id = $1", run_id)
    await pool.execute("DELETE FROM serving_refreshes WHERE name IN ('metric_history', 'statement_lines')")
    # Since a success just before the run: its changed companies are the run end's scope.
    await _succeeded_before(pool, run_id)
    report = {t.name: t for t in (await refresh(pool, run_id=run_id, followed=followed)).tables}
    for table in ORDER:
        assert report[table].during_run == len(followed.symbols)
        assert report[table].symbols == len(seed.SYMBOLS) - 1  # JNJ's other items changed rows
    written = await contents(pool)
    assert {r["symbol"] for r in written["metric_history"]} == set(seed.SYMBOLS) - {unchanged}
    for table, rows in written.items():
        assert rows == [r for r in full[table] if r["symbol"] != unchanged], table


async def _succeeded_before(pool: asyncpg.Pool, run_id: int) -> None:
    """Record both tables' last success as the moment before the run's first item."""
    first: Any = await pool.fetchval("SELECT min(finished_at) FROM run_items WHERE run_id = $1", run_id)
    for table in ORDER:
        await pool.execute(
            "INSERT INTO serving_refreshes (name, state, attempted_at, succeeded_at, scope_from)"
            " VALUES ($1, 'ok', $2::timestamptz, $2::timestamptz, $2::timestamptz - interval '1 microsecond')",
            table,
            first,
        )
