"""S&P 500 membership changes (FMP's `historical-sp500-constituent`): typed, stored, and the former members.

Each row is one change: an addition, a removal, or both on one day. The whole list comes in one
answer, so a load is complete: rows stored earlier and missing now are marked withdrawn (never
deleted), and the companies a change removed get a `companies` row (not a member) with their spell,
so point-in-time screens (docs/dashboard.md, "Point in time") find the companies that left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from engine.db import queries
from engine.db.load import DEFAULT_TIMEOUT_S, LoadResult, write_quarantine
from engine.db.pool import BATCH_ATTEMPTS, RETRY_WAIT_S, run_batch
from engine.db.rows import QuarantineRow
from engine.db.validate import Invalid, canonical_json, parse_day

DATASET = "sp500_changes"


@dataclass(frozen=True, slots=True)
class IndexChange:
    """One change of the index, typed; `payload` is the row as FMP sent it (canonical JSON)."""

    day: date
    added_symbol: str | None
    added_name: str | None
    removed_symbol: str | None
    removed_name: str | None
    reason: str | None
    payload: str

    @property
    def key(self) -> tuple[date, str, str]:
        return (self.day, self.added_symbol or "", self.removed_symbol or "")


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def parse_change(row: Mapping[str, Any]) -> IndexChange:
    """Type one row. FMP repeats the removed ticker as `symbol` when nothing was added (an empty
    `addedSecurity`), so the added symbol is `symbol` only beside an added security's name.

    Raises:
        Invalid: no usable date, or the row names neither an addition nor a removal.
    """
    day = parse_day(row.get("date"))
    added_name, removed = _text(row.get("addedSecurity")), _text(row.get("removedTicker"))
    added = _text(row.get("symbol")) if added_name else None
    if added is None and removed is None:
        raise Invalid("names neither an added nor a removed symbol")
    return IndexChange(
        day=day,
        added_symbol=added.upper() if added else None,
        added_name=added_name,
        removed_symbol=removed.upper() if removed else None,
        removed_name=_text(row.get("removedSecurity")),
        reason=_text(row.get("reason")),
        payload=canonical_json(row),
    )


def parse_changes(rows: Iterable[Mapping[str, Any]]) -> tuple[list[IndexChange], list[QuarantineRow]]:
    """The typed changes (one per key: the greatest canonical row wins, whatever the order) and the
    refused rows."""
    good: dict[tuple[date, str, str], IndexChange] = {}
    refused: list[QuarantineRow] = []
    for raw in rows:
        try:
            change = parse_change(raw)
        except Invalid as exc:
            refused.append(QuarantineRow(DATASET, _text(raw.get("symbol")), None, str(exc), dict(raw)))
            continue
        held = good.get(change.key)
        if held is None or change.payload > held.payload:
            good[change.key] = change
    return [good[key] for key in sorted(good)], refused


def former_members(changes: Iterable[IndexChange], current: Iterable[str], since: date) -> dict[str, date]:
    """Companies removed on or after `since` and not members now, with the day each last left."""
    members = set(current)
    left: dict[str, date] = {}
    for change in changes:
        symbol = change.removed_symbol
        if symbol is not None and symbol not in members and change.day >= since:
            left[symbol] = max(change.day, left.get(symbol, change.day))
    return left


async def load_sp500_changes(
    pool: asyncpg.Pool,
    rows: Sequence[Mapping[str, Any]],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    attempts: int = BATCH_ATTEMPTS,
    retry_wait: float = RETRY_WAIT_S,
) -> LoadResult:
    """Store the complete list of changes in one transaction: new rows inserted, changed rows updated,
    rows missing from it withdrawn; the companies it removed get a non-member row with their spell.

    An empty answer withdraws nothing (FMP sends `[]` for an endpoint outside the plan).
    """
    changes, refused = parse_changes(rows)

    async def work(conn: asyncpg.Connection) -> LoadResult:
        await write_quarantine(conn, refused, timeout_s=timeout_s)
        if not changes:
            return LoadResult(quarantined=len(refused))
        counts = await conn.fetchrow(
            queries.UPSERT_SP500_CHANGES,
            [c.day for c in changes],
            [c.added_symbol for c in changes],
            [c.added_name for c in changes],
            [c.removed_symbol for c in changes],
            [c.removed_name for c in changes],
            [c.reason for c in changes],
            [c.payload for c in changes],
            timeout=timeout_s,
        )
        status = await conn.execute(
            queries.WITHDRAW_SP500_CHANGES,
            [c.day for c in changes],
            [c.added_symbol for c in changes],
            [c.removed_symbol for c in changes],
            timeout=timeout_s,
        )
        await conn.execute(queries.FORMER_MEMBER_COMPANIES, timeout=timeout_s)
        return LoadResult.merged(counts, len(changes), len(refused), removed=int(status.rsplit(" ", 1)[-1]))

    return await run_batch(
        pool,
        work,
        dataset=DATASET,
        symbol=None,
        timeout_s=timeout_s,
        attempts=attempts,
        retry_wait=retry_wait,
    )
