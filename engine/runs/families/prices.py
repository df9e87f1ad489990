"""Daily prices: a window from a week before the last stored day (from the run's eod-bulk days when
that is short), re-fetched whole when FMP re-adjusted the past, loaded into `prices_daily`."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any, ClassVar

from engine.db import PriceRow, load_price_rows
from engine.db.validate import Parsed, parse_prices
from engine.db.watermarks import first_stored_date, stored_closes
from engine.fmp.endpoints import EOD_BULK, EndpointSpec
from engine.runs.bulk import BULK_FALLBACK_ERRORS, BULK_PRICE_MAX_DAYS, BulkDeniedError
from engine.runs.family import DatasetFamily, ItemContext, Loaded, PlanInputs
from engine.runs.items import (
    FORMER_TAIL_DAYS,
    Dataset,
    Family,
    Job,
    PlannedItem,
    PlanPolicy,
    price_window_requests,
)
from engine.runs.readjust import find_rewrite

log = logging.getLogger("engine.run")

PRICES = Dataset("prices", Family.PRICES)


async def bulk_prices(ctx: ItemContext, symbol: str, start: date) -> Parsed[PriceRow] | None:
    """The window from the run's eod-bulk days; None when the plan does not include eod-bulk."""
    if ctx.bulk is None:
        return None
    try:
        full, adjusted = await ctx.bulk.prices(symbol, start, ctx.today)
    except BulkDeniedError:
        return None
    except BULK_FALLBACK_ERRORS as exc:  # a bad bulk answer: this item asks per symbol instead
        log.warning("%s: eod-bulk failed (%s); per-symbol prices", symbol, type(exc).__name__)
        return None
    return parse_prices(symbol, full, adjusted)  # CSV-typed rows: every check runs


async def fetch_prices(
    ctx: ItemContext, symbol: str, start: date, end: date
) -> tuple[Parsed[PriceRow], dict[str, Any] | None]:
    """Both endpoints from `start` to `end` (`full` alone has the unadjusted OHLC and vwap, and
    `dividend-adjusted` alone has adjClose: FMP-API.md 3.6); a start the plan refuses is clipped
    (engine/fmp/price_history.py), and the clip returned for the ledger."""
    full = await ctx.fmp.price_history(symbol, start, end)
    adjusted = await ctx.fmp.price_history(symbol, full.start or start, end, adjusted=True)
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


class Prices(DatasetFamily):
    """`prices_daily`: one item per symbol, its window in one batch."""

    name: ClassVar[str] = Family.PRICES
    order: ClassVar[int] = 30
    datasets: ClassVar[tuple[Dataset, ...]] = (PRICES,)
    jobs: ClassVar[frozenset[Job]] = frozenset({Job.FULL, Job.PRICES})
    bulk_endpoint: ClassVar[EndpointSpec | None] = EOD_BULK

    def plan(self, symbol: str, dataset: Dataset, inputs: PlanInputs) -> PlannedItem | None:
        policy, today = inputs.policy, inputs.today
        last = inputs.freshness.last_price.get(symbol)
        start = policy.history_start if last is None else last - timedelta(days=policy.price_overlap_days)
        start = max(min(start, today), policy.history_start)
        if inputs.bulk_prices and last is not None and (today - start).days <= BULK_PRICE_MAX_DAYS:
            return PlannedItem(symbol, dataset.name, {"from": start.isoformat(), "bulk": True}, 0)
        requests = price_window_requests(start, today, policy)
        return PlannedItem(symbol, dataset.name, {"from": start.isoformat()}, requests)

    def plan_frozen(
        self, symbol: str, dataset: Dataset, left: date, inputs: PlanInputs
    ) -> PlannedItem | None:
        if symbol in inputs.freshness.last_price:
            return None
        end = left + timedelta(days=FORMER_TAIL_DAYS)
        start = min(inputs.policy.history_start, end)
        window = {"from": start.isoformat(), "to": end.isoformat()}
        return PlannedItem(symbol, dataset.name, window, price_window_requests(start, end, inputs.policy))

    def estimate(self, item: PlannedItem, policy: PlanPolicy, today: date) -> int:
        if "from" not in item.params:
            return 1
        end = date.fromisoformat(str(item.params["to"])) if "to" in item.params else today
        return price_window_requests(date.fromisoformat(str(item.params["from"])), end, policy)

    async def load(self, ctx: ItemContext, item: PlannedItem, dataset: Dataset) -> Loaded:
        """Load the planned window; if FMP rewrote stored prices (a new dividend or split adjusts the
        whole past), refetch the symbol's whole stored history instead, in the same single batch."""
        symbol = item.symbol
        start = date.fromisoformat(str(item.params["from"]))
        # A frozen former member's window ends a year after it left the index (`plan_frozen`).
        end = date.fromisoformat(str(item.params["to"])) if "to" in item.params else ctx.today
        parsed = await bulk_prices(ctx, symbol, start) if item.params.get("bulk") else None
        clipped: dict[str, Any] | None = None
        if parsed is None:
            parsed, clipped = await fetch_prices(ctx, symbol, start, end)
        readjusted: dict[str, Any] | None = None
        # Compared before anything is written: were the window loaded first, a crash before the
        # refetch would leave the overlap already updated, and the rewrite would never be seen again.
        rewrite = find_rewrite(await stored_closes(ctx.pool, symbol, start), parsed.rows)
        if rewrite is not None:
            first = await first_stored_date(ctx.pool, symbol)
            if first is not None and first < start:
                log.info(
                    "%s: FMP re-adjusted its price history (%s); refetching from %s",
                    symbol,
                    rewrite.reason,
                    first,
                    extra={"event": "prices_readjusted", "symbol": symbol, "from": first.isoformat()},
                )
                parsed, _ = await fetch_prices(ctx, symbol, first, end)
                readjusted = {"from": first.isoformat(), "reason": rewrite.reason}
        # One item = one symbol's whole window, loaded in one batch: never a committed newer part
        # with an older hole that a later run's "after the last stored date" would skip.
        result = await load_price_rows(ctx.pool, symbol, parsed.rows, quarantined=parsed.quarantined)
        return Loaded(result.changed, readjusted, clipped)


FAMILY = Prices()
