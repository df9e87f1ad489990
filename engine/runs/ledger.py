"""The run ledger (`runs`, `run_items`): every run and item with state, attempts, errors and counts.

The ledger is what makes a run resumable: items are inserted when the run is planned, marked
`running` when taken, and `done` only after their rows committed. A run whose process died stays
`running` here; the next run that takes the lock knows no one else is running, so it reopens it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from engine.db.pool import store_boundary
from engine.runs.datasets import Job
from engine.runs.plan import PlannedItem

LEDGER_TIMEOUT_S = 30.0
RESUMABLE_STATES = ("running", "interrupted")


class ItemState:
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the item's data could not be fetched or loaded; the reason is recorded
    SKIPPED = "skipped"  # FMP refused the item (402/403: not in the plan); the reason is recorded


class RunState:
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    ABANDONED = "abandoned"  # an unfinished run replaced by a run of another job or universe


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A row of `runs`, as far as resuming needs it."""

    run_id: int
    job: Job
    symbols: tuple[str, ...] | None
    state: str


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """How an item ended: its state, the requests it used, rows it changed, and why it failed."""

    state: str
    requests: int = 0
    rows_changed: int = 0
    error_class: str | None = None
    error_message: str | None = None
    readjusted: Mapping[str, Any] | None = None  # kept as params.readjusted (see ItemResult)
    clipped: Mapping[str, Any] | None = None  # kept as params.clipped: what the plan refused


