"""What is already stored, for incremental runs: last price and fiscal dates, closes in a price window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

from engine.db import queries
from engine.db.pool import store_boundary

WATERMARK_TIMEOUT_S = 60.0


@store_boundary
async def last_price_dates(
    pool: asyncpg.Pool, symbols: Sequence[str], *, timeout_s: float = WATERMARK_TIMEOUT_S
) -> dict[str, date]:
    """The last stored price date of each symbol; symbols with no stored price are absent."""
    rows = await pool.fetch(queries.LAST_PRICE_DATES, list(symbols), timeout=timeout_s)
    return {row["symbol"]: row["last_date"] for row in rows if row["last_date"] is not None}


@store_boundary
async def latest_fiscal_dates(
    pool: asyncpg.Pool, symbols: Sequence[str], *, timeout_s: float = WATERMARK_TIMEOUT_S
) -> dict[tuple[str, str, str], date]:
    """The latest stored fiscal_date per (symbol, kind, period), period being FY or Q1..Q4."""
    return await _series_dates(pool, queries.LATEST_FISCAL_DATES, symbols, timeout_s)


@store_boundary
async def stored_closes(
    pool: asyncpg.Pool, symbol: str, start: date, *, timeout_s: float = WATERMARK_TIMEOUT_S
) -> dict[date, tuple[float, float | None]]:
    """The stored close and adj_close of `symbol` from `start` on (the incremental window's overlap)."""
    rows = await pool.fetch(queries.STORED_CLOSES, symbol, start, timeout=timeout_s)
    return {row["date"]: (row["close"], row["adj_close"]) for row in rows}


@store_boundary
async def first_stored_date(
    pool: asyncpg.Pool, symbol: str, *, timeout_s: float = WATERMARK_TIMEOUT_S
) -> date | None:
    """The oldest stored price date of `symbol`: where a refetch of its whole history starts."""
    value = await pool.fetchval(queries.FIRST_STORED_DATE, symbol, timeout=timeout_s)
    return value if isinstance(value, date) else None


@store_boundary
async def market_cap(
    pool: asyncpg.Pool, symbol: str, *, timeout_s: float = WATERMARK_TIMEOUT_S
) -> float | None:
    """The market capitalisation in the company's stored profile, if it has one."""
    value = await pool.fetchval(queries.MARKET_CAP, symbol, timeout=timeout_s)
    return None if value is None else float(value)


@store_boundary
async def statement_fetch_dates(
    pool: asyncpg.Pool, symbols: Sequence[str], *, timeout_s: float = WATERMARK_TIMEOUT_S
) -> dict[tuple[str, str, str], date]:
    """The engine's date of the last fetch per (symbol, kind, annual|quarter) series."""
    return await _series_dates(pool, queries.STATEMENT_FETCHES, symbols, timeout_s)


async def _series_dates(
    pool: asyncpg.Pool, sql: str, symbols: Sequence[str], timeout_s: float
) -> dict[tuple[str, str, str], date]:
    """(symbol, kind, period) -> the date column of a per-series query."""
    rows = await pool.fetch(sql, list(symbols), timeout=timeout_s)
    return {(row["symbol"], row["kind"], row["period"]): row[3] for row in rows}


@store_boundary
async def profiled_symbols(
    pool: asyncpg.Pool, symbols: Sequence[str], *, timeout_s: float = WATERMARK_TIMEOUT_S
) -> set[str]:
    """The symbols among `symbols` whose company has a stored profile."""
    rows = await pool.fetch(queries.PROFILED_SYMBOLS, list(symbols), timeout=timeout_s)
    return {row["symbol"] for row in rows}


@store_boundary
async def record_statement_fetch(
    pool: asyncpg.Pool,
    symbol: str,
    kind: str,
    period: str,
    day: date,
    *,
    timeout_s: float = WATERMARK_TIMEOUT_S,
) -> None:
    """Note that a statement series was fetched (and its batch committed) on the engine's `day`."""
    await pool.execute(queries.RECORD_STATEMENT_FETCH, symbol, kind, period, day, timeout=timeout_s)
