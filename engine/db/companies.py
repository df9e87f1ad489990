"""Companies: the S&P 500 constituent list (GICS classification, membership) and FMP profiles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from engine.db import queries
from engine.db.gics import classify, gics_sector
from engine.db.load import DEFAULT_TIMEOUT_S, LoadResult, write_quarantine
from engine.db.plausibility import Implausible, check_fields
from engine.db.pool import BATCH_ATTEMPTS, RETRY_WAIT_S, run_batch
from engine.db.rows import QuarantineRow
from engine.db.validate import Invalid, canonical_json, parse_day


@dataclass(frozen=True, slots=True)
class Constituent:
    """One constituent-list row, typed (the raw row travels along as `constituent` JSON)."""

    symbol: str
    name: str
    sector: str | None
    sub_industry: str | None
    headquarters: str | None
    cik: str | None
    founded: str | None
    index_added: date | None
    constituent: str


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _cik(value: object) -> str | None:
    text = _text(value)
    # FMP pads CIKs to 10 digits; lists that carry them as numbers lose the zeros.
    return text.zfill(10) if text and text.isdigit() else text


def parse_constituent(row: Mapping[str, Any]) -> Constituent:
    """Type one sp500-constituent row; a bad dateFirstAdded becomes NULL (the raw row keeps it).

    Raises:
        Invalid: the row has no symbol or no name.
    """
    symbol = _text(row.get("symbol"))
    if not symbol:
        raise Invalid("missing symbol")
    name = _text(row.get("name"))
    if not name:
        raise Invalid("missing name")
    try:
        added: date | None = parse_day(row.get("dateFirstAdded"), "dateFirstAdded")
    except Invalid:
        added = None
    sector, sub_industry = classify(symbol, _text(row.get("sector")), _text(row.get("subSector")))
    return Constituent(
        symbol=symbol.upper(),
        name=name,
        sector=sector,
        sub_industry=sub_industry,
        headquarters=_text(row.get("headQuarter")),
        cik=_cik(row.get("cik")),
        founded=_text(row.get("founded")),
        index_added=added,
        constituent=canonical_json(row),
    )


async def upsert_companies(
    pool: asyncpg.Pool,
    rows: Iterable[Mapping[str, Any]],
    *,
    complete: bool = True,
    as_of: date | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    attempts: int = BATCH_ATTEMPTS,
    retry_wait: float = RETRY_WAIT_S,
) -> LoadResult:
    """Upsert the constituent list (sector = GICS sector from the list) in one transaction.

    Args:
        complete: the rows are the whole current list, so members missing from it are marked as
            removed on `as_of` (default today); they are never deleted. A symbol back on the list is
            marked a member again.

    Returns:
        inserted / updated (members marked removed count as updated) / unchanged / quarantined.
    """
    good: dict[str, Constituent] = {}
    refused: list[QuarantineRow] = []
    for raw in rows:
        try:
            company = parse_constituent(raw)
        except Invalid as exc:
            refused.append(QuarantineRow("companies", _text(raw.get("symbol")), None, str(exc), dict(raw)))
            continue
        held = good.get(company.symbol)
        # Duplicate symbols: the greatest canonical row wins, whatever the list order.
        if held is None or company.constituent > held.constituent:
            good[company.symbol] = company
    batch = [good[symbol] for symbol in sorted(good)]
    removed_on = as_of or date.today()

    async def work(conn: asyncpg.Connection) -> LoadResult:
        await write_quarantine(conn, refused, timeout_s=timeout_s)
        counts = await conn.fetchrow(
            queries.UPSERT_CONSTITUENTS,
            [c.symbol for c in batch],
            [c.name for c in batch],
            [c.sector for c in batch],
            [c.sub_industry for c in batch],
            [c.headquarters for c in batch],
            [c.cik for c in batch],
            [c.founded for c in batch],
            [c.index_added for c in batch],
            [c.constituent for c in batch],
            timeout=timeout_s,
        )
        removed = 0
        if complete and batch:
            status = await conn.execute(
                queries.MARK_REMOVED, [c.symbol for c in batch], removed_on, timeout=timeout_s
            )
            removed = int(status.rsplit(" ", 1)[-1])
        return LoadResult.merged(counts, len(batch), len(refused), removed=removed)

    return await run_batch(
        pool,
        work,
        dataset="companies",
        symbol=None,
        timeout_s=timeout_s,
        attempts=attempts,
        retry_wait=retry_wait,
    )


async def load_profiles(
    pool: asyncpg.Pool,
    rows: Iterable[Mapping[str, Any]],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    attempts: int = BATCH_ATTEMPTS,
    retry_wait: float = RETRY_WAIT_S,
) -> LoadResult:
    """Store FMP profile rows: the whole row as `profile`, FMP's sector/industry beside the GICS ones.

    A profile for a symbol not yet in companies creates it as a non-member (in_index false). A
    profile breaking a plausibility rule (a negative marketCap, a `"NaN"` price) is quarantined.
    """
    good: dict[str, Mapping[str, Any]] = {}
    refused: list[QuarantineRow] = []
    for raw in rows:
        symbol = _text(raw.get("symbol"))
        if not symbol:
            refused.append(QuarantineRow("profiles", None, None, "missing symbol", dict(raw)))
            continue
        try:
            check_fields(raw, "profile")
        except Implausible as exc:  # the company keeps its previous profile
            refused.append(QuarantineRow("profiles", symbol.upper(), None, str(exc), dict(raw)))
            continue
        held = good.get(symbol.upper())
        if held is None or canonical_json(raw) > canonical_json(held):
            good[symbol.upper()] = raw
    symbols = sorted(good)

    async def work(conn: asyncpg.Connection) -> LoadResult:
        await write_quarantine(conn, refused, timeout_s=timeout_s)
        counts = await conn.fetchrow(
            queries.UPSERT_PROFILES,
            symbols,
            [_text(good[s].get("companyName")) or s for s in symbols],
            [_text(good[s].get("sector")) for s in symbols],
            [_text(good[s].get("industry")) for s in symbols],
            [canonical_json(good[s]) for s in symbols],
            [gics_sector(_text(good[s].get("sector"))) for s in symbols],
            timeout=timeout_s,
        )
        return LoadResult.merged(counts, len(symbols), len(refused))

    return await run_batch(
        pool,
        work,
        dataset="profiles",
        symbol=None,
        timeout_s=timeout_s,
        attempts=attempts,
        retry_wait=retry_wait,
    )
