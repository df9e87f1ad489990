"""The dataset registry: a toy family added in this one file, with the fake FMP's answer for its
path, is planned, fetched, parsed, loaded and recorded by a real run (fake FMP over HTTP, real
PostgreSQL) without an edit to the planner, the steps, the run service or the fake's server."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import date, timedelta
from typing import ClassVar

import asyncpg
import orjson
import pytest

from devkit.fingerprint import query
from engine.config import EngineSettings
from engine.db import migrate
from engine.exitcodes import ExitCode
from engine.fmp.endpoints import EndpointSpec
from engine.runs.datasets import REGISTRY, Dataset, Job, Registry, discover
from engine.runs.family import DatasetFamily, ItemContext, Loaded, PlanInputs
from engine.runs.plan import Freshness, PlannedItem, PlanPolicy, build_plan
from engine.runs.service import RunService
from fakefmp import serve
from fakefmp.config import FakeConfig
from fakefmp.routes import JSON, ROUTES, Answer, Ask, Route
from fakefmp.server import FakeFMP, RunningServer
from tests.conftest import Cluster, throwaway_database

pytestmark = pytest.mark.e2e

UNIVERSE = 5
DAY = date(2026, 3, 2)

# The toy's migration (a real dataset's would be schema/NNN_*.sql) and its DML (engine/db/queries.py).
TOY_MIGRATION = """
CREATE TABLE toy_market_caps (
    symbol     text PRIMARY KEY,
    market_cap double precision NOT NULL,
    fetched_on date NOT NULL
)
"""
TOY_UPSERT = """
INSERT INTO toy_market_caps (symbol, market_cap, fetched_on) VALUES ($1, $2, $3)
ON CONFLICT (symbol) DO UPDATE SET market_cap = EXCLUDED.market_cap, fetched_on = EXCLUDED.fetched_on
"""
TOY_FETCHED = "SELECT symbol, fetched_on FROM toy_market_caps WHERE symbol = ANY($1::text[])"
# Its endpoint spec (a real dataset's would sit in engine/fmp/endpoints.py): FMP's current market
# capitalisation, a path the fake does not serve until the toy's route below is registered.
TOY_PATH = "market-capitalization"
TOY_SPEC = EndpointSpec("toy_market_cap", TOY_PATH, required=("symbol", "marketCap"), numeric=("marketCap",))
TOY = Dataset("toy_market_cap", "toy")


def toy_answer(fake: FakeFMP, ask: Ask) -> Answer:
    """The fake's answer (a real dataset's would be one `@ROUTES.serves` entry in fakefmp/routes.py):
    FMP's shape, one row of the company's market cap as of the fake's today, from its profile."""
    rows = [
        {"symbol": row["symbol"], "date": fake.universe.as_of.isoformat(), "marketCap": row["marketCap"]}
        for row in orjson.loads(fake.universe.profile_body(ask.symbol))
    ]
    return 200, JSON, orjson.dumps(rows)


TOY_ROUTE = Route(TOY_PATH, "profile", toy_answer)  # gated by a plan as a profile is


class ToyMarketCaps(DatasetFamily):
    """Each company's market capitalisation as of the run: one request per company and fundamentals run."""

    name: ClassVar[str] = "toy"
    order: ClassVar[int] = 40
    datasets: ClassVar[tuple[Dataset, ...]] = (TOY,)
    jobs: ClassVar[frozenset[Job]] = frozenset({Job.FUNDAMENTALS})

    async def read_state(self, pool: asyncpg.Pool, symbols: Sequence[str]) -> dict[str, date]:
        rows = await pool.fetch(TOY_FETCHED, list(symbols))
        return {row["symbol"]: row["fetched_on"] for row in rows}

    def plan(self, symbol: str, dataset: Dataset, inputs: PlanInputs) -> PlannedItem | None:
        """Once a day: a company fetched today is left alone."""
        if (inputs.state or {}).get(symbol) == inputs.today:
            return None
        return PlannedItem(symbol, dataset.name, {}, 1)

    async def load(self, ctx: ItemContext, item: PlannedItem, dataset: Dataset) -> Loaded:
        rows = await ctx.fmp.fetch(TOY_SPEC, symbol=item.symbol)
        values = [(str(row["symbol"]), float(row["marketCap"]), ctx.today) for row in rows]
        async with ctx.pool.acquire() as connection:
            await connection.executemany(TOY_UPSERT, values)
        return Loaded(len(values))


@pytest.fixture
def toy() -> Iterator[DatasetFamily]:
    with REGISTRY.registered(ToyMarketCaps()) as family, ROUTES.registered(TOY_ROUTE):
        yield family


@pytest.fixture
async def fake() -> AsyncIterator[RunningServer]:
    config = FakeConfig(symbols=UNIVERSE, seed=5, rate_limit=10**6, as_of=DAY, bulk_denied=True)
    async with serve(config) as running:
        yield running


