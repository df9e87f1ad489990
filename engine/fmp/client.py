"""The one FMP HTTP client: rate budget, concurrency cap, retries at the boundary, key kept secret."""

from __future__ import annotations

import asyncio
import logging
import operator
import random
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import chain
from typing import Any

import aiohttp
from pydantic import SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from engine.config import EngineSettings
from engine.errors import (
    FMPConnectionError,
    FMPEntitlementError,
    FMPError,
    FMPMalformedResponseError,
    FMPRateLimitError,
    FMPTimeoutError,
    FMPTransientError,
    FMPTruncatedBodyError,
)
from engine.fmp.budget import DEFAULT_MARGIN_S, DEFAULT_WINDOW_S, Budget, RateBudget
from engine.fmp.counters import FMPCounters
from engine.fmp.endpoints import PRICES, PRICES_ADJUSTED, EndpointSpec, Period
from engine.fmp.responses import Row, UncheckedRow, classify, csv_rows, validate_rows

logger = logging.getLogger("engine.fmp")

DEFAULT_TIMEOUT_S = 30.0
PRICE_ROW_CAP = 5000  # FMP returns at most this many price rows per request, dropping the oldest
# 15 calendar years hold ~3,780 business days: comfortably under the cap, so 30 years is 2 requests
PRICE_WINDOW_DAYS = 15 * 365
MAX_SPLIT_DEPTH = 12  # a window is halved at most this often (daily rows: far more than enough)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How transient failures are retried: exponential backoff with jitter, capped.

    FMP sends no Retry-After with its 429, so a 429 waits about one rate window (jittered).
    Tests pass zero waits.
    """

    attempts: int = 6
    initial_s: float = 1.0
    cap_s: float = 30.0
    rate_limit_wait_s: float = DEFAULT_WINDOW_S

    def wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome else None
        jitter = random.uniform(0.5, 1.0)  # full-ish jitter: spread retries of parallel requests
        if isinstance(error, FMPRateLimitError):
            return self.rate_limit_wait_s * (0.5 + jitter)
        backoff: float = min(self.cap_s, self.initial_s * 2 ** (state.attempt_number - 1))
        return backoff * jitter


class FMPClient:
    """Fetches FMP datasets through one session and one rate budget (both made in the running loop).

    Every request, retries included, first takes a concurrency slot and then a grant from the
    budget, so the plan's limit holds in any window. The API key travels only in the `apikey`
    header; aiohttp errors are translated into FMPError subclasses without chaining, because their
    texts carry URLs and their request_info carries the headers.

        async with FMPClient.open(settings) as fmp:
            rows = await fmp.fetch(INCOME, symbol="AAPL", period="annual")
            prices = await fmp.fetch_price_history("AAPL", date(1990, 1, 1), date.today())
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        budget: Budget,
        *,
        api_key: SecretStr,
        base_url: str,
        concurrency: int,
        retry: RetryPolicy | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        price_row_cap: int = PRICE_ROW_CAP,
        price_window_days: int = PRICE_WINDOW_DAYS,
    ) -> None:
        self._session = session
        # aiohttp silently re-sends an idempotent request once when a kept-alive connection drops.
        # That send would bypass the budget and the counters, so it is switched off. aiohttp has no
        # public switch (aio-libs/aiohttp#10790): the flag is private, so pyproject pins aiohttp's
        # minor version and tests/test_library_assumptions.py fails loudly if an upgrade drops it.
        session._retry_connection = False
        self._budget = budget
        self._key = api_key
        self._base_url = base_url.rstrip("/")
        self._slots = asyncio.Semaphore(concurrency)
        self._retry = retry or RetryPolicy()
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._timeout_s = timeout_s
        self.price_row_cap = price_row_cap
        self.price_window_days = price_window_days
        self.counters = FMPCounters(window_s=budget.window_s)  # the busiest window, as the plan counts it

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: EngineSettings,
        *,
        retry: RetryPolicy | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        window_s: float = DEFAULT_WINDOW_S,
        margin_s: float = DEFAULT_MARGIN_S,
    ) -> AsyncIterator[FMPClient]:
        """A client with its own session and budget, closed on exit. Call inside the running loop.

        The budget is the in-process RateBudget, or with MYCFA_FMP_BUDGET_URL the SharedBudget in Redis.
        """
        shared = None
        budget: Budget
        if settings.fmp_budget_url is not None:
            from engine.fmp.shared_budget import SharedBudget  # redis is loaded only when configured

            budget = shared = SharedBudget(
                settings.fmp_budget_url.get_secret_value(),
                settings.fmp_api_key.get_secret_value(),
                settings.fmp_rate_limit,
                window_s,
                margin_s=margin_s,
            )
        else:
            budget = RateBudget(settings.fmp_rate_limit, window_s, margin_s=margin_s)
        connector = aiohttp.TCPConnector(limit=settings.fmp_concurrency)
        try:
            async with aiohttp.ClientSession(connector=connector) as session:
                yield cls(
                    session,
                    budget,
                    api_key=settings.fmp_api_key,
                    base_url=settings.fmp_base_url,
                    concurrency=settings.fmp_concurrency,
                    retry=retry,
                    timeout_s=timeout_s,
                )
        finally:
            if shared is not None:
                await shared.close()

    async def fetch(
        self,
        spec: EndpointSpec,
        *,
        symbol: str | None = None,
        period: Period | None = None,
        start: date | None = None,
        end: date | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        """Fetch one dataset item: validated rows with FMP's field names; `[]` when FMP has no data.

        Raises:
            FMPAuthError: the key was rejected (stop the run).
            FMPEntitlementError: outside the plan (skip and record `reason`).
            FMPMalformedResponseError: the body has the wrong shape (a bad value in one row
                does not raise: that row comes back as an `UncheckedRow` for the parser).
            FMPTransientError: a subclass, once the retries are exhausted.
        """
        params = spec.params(symbol=symbol, period=period, start=start, end=end, limit=limit)
        return validate_rows(await self._fetch_data(spec, params, symbol), spec=spec, symbol=symbol)

    async def fetch_csv(
        self,
        spec: EndpointSpec,
        *,
        day: date | None = None,
        part: int | None = None,
        booleans: tuple[str, ...] = (),
    ) -> list[Row]:
        """Fetch one bulk (CSV) answer: rows typed as the JSON endpoints' (see `csv_rows`).

        Raises:
            as `fetch`; FMPEntitlementError (status 404) also when the path does not exist.
        """
        params = spec.params(day=day, part=part)
        data = await self._fetch_data(spec, params, None)
        if data is None:  # 404: the path does not exist for this key; treated as outside the plan
            raise FMPEntitlementError("bulk endpoint not found", endpoint=spec.path, status=404)
        return csv_rows(data, spec=spec, booleans=booleans)

    async def _fetch_data(self, spec: EndpointSpec, params: Mapping[str, str], symbol: str | None) -> Any:
        """One request with the transient-error retries: the decoded answer."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(FMPTransientError),
            stop=stop_after_attempt(self._retry.attempts),
            wait=self._retry.wait,
            before_sleep=self._before_retry,
            reraise=True,
        )
        data: Any = None
        async for attempt in retrying:
            with attempt:
                data = await self._request(spec, params, symbol)
        return data

    async def fetch_price_history(
        self, symbol: str, start: date, end: date, *, adjusted: bool = False
    ) -> list[Row]:
        """Every daily price row of `symbol` from `start` to `end`, newest first, each date once.

        The range is fetched in windows that fit under FMP's row cap; a window that still comes
        back full (FMP silently dropped rows) is split and the missing part fetched again.

        Raises:
            as `fetch`. A row whose `date` is not YYYY-MM-DD comes back as an `UncheckedRow`, last.
        """
        spec = PRICES_ADJUSTED if adjusted else PRICES
        if end < start:
            return []
        windows = []
        lo = start
        while lo <= end:
            hi = min(end, lo + timedelta(days=self.price_window_days - 1))
            windows.append((lo, hi))
            lo = hi + timedelta(days=1)
        parts = await asyncio.gather(*(self._price_window(spec, symbol, lo, hi, 0) for lo, hi in windows))
        rows = list(chain.from_iterable(reversed(parts)))
        if _newest_first(rows):
            return rows  # the usual answer: FMP's order, windows apart, nothing to sort or merge
        by_date: dict[str, Row] = {}
        undated: list[Row] = []
        for part in parts:
            for row in part:
                if type(row) is UncheckedRow and _row_date(row) is None:
                    undated.append(row)  # for the parser's quarantine, with its reason
                else:
                    by_date.setdefault(row["date"], row)
        return [by_date[day] for day in sorted(by_date, reverse=True)] + undated

    async def _price_window(
        self, spec: EndpointSpec, symbol: str, lo: date, hi: date, depth: int
    ) -> list[Row]:
        rows = await self.fetch(spec, symbol=symbol, start=lo, end=hi)
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
        if len(rows) < self.price_row_cap or lo >= hi or not days:
            return rows
        if depth >= MAX_SPLIT_DEPTH:
            raise FMPMalformedResponseError(
                f"window {lo}..{hi} still returns the {self.price_row_cap}-row cap after splitting",
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
        more = await asyncio.gather(*(self._price_window(spec, symbol, a, b, depth + 1) for a, b in gaps))
        return rows + [row for part in more for row in part]

    async def _request(self, spec: EndpointSpec, params: Mapping[str, str], symbol: str | None) -> Any:
        """One HTTP attempt. Transport errors become FMPError *outside* the except block, so neither
        `__cause__` nor `__context__` links to aiohttp's exception (its text holds the URL and its
        request_info the headers, key included)."""
        url = f"{self._base_url}/{spec.path}"
        failure: FMPError | None = None
        status = 0
        body = b""
        content_type = ""
        async with self._slots:
            sent_at = await self._budget.acquire()
            self.counters.record_send(sent_at)
            try:
                async with self._session.get(
                    url,
                    params=params,
                    headers={"apikey": self._key.get_secret_value()},
                    timeout=self._timeout,
                    allow_redirects=False,
                ) as response:
                    status = response.status
                    content_type = response.content_type
                    body = await response.read()
            except TimeoutError:
                failure = FMPTimeoutError(
                    f"no complete answer within {self._timeout_s:g}s", endpoint=spec.path, symbol=symbol
                )
            except aiohttp.ClientPayloadError:
                failure = FMPTruncatedBodyError("body ended early", endpoint=spec.path, symbol=symbol)
            except (aiohttp.ClientError, OSError) as exc:
                failure = FMPConnectionError(
                    f"connection failed ({type(exc).__name__})", endpoint=spec.path, symbol=symbol
                )
        if failure is not None:
            self.counters.failures[type(failure).__name__] += 1
            raise failure
        self.counters.record_status(status)
        logger.debug("GET %s symbol=%s -> %d (%d bytes)", spec.path, symbol, status, len(body))
        return classify(
            status, body, content_type, spec=spec, symbol=symbol, secret=self._key.get_secret_value()
        )

    def _before_retry(self, state: RetryCallState) -> None:
        self.counters.retries += 1
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        # our own FMPError texts never hold the key or a URL, so they are safe to log
        logger.warning(
            "retry %d after %s: %s (waiting %.1fs)", state.attempt_number, type(error).__name__, error, wait
        )


_DATE = operator.itemgetter("date")


def _newest_first(rows: list[Row]) -> bool:
    """Whether every row has a checked date (none marked), in strictly descending order: then the
    rows are already what fetch_price_history returns (sorted newest first, each date once)."""
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
