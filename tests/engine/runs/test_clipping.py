"""A refusal of one parameter value clips the request to what the plan serves; it does not skip the item.

The fake speaks Starter (strict: a `from` beyond 5 years and a `limit` above 5 are refused with 402);
the engine holds a stale probe that knew nothing of it (as after a downgrade), so every refusal is
met during the run itself.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from datetime import date

import asyncpg
import pytest

from engine.config import EngineSettings
from engine.db import migrate
from engine.exitcodes import ExitCode
from engine.fmp import FMPClient
from engine.fmp.entitlements import Entitlements
from engine.runs.datasets import Job
from engine.runs.probe import store_probe
from engine.runs.service import RunService
from engine.runs.status import collect_status, render_status
from fakefmp import serve
from fakefmp.config import FakeConfig
from fakefmp.server import RunningServer
from tests.conftest import Cluster, throwaway_database

pytestmark = pytest.mark.e2e

AS_OF = date(2026, 8, 7)
FAKE_FLOOR = date(2021, 8, 7)  # the fake's five years before AS_OF


@pytest.fixture
async def fake() -> AsyncIterator[RunningServer]:
    async with serve(
        FakeConfig(symbols=80, seed=4, rate_limit=10**6, as_of=AS_OF, plan="starter")
    ) as running:
        yield running


@pytest.fixture
def database(pg_cluster: Cluster) -> Iterator[str]:
    with throwaway_database(pg_cluster, "clipping") as db:
        asyncio.run(migrate(db.owner_url))
        yield db.owner_url


def settings(url: str, fake: RunningServer) -> EngineSettings:
    return EngineSettings(
        database_url=url,  # type: ignore[arg-type]
        fmp_api_key="clip-key",  # type: ignore[arg-type]
        fmp_base_url=fake.base_url,
        fmp_rate_limit=10**6,
        history_start=date(2010, 1, 1),
        log_format="json",
    )


async def test_price_window_refused_for_its_start_is_clipped(fake: RunningServer) -> None:
    """The client moves a refused start forward until FMP serves it, and says what it left out."""
    async with FMPClient.open(settings("postgresql://unused/db", fake)) as fmp:
        history = await fmp.price_history("MMM", date(2010, 1, 1), AS_OF)
        assert history.clipped is not None
        first, last = history.clipped
        assert first == date(2010, 1, 1)
        assert last == FAKE_FLOOR - date.resolution  # learnt by bisection, to the day
        assert history.refused is not None
        assert "value set for 'from'" in history.refused
        assert min(row["date"] for row in history.rows) >= FAKE_FLOOR.isoformat()
        assert fmp.history_floor == FAKE_FLOOR  # kept: the next symbol goes straight to it
        before = fmp.counters.requests
        known = await fmp.price_history("AAPL", date(2012, 1, 1), AS_OF)
        assert fmp.counters.requests - before == 2  # the refused window, then the floor
        assert known.clipped == (date(2012, 1, 1), FAKE_FLOOR - date.resolution)


async def test_run_with_a_stale_probe_clips_instead_of_skipping(fake: RunningServer, database: str) -> None:
    """Prices refused before the plan's 5 years and statements refused above limit=5 are loaded
    within the plan; every item is done (none skipped), each clip kept with FMP's words."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    try:
        stale = Entitlements(plan="starter", constituents=False, bulk=False, quarterly=False)
        await store_probe(pool, stale.with_checks([], requests=0))
        service = RunService(
            settings(database, fake), Job.FULL, ("MMM", "AAPL"), metrics_stream=io.StringIO(), today=AS_OF
        )
        assert await service.execute() == ExitCode.OK
        status = await collect_status(pool)
        clipped = {
            (r["symbol"], r["dataset"]): r["params"]
            for r in await pool.fetch(
                "SELECT symbol, dataset, params FROM run_items WHERE params ? 'clipped'"
            )
        }
        first_price = await pool.fetchval("SELECT min(date) FROM prices_daily")
        annual = await pool.fetchval(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM statements GROUP BY symbol, kind) c"
        )
    finally:
        await pool.close()
    run = status["runs"][0]
    assert run["items"] == {"done": 2 * 7}  # profile, 5 annual statement series, prices
    assert run["metrics"]["items_clipped"] == len(clipped) == 2 * 6
    assert first_price >= FAKE_FLOOR
    assert annual <= 5
    prices = clipped[("MMM", "prices")]
    assert '"from": "2010-01-01"' in prices
    assert "value set for 'from'" in prices
    assert "'limit' must be between 0 and 5" in clipped[("AAPL", "income_annual")]
    text = render_status(status)
    assert "clipped to the plan: 12 item(s)" in text
    assert "MMM    prices               2010-01-01.." in text
