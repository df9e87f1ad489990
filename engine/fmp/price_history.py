"""A symbol's daily prices over any span: windows under FMP's row cap, split again where FMP dropped
rows, and a start the key's plan refuses moved to the plan's floor instead of losing the symbol.

FMP answers at most 5,000 price rows per request and drops the oldest silently, so the span is asked
in 15-year windows (~3,780 business days) and a window that still comes back full is split. A plan
with less history (Free, Starter: 5 years) refuses a `from` before it with a 402 naming `from`; the
window is then asked again from the plan's floor (found by the probe, or else learnt here once by
bisection) and the refused span is reported with FMP's words, so the item loads what the plan
serves and the ledger says what it did not.
"""

from __future__ import annotations

import asyncio
import logging
import operator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import chain
from typing import TYPE_CHECKING

from engine.errors import FMPEntitlementError, FMPMalformedResponseError
from engine.fmp.endpoints import PRICES, PRICES_ADJUSTED, EndpointSpec
from engine.fmp.entitlements import refused_parameter
from engine.fmp.responses import Row, UncheckedRow

if TYPE_CHECKING:
    from engine.fmp.client import FMPClient

logger = logging.getLogger("engine.fmp")

PRICE_ROW_CAP = 5000  # FMP returns at most this many price rows per request, dropping the oldest
# 15 calendar years hold ~3,780 business days: comfortably under the cap, so 30 years is 2 requests
PRICE_WINDOW_DAYS = 15 * 365
MAX_SPLIT_DEPTH = 12  # a window is halved at most this often (daily rows: far more than enough)
MAX_CLIP_STEPS = 12  # bisection steps to the plan's floor: 2**12 days is more than a window


@dataclass(frozen=True, slots=True)
class PriceHistory:
    """The rows of a span, and the part of it the plan refused (`clipped`, inclusive) in FMP's words."""

    rows: list[Row]
    clipped: tuple[date, date] | None = None
    refused: str | None = None

    @property
    def start(self) -> date | None:
        """The first date asked after clipping (None: nothing clipped)."""
        return self.clipped[1] + timedelta(days=1) if self.clipped else None


async def fetch_history(
    client: FMPClient, symbol: str, start: date, end: date, *, adjusted: bool = False
) -> PriceHistory:
    """Every daily price row of `symbol` from `start` to `end`, newest first, each date once.

    Raises:
        as `FMPClient.fetch` (a 402 that names anything but `from` is the item's: not clipped).
    """
    spec = PRICES_ADJUSTED if adjusted else PRICES
    if end < start:
        return PriceHistory([])
    windows = []
    lo = start
    while lo <= end:
        hi = min(end, lo + timedelta(days=client.price_window_days - 1))
        windows.append((lo, hi))
        lo = hi + timedelta(days=1)
    answers = await asyncio.gather(*(_clipped_window(client, spec, symbol, lo, hi) for lo, hi in windows))
    parts = [rows for rows, _, _ in answers]
    clipped_to = max(
        (
            asked - timedelta(days=1)
            for (lo, _), (_, asked, _) in zip(windows, answers, strict=True)
            if asked > lo
        ),
        default=None,
    )
    refused = next((words for _, _, words in answers if words), None)
    clipped = (start, clipped_to) if clipped_to is not None else None
    rows = list(chain.from_iterable(reversed(parts)))
    if _newest_first(rows):
        return PriceHistory(rows, clipped, refused)  # the usual answer: FMP's order, nothing to merge
    by_date: dict[str, Row] = {}
    undated: list[Row] = []
    for part in parts:
        for row in part:
            if type(row) is UncheckedRow and _row_date(row) is None:
                undated.append(row)  # for the parser's quarantine, with its reason
            else:
                by_date.setdefault(row["date"], row)
    return PriceHistory([by_date[day] for day in sorted(by_date, reverse=True)] + undated, clipped, refused)