def _params(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return dict(json.loads(value))
    return dict(value or {})


@store_boundary
async def latest_unfinished(pool: asyncpg.Pool) -> RunRecord | None:
    """The newest run that did not finish (killed or stopped), if any."""
    row = await pool.fetchrow(
        "SELECT run_id, job, symbols, state FROM runs WHERE state = ANY($1::text[])"
        " ORDER BY run_id DESC LIMIT 1",
        list(RESUMABLE_STATES),
        timeout=LEDGER_TIMEOUT_S,
    )
    if row is None:
        return None
    symbols = tuple(row["symbols"]) if row["symbols"] is not None else None
    return RunRecord(row["run_id"], Job(row["job"]), symbols, row["state"])


@store_boundary
async def abandon_unfinished(pool: asyncpg.Pool) -> int:
    """Close every unfinished run (its finished items keep their data); returns how many. Items a
    killed process left `running` go back to `pending`: nothing runs them any more, and `status`
    must not count them as in flight."""
    async with pool.acquire(timeout=LEDGER_TIMEOUT_S) as conn, conn.transaction():
        result = await conn.execute(
            "UPDATE runs SET state = 'abandoned', finished_at = now() WHERE state = ANY($1::text[])",
            list(RESUMABLE_STATES),
            timeout=LEDGER_TIMEOUT_S,
        )
        await conn.execute(
            "UPDATE run_items i SET state = 'pending' FROM runs r"
            " WHERE i.run_id = r.run_id AND r.state = 'abandoned' AND i.state = 'running'",
            timeout=LEDGER_TIMEOUT_S,
        )
    return int(result.split()[-1])


@store_boundary
async def create_run(
    pool: asyncpg.Pool,
    job: Job,
    symbols: Sequence[str] | None,
    items: Sequence[PlannedItem],
    *,
    notes: Mapping[str, Any] | None = None,
) -> int:
    """Insert a run and all its planned items in one transaction; returns the run id. `notes`: what
    the key's FMP plan changed about the run (universe, datasets withheld), for `status`."""
    async with pool.acquire(timeout=LEDGER_TIMEOUT_S) as conn, conn.transaction():
        run_id: int = await conn.fetchval(
            "INSERT INTO runs (job, symbols, items_total, notes) VALUES ($1, $2, $3, $4::jsonb) RETURNING run_id",
            str(job),
            list(symbols) if symbols is not None else None,
            len(items),
            json.dumps(dict(notes or {})),
            timeout=LEDGER_TIMEOUT_S,
        )
        await conn.copy_records_to_table(
            "run_items",
            columns=["run_id", "symbol", "dataset", "params"],
            records=[(run_id, i.symbol, i.dataset, json.dumps(dict(i.params))) for i in items],
            timeout=LEDGER_TIMEOUT_S,
        )
    return run_id


@store_boundary
async def reopen_run(pool: asyncpg.Pool, run_id: int) -> None:
    """Take over an unfinished run: items caught `running` by a crash go back to `pending`."""
    async with pool.acquire(timeout=LEDGER_TIMEOUT_S) as conn, conn.transaction():
        await conn.execute(
            "UPDATE run_items SET state = 'pending' WHERE run_id = $1 AND state = 'running'",
            run_id,
            timeout=LEDGER_TIMEOUT_S,
        )
        await conn.execute(
            "UPDATE runs SET state = 'running', resumes = resumes + 1, heartbeat_at = now(),"
            " finished_at = NULL, exit_code = NULL WHERE run_id = $1",
            run_id,
            timeout=LEDGER_TIMEOUT_S,
        )


@store_boundary
async def pending_items(pool: asyncpg.Pool, run_id: int) -> list[PlannedItem]:
    """The run's items still to do, in planning order (symbol-major)."""
    rows = await pool.fetch(
        "SELECT symbol, dataset, params FROM run_items WHERE run_id = $1 AND state = 'pending'"
        " ORDER BY symbol, dataset",
        run_id,
        timeout=LEDGER_TIMEOUT_S,
    )
    return [PlannedItem(r["symbol"], r["dataset"], _params(r["params"]), 0) for r in rows]


@store_boundary
async def item_counts(pool: asyncpg.Pool, run_id: int) -> dict[str, int]:
    """Items of the run per state."""
    rows = await pool.fetch(
        "SELECT state, count(*) AS n FROM run_items WHERE run_id = $1 GROUP BY state",
        run_id,
        timeout=LEDGER_TIMEOUT_S,
    )
    return {r["state"]: int(r["n"]) for r in rows}


@store_boundary
async def start_item(pool: asyncpg.Pool, run_id: int, item: PlannedItem) -> None:
    await pool.execute(
        "UPDATE run_items SET state = 'running', attempts = attempts + 1, started_at = now()"
        " WHERE run_id = $1 AND symbol = $2 AND dataset = $3",
        run_id,
        item.symbol,
        item.dataset,
        timeout=LEDGER_TIMEOUT_S,
    )


@store_boundary
async def finish_item(pool: asyncpg.Pool, run_id: int, item: PlannedItem, outcome: ItemOutcome) -> None:
    """Record an item's end. Call it only after the item's rows committed.

    A price re-adjustment is added to the item's `params` under `readjusted`, and what the key's plan
    refused of it under `clipped` (the planned keys stay).
    """
    notes = {
        name: dict(value)
        for name, value in (("readjusted", outcome.readjusted), ("clipped", outcome.clipped))
        if value
    }
    note = json.dumps(notes) if notes else None
    await pool.execute(
        "UPDATE run_items SET state = $4, requests = requests + $5, rows_changed = rows_changed + $6,"
        " error_class = $7, error_message = $8, finished_at = now(),"
        " params = CASE WHEN $9::jsonb IS NULL THEN params ELSE params || $9::jsonb END"
        " WHERE run_id = $1 AND symbol = $2 AND dataset = $3",
        run_id,
        item.symbol,
        item.dataset,
        outcome.state,
        outcome.requests,
        outcome.rows_changed,
        outcome.error_class,
        outcome.error_message,
        note,
        timeout=LEDGER_TIMEOUT_S,
    )


@store_boundary
async def release_item(pool: asyncpg.Pool, run_id: int, item: PlannedItem, requests: int) -> None:
    """Put an abandoned in-flight item back to `pending` (a graceful stop), keeping its request count."""
    await pool.execute(
        "UPDATE run_items SET state = 'pending', requests = requests + $4"
        " WHERE run_id = $1 AND symbol = $2 AND dataset = $3",
        run_id,
        item.symbol,
        item.dataset,
        requests,
        timeout=LEDGER_TIMEOUT_S,
    )


@store_boundary
async def heartbeat(pool: asyncpg.Pool, run_id: int, metrics: dict[str, Any]) -> None:
    """Keep the run's counters current, so `status` shows a live run's progress."""
    await pool.execute(
        "UPDATE runs SET heartbeat_at = now(), metrics = $2::jsonb WHERE run_id = $1",
        run_id,
        json.dumps(metrics),
        timeout=LEDGER_TIMEOUT_S,
    )


@store_boundary
async def finish_run(
    pool: asyncpg.Pool,
    run_id: int,
    *,
    state: str,
    exit_code: int,
    metrics: dict[str, Any],
    error: str | None = None,
) -> None:
    """Close the run: totals are summed from its items so a resumed run counts every session."""
    await pool.execute(
        "UPDATE runs SET state = $2, exit_code = $3, metrics = $4::jsonb, error = $5,"
        " finished_at = CASE WHEN $2 = 'interrupted' THEN NULL ELSE now() END, heartbeat_at = now(),"
        " requests = (SELECT coalesce(sum(requests), 0) FROM run_items WHERE run_id = $1),"
        " rows_changed = (SELECT coalesce(sum(rows_changed), 0) FROM run_items WHERE run_id = $1)"
        " WHERE run_id = $1",
        run_id,
        state,
        exit_code,
        json.dumps(metrics),
        error,
        timeout=LEDGER_TIMEOUT_S,
    )
