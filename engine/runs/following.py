"""metric_history and statement_lines of each company as soon as its statements are in, during the run.

The run-end refresh used to read, parse and recompute every changed company's statements after the
last item: at 503 symbols from empty that was ~60 s of wall added to the ingest's tail, on a core the
loop had left idle while it waited for FMP. The follower watches the run loop's statement items
(income, balance and cash flow, annual and quarterly: what the two tables read); once every such item
of a company in this run has finished, and one of them changed rows, the company joins a batch, and
each full batch (refresh.BATCH_SYMBOLS companies) goes through the refresh's own statement pass
(`refresh.refresh_statement_pass`: the same read of the stored statements, the same computation, the
same replace transactions) while the loop goes on. The rows are exactly what the run-end pass would
write: they are computed from what the store holds once the company's items have committed, and an
item of the run never runs again after it finished (a transient failure is retried at the loop's end:
a company with a failed item is left to the run end).

The run-end refresh then skips the companies written here (`Followed.symbols`); what is left of a
batch, the companies of failed items and whatever an earlier run left behind are still its. A batch
that fails is logged and left to the run end too (the refresh's failure handling applies there).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence

import asyncpg

from engine.runs.copied import Copied
from engine.runs.datasets import STATEMENTS
from engine.runs.loop import ItemHandler, ItemResult
from engine.runs.plan import PlannedItem
from engine.runs.refresh import BATCH_SYMBOLS, REFRESH_ERRORS, Followed, refresh_statement_pass
from serving.company import KINDS

log = logging.getLogger("engine.refresh")

# The statement datasets the two tables are computed from (ratios and key metrics are not read).
FOLLOWED = frozenset(d.name for d in STATEMENTS if d.kind in KINDS)
BATCH = BATCH_SYMBOLS  # companies per batch, as the run-end pass


class StatementFollower:
    """Wraps the run loop's item handler; writes each company's statement tables once its items are done."""

    def __init__(self, pool: asyncpg.Pool, items: Sequence[PlannedItem]) -> None:
        self._pool = pool
        self._left = Counter(item.symbol for item in items if item.dataset in FOLLOWED)
        self._changed: set[str] = set()
        self._failed: set[str] = set()
        # Each company's statement rows its items' backfills COPYed (while every item so far did), to
        # compute its tables from instead of reading them back (engine/runs/copied.py).
        self._copies: dict[str, list[Copied]] = {}
        self._read: set[str] = set()  # companies an item of which wrote otherwise: read back
        self._ready: list[str] = []
        self._writing: asyncio.Task[None] | None = None
        self._queue: list[list[str]] = []
        self.followed = Followed()

    def wrap(self, handler: ItemHandler) -> ItemHandler:
        """`handler`, telling the follower when each statement item of the run ends and how."""

        async def followed(item: PlannedItem) -> ItemResult:
            if item.dataset not in FOLLOWED:
                return await handler(item)
            try:
                result = await handler(item)
            except BaseException:  # failed, or cancelled by a stop: the run end (or the next run) has it
                self._finished(item.symbol, changed=False, failed=True)
                raise
            self._finished(item.symbol, changed=result.rows_changed > 0, failed=False, copy=result.copied)
            return result

        return followed

    def _finished(self, symbol: str, *, changed: bool, failed: bool, copy: Copied | None = None) -> None:
        if failed:
            self._failed.add(symbol)
        if changed:
            self._changed.add(symbol)
        if copy is None:
            self._read.add(symbol)
            self._copies.pop(symbol, None)
        elif symbol not in self._read:
            self._copies.setdefault(symbol, []).append(copy)
        self._left[symbol] -= 1
        if self._left[symbol] > 0:
            return
        if symbol in self._failed or symbol not in self._changed:
            self._copies.pop(symbol, None)
            return
        self._ready.append(symbol)
        if len(self._ready) >= BATCH:
            self._queue.append(sorted(self._ready))
            self._ready = []
            if self._writing is None or self._writing.done():
                self._writing = asyncio.create_task(self._write())

    async def _write(self) -> None:
        """The queued batches, one at a time (one read, computation and pair of replaces in flight)."""
        while self._queue:
            batch = self._queue.pop(0)
            copies = {symbol: self._copies.pop(symbol) for symbol in batch if symbol in self._copies}
            try:
                done = await refresh_statement_pass(self._pool, batch, copies)
            except REFRESH_ERRORS as exc:  # left to the run end, which records a failure if it repeats
                log.warning(
                    "statement tables of %d companies left to the run end: %s: %s",
                    len(batch),
                    type(exc).__name__,
                    exc,
                    extra={"event": "follow_failed"},
                )
                continue
            finally:
                del copies  # a written company's rows are not kept
            self.followed.add(batch, done)

    async def close(self) -> Followed:
        """Wait for the batch being written (the companies still waiting for a batch are the run end's)."""
        if self._writing is not None:
            await self._writing
        self._copies.clear()  # the companies still waiting are the run end's (it reads them)
        return self.followed
