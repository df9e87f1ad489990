"""The earnings-calendar walk over FMP's global calendar, cut at 4,000 rows: every row of ours found,
for what the cap requires."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import orjson
import pytest

from engine.config import EngineSettings
from engine.fmp import FMPClient, RetryPolicy
from engine.runs.reports import calendar_rows, latest_reports
from fakefmp import FakeConfig, RunningServer, serve
from fakefmp.world_calendar import CALENDAR_CAP, rows_on

AS_OF = date(2026, 5, 22)  # the peak of a reporting season
START = AS_OF - timedelta(days=89)


@pytest.fixture
async def fake() -> AsyncIterator[RunningServer]:
    async with serve(
        FakeConfig(symbols=503, seed=42, as_of=AS_OF, plan="premium", rate_limit=10**6)
    ) as running:
        yield running


async def test_calendar_walk_finds_every_row_of_ours_for_what_the_cap_costs(fake: RunningServer) -> None:
    """A 90-day lookback in season: every universe release found (as the S&P-only calendar lists
    them), in about one request per 4,000 rows of the world's calendar."""
    settings = EngineSettings(
        database_url="postgresql://unused/db",  # type: ignore[arg-type]
        fmp_api_key="calendar-key",  # type: ignore[arg-type]
        fmp_base_url=fake.base_url,
    )
    ours = {(r["symbol"], r["date"]) for r in fake.state.events.calendar_rows(START, AS_OF)}
    world = sum(rows_on(START + timedelta(days=i)) for i in range(90)) + len(ours)
    async with FMPClient.open(settings, retry=RetryPolicy(attempts=2, initial_s=0, cap_s=0)) as fmp:
        rows = await calendar_rows(fmp, START, AS_OF, frozenset(fake.state.universe.companies))
        requests = fmp.counters.requests
        latest = await latest_reports(fmp, list(fake.state.universe.companies), AS_OF)
    assert {(r["symbol"], r["date"]) for r in rows} == ours
    assert len(rows) == len(ours) > 500
    assert world // CALENDAR_CAP <= requests <= world // CALENDAR_CAP + 3
    assert latest is not None
    assert len(latest) == len({symbol for symbol, _ in ours})
    assert orjson.dumps(sorted(latest.items())) == orjson.dumps(
        sorted({s: max(date.fromisoformat(d) for t, d in ours if t == s) for s, _ in ours}.items())
    )
