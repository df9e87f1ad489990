"""The one FMP HTTP client: rate budget, concurrency cap, retries at the boundary, key kept secret."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import aiohttp
from pydantic import SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from engine.config import EngineSettings
from engine.errors import (
    FMPConnectionError,
    FMPEntitlementError,
    FMPError,
    FMPRateLimitError,
    FMPTimeoutError,
    FMPTransientError,
    FMPTruncatedBodyError,
)
from engine.fmp.budget import DEFAULT_MARGIN_S, DEFAULT_WINDOW_S, Budget, RateBudget
from engine.fmp.bulk_csv import CsvRows, CsvStream, csv_rows
from engine.fmp.counters import FMPCounters
from engine.fmp.endpoints import EndpointSpec, Period
from engine.fmp.price_history import PRICE_ROW_CAP, PRICE_WINDOW_DAYS, PriceHistory, fetch_history
from engine.fmp.quota import DailyQuota
from engine.fmp.responses import Row, classify, validate_rows

logger = logging.getLogger("engine.fmp")

DEFAULT_TIMEOUT_S = 30.0
# A bulk file holds the whole market (tens of MB, no Content-Length): it may take minutes to arrive,
# but it must keep arriving.
BULK_TIMEOUT_S = 600.0
BULK_READ_TIMEOUT_S = 60.0  # the longest silence within a bulk answer
BULK_CHUNK = 1 << 16


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
        bulk_timeout_s: float = BULK_TIMEOUT_S,
        price_row_cap: int = PRICE_ROW_CAP,
        price_window_days: int = PRICE_WINDOW_DAYS,
        key_in_query: bool = False,
        bulk_interval_s: float = 0.0,
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
        self._bulk_timeout = aiohttp.ClientTimeout(
            total=bulk_timeout_s, sock_read=min(BULK_READ_TIMEOUT_S, bulk_timeout_s)
        )
        self._bulk_timeout_s = bulk_timeout_s
        # FMP takes the key in the `apikey` header or query parameter; the header keeps it out of
        # URLs, so it is the default and the query is used only when `probe` found the header refused.
        self.key_in_query = key_in_query
        # FMP throttles its bulk files apart from the per-minute budget (a bulk request soon after
        # another gets HTTP 200 "Limit Reach"): bulk requests go one at a time, this far apart.
        self.bulk_interval_s = bulk_interval_s
        self._bulk_gate = asyncio.Lock()
        self._bulk_ready_at = 0.0  # loop time before which the next bulk request waits
        self.price_row_cap = price_row_cap
        self.price_window_days = price_window_days
        self.history_floor: date | None = None  # the plan's oldest date, once the probe found it
        self.floor_lock = asyncio.Lock()  # one search for the floor when a refusal finds it unknown
        self.counters = FMPCounters(window_s=budget.window_s)  # the busiest window, as the plan counts it
        self.quota: DailyQuota | None = None  # the plan's requests a day (set by the run), if it has one

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
                    bulk_interval_s=settings.fmp_bulk_interval_s,
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
        keep: Callable[[str], bool] | None = None,
    ) -> CsvRows:
        """Fetch one bulk (CSV) answer, parsed as it arrives (engine/fmp/bulk_csv.py): the rows whose
        symbol `keep` accepts (all without it), typed as the JSON endpoints'. The bulk timeout
        applies: minutes in all, but never a minute without data.

        Raises:
            as `fetch`; FMPEntitlementError (status 404) also when the path does not exist.
        """
        params = spec.params(day=day, part=part)
        streams: list[CsvStream] = []

        def stream() -> CsvStream:
            streams.append(CsvStream(spec, booleans=booleans, keep=keep))  # a fresh one per attempt
            return streams[-1]

        data = await self._fetch_data(spec, params, None, stream=stream)
        if data is None:  # 404: the path does not exist for this key; treated as outside the plan
            raise FMPEntitlementError("bulk endpoint not found", endpoint=spec.path, status=404)
        if isinstance(data, CsvStream):
            return data.close()
        return csv_rows(data, spec=spec, booleans=booleans, keep=keep)

    async def _fetch_data(
        self,
        spec: EndpointSpec,
        params: Mapping[str, str],
        symbol: str | None,
        *,
        stream: Callable[[], CsvStream] | None = None,
    ) -> Any:
        """One request with the transient-error retries: the decoded answer (with `stream`, a CSV
        body comes back as the stream that parsed it)."""
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
                data = await self._request(spec, params, symbol, stream=stream() if stream else None)
        return data

    async def fetch_price_history(
        self, symbol: str, start: date, end: date, *, adjusted: bool = False
    ) -> list[Row]:
        """Every daily price row of `symbol` from `start` to `end`, newest first, each date once
        (engine/fmp/price_history.py: windows under the row cap, a span the plan refuses left out).

        Raises:
            as `fetch`. A row whose `date` is not YYYY-MM-DD comes back as an `UncheckedRow`, last.
        """
        return (await self.price_history(symbol, start, end, adjusted=adjusted)).rows

    async def price_history(
        self, symbol: str, start: date, end: date, *, adjusted: bool = False
    ) -> PriceHistory:
        """`fetch_price_history`'s rows with the span the plan refused, if it refused one."""
        return await fetch_history(self, symbol, start, end, adjusted=adjusted)

    async def _request(
        self,
        spec: EndpointSpec,
        params: Mapping[str, str],
        symbol: str | None,
        *,
        stream: CsvStream | None = None,
    ) -> Any:
        """One HTTP attempt; a bulk one waits its turn: the previous bulk request `bulk_interval_s`
        behind it, counted from that request's end (a slow answer must not let the next in early)."""
        if not spec.csv:
            return await self._send(spec, params, symbol, stream=stream)
        loop = asyncio.get_running_loop()
        async with self._bulk_gate:
            wait = self._bulk_ready_at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                return await self._send(spec, params, symbol, stream=stream)
            finally:
                self._bulk_ready_at = loop.time() + self.bulk_interval_s

    async def _send(
        self,
        spec: EndpointSpec,
        params: Mapping[str, str],
        symbol: str | None,
        *,
        stream: CsvStream | None = None,
    ) -> Any:
        """One HTTP request. Transport errors become FMPError *outside* the except block, so neither
        `__cause__` nor `__context__` links to aiohttp's exception (its text holds the URL and its
        request_info the headers, key included).

        With `stream`, a 200 CSV body is fed to it as it arrives and the stream is returned."""
        url = f"{self._base_url}/{spec.path}"
        failure: FMPError | None = None
        status = 0
        body = b""
        content_type = ""
        streamed = False
        key = self._key.get_secret_value()
        query, headers = ({**params, "apikey": key}, {}) if self.key_in_query else (params, {"apikey": key})
        timeout, timeout_s = (
            (self._bulk_timeout, self._bulk_timeout_s) if spec.csv else (self._timeout, self._timeout_s)
        )
        async with self._slots:
            if self.quota is not None:
                self.quota.take(spec.path)
            sent_at = await self._budget.acquire()
            self.counters.record_send(sent_at)
            try:
                async with self._session.get(
                    url, params=query, headers=headers, timeout=timeout, allow_redirects=False
                ) as response:
                    status = response.status
                    content_type = response.content_type
                    if stream is not None and status == 200:
                        body, streamed = await _stream_csv(response, stream)
                    else:
                        body = await response.read()
            except TimeoutError:
                failure = FMPTimeoutError(
                    f"no complete answer within {timeout_s:g}s", endpoint=spec.path, symbol=symbol
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
        if streamed:
            logger.debug("GET %s -> %d (CSV, %d rows kept)", spec.path, status, len(stream.rows))  # type: ignore[union-attr]
            return stream
        logger.debug("GET %s symbol=%s -> %d (%d bytes)", spec.path, symbol, status, len(body))
        return classify(status, body, content_type, spec=spec, symbol=symbol, secret=key)

    def _before_retry(self, state: RetryCallState) -> None:
        self.counters.retries += 1
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        # our own FMPError texts never hold the key or a URL, so they are safe to log
        logger.warning(
            "retry %d after %s: %s (waiting %.1fs)", state.attempt_number, type(error).__name__, error, wait
        )


async def _stream_csv(response: aiohttp.ClientResponse, stream: CsvStream) -> tuple[bytes, bool]:
    """Feed a 200's CSV body to `stream` as it arrives: (b"", True). A body that is not CSV (a JSON
    error such as the bulk throttle's "Limit Reach", `[]`, an HTML page) is read whole instead and
    returned for `classify`: (body, False)."""
    first = await response.content.read(BULK_CHUNK)
    if not first or first.lstrip()[:1] in (b"{", b"[", b"<"):
        return first + await response.read(), False
    stream.feed(first)
    async for chunk in response.content.iter_chunked(BULK_CHUNK):
        stream.feed(chunk)
    return b"", True
