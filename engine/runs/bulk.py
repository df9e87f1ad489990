"""FMP's bulk endpoints for one run: `eod-bulk` days and `profile-bulk` parts, each fetched once and
shared by the items that need it, one request at a time under FMP's bulk throttle.

A daily `prices` run of 503 symbols costs ~1,006 per-symbol requests (two price endpoints each); with
`eod-bulk` it costs one request per trading day of the overlap window (~6) plus the per-symbol
refetches of the symbols whose history FMP re-adjusted. Bulk files hold the whole market and FMP
throttles them on their own (a bulk request soon after another gets HTTP 200 "Limit Reach"; heavy
use can get a key restricted), so the client sends bulk requests one at a time,
`MYCFA_FMP_BULK_INTERVAL_S` apart (from the end of one to the start of the next), and parses them
as they arrive, keeping only the run's symbols. A 402/403 on a bulk endpoint means the plan does not include it; any other failure
that outlasts the client's retries is remembered for the run. Either way the items take the
per-symbol path (`status` shows which).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Coroutine
from datetime import date, timedelta
from typing import Any

from engine.errors import (
    FMPAuthError,
    FMPEntitlementError,
    FMPError,
    FMPMalformedResponseError,
    FMPRequestError,
    FMPTransientError,
)
from engine.fmp import FMPClient
from engine.fmp.endpoints import EOD_BULK, PROFILE_BULK, PROFILE_BULK_BOOLEANS
from engine.fmp.responses import Row

log = logging.getLogger("engine.run")

BULK_PRICE_MAX_DAYS = 31  # further behind, one request per missing day costs more than per symbol
PROFILE_BULK_MAX_PARTS = 50  # a runaway guard: FMP's ~90,000 profiles come in 4 parts
# A bulk answer that stays broken after the client's retries sends the item per symbol; an
# FMPAuthError is not among them: nothing would work with a rejected key.
BULK_FALLBACK_ERRORS: tuple[type[FMPError], ...] = (
    FMPMalformedResponseError,
    FMPRequestError,
    FMPTransientError,
)
AVAILABLE = "available"


class BulkDeniedError(Exception):
    """The bulk endpoint is out of this run: the plan does not include it, or it failed for good."""


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
        self.access: dict[str, str] = {}  # endpoint path -> "available" | "denied (...)" | "failed (...)"
        self._days: dict[date, asyncio.Task[dict[str, Row]]] = {}
        self._profiles: asyncio.Task[dict[str, Row]] | None = None

    def allows(self, path: str) -> bool:
        """True unless the endpoint was found outside the plan or failed for good (unknown: try it)."""
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
            if isinstance(outcome, FMPError):  # remembered: the items go per symbol
                log.warning("bulk probe failed (%s); per-symbol requests instead", type(outcome).__name__)
            elif isinstance(outcome, BaseException) and not isinstance(outcome, BulkDeniedError):
                raise outcome

    def _shared(self, make: Coroutine[Any, Any, dict[str, Row]]) -> asyncio.Task[dict[str, Row]]:
        # A task, not a coroutine: several items await it; its sends are charged to the item that
        # started it (the task copies that item's context).
        return asyncio.ensure_future(make)

    async def day(self, day: date) -> dict[str, Row]:
        """eod-bulk rows of `day` by symbol (a day that failed for good raises its error again).

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
            rows = await self._fmp.fetch_csv(EOD_BULK, day=day, keep=self._universe.__contains__)
        except FMPEntitlementError as exc:
            self._deny(EOD_BULK.path, exc)
            raise BulkDeniedError(self.access[EOD_BULK.path]) from None
        except asyncio.CancelledError:
            self._days.pop(day, None)  # stopped, not failed: the next run asks again
            raise
        except FMPError as exc:
            log.warning("eod-bulk %s failed for this run (%s): its items go per symbol", day, exc)
            raise
        self.access[EOD_BULK.path] = AVAILABLE
        return {str(row["symbol"]): row for row in rows}

    async def profiles(self) -> dict[str, Row]:
        """profile-bulk rows by symbol (every part, until FMP answers 400 for the part past the last).

        Raises:
            BulkDeniedError: the plan does not include profile-bulk, or the walk failed this run.
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
                try:
                    rows = await self._fmp.fetch_csv(
                        PROFILE_BULK,
                        part=part,
                        booleans=PROFILE_BULK_BOOLEANS,
                        keep=self._universe.__contains__,
                    )
                except FMPRequestError as exc:
                    if part > 0 and exc.status == 400:
                        break  # "Invalid or missing query parameter - part": FMP's end of the parts
                    raise
                if not rows.records:
                    break  # an empty part: the end, too
                found.update((str(row["symbol"]), row) for row in rows)
        except FMPEntitlementError as exc:
            self._deny(PROFILE_BULK.path, exc)
            raise BulkDeniedError(self.access[PROFILE_BULK.path]) from None
        except asyncio.CancelledError:
            self._profiles = None
            raise
        except FMPError as exc:  # remembered: no item walks the parts again this run
            self.access[PROFILE_BULK.path] = f"failed ({type(exc).__name__}: {exc})"[:300]
            log.warning("profile-bulk failed for this run (%s): profiles go per symbol", exc)
            raise BulkDeniedError(self.access[PROFILE_BULK.path]) from None
        self.access[PROFILE_BULK.path] = AVAILABLE
        return found

    def _deny(self, path: str, exc: FMPEntitlementError) -> None:
        if path not in self.access or self.access[path] == AVAILABLE:
            log.warning(
                "%s is not in the key's plan (HTTP %s: %s): per-symbol requests instead",
                path,
                exc.status,
                exc.reason,
                extra={"event": "bulk_denied", "endpoint": path},
            )
        self.access[path] = f"denied (HTTP {exc.status}: {exc.reason})"

    async def prices(self, symbol: str, start: date, end: date) -> tuple[list[Row], list[Row]]:
        """`symbol`'s rows from `start` to `end` in the shape of historical-price-eod/full and
        /dividend-adjusted (newest first), cut from the shared eod-bulk days.

        Raises:
            BulkDeniedError: the plan does not include eod-bulk.
            FMPError: a day of the window failed for good (the item goes per symbol).
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