@pytest.fixture
def database(pg_cluster: Cluster) -> Iterator[str]:
    with throwaway_database(pg_cluster, "registry") as db:
        asyncio.run(migrate(db.owner_url))
        yield db.owner_url


def test_registry_plans_a_registered_family_for_its_jobs_only(toy: DatasetFamily) -> None:
    """The toy's items follow the engine's own in each symbol's turn, in the jobs it names only."""
    policy = PlanPolicy(history_start=date(2020, 1, 1))
    fundamentals = build_plan(
        Job.FUNDAMENTALS, ["AAA", "BBB"], policy=policy, freshness=Freshness(), rate_limit=300, today=DAY
    )
    names = [item.dataset for item in fundamentals.items if item.symbol == "AAA"]
    assert names[0] == "profile"
    assert names[-1] == "toy_market_cap"
    assert fundamentals.by_dataset()["toy_market_cap"] == (2, 2)
    fetched_today = {"toy": {"AAA": DAY, "BBB": DAY - timedelta(days=1)}}
    again = build_plan(
        Job.FUNDAMENTALS,
        ["AAA", "BBB"],
        policy=policy,
        freshness=Freshness(),
        rate_limit=300,
        today=DAY,
        states=fetched_today,
    )
    assert [item.symbol for item in again.items if item.dataset == "toy_market_cap"] == ["BBB"]
    prices = build_plan(Job.PRICES, ["AAA"], policy=policy, freshness=Freshness(), rate_limit=300, today=DAY)
    assert [item.dataset for item in prices.items] == ["prices"]


def test_discover_finds_the_engines_families_in_their_order() -> None:
    """Each module of engine/runs/families/ is a family, and a symbol's items follow their `order`."""
    assert [family.name for family in discover()] == ["profile", "statement", "prices"]
    assert REGISTRY.names()[0] == "profile"
    assert REGISTRY.names()[-1] == "prices"


def test_registry_forgets_a_family_after_its_block() -> None:
    """`registered` leaves the registry as it found it, so the toy never leaks into other tests."""
    before = REGISTRY.names()
    with REGISTRY.registered(ToyMarketCaps()):
        assert REGISTRY.names() == (*before, "toy_market_cap")
    assert REGISTRY.names() == before


def test_registry_refuses_a_taken_dataset_name() -> None:
    """Two families cannot declare one dataset: the ledger tells items apart by its name."""
    registry = Registry(ToyMarketCaps())
    with pytest.raises(ValueError, match="toy_market_cap"):
        registry.register(ToyMarketCaps())


async def test_registered_toy_dataset_is_loaded_by_a_real_run(
    toy: DatasetFamily, fake: RunningServer, database: str
) -> None:
    """A fundamentals run fetches, loads and records the toy beside the engine's own datasets; the
    next run that day leaves it alone, by the toy's own planner rule."""
    async with asyncpg.create_pool(database, min_size=1, max_size=1) as pool:
        await pool.execute(TOY_MIGRATION)
    settings = EngineSettings(
        database_url=database,  # type: ignore[arg-type]
        fmp_api_key="registry-key",  # type: ignore[arg-type]
        fmp_base_url=fake.base_url,
        fmp_rate_limit=10**6,
        history_start=date(2024, 1, 1),
        former_members_since=None,
        log_format="json",
    )
    service = RunService(settings, Job.FUNDAMENTALS, (), metrics_stream=io.StringIO(), today=DAY)
    assert await service.execute() == ExitCode.OK
    assert fake.state.stats.paths[TOY_PATH] == UNIVERSE  # the toy's own path, served by its route

    items = query(
        database, "SELECT symbol, state, requests FROM run_items WHERE dataset = 'toy_market_cap' ORDER BY 1"
    )
    # the toy's values are the ones the profile family stored from its own request in the same run
    # (the companies table also names the index's former members, without a profile)
    profiles = query(
        database,
        "SELECT symbol, (profile->>'marketCap')::float8 FROM companies WHERE profile IS NOT NULL ORDER BY 1",
    )
    assert len(profiles) == UNIVERSE
    assert items == [(symbol, "done", 1) for symbol, _ in profiles]
    loaded = query(database, "SELECT symbol, market_cap, fetched_on FROM toy_market_caps ORDER BY 1")
    assert loaded == [(symbol, cap, DAY) for symbol, cap in profiles]

    # the toy's own rule, on what its `read_state` found: nothing more to fetch today
    service = RunService(settings, Job.FUNDAMENTALS, (), metrics_stream=io.StringIO(), today=DAY)
    assert await service.execute() == ExitCode.OK
    datasets = query(database, "SELECT DISTINCT dataset FROM run_items WHERE run_id = 2")
    assert ("profile",) in datasets
    assert ("toy_market_cap",) not in datasets
