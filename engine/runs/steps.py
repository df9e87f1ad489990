"""One item's work: its family's fetch (FMP client) → parse (validate) → load (COPY/merge).

The handler built here is what the run loop calls per item; the loop then records the outcome.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date

import asyncpg

from engine.errors import ItemFailed
from engine.fmp import FMPClient, FMPCounters
from engine.runs.bulk import BulkData
from engine.runs.datasets import REGISTRY
from engine.runs.family import ItemContext
from engine.runs.loop import ITEM_ERRORS, ItemHandler, ItemResult
from engine.runs.plan import PlannedItem

_ITEM_REQUESTS: ContextVar[list[int] | None] = ContextVar("mycfa_item_requests", default=None)


class ItemCountingCounters(FMPCounters):
    """The client's counters, also charging each send to the item being worked on (via a context var).

    The price fetch runs its windows as child tasks; they inherit the context, so their sends are
    charged to the same item.
    """

    __slots__ = ()

    def record_send(self, now: float) -> None:
        super().record_send(now)
        box = _ITEM_REQUESTS.get()
        if box is not None:
            box[0] += 1


@dataclass(frozen=True, slots=True)
class Steps(ItemContext):
    """The run loop's handler: each item goes to its dataset's family, its requests counted."""

    async def __call__(self, item: PlannedItem) -> ItemResult:
        box = [0]
        token = _ITEM_REQUESTS.set(box)
        dataset = REGISTRY.dataset(item.dataset)
        try:
            loaded = await REGISTRY.family_of(item.dataset).load(self, item, dataset)
        except ITEM_ERRORS as exc:
            raise ItemFailed(exc, box[0]) from exc
        finally:
            _ITEM_REQUESTS.reset(token)
        return ItemResult(
            requests=box[0],
            rows_changed=loaded.changed,
            readjusted=loaded.readjusted,
            clipped=loaded.clipped,
            copied=loaded.copied,
        )


def item_handler(
    fmp: FMPClient,
    pool: asyncpg.Pool,
    today: date,
    bulk: BulkData | None = None,
    *,
    run_id: int | None = None,
) -> ItemHandler:
    """The per-item handler for the run loop; makes the client charge requests to items."""
    if not isinstance(fmp.counters, ItemCountingCounters):
        fmp.counters = ItemCountingCounters()
    return Steps(fmp, pool, today, bulk, run_id)
