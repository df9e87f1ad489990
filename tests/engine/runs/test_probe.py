"""`probe` against the fake speaking each plan: what it finds, in at most 10 requests, and how it is kept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import pytest

from engine.config import EngineSettings
from engine.errors import FMPAuthError
from engine.fmp import FMPClient, RetryPolicy
from engine.fmp.entitlements import Entitlements
from engine.fmp.quota import DailyQuota
from engine.runs.probe import PROBE_MAX_REQUESTS, probe, render_probe
from fakefmp import FakeConfig, RunningServer, serve

AS_OF = date(2026, 8, 7)
NO_WAIT = RetryPolicy(attempts=2, initial_s=0, cap_s=0, rate_limit_wait_s=0)


@pytest.fixture
async def fake_for() -> AsyncIterator[Callable[..., Awaitable[RunningServer]]]:
    started: list[Any] = []

    async def start(plan: str | None, **fields: Any) -> RunningServer:
        manager = serve(FakeConfig(symbols=60, seed=2, as_of=AS_OF, plan=plan, rate_limit=10**6, **fields))
        started.append(manager)
        return await manager.__aenter__()

    yield start
    for manager in started:
        await manager.__aexit__(None, None, None)


def client(fake: RunningServer, key: str = "probe-key") -> Any:
    settings = EngineSettings(
        database_url="postgresql://unused/db",  # type: ignore[arg-type]
        fmp_api_key=key,  # type: ignore[arg-type]
        fmp_base_url=fake.base_url,
        fmp_bulk_interval_s=0,
    )
    return FMPClient.open(settings, retry=NO_WAIT)


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        (
            "free",
            {
                "constituents": False,
                "bulk": False,
                "history_years": 5,
                "statement_limit": 5,
                "quarterly": False,
                "calendar": False,
                "daily_limit": 250,
            },
        ),
        (
            "starter",
            {
                "constituents": False,
                "bulk": False,
                "history_years": 5,
                "statement_limit": 5,
                "quarterly": False,
                "calendar": True,
                "daily_limit": None,
            },
        ),
        (
            "premium",
            {
                "constituents": True,
                "bulk": False,
                "history_years": None,
                "statement_limit": None,
                "quarterly": True,
                "calendar": True,
                "daily_limit": None,
            },
        ),
        (
            "ultimate",
            {
                "constituents": True,
                "bulk": True,
                "history_years": None,
                "statement_limit": None,
                "quarterly": True,
                "calendar": True,
                "daily_limit": None,
            },
        ),
    ],
)
async def test_probe_finds_each_plan_in_at_most_ten_requests(
    fake_for: Callable[..., Awaitable[RunningServer]], plan: str, expected: dict[str, Any]
) -> None:
    """Each plan's refusals, its name and its daily limit, with FMP's words for every refusal."""
    fake = await fake_for(plan, bulk_interval_s=0)
    async with client(fake) as fmp:
        found = await probe(fmp, AS_OF)
        assert fmp.counters.requests == found.requests <= PROBE_MAX_REQUESTS
    assert found.plan == plan
    assert {name: getattr(found, name) for name in expected} == expected
    refused = [check for check in found.checks if not check.allowed]
    assert all(check.status == 402 and check.words for check in refused)
    table = render_probe(found)
    assert f"FMP plan: {plan}" in table
    for check in refused:
        assert str(check.words) in table


async def test_probe_of_the_open_fake_allows_everything(
    fake_for: Callable[..., Awaitable[RunningServer]],
) -> None:
    """The fake without a plan serves everything: the probe says so (Ultimate's shape)."""
    fake = await fake_for(None)
    async with client(fake) as fmp:
        found = await probe(fmp, AS_OF)
    assert found.withheld() == {}
    assert found.history_floor(AS_OF) is None


async def test_probe_of_a_wrong_key_tries_the_query_once_then_fails(
    fake_for: Callable[..., Awaitable[RunningServer]],
) -> None:
    """A 401 in the header is tried once in the query; refused there too, the key is wrong."""
    fake = await fake_for(None, api_key="the-right-key")
    async with client(fake, "a-wrong-key") as fmp:
        with pytest.raises(FMPAuthError):
            await probe(fmp, AS_OF)
        assert fmp.counters.requests == 2
        assert fmp.key_in_query


def test_entitlements_survive_the_store_as_json() -> None:
    """What a probe found reads back the same from its JSON (fmp_probes.entitlements)."""
    found = Entitlements(
        plan="x", constituents=False, bulk=False, history_years=5, statement_limit=5
    ).with_checks([], requests=7)
    back = Entitlements.from_json(found.as_json())
    assert back == found
    assert back.history_floor(date(2026, 2, 28)) == date(2021, 2, 28) + timedelta(days=7)
    assert back.plan == "starter"


def test_quota_refuses_before_the_reserve_and_rolls_over_at_midnight() -> None:
    """250 a day with 40 spent: 205 more pass, the next is refused unsent; a new day starts at 0."""
    day = [date(2026, 8, 7)]
    quota = DailyQuota(250, spent_today=40, today=lambda: day[0])
    for _ in range(250 - 5 - 40):
        quota.take("profile")
    with pytest.raises(Exception, match="250 requests a day are spent"):
        quota.take("profile")
    assert quota.unsaved() == {date(2026, 8, 7): 205}
    day[0] = date(2026, 8, 8)
    quota.take("profile")
    assert quota.spent == 1
    assert quota.unsaved() == {date(2026, 8, 8): 1}
