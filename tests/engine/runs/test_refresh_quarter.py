"""A quarter of weekly `fundamentals` runs on a moving clock against the fake FMP's earnings calendar.

The fake reports each quarter on its filing date, files annual statements weeks after the fourth
quarter's release, and restates revenue on random dates. Thirteen weekly runs must store every new
statement by the first run after it is filed, every restatement within the sweep period, and fetch
a series only with a reason: new, reported (until the announced period is stored) or swept.
"""

from __future__ import annotations

import asyncio
import io
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import asyncpg
import orjson
import pytest

from engine.config import EngineSettings
from engine.db import migrate
from engine.exitcodes import ExitCode
from engine.runs.datasets import STATEMENTS, Job
from engine.runs.families.statements import ANNUAL_FILING_LAG_DAYS, sweep_bucket
from engine.runs.service import RunService
from fakefmp import serve
from fakefmp.config import FakeConfig
from fakefmp.server import RunningServer
from tests.conftest import Cluster, throwaway_database

pytestmark = pytest.mark.e2e

UNIVERSE = 24
START = date(2026, 1, 3)  # a Saturday, as the weekly schedule: Q4 releases and 10-K filings follow
WEEKS = 13
SWEEP_WEEKS = 4  # shorter than the default 13, so the quarter shows several full sweep periods
LAG = timedelta(days=7 + ANNUAL_FILING_LAG_DAYS - 19)


@pytest.fixture
async def fake() -> AsyncIterator[RunningServer]:
    config = FakeConfig(symbols=UNIVERSE, seed=11, rate_limit=10**6, as_of=START, restatement_rate=3.0)
    async with serve(config) as running:
        yield running


@pytest.fixture
def database_url(pg_cluster: Cluster) -> Any:
    with throwaway_database(pg_cluster, "refresh_quarter") as database:
        asyncio.run(migrate(database.owner_url))
        yield database.owner_url


def truth(fake: RunningServer, day: date) -> dict[tuple[str, str, str], str]:
    """The latest fiscal date per (symbol, kind, annual|quarter) the fake has filed by `day`."""
    out = {}
    for symbol in fake.state.universe.companies:
        for (kind, period), entries in fake.state.universe.fundamentals(symbol).items():
            filed = [e.date for e in entries if e.filing <= day.isoformat()]
            if filed:
                out[(symbol, kind, period)] = max(filed)
    return out


async def stored_latest(pool: asyncpg.Pool) -> dict[tuple[str, str, str], str]:
    rows = await pool.fetch(
        "SELECT symbol, kind, CASE WHEN period = 'FY' THEN 'annual' ELSE 'quarter' END AS p,"
        " max(fiscal_date)::text AS d FROM statements GROUP BY 1, 2, 3"
    )
    return {(r["symbol"], r["kind"], r["p"]): r["d"] for r in rows}


async def stored_revenue(pool: asyncpg.Pool) -> dict[tuple[str, str, str], int]:
    rows = await pool.fetch(
        "SELECT symbol, CASE WHEN period = 'FY' THEN 'annual' ELSE 'quarter' END AS p, fiscal_date::text AS d,"
        " (payload->>'revenue')::numeric::bigint AS revenue FROM statements WHERE kind = 'income'"
    )
    return {(r["symbol"], r["p"], r["d"]): int(r["revenue"]) for r in rows}


def base_revenue(fake: RunningServer) -> dict[tuple[str, str, str], int]:
    """Revenue as first filed, before any restatement."""
    out = {}
    for symbol in fake.state.universe.companies:
        for period in ("annual", "quarter"):
            for entry in fake.state.universe.fundamentals(symbol)[("income", period)]:
                out[(symbol, period, entry.date)] = int(orjson.loads(entry.body)["revenue"])
    return out


async def run_week(url: str, fake: RunningServer, day: date) -> list[asyncpg.Record]:
    fake.state.universe.set_as_of(day)
    settings = EngineSettings(
        database_url=url,  # type: ignore[arg-type]
        fmp_api_key="quarter-key",  # type: ignore[arg-type]
        fmp_base_url=fake.base_url,
        fmp_rate_limit=10**6,
        fmp_bulk_interval_s=0,
        statement_sweep_weeks=SWEEP_WEEKS,
        former_members_since=None,  # today's members: a frozen former member's series are never due
        log_format="json",
    )
    service = RunService(settings, Job.FUNDAMENTALS, (), metrics_stream=io.StringIO(), today=day)
    assert await service.execute() == ExitCode.OK
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    try:
        items: list[asyncpg.Record] = await pool.fetch(
            "SELECT symbol, dataset, params, rows_changed FROM run_items"
            " WHERE run_id = (SELECT max(run_id) FROM runs) AND dataset <> 'profile'"
        )
    finally:
        await pool.close()
    return items


Fetched = dict[tuple[str, str], list[tuple[int, str]]]


