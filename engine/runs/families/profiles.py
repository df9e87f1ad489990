"""Company profiles: one request per company and run, or a row of the run's profile-bulk parts."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any, ClassVar

from engine.db import load_profiles
from engine.fmp.endpoints import PROFILE as PROFILE_SPEC
from engine.fmp.endpoints import PROFILE_BULK, EndpointSpec
from engine.runs.bulk import BULK_FALLBACK_ERRORS, BulkDeniedError
from engine.runs.family import DatasetFamily, ItemContext, Loaded, PlanInputs
from engine.runs.items import Dataset, Family, Job, PlannedItem

PROFILE = Dataset("profile", Family.PROFILE)


class Profiles(DatasetFamily):
    """`companies`: every run refreshes every profile (one request, or none from profile-bulk)."""

    name: ClassVar[str] = Family.PROFILE
    order: ClassVar[int] = 10
    datasets: ClassVar[tuple[Dataset, ...]] = (PROFILE,)
    jobs: ClassVar[frozenset[Job]] = frozenset({Job.FULL, Job.FUNDAMENTALS})
    bulk_endpoint: ClassVar[EndpointSpec | None] = PROFILE_BULK

    def plan(self, symbol: str, dataset: Dataset, inputs: PlanInputs) -> PlannedItem | None:
        if inputs.bulk_profiles:
            return PlannedItem(symbol, dataset.name, {"bulk": True}, 0)
        return PlannedItem(symbol, dataset.name, {}, 1)

    def plan_frozen(
        self, symbol: str, dataset: Dataset, left: date, inputs: PlanInputs
    ) -> PlannedItem | None:
        return None if symbol in inputs.freshness.profiled else PlannedItem(symbol, dataset.name, {}, 1)

    async def load(self, ctx: ItemContext, item: PlannedItem, dataset: Dataset) -> Loaded:
        rows: list[dict[str, Any]] = []
        if item.params.get("bulk") and ctx.bulk is not None:
            with contextlib.suppress(BulkDeniedError, *BULK_FALLBACK_ERRORS):
                row = (await ctx.bulk.profiles()).get(item.symbol)
                rows = [row] if row is not None else []
        if not rows:  # not in the plan, or the symbol missing from the bulk parts
            rows = await ctx.fmp.fetch(PROFILE_SPEC, symbol=item.symbol)
        result = await load_profiles(ctx.pool, rows)
        return Loaded(result.changed)


FAMILY = Profiles()
