"""Bulk endpoints (eod-bulk, profile-bulk as CSV) against the per-symbol path: the same rows either way."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import asyncpg
import orjson
import pytest

from engine.config import EngineSettings
from engine.db import migrate
from engine.errors import FMPRequestError
from engine.exitcodes import ExitCode
from engine.fmp import FMPClient, RetryPolicy
from engine.fmp.endpoints import EOD_BULK, PRICES, PRICES_ADJUSTED, PROFILE_BULK, PROFILE_BULK_BOOLEANS
from engine.runs.bulk import BulkData, BulkDeniedError, typical_price
from engine.runs.datasets import Job
from engine.runs.service import RunService
from engine.runs.status import collect_status, render_status
from fakefmp import serve
from fakefmp.config import FakeConfig
from fakefmp.server import RunningServer
from tests.conftest import Cluster, throwaway_database

pytestmark = pytest.mark.e2e

UNIVERSE = 16
LOADED = date(2026, 3, 2)  # the initial load (per-symbol: nothing stored yet)
REFRESHED = date(2026, 3, 17)  # two weeks on: 11 trading days, ex-dividend dates among them (ABT, AOS)
# FMP's own words for a plan without the bulk files, kept in the run's notes and `status`
RESTRICTED = "Restricted Endpoint: This endpoint is not available under your current subscription"
DENIED = f"denied (HTTP 402: {RESTRICTED})"


@pytest.fixture
async def fake() -> AsyncIterator[RunningServer]:
    config = FakeConfig(symbols=UNIVERSE, seed=5, rate_limit=10**6, as_of=LOADED)
    async with serve(config) as running:
        yield running


@pytest.fixture
def databases(pg_cluster: Cluster) -> Iterator[list[str]]:
    with (
        throwaway_database(pg_cluster, "bulk_yes") as first,
        throwaway_database(pg_cluster, "bulk_no") as second,
    ):
        for database in (first, second):
            asyncio.run(migrate(database.owner_url))
        yield [first.owner_url, second.owner_url]


def settings(url: str, fake: RunningServer, interval_s: float = 0) -> EngineSettings:
    return EngineSettings(
        database_url=url,  # type: ignore[arg-type]
        fmp_api_key="bulk-key",  # type: ignore[arg-type]
        fmp_base_url=fake.base_url,
        fmp_rate_limit=10**6,
        fmp_bulk_interval_s=interval_s,
        history_start=date(2024, 1, 1),
        former_members_since=None,  # today's members only: the bulk answers list no former member
        log_format="json",
    )


async def run(
    url: str, fake: RunningServer, day: date, *, job: Job = Job.FULL, interval_s: float = 0
) -> dict[str, Any]:
    fake.state.universe.set_as_of(day)
    config = settings(url, fake, interval_s)
    service = RunService(config, job, (), metrics_stream=io.StringIO(), today=day)
    assert await service.execute() == ExitCode.OK
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    try:
        return await collect_status(pool)
    finally:
        await pool.close()


async def table(url: str, sql: str) -> list[tuple[Any, ...]]:
    connection = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()


async def test_bulk_and_per_symbol_refresh_load_the_same_rows(
    fake: RunningServer, databases: list[str]
) -> None:
    """The same two runs with and without bulk give identical prices (re-adjustments included)."""
    outcomes = []
    for url, denied in zip(databases, (False, True), strict=True):
        fake.state.config.bulk_denied = denied
        await run(url, fake, LOADED)
        outcomes.append(await run(url, fake, REFRESHED))
    with_bulk, without = (status["runs"][0] for status in outcomes)
    assert with_bulk["metrics"]["bulk"] == {"eod-bulk": "available", "profile-bulk": "available"}
    # the probe found the plan without bulk files: the run asked none, and says why in FMP's words
    assert "bulk" not in without["metrics"]
    assert RESTRICTED in without["notes"]["withheld"]["bulk"]
    assert "withheld by the premium plan: the bulk files" in render_status(outcomes[1])
    # the days FMP re-adjusted (an ex-dividend date in the window) took the history refetch both ways
    assert with_bulk["metrics"]["price_readjustments"] == without["metrics"]["price_readjustments"] > 0
    spent = "SELECT sum(requests) FROM run_items WHERE run_id = 2 AND dataset IN ('prices', 'profile')"
    bulk_spent, symbol_spent = [(await table(url, spent))[0][0] for url in databases]
    # prices (2 endpoints) and profile per symbol, and the history again (2) for each one re-adjusted:
    # those with an ex-dividend date in the window
    universe = fake.state.universe
    paid = [
        s
        for s in universe.companies
        if any(LOADED < date.fromisoformat(d) <= REFRESHED for d in universe.prices(s).dividends)
    ]
    assert with_bulk["metrics"]["price_readjustments"] == len(paid) > 0
    assert symbol_spent == 3 * UNIVERSE + 2 * len(paid)
    assert bulk_spent < symbol_spent / 2  # one request per trading day and profile part, for all symbols

    prices = "SELECT * FROM prices_daily ORDER BY symbol, date"
    first, second = [await table(url, prices) for url in databases]
    assert len(first) > UNIVERSE * 500
    assert first == second
    profiles = (
        "SELECT symbol, profile->>'companyName', (profile->>'price')::float8, (profile->>'marketCap')::float8,"
        " profile->'isEtf', profile->>'ipoDate' FROM companies ORDER BY symbol"
    )
    assert await table(databases[0], profiles) == await table(databases[1], profiles)


async def test_eod_bulk_day_matches_the_per_symbol_endpoints(fake: RunningServer) -> None:
    """One eod-bulk day, parsed from FMP's CSV, carries the per-symbol endpoints' values for that date."""
    day = date(2026, 2, 27)
    fake.state.universe.set_as_of(date(2026, 3, 6))
    async with FMPClient.open(settings("postgresql://unused/db", fake)) as fmp:
        rows = await fmp.fetch_csv(EOD_BULK, day=day)
        assert len(rows) == UNIVERSE
        assert all(isinstance(row["volume"], int) for row in rows)
        for row in rows[:4]:
            [full] = await fmp.fetch(PRICES, symbol=row["symbol"], start=day, end=day)
            [adjusted] = await fmp.fetch(PRICES_ADJUSTED, symbol=row["symbol"], start=day, end=day)
            assert [row[k] for k in ("open", "high", "low", "close", "volume")] == [
                full[k] for k in ("open", "high", "low", "close", "volume")
            ]
            assert row["adjClose"] == adjusted["adjClose"]
            assert typical_price(row["open"], row["high"], row["low"], row["close"]) == full["vwap"]
        weekend = await fmp.fetch_csv(EOD_BULK, day=date(2026, 2, 28))
        assert weekend == []
        profiles = await fmp.fetch_csv(PROFILE_BULK, part=0, booleans=PROFILE_BULK_BOOLEANS)
        assert len(profiles) == UNIVERSE
        assert profiles[0]["isEtf"] is False
        with pytest.raises(FMPRequestError, match="Invalid or missing query parameter - part") as end:
            await fmp.fetch_csv(PROFILE_BULK, part=1)
        assert end.value.status == 400


async def test_bulk_denied_is_found_once_per_run(fake: RunningServer) -> None:
    """After one 402 the run asks no bulk endpoint again; every item goes per symbol."""
    fake.state.config.bulk_denied = True
    async with FMPClient.open(settings("postgresql://unused/db", fake)) as fmp:
        bulk = BulkData(fmp, fake.state.universe.companies)
        await bulk.probe(LOADED, prices=True, profiles=True)
        sent = fmp.counters.requests
        assert not bulk.allows(EOD_BULK.path)
        assert not bulk.allows(PROFILE_BULK.path)
        for _ in range(3):
            with pytest.raises(Exception, match="denied"):
                await bulk.prices("MMM", date(2026, 2, 23), LOADED)
        assert fmp.counters.requests == sent == 2
    assert orjson.loads(orjson.dumps(bulk.access)) == {"eod-bulk": DENIED, "profile-bulk": DENIED}


async def test_profile_bulk_of_four_parts_ends_on_fmps_400(fake: RunningServer, databases: list[str]) -> None:
    """Four parts and the 400 past the last: 5 profile-bulk requests for the whole run, every profile
    item done (no item walks the parts again)."""
    fake.state.bulk.part_rows = UNIVERSE // 4
    status = await run(databases[0], fake, LOADED, job=Job.FUNDAMENTALS)
    assert fake.state.stats.paths["profile-bulk"] == 5 + 1  # parts 0-3, the 400 past them; the probe's
    assert status["runs"][0]["items"] == {"done": UNIVERSE * 11}
    assert status["runs"][0]["metrics"]["bulk"] == {"profile-bulk": "available"}
    # every member profiled from the parts (the index's former members get a row without a profile)
    profiled = await table(databases[0], "SELECT count(*) FROM companies WHERE profile IS NOT NULL")
    assert profiled == [(UNIVERSE,)]


async def test_bulk_days_are_paced_under_the_bulk_throttle(fake: RunningServer, databases: list[str]) -> None:
    """On Ultimate, with its bulk throttle on, a refresh asks its eod-bulk days one at a time, far
    enough apart that the throttle never answers "Limit Reach"; the prices come from them (a weekend
    day answers `[]`, the stricter reading of what FMP sends then)."""
    fake.state.config.plan, fake.state.config.bulk_interval_s = "ultimate", 0.2
    fake.state.apply_plan()
    await run(databases[0], fake, LOADED, job=Job.PRICES)
    fake.state.stats.reset()
    status = await run(databases[0], fake, REFRESHED, job=Job.PRICES, interval_s=0.25)
    assert fake.state.stats.paths["eod-bulk"] >= 11
    assert fake.state.stats.refusals == {}
    assert status["runs"][0]["metrics"]["bulk"] == {"eod-bulk": "available"}
    assert status["runs"][0]["items"] == {"done": UNIVERSE}


async def test_bulk_failure_is_remembered_for_the_run(fake: RunningServer) -> None:
    """A profile-bulk walk that fails after the retries is not walked again by the next item."""
    fake.state.config.fault_rate, fake.state.config.faults = 1.0, ("5xx",)
    no_wait = RetryPolicy(attempts=2, initial_s=0, cap_s=0, rate_limit_wait_s=0)
    async with FMPClient.open(settings("postgresql://unused/db", fake), retry=no_wait) as fmp:
        bulk = BulkData(fmp, fake.state.universe.companies)
        for _ in range(3):
            with pytest.raises(BulkDeniedError, match="failed"):
                await bulk.profiles()
        assert fmp.counters.requests == 2
        assert not bulk.allows(PROFILE_BULK.path)