def check_item(
    fake: RunningServer,
    item: asyncpg.Record,
    week: int,
    day: date,
    before: dict[tuple[str, str, str], str],
    fetched: Fetched,
) -> None:
    """A run item was fetched with a reason that holds: reported (filed, or an announced annual
    report), or sweep (its symbol's turn, or the series was not fetched for the whole sweep)."""
    params = orjson.loads(item["params"]) if isinstance(item["params"], str) else item["params"]
    reason = params["reason"]
    key = (item["symbol"], item["dataset"])
    kind, period = item["dataset"].rsplit("_", 1)
    assert reason in ("reported", "sweep"), (week, key, reason)
    if reason == "reported" and item["rows_changed"] == 0:
        # Only an annual report announced but not filed yet may come back unchanged.
        entries = fake.state.universe.fundamentals(item["symbol"])[(kind, period)]
        nxt = [e for e in entries if e.date > before[(item["symbol"], kind, period)]]
        assert period == "annual", key
        assert nxt, key
        assert min(e.filing for e in nxt) > day.isoformat(), key
    if reason == "sweep":
        # its symbol's turn, or the series was not fetched for the whole sweep period
        last = max([0, *(w for w, _ in fetched[key])])
        in_turn = day.toordinal() // 7 % SWEEP_WEEKS == sweep_bucket(item["symbol"], SWEEP_WEEKS)
        assert in_turn or week - last >= SWEEP_WEEKS, (key, week, last)
        assert last < week
    fetched[key].append((week, reason))


async def check_latest(pool: asyncpg.Pool, fake: RunningServer, week: int, day: date) -> None:
    """No new statement missed: every quarterly series holds the latest period filed by today; an
    annual one the latest filed a week and ANNUAL_FILING_LAG_DAYS - 19 days ago (the fake files
    10-Ks 19+ days after the Q4 release; the engine asks 21+ days after it)."""
    stored, now, lagged = await stored_latest(pool), truth(fake, day), truth(fake, day - LAG)
    assert stored.keys() == now.keys()
    for key, latest in stored.items():
        if key[2] == "quarter":
            assert latest == now[key], (week, key)
        else:
            assert lagged[key] <= latest <= now[key], (week, key)


async def check_restatements(
    pool: asyncpg.Pool,
    events: dict[str, list[Any]],
    base: dict[tuple[str, str, str], int],
    week: int,
    day: date,
) -> None:
    """No restatement missed beyond the sweep period."""
    revenue = await stored_revenue(pool)
    cutoff = (day - timedelta(weeks=SWEEP_WEEKS) + timedelta(days=6)).isoformat()
    for symbol, restatements in events.items():
        by_period: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for event in restatements:
            if event.day <= day.isoformat():
                by_period[(event.kind, event.period_end)].append(event)
        for (period, end), seen in by_period.items():
            key = (symbol, period, end)
            if key not in revenue:
                continue
            # allowed: everything up to the cutoff, plus any prefix of the later ones
            must = sum(e.delta for e in seen if e.day <= cutoff)
            later = [e.delta for e in seen if e.day > cutoff]
            allowed = {base[key] + must + sum(later[:n]) for n in range(len(later) + 1)}
            assert revenue[key] in allowed, (week, key, revenue[key] - base[key], must, later)


async def test_quarter_of_weekly_runs_misses_nothing_and_fetches_only_with_reason(
    fake: RunningServer, database_url: str
) -> None:
    """13 weekly runs: new statements stored on time, restatements within the sweep, no idle refetch."""
    url = database_url
    naive = UNIVERSE * len(STATEMENTS) * WEEKS  # refetching every series every week, as before
    await run_week(url, fake, START)  # the initial load: every series is new
    base = base_revenue(fake)
    events = {symbol: fake.state.events.restatements(symbol) for symbol in fake.state.universe.companies}
    fetched: Fetched = defaultdict(list)
    spent = 0
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    try:
        for week in range(1, WEEKS + 1):
            day = START + timedelta(weeks=week)
            before = await stored_latest(pool)
            items = await run_week(url, fake, day)
            spent += len(items)
            for item in items:
                check_item(fake, item, week, day, before, fetched)
            await check_latest(pool, fake, week, day)
            await check_restatements(pool, events, base, week, day)
    finally:
        await pool.close()

    end = (START + timedelta(weeks=WEEKS)).isoformat()
    inside = [e for found in events.values() for e in found if START.isoformat() < e.day <= end]
    assert len(inside) > 10  # the quarter really had restatements
    # Every series fetched at least once in every SWEEP_WEEKS consecutive weeks.
    for dataset in STATEMENTS:
        for symbol in fake.state.universe.companies:
            weeks = [0] + [w for w, _ in fetched[(symbol, dataset.name)]] + [WEEKS + 1]
            gaps = [b - a for a, b in itertools.pairwise(weeks)]
            assert max(gaps[:-1] or [0]) <= SWEEP_WEEKS, (symbol, dataset.name, weeks)
    assert spent < 0.45 * naive, (spent, naive)