async def _clipped_window(
    client: FMPClient, spec: EndpointSpec, symbol: str, lo: date, hi: date
) -> tuple[list[Row], date, str | None]:
    """(rows, the first date asked, FMP's words): a window whose `from` the plan refuses is asked
    again from the plan's floor (learnt once per client when the probe did not know it)."""
    try:
        return await _price_window(client, spec, symbol, lo, hi, 0), lo, None
    except FMPEntitlementError as exc:
        if refused_parameter(exc) != "from":
            raise
        words = exc.reason
    floor = await _history_floor(client, spec, symbol, lo, hi)
    if floor is not None and lo < floor <= hi:
        try:
            return await _price_window(client, spec, symbol, floor, hi, 0), floor, words
        except FMPEntitlementError as exc:
            if refused_parameter(exc) != "from":
                raise
    logger.info("%s: the plan serves no prices up to %s (FMP: %s)", symbol, hi, words)
    return [], hi + timedelta(days=1), words


async def _history_floor(
    client: FMPClient, spec: EndpointSpec, symbol: str, lo: date, hi: date
) -> date | None:
    """The oldest `from` the plan serves, given that `lo` was refused: the client's when known and
    later than `lo`; else found by bisection on week-long requests between `lo` and `hi` (about a
    dozen requests, once per client), and kept for every later window."""
    async with client.floor_lock:
        known = client.history_floor
        if known is not None and known > lo:
            return known
        week = timedelta(days=6)
        good = max(lo, hi - week)

        async def served(start: date) -> bool:
            try:
                await client.fetch(spec, symbol=symbol, start=start, end=min(hi, start + week))
            except FMPEntitlementError as exc:
                if refused_parameter(exc) != "from":
                    raise
                return False
            return True

        if good <= lo or not await served(good):
            return None  # the plan serves nothing of this window
        bad = lo
        steps = 0
        while (good - bad).days > 1 and steps < MAX_CLIP_STEPS + 4:
            mid = bad + (good - bad) // 2
            if await served(mid):
                good = mid
            else:
                bad = mid
            steps += 1
        client.history_floor = good
        logger.info("the plan serves prices from %s (found with %d requests)", good, steps + 1)
        return good


async def _price_window(
    client: FMPClient, spec: EndpointSpec, symbol: str, lo: date, hi: date, depth: int
) -> list[Row]:
    rows = await client.fetch(spec, symbol=symbol, start=lo, end=hi)
    try:  # every date at once, in C; the loop below only runs for an answer with a bad one
        days = list(map(date.fromisoformat, map(_DATE, rows)))
    except (TypeError, ValueError):
        days = []
        for index, row in enumerate(rows):
            day = _row_date(row)
            if day is None:  # a bad date is that row's problem: the parser quarantines it
                rows[index] = UncheckedRow(row)
            else:
                days.append(day)
    if len(rows) < client.price_row_cap or lo >= hi or not days:
        return rows
    if depth >= MAX_SPLIT_DEPTH:
        raise FMPMalformedResponseError(
            f"window {lo}..{hi} still returns the {client.price_row_cap}-row cap after splitting",
            endpoint=spec.path,
            symbol=symbol,
        )
    # Capped: FMP dropped rows. It drops the oldest, so what arrived is complete from its oldest
    # date on; fetch the part before it (and, defensively, after its newest date).
    oldest, newest = min(days), max(days)
    if oldest <= lo and newest >= hi:
        mid = lo + (hi - lo) // 2  # rows missing inside the range: plain halving
        gaps = [(lo, mid), (mid + timedelta(days=1), hi)]
    else:
        gaps = []
        if oldest > lo:
            gaps.append((lo, oldest - timedelta(days=1)))
        if newest < hi:
            gaps.append((newest + timedelta(days=1), hi))
    logger.info(
        "price window %s..%s of %s hit the row cap; fetching %d more window(s)", lo, hi, symbol, len(gaps)
    )
    more = await asyncio.gather(*(_price_window(client, spec, symbol, a, b, depth + 1) for a, b in gaps))
    return rows + [row for part in more for row in part]


_DATE = operator.itemgetter("date")


def _newest_first(rows: list[Row]) -> bool:
    """Whether every row has a checked date (none marked), in strictly descending order: then the
    rows are already what fetch_history returns (sorted newest first, each date once)."""
    if UncheckedRow in set(map(type, rows)):
        return False
    dates = list(map(_DATE, rows))
    return all(map(operator.gt, dates, dates[1:]))


def _row_date(row: Row) -> date | None:
    """The row's ISO `date`, or None when it is not a YYYY-MM-DD string."""
    value = row.get("date")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None
