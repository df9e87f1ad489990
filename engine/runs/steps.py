"""One item's work, in the engine's flow: fetch (FMP client) → parse (validate) → load (COPY/merge).

The handler built here is what the run loop calls per item; the loop then records the outcome.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import cast

import asyncpg

from engine.db import load_price_rows, load_profiles, load_statement_rows
from engine.db.validate import parse_prices, parse_statements
from engine.fmp import ENDPOINTS, FMPClient, FMPCounters, Period
from engine.fmp.endpoints import PROFILE
from engine.runs.datasets import DATASETS_BY_NAME, Family
from engine.runs.loop import ITEM_ERRORS, ItemFailed, ItemHandler, ItemResult
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
class Steps:
    """Everything an item needs: the FMP client, the store's pool, and today's date for price windows."""

    fmp: FMPClient
    pool: asyncpg.Pool
    today: date

    async def profile(self, item: PlannedItem) -> int:
        rows = await self.fmp.fetch(PROFILE, symbol=item.symbol)
        result = await load_profiles(self.pool, rows)
        return result.changed

    async def statement(self, item: PlannedItem) -> int:
        dataset = DATASETS_BY_NAME[item.dataset]
        assert dataset.kind is not None and dataset.period is not None
        rows = await self.fmp.fetch(
            ENDPOINTS[dataset.kind],
            symbol=item.symbol,
            period=cast(Period, dataset.period),
            limit=int(item.params.get("limit", 0)) or None,
        )
        parsed = parse_statements(item.symbol, dataset.kind, rows)
        result = await load_statement_rows(
            self.pool, item.symbol, dataset.kind, parsed.rows, quarantined=parsed.quarantined
        )
        return result.changed

    async def prices(self, item: PlannedItem) -> int:
        start = date.fromisoformat(str(item.params["from"]))
        # One item = one symbol's whole window, loaded in one batch: never a committed newer part
        # with an older hole that a later run's "after the last stored date" would skip.
        full = await self.fmp.fetch_price_history(item.symbol, start, self.today)
        adjusted = await self.fmp.fetch_price_history(item.symbol, start, self.today, adjusted=True)
        parsed = parse_prices(item.symbol, full, adjusted)
        result = await load_price_rows(self.pool, item.symbol, parsed.rows, quarantined=parsed.quarantined)
        return result.changed

    async def __call__(self, item: PlannedItem) -> ItemResult:
        box = [0]
        token = _ITEM_REQUESTS.set(box)
        family = DATASETS_BY_NAME[item.dataset].family
        try:
            if family is Family.PRICES:
                changed = await self.prices(item)
            elif family is Family.STATEMENT:
                changed = await self.statement(item)
            else:
                changed = await self.profile(item)
        except ITEM_ERRORS as exc:
            raise ItemFailed(exc, box[0]) from exc
        finally:
            _ITEM_REQUESTS.reset(token)
        return ItemResult(requests=box[0], rows_changed=changed)


def item_handler(fmp: FMPClient, pool: asyncpg.Pool, today: date) -> ItemHandler:
    """The per-item handler for the run loop; makes the client charge requests to items."""
    if not isinstance(fmp.counters, ItemCountingCounters):
        fmp.counters = ItemCountingCounters()
    return Steps(fmp, pool, today)
