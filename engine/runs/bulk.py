"""FMP's bulk endpoints for one run: `eod-bulk` days and `profile-bulk` parts, each fetched once and
shared by the items that need it, and whether the key's plan includes them, found out once per run.

A daily `prices` run of 503 symbols costs ~1,006 per-symbol requests (two price endpoints each); with
`eod-bulk` it costs one request per trading day of the overlap window (~6) plus the per-symbol
refetches of the symbols whose history FMP re-adjusted. A 402/403 on a bulk endpoint means the plan
does not include it: the run notes it (`status` shows it) and every item takes the per-symbol path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Coroutine
from datetime import date, timedelta
from typing import Any

from engine.errors import FMPAuthError, FMPEntitlementError, FMPError
from engine.fmp import FMPClient
from engine.fmp.endpoints import EOD_BULK, PROFILE_BULK, PROFILE_BULK_BOOLEANS
from engine.fmp.responses import Row

log = logging.getLogger("engine.run")

BULK_PRICE_MAX_DAYS = 31  # further behind, one request per missing day costs more than per symbol
PROFILE_BULK_MAX_PARTS = 200  # a runaway guard: FMP's parts end with an empty one
AVAILABLE = "available"


class BulkDeniedError(Exception):
    """The key's plan does not include this bulk endpoint (found once, kept for the run)."""


def weekdays(start: date, end: date) -> list[date]:
    """Monday-to-Friday dates from `start` to `end` (holidays come back empty, at one request each)."""
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def typical_price(open_: float, high: float, low: float, close: float) -> float:
    """FMP's `vwap` field: (o+h+l+c)/4 to 4 decimals, rounded half-even as numpy does it."""
    return round((open_ + high + low + close) / 4 * 10_000) / 10_000


class BulkData:
    """The bulk answers of one run, restricted to the run's universe."""

    def __init__(self, fmp: FMPClient, universe: Collection[str]) -> None:
        self._fmp = fmp
        self._universe = frozenset(universe)
        self.access: dict[str, str] = {}  # endpoint path -> "available" | "denied (HTTP 402)"
        self._days: dict[date, asyncio.Task[dict[str, Row]]] = {}
        self._profiles: asyncio.Task[dict[str, Row]] | None = None

    def allows(self, path: str) -> bool:
        """True unless the endpoint was found outside the plan (unknown counts as allowed: try it)."""
        return self.access.get(path, AVAILABLE) == AVAILABLE

    async def probe(self, today: date, *, prices: bool, profiles: bool) -> None:
        """Find out which bulk endpoints the plan allows; the answers are kept for the items."""
        checks = []
        if prices:
            checks.append(self.day(weekdays(today - timedelta(days=6), today)[-1]))
        if profiles:
            checks.append(self.profiles())
        for outcome in await asyncio.gather(*checks, return_exceptions=True):
            if isinstance(outcome, FMPAuthError):
                raise outcome
            if isinstance(outcome, FMPError):  # a broken answer: unknown yet, the items try again
                log.warning("bulk probe failed (%s); the items will ask again", type(outcome).__name__)
            elif isinstance(outcome, BaseException) and not isinstance(outcome, BulkDeniedError):
                raise outcome

    def _shared(self, make: Coroutine[Any, Any, dict[str, Row]]) -> asyncio.Task[dict[str, Row]]:
        # A task, not a coroutine: several items await it; its sends are charged to the item that
        # started it (the task copies that item's context).
        return asyncio.ensure_future(make)

    async def day(self, day: date) -> dict[str, Row]:
        """eod-bulk rows of `day` by symbol.

        Raises:
            BulkDeniedError: the plan does not include eod-bulk.
        """
        if not self.allows(EOD_BULK.path):
            raise BulkDeniedError(self.access[EOD_BULK.path])
        task = self._days.get(day)
        if task is None:
            task = self._days[day] = self._shared(self._fetch_day(day))
        return await asyncio.shield(task)

    async def _fetch_day(self, day: date) -> dict[str, Row]:
        try:
            rows = await self._fmp.fetch_csv(EOD_BULK, day=day)
        except FMPEntitlementError as exc:
            self._deny(EOD_BULK.path, exc)
            raise BulkDeniedError(self.access[EOD_BULK.path]) from None
        except BaseException:
            self._days.pop(day, None)  # a transient failure: the next item asks again
            raise
        self.access[EOD_BULK.path] = AVAILABLE
        return {str(row["symbol"]): row for row in rows if row["symbol"] in self._universe}

    async def profiles(self) -> dict[str, Row]:
        """profile-bulk rows by symbol (every part, until FMP sends an empty one).

        Raises:
            BulkDeniedError: the plan does not include profile-bulk.
        """
        if not self.allows(PROFILE_BULK.path):
            raise BulkDeniedError(self.access[PROFILE_BULK.path])
        if self._profiles is None:
            self._profiles = self._shared(self._fetch_profiles())
        return await asyncio.shield(self._profiles)

    async def _fetch_profiles(self) -> dict[str, Row]:
        found: dict[str, Row] = {}
        try:
            for part in range(PROFILE_BULK_MAX_PARTS):
                rows = await self._fmp.fetch_csv(PROFILE_BULK, part=part, booleans=PROFILE_BULK_BOOLEANS)
                if not rows:
                    break
                found.update((str(row["symbol"]), row) for row in rows if row["symbol"] in self._universe)
        except FMPEntitlementError as exc:
            self._deny(PROFILE_BULK.path, exc)
            raise BulkDeniedError(self.access[PROFILE_BULK.path]) from None
        except BaseException:
            self._profiles = None
            raise
        self.access[PROFILE_BULK.path] = AVAILABLE
        return found

    def _deny(self, path: str, exc: FMPEntitlementError) -> None:
        if path not in self.access or self.access[path] == AVAILABLE:
            log.warning(
                "%s is not in the key's plan (HTTP %s): per-symbol requests instead",
                path,
                exc.status,
                extra={"event": "bulk_denied", "endpoint": path},
            )
        self.access[path] = f"denied (HTTP {exc.status})"

    async def prices(self, symbol: str, start: date, end: date) -> tuple[list[Row], list[Row]]:
        """`symbol`'s rows from `start` to `end` in the shape of historical-price-eod/full and
        /dividend-adjusted (newest first), cut from the shared eod-bulk days.

        Raises:
            BulkDeniedError: the plan does not include eod-bulk.
        """
        days = weekdays(start, end)
        answers = await asyncio.gather(*(self.day(day) for day in days))
        full: list[Row] = []
        adjusted: list[Row] = []
        for rows in reversed(answers):
            row = rows.get(symbol)
            if row is None:
                continue
            o, h, lo, c = row["open"], row["high"], row["low"], row["close"]
            vwap = typical_price(o, h, lo, c) if None not in (o, h, lo, c) else None
            full.append(
                {"symbol": symbol, "date": row["date"], "open": o, "high": h, "low": lo, "close": c,
                 "volume": row["volume"], "vwap": vwap}
            )  # fmt: skip
            if row.get("adjClose") is not None:
                adjusted.append({"symbol": symbol, "date": row["date"], "adjClose": row["adjClose"]})
        return full, adjusted
