"""One item's work, in the engine's flow: fetch (FMP client) → parse (validate) → load (COPY/merge).

The handler built here is what the run loop calls per item; the loop then records the outcome.
"""

from __future__ import annotations

import contextlib
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import asyncpg

from engine.db import PriceRow, load_price_rows, load_profiles, load_statement_rows, record_statement_fetch
from engine.db.load import LoadOptions
from engine.db.validate import Parsed, parse_prices, parse_statements
from engine.db.watermarks import first_stored_date, market_cap, stored_closes
from engine.errors import (
    FMPEntitlementError,
    FMPError,
    FMPMalformedResponseError,
    FMPRequestError,
    FMPTransientError,
    ItemFailed,
)
from engine.fmp import ENDPOINTS, FMPClient, FMPCounters
from engine.fmp.endpoints import PROFILE
from engine.fmp.entitlements import limit_cap
from engine.runs.bulk import BulkData, BulkDeniedError
from engine.runs.datasets import DATASETS_BY_NAME, Family
from engine.runs.loop import ITEM_ERRORS, ItemHandler, ItemResult
from engine.runs.plan import PlannedItem
from engine.runs.readjust import find_rewrite

log = logging.getLogger("engine.run")

# A bulk answer that stays broken after the client's retries sends the item per symbol; an
# FMPAuthError is not among them: nothing would work with a rejected key.
BULK_FALLBACK_ERRORS: tuple[type[FMPError], ...] = (
    FMPMalformedResponseError,
    FMPRequestError,
    FMPTransientError,
)

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
    bulk: BulkData | None = None  # the run's shared bulk answers (items planned with "bulk")
    run_id: int | None = None  # kept with the statements it writes (provenance)

    async def profile(self, item: PlannedItem) -> int:
        rows: list[dict[str, Any]] = []
        if item.params.get("bulk") and self.bulk is not None:
            with contextlib.suppress(BulkDeniedError, *BULK_FALLBACK_ERRORS):
                row = (await self.bulk.profiles()).get(item.symbol)
                rows = [row] if row is not None else []
        if not rows:  # not in the plan, or the symbol missing from the bulk parts
            rows = await self.fmp.fetch(PROFILE, symbol=item.symbol)
        result = await load_profiles(self.pool, rows)
        return result.changed

    async def statement(self, item: PlannedItem) -> tuple[int, dict[str, Any] | None]:
        """Load the series; a `limit` the plan refuses is lowered to the one FMP names and asked again
        (the clip is returned for the ledger)."""
        dataset = DATASETS_BY_NAME[item.dataset]
        assert dataset.kind is not None
        assert dataset.period is not None
        spec = ENDPOINTS[dataset.kind]
        limit = int(item.params.get("limit", 0)) or None
        clipped: dict[str, Any] | None = None
        try:
            rows = await self.fmp.fetch(spec, symbol=item.symbol, period=dataset.period, limit=limit)
        except FMPEntitlementError as exc:
            cap = limit_cap(exc.reason)
            if cap is None or (limit is not None and cap >= limit):
                raise
            clipped = {"limit": cap, "asked": limit, "fmp": exc.reason}
            rows = await self.fmp.fetch(spec, symbol=item.symbol, period=dataset.period, limit=cap)
        parsed = parse_statements(
            item.symbol,
            dataset.kind,
            rows,
            numeric=spec.numeric,
            market_cap=await market_cap(self.pool, item.symbol),
        )
        options: LoadOptions = {} if self.run_id is None else {"run_id": self.run_id}
        result = await load_statement_rows(
            self.pool, item.symbol, dataset.kind, parsed.rows, quarantined=parsed.quarantined, **options
        )
        # After the commit: a crash in between only means the series is refetched once more.
        await record_statement_fetch(self.pool, item.symbol, dataset.kind, dataset.period, self.today)
        return result.changed, clipped

    async def _bulk_prices(self, symbol: str, start: date) -> Parsed[PriceRow] | None:
        """The window from the run's eod-bulk days; None when the plan does not include eod-bulk."""
        if self.bulk is None:
            return None
        try:
            full, adjusted = await self.bulk.prices(symbol, start, self.today)
        except BulkDeniedError:
            return None
        except BULK_FALLBACK_ERRORS as exc:  # a bad bulk answer: this item asks per symbol instead
            log.warning("%s: eod-bulk failed (%s); per-symbol prices", symbol, type(exc).__name__)
            return None
        return parse_prices(symbol, full, adjusted)  # CSV-typed rows: every check runs

    async def _fetch_prices(
        self, symbol: str, start: date, end: date
    ) -> tuple[Parsed[PriceRow], dict[str, Any] | None]:
        """Both endpoints from `start` to `end` (`full` alone has the unadjusted OHLC and vwap, and
        `dividend-adjusted` alone has adjClose: FMP-API.md 3.6); a start the plan refuses is clipped
        (engine/fmp/price_history.py), and the clip returned for the ledger."""
        full = await self.fmp.price_history(symbol, start, end)
        adjusted = await self.fmp.price_history(symbol, full.start or start, end, adjusted=True)
        spans = [span for span in (full.clipped, adjusted.clipped) if span is not None]
        clipped = None
        if spans:
            last = max(span[1] for span in spans)
            clipped = {
                "from": start.isoformat(),
                "to": last.isoformat(),
                "fmp": full.refused or adjusted.refused,
            }
            log.info(
                "%s: prices %s..%s are outside the plan (FMP: %s); loaded from %s",
                symbol,
                start,
                last,
                clipped["fmp"],
                last + timedelta(days=1),
                extra={"event": "prices_clipped", "symbol": symbol},
            )
        # the client checked types and dates
        return parse_prices(symbol, full.rows, adjusted.rows, checked=True), clipped

    async def prices(self, item: PlannedItem) -> tuple[int, dict[str, Any] | None, dict[str, Any] | None]:
        """Load the planned window; if FMP rewrote stored prices (a new dividend or split adjusts the
        whole past), refetch the symbol's whole stored history instead, in the same single batch.
        Returns the rows changed, the re-adjustment and the span the plan refused, if any."""
        symbol = item.symbol
        start = date.fromisoformat(str(item.params["from"]))
        # A frozen former member's window ends a year after it left the index (engine/runs/plan.py).
        end = date.fromisoformat(str(item.params["to"])) if "to" in item.params else self.today
        parsed = await self._bulk_prices(symbol, start) if item.params.get("bulk") else None
        clipped: dict[str, Any] | None = None
        if parsed is None:
            parsed, clipped = await self._fetch_prices(symbol, start, end)
        readjusted: dict[str, Any] | None = None
        # Compared before anything is written: were the window loaded first, a crash before the
        # refetch would leave the overlap already updated, and the rewrite would never be seen again.
        rewrite = find_rewrite(await stored_closes(self.pool, symbol, start), parsed.rows)
        if rewrite is not None:
            first = await first_stored_date(self.pool, symbol)
            if first is not None and first < start:
                log.info(
                    "%s: FMP re-adjusted its price history (%s); refetching from %s",
                    symbol,
                    rewrite.reason,
                    first,
                    extra={"event": "prices_readjusted", "symbol": symbol, "from": first.isoformat()},
                )
                parsed, _ = await self._fetch_prices(symbol, first, end)
                readjusted = {"from": first.isoformat(), "reason": rewrite.reason}
        # One item = one symbol's whole window, loaded in one batch: never a committed newer part
        # with an older hole that a later run's "after the last stored date" would skip.
        result = await load_price_rows(self.pool, symbol, parsed.rows, quarantined=parsed.quarantined)
        return result.changed, readjusted, clipped

    async def __call__(self, item: PlannedItem) -> ItemResult:
        box = [0]
        token = _ITEM_REQUESTS.set(box)
        family = DATASETS_BY_NAME[item.dataset].family
        readjusted: dict[str, Any] | None = None
        clipped: dict[str, Any] | None = None
        try:
            if family is Family.PRICES:
                changed, readjusted, clipped = await self.prices(item)
            elif family is Family.STATEMENT:
                changed, clipped = await self.statement(item)
            else:
                changed = await self.profile(item)
        except ITEM_ERRORS as exc:
            raise ItemFailed(exc, box[0]) from exc
        finally:
            _ITEM_REQUESTS.reset(token)
        return ItemResult(requests=box[0], rows_changed=changed, readjusted=readjusted, clipped=clipped)


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
