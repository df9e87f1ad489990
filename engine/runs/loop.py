"""The run loop: take planned items from the ledger, run each through fetch → parse → load, record it.

Workers pull items one at a time, so a stop request (SIGTERM) only has to wait for the items in
flight; items still in flight after the grace period are cancelled (their transaction rolls back)
and go back to `pending` for the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from engine.errors import (
    FMPAuthError,
    FMPEntitlementError,
    FMPQuotaError,
    FMPTransientError,
    ItemFailed,
    MycfaError,
    StoreUnavailable,
)
from engine.exitcodes import ExitCode
from engine.runs import ledger
from engine.runs.copied import Copied
from engine.runs.ledger import ItemOutcome, ItemState, RunState
from engine.runs.metrics import RunMetrics
from engine.runs.plan import PlannedItem
from engine.runs.progress import NullProgress, Progress, Snapshot

log = logging.getLogger("engine.run")

STOP_GRACE_S = 20.0  # ECS sends SIGKILL 30 s after SIGTERM: leave room to record state and exit
HEARTBEAT_S = 10.0
TRANSIENT_ATTEMPTS = 2  # an item that failed transiently (retries exhausted) gets one more go at the end
MAX_MESSAGE = 500

# What an item can fail with without it being a bug: the typed errors of the FMP and store
# boundaries (both translate their libraries' errors, so nothing raw reaches the loop).
ITEM_ERRORS: tuple[type[BaseException], ...] = (MycfaError,)


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What a handler did for one item: FMP requests sent and rows changed in the store.

    `readjusted` is set when FMP had rewritten the symbol's stored prices (a new dividend or split)
    and the item refetched the whole history: where from and why; it is kept in the ledger.
    """

    requests: int
    rows_changed: int
    readjusted: Mapping[str, Any] | None = None
    clipped: Mapping[str, Any] | None = None  # what the key's plan refused of the item (kept in the ledger)
    copied: Copied | None = None  # the statement rows its backfill COPYed (read by the statement follower)


ItemHandler = Callable[[PlannedItem], Awaitable[ItemResult]]


