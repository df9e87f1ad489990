"""A dataset family declared once: its datasets, the jobs that take them, its planner rule and its
fetch → parse → load step. The planner, the run's steps and the run service only call these hooks;
`engine/runs/datasets.py` registers the families.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, NamedTuple

import asyncpg

from engine.fmp import FMPClient
from engine.fmp.endpoints import EndpointSpec
from engine.runs.bulk import BulkData
from engine.runs.copied import Copied
from engine.runs.items import Dataset, Freshness, Job, PlannedItem, PlanPolicy


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """What the planner knows when it plans one item: the policy, the store, today, the run's bulk files."""

    policy: PlanPolicy
    freshness: Freshness
    today: date
    bulk_prices: bool = False  # the run's eod-bulk days serve recent prices
    bulk_profiles: bool = False  # the run's profile-bulk parts serve profiles
    state: Any = None  # what the family's own `read_state` found in the store


@dataclass(frozen=True, slots=True)
class ItemContext:
    """What an item's step needs: the FMP client, the store's pool, today, the run's bulk answers."""

    fmp: FMPClient
    pool: asyncpg.Pool
    today: date
    bulk: BulkData | None = None  # the run's shared bulk answers (items planned with "bulk")
    run_id: int | None = None  # kept with the statements it writes (provenance)


class Loaded(NamedTuple):
    """What a step did: rows changed, and for the ledger any re-adjustment and span the plan refused."""

    changed: int
    readjusted: dict[str, Any] | None = None
    clipped: dict[str, Any] | None = None
    copied: Copied | None = None  # statement rows a backfill COPYed whole (engine/runs/copied.py)


class DatasetFamily:
    """The hooks of one family; the defaults fit a per-symbol dataset fetched once per run.

    A new family subclasses this in its own module of engine/runs/families/ as `FAMILY` (the
    registry, engine/runs/datasets.py, finds it there), declares `name`, `order`, `datasets` and
    `jobs`, overrides `plan` (and `read_state`) where the store matters and `load` always.
    """

    name: ClassVar[str]
    order: ClassVar[int]  # where its items fall among a symbol's (the registry sorts by it)
    datasets: ClassVar[tuple[Dataset, ...]]
    jobs: ClassVar[frozenset[Job]]
    calendar: ClassVar[bool] = False  # its plan reads FMP's earnings calendar (when the store has some)
    bulk_endpoint: ClassVar[EndpointSpec | None] = None  # a bulk file that can serve its items

    async def read_state(self, pool: asyncpg.Pool, symbols: Sequence[str]) -> Any:
        """What the store holds that `plan` needs beyond `Freshness` (read once per plan, handed to
        `plan` as `inputs.state`); by default nothing."""
        return None

    def plan(self, symbol: str, dataset: Dataset, inputs: PlanInputs) -> PlannedItem | None:
        """The item for this run (None: nothing to do); by default one request every run."""
        return PlannedItem(symbol, dataset.name, {}, 1)

    def plan_frozen(
        self, symbol: str, dataset: Dataset, left: date, inputs: PlanInputs
    ) -> PlannedItem | None:
        """The item of a former member frozen since `left` + FORMER_TAIL_DAYS: only what was never
        stored (by default nothing)."""
        return None

    def estimate(self, item: PlannedItem, policy: PlanPolicy, today: date) -> int:
        """Requests a (possibly resumed) item will send, from its stored parameters."""
        return 1

    async def load(self, ctx: ItemContext, item: PlannedItem, dataset: Dataset) -> Loaded:
        """Fetch, parse and load one item (raises the engine's errors; the run loop records them)."""
        raise NotImplementedError(f"{type(self).__name__} loads nothing")
