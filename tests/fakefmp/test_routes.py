"""The fake's route table: one entry serves a path behind every gate, and a test's route leaves no trace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import aiohttp
import pytest

from fakefmp import FakeConfig, RunningServer, serve
from fakefmp.plans import RESTRICTED
from fakefmp.routes import JSON, ROUTES, Answer, Ask, Route
from fakefmp.server import FakeFMP

KEY = {"apikey": "test-key"}


def echo(fake: FakeFMP, ask: Ask) -> Answer:
    return 200, JSON, f'[{{"symbol": "{ask.symbol}", "asOf": "{fake.universe.as_of}"}}]'.encode()


@pytest.fixture
async def fake() -> AsyncIterator[RunningServer]:
    config = FakeConfig(symbols=5, seed=1, rate_limit=100, as_of=date(2026, 8, 7), bulk_denied=True)
    async with serve(config) as server:
        yield server


async def _get(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=KEY) as response:
        return response.status, await response.read()


async def test_routes_registered_path_is_served_in_its_block_only(fake: RunningServer) -> None:
    """A registered route answers with the symbol upper-cased; before and after its block the path is a 404."""
    url = f"{fake.base_url}/toy-echo?symbol=mmm"
    assert await _get(url) == (404, b'{"Error Message": "Not Found"}')
    with ROUTES.registered(Route("toy-echo", "profile", echo)):
        assert await _get(url) == (200, b'[{"symbol": "MMM", "asOf": "2026-08-07"}]')
    assert (await _get(url))[0] == 404


async def test_routes_kind_puts_a_route_behind_its_plans_gate(fake: RunningServer) -> None:
    """A route of kind `bulk` is refused with 402 when the plan has no bulk, before its answer runs."""
    with ROUTES.registered(Route("toy-bulk", "bulk", echo)):
        status, body = await _get(f"{fake.base_url}/toy-bulk")
    assert (status, body) == (402, RESTRICTED)


def test_routes_refuse_a_second_route_for_a_path_and_roll_back() -> None:
    """A path is declared once; a block that fails to register adds none of its routes."""
    before = ROUTES.paths()
    with (
        pytest.raises(ValueError, match="profile"),
        ROUTES.registered(Route("toy-first", "profile", echo), Route("profile", "profile", echo)),
    ):
        pass
    assert ROUTES.paths() == before
    assert "historical-price-eod/full" in before