@dataclass(slots=True)
class RunOutcome:
    """How the session ended, with the ledger state and the exit code that go with it."""

    state: str
    exit_code: ExitCode
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def redact(text: str, secrets: Sequence[str]) -> str:
    """Cut to MAX_MESSAGE and blank any secret: a backstop, the FMP boundary already keeps the key out."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:MAX_MESSAGE]


class RunLoop:
    """Executes the pending items of one run with `concurrency` workers and records each in the ledger."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        run_id: int,
        handler: ItemHandler,
        metrics: RunMetrics,
        concurrency: int,
        total_items: int,
        planned_requests: int,
        stop: asyncio.Event,
        progress: Progress | None = None,
        secrets: Sequence[str] = (),
        grace_s: float = STOP_GRACE_S,
        client_counters: Callable[[], tuple[int, int, int]] | None = None,
    ) -> None:
        self._pool = pool
        self._run_id = run_id
        self._handler = handler
        self._metrics = metrics
        self._concurrency = concurrency
        self._total = total_items
        self._planned_requests = planned_requests
        self._stop = stop
        self._progress = progress or NullProgress()
        self._secrets = tuple(secrets)
        self._grace_s = grace_s
        self._client_counters = client_counters
        self._queue: asyncio.Queue[tuple[PlannedItem, int]] = asyncio.Queue()
        self._retry_later: list[PlannedItem] = []
        self._auth_error: str | None = None
        self._quota_error: str | None = None  # the plan's daily requests ran out: stop, resume tomorrow
        self._done_before = 0
        self._failed_before = 0

    def snapshot(self) -> Snapshot:
        self._sync_client_counters()
        return Snapshot(
            total=self._total,
            done=self._done_before + self._metrics.items_done,
            failed=self._failed_before + self._metrics.items_failed,
            requests=self._metrics.requests,
            elapsed_s=self._metrics.duration_s,
            rate_limit=self._metrics.rate_limit,
            planned_requests=self._planned_requests,
        )

    def _sync_client_counters(self) -> None:
        if self._client_counters is not None:
            requests, http_429, retries = self._client_counters()
            self._metrics.requests, self._metrics.http_429, self._metrics.retries = (
                requests,
                http_429,
                retries,
            )

    async def execute(
        self, items: Sequence[PlannedItem], *, done_before: int = 0, failed_before: int = 0
    ) -> RunOutcome:
        """Run `items` to the end, or until a stop request or a fatal auth error."""
        self._done_before, self._failed_before = done_before, failed_before
        for item in items:
            self._queue.put_nowait((item, 1))
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._drain()
            if self._retry_later and not self._stopping():
                log.info("retrying %d items that failed transiently", len(self._retry_later))
                for item in self._retry_later:
                    self._queue.put_nowait((item, TRANSIENT_ATTEMPTS))
                self._retry_later.clear()
                await self._drain()
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        self._metrics.finished = self._metrics.clock()
        self._progress.close(self.snapshot())
        return await self._outcome()

    def _stopping(self) -> bool:
        return self._stop.is_set() or self._auth_error is not None or self._quota_error is not None

    async def _drain(self) -> None:
        workers = [asyncio.create_task(self._worker()) for _ in range(self._concurrency)]
        stop_wait = asyncio.create_task(self._stop.wait())
        try:
            waiting: set[asyncio.Task[Any]] = {*workers, stop_wait}
            while any(not worker.done() for worker in workers):
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if stop_wait.done():
                    # Stop requested: workers take no new item; in-flight items get the grace period.
                    _, late = await asyncio.wait(workers, timeout=self._grace_s)
                    if late:
                        log.warning("stop: cancelling %d items still in flight", len(late))
                        for worker in late:
                            worker.cancel()
                        await asyncio.wait(late)
                    break
                waiting = {worker for worker in workers if not worker.done()} | {stop_wait}
            # A worker that died of a bug re-raises here rather than being silently lost.
            await asyncio.gather(*(worker for worker in workers if not worker.cancelled()))
        finally:
            stop_wait.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stop_wait

    async def _worker(self) -> None:
        while not self._stopping():
            try:
                item, attempt = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await self._run_item(item, attempt)

    async def _run_item(self, item: PlannedItem, attempt: int) -> None:
        await ledger.start_item(self._pool, self._run_id, item)
        try:
            result = await self._handler(item)
        except asyncio.CancelledError:
            # Abandoned by a stop: its transaction rolled back, so it is simply not done yet.
            await asyncio.shield(ledger.release_item(self._pool, self._run_id, item, 0))
            raise
        except ITEM_ERRORS as exc:
            cause = exc.cause if isinstance(exc, ItemFailed) else exc
            if isinstance(cause, StoreUnavailable):
                # The database stayed away past the outage bound: nothing can be recorded, so the
                # run stops (exit 7); the item is still `running` and the next run resumes it.
                self._stop.set()
                raise cause from cause.__cause__  # its own chain, not the ItemFailed around it
            await self._record_failure(item, attempt, exc)
        else:
            self._metrics.items_done += 1
            self._metrics.rows_loaded += result.rows_changed
            if result.readjusted is not None:
                self._metrics.price_readjustments += 1
            if result.clipped is not None:
                self._metrics.items_clipped += 1
            await ledger.finish_item(
                self._pool,
                self._run_id,
                item,
                ItemOutcome(
                    ItemState.DONE,
                    requests=result.requests,
                    rows_changed=result.rows_changed,
                    readjusted=result.readjusted,
                    clipped=result.clipped,
                ),
            )
        self._progress.update(self.snapshot())

    async def _record_failure(self, item: PlannedItem, attempt: int, exc: BaseException) -> None:
        requests = exc.requests if isinstance(exc, ItemFailed) else 0
        cause = exc.cause if isinstance(exc, ItemFailed) else exc
        message = redact(str(cause), self._secrets)
        if isinstance(cause, FMPAuthError):
            # Nothing can succeed with a rejected key: stop the run, leave the item for the next one.
            self._auth_error = message
            await ledger.release_item(self._pool, self._run_id, item, requests)
            log.error("FMP rejected the API key: stopping the run", extra={"event": "auth_failed"})
            return
        if isinstance(cause, FMPQuotaError):
            # Nothing was sent: the item waits for the next run, after FMP's day has turned.
            await ledger.release_item(self._pool, self._run_id, item, requests)
            if self._quota_error is None:
                self._quota_error = message
                log.error("stopping the run: %s", message, extra={"event": "daily_limit"})
            return
        if isinstance(cause, FMPTransientError) and attempt < TRANSIENT_ATTEMPTS:
            await ledger.release_item(self._pool, self._run_id, item, requests)
            self._retry_later.append(item)
            return
        state = ItemState.SKIPPED if isinstance(cause, FMPEntitlementError) else ItemState.FAILED
        self._metrics.items_failed += 1
        log.warning(
            "%s %s %s: %s",
            item.symbol,
            item.dataset,
            state,
            message,
            extra={
                "event": "item_failed",
                "symbol": item.symbol,
                "dataset": item.dataset,
                "error_class": type(cause).__name__,
            },
        )
        await ledger.finish_item(
            self._pool,
            self._run_id,
            item,
            ItemOutcome(state, requests=requests, error_class=type(cause).__name__, error_message=message),
        )

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            with contextlib.suppress(*ITEM_ERRORS):
                await ledger.heartbeat(self._pool, self._run_id, self._metrics.as_dict())

    async def _outcome(self) -> RunOutcome:
        counts = await ledger.item_counts(self._pool, self._run_id)
        unfinished = counts.get(ItemState.PENDING, 0) + counts.get(ItemState.RUNNING, 0)
        not_ok = counts.get(ItemState.FAILED, 0) + counts.get(ItemState.SKIPPED, 0)
        if self._auth_error is not None:
            return RunOutcome(RunState.FAILED, ExitCode.AUTH, counts, self._auth_error)
        if self._quota_error is not None:
            return RunOutcome(RunState.INTERRUPTED, ExitCode.QUOTA, counts, self._quota_error)
        if unfinished:
            return RunOutcome(RunState.INTERRUPTED, ExitCode.INTERRUPTED, counts)
        if not_ok:
            return RunOutcome(RunState.PARTIAL, ExitCode.PARTIAL_FAILURE, counts)
        return RunOutcome(RunState.SUCCEEDED, ExitCode.OK, counts)
