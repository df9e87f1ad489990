"""The serving layer's refresh: the derived tables the pages read, recomputed for what runs changed.

After each run (and by `mycfa-engine refresh`), for each table: the scope is the symbols whose run
items wrote rows since the table's last successful refresh (everything when it never succeeded or
`full`), the rows of that scope are computed with the pure package `serving/` (the functions the
dashboard used per request) and replaced in transactions of their own (DELETE + COPY: readers see old
or new rows, never wait). The outcome of each table is kept in `serving_refreshes` (docs/serving.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import math
import operator
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg
import numpy as np
import orjson
import pandas as pd

from engine.db import queries
from engine.db.copybinary import copy_binary, copy_columns
from engine.db.pool import store_boundary
from engine.errors import StoreError, StoreUnavailable
from engine.runs import copied
from engine.runs.datasets import STATEMENTS
from serving import benchmark, fitting, history, lines, restatements, universe
from serving import rows as derived_rows
from serving.company import METRIC_COLUMNS
from serving.errors import AnalyticsError
from serving.statement_pass import statement_pass

log = logging.getLogger("engine.refresh")

METRIC_HISTORY, MONTH_END_CLOSES, SCREENER_ROWS = "metric_history", "month_end_closes", "screener_rows"
# The Screener's table on the TTM basis (schema 120): written with screener_rows, recorded after it.
SCREENER_BASIS_ROWS = "screener_basis_rows"
# What only this store knows (schema 173): every restated figure, and metric_history as first reported.
STATEMENT_CHANGES, METRIC_HISTORY_FIRST = "statement_changes", "metric_history_first"
# The S&P 500 cap- and equal-weighted daily returns (schema 181): universe-wide, rebuilt whole.
BENCHMARK_RETURNS = "benchmark_returns"
BENCHMARK_INPUTS = "benchmark_inputs"  # what it was computed from beyond prices (schema 111)
BENCHMARK_BATCH = 50  # companies per read and sum of benchmark_returns (~250,000 prices each since 1990)
READS_AHEAD = 2  # batches of benchmark_returns read while one is summed
# A price as SERVING_BENCHMARK_PRICES packs it: days since 1970, close, adjusted close (big-endian).
PACKED_PRICE = np.dtype([("day", ">i4"), ("close", ">f8"), ("value", ">f8")])
# The Company page's statement tables, typed (schema 101).
STATEMENT_LINES = "statement_lines"
# Its columns' types (lines.COLUMNS), for the COPY packed without asyncpg's per-element array checks.
LINES_TYPES = ("text", "text", "text", "date[]", "int2[]", "text[]", "text[]", "float8[]", "timestamptz")
# metric_history's (and metric_history_first's) column types, for its COPY packed a column at a time.
METRIC_TYPES = dict.fromkeys(METRIC_COLUMNS, "float8") | {
    "symbol": "text",
    "basis": "text",
    "fiscal_date": "date",
    "fiscal_year": "int2",
    "period": "text",
    "fiscal_year_end": "date",
    "known_since": "timestamptz",
}
# Every table the report lists, in its order (screener_basis_rows is written by screener_rows' refresh).
TABLES = (
    METRIC_HISTORY,
    MONTH_END_CLOSES,
    SCREENER_ROWS,
    SCREENER_BASIS_ROWS,
    STATEMENT_CHANGES,
    METRIC_HISTORY_FIRST,
    BENCHMARK_RETURNS,
    STATEMENT_LINES,
)
STATEMENT_TABLES = (METRIC_HISTORY, STATEMENT_CHANGES, METRIC_HISTORY_FIRST, STATEMENT_LINES)
STATEMENT_DATASETS = [d.name for d in STATEMENTS]
INCOME_DATASETS = [d.name for d in STATEMENTS if d.kind == "income"]  # the reported share counts
BATCH_SYMBOLS = 25  # companies per read, compute and replace of metric_history (~500 statement rows each)
MONTH_END_BATCH = 100  # symbols per month-end transaction (~9,000 daily prices each since 1990)
TIMEOUT_S = 300.0
MAX_ERROR = 500
# A refresh failure is reported, never raised into the run: its loads committed whatever happens here.
REFRESH_ERRORS = (StoreError, AnalyticsError, asyncpg.PostgresError, ValueError, KeyError, TypeError)


@dataclass(slots=True)
class TableOutcome:
    """What one table's refresh did."""

    name: str
    state: str = "ok"
    symbols: int = 0
    rows: int = 0
    seconds: float = 0.0
    error: str | None = None
    data_as_of: str | None = None
    during_run: int = 0  # of `symbols`, written while the run ran (engine/runs/following.py)


@dataclass(slots=True)
class RefreshReport:
    """Every table's outcome, for the run's log and `status`."""

    tables: list[TableOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.state == "ok" for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {
            t.name: {"state": t.state, "symbols": t.symbols, "rows": t.rows, "seconds": t.seconds}
            | ({"error": t.error} if t.error else {})
            | ({"during_run": t.during_run} if t.during_run else {})
            for t in self.tables
        }


def _records(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows for COPY: NaN (and inf) become NULL, so SQL screens never meet NaN (it sorts above every
    number in PostgreSQL)."""
    if frame.empty:
        return []
    columns = []
    for name in frame.columns:
        values = frame[name]
        if values.dtype.kind == "f":
            array = values.to_numpy()
            finite = np.isfinite(array)
            columns.append([float(v) if ok else None for v, ok in zip(array.tolist(), finite, strict=True)])
        else:
            columns.append([None if _missing(v) else v for v in values.tolist()])
    return list(zip(*columns, strict=True))


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and not math.isfinite(value))


async def _state(pool: asyncpg.Pool) -> dict[str, datetime | None]:
    """Per table, the upper end of its last successful refresh's scope (None: never succeeded)."""
    rows = await pool.fetch(queries.SERVING_STATE, timeout=TIMEOUT_S)
    return {r["name"]: r["scope_from"] for r in rows if r["succeeded_at"] is not None}


@store_boundary
async def _record(
    pool: asyncpg.Pool, outcome: TableOutcome, until: datetime | None, run_id: int | None
) -> None:
    await pool.execute(
        queries.SERVING_RECORD,
        outcome.name,
        outcome.state,
        until if outcome.state == "ok" else None,
        run_id,
        outcome.symbols,
        outcome.rows,
        round(outcome.seconds, 3),
        outcome.error,
        outcome.data_as_of,
        timeout=TIMEOUT_S,
    )


def _group_statements(rows: Iterable[asyncpg.Record]) -> tuple[dict[str, Any], dict[Any, Any]]:
    """Payloads by symbol, period group and kind, and per (symbol, group, fiscal date) its fiscal year,
    period label and latest change (the payloads parsed from their text here)."""
    return history.group_statements({**row, "payload": orjson.loads(row["payload"])} for row in rows)


def metric_frame(rows: Iterable[asyncpg.Record]) -> pd.DataFrame:
    """metric_history rows of the companies whose statement rows are given (SERVING_STATEMENTS)."""
    return history.metric_frame(*_group_statements(rows))


async def _batches(
    pool: asyncpg.Pool, read: str, symbols: Sequence[str]
) -> AsyncGenerator[tuple[list[str], list[asyncpg.Record]], None]:
    """`read`'s rows of `symbols`, BATCH_SYMBOLS companies at a time, the next batch read while the
    caller computes this one (the database and the computation each take a core)."""
    batches = [list(symbols[at : at + BATCH_SYMBOLS]) for at in range(0, len(symbols), BATCH_SYMBOLS)]
    reading = asyncio.ensure_future(_fetch(pool, read, batches[0])) if batches else None
    try:
        for at, batch in enumerate(batches):
            assert reading is not None
            rows = await reading
            if at + 1 < len(batches):
                reading = asyncio.ensure_future(_fetch(pool, read, batches[at + 1]))
            yield batch, rows
    finally:
        if reading is not None and not reading.done():
            reading.cancel()


async def refresh_metric_history(
    pool: asyncpg.Pool, symbols: Sequence[str], table: str = METRIC_HISTORY
) -> tuple[int, str | None]:
    """Replace the metric_history rows of `symbols` (of metric_history_first: from their first-reported
    payloads), BATCH_SYMBOLS at a time; returns rows written and the latest statement change they reflect."""
    read, delete = (
        (queries.SERVING_STATEMENTS, queries.DELETE_METRIC_HISTORY)
        if table == METRIC_HISTORY
        else (queries.SERVING_STATEMENTS_FIRST, queries.DELETE_METRIC_HISTORY_FIRST)
    )
    written, latest = 0, None
    async with contextlib.aclosing(_batches(pool, read, symbols)) as batches:  # a failure cancels the read
        async for batch, rows in batches:
            frame = await asyncio.to_thread(metric_frame, rows)
            written += await _replace(pool, delete, (batch,), table, frame)
            if not frame.empty:
                stamp = max(frame["known_since"])
                latest = max(latest, stamp.isoformat()) if latest else stamp.isoformat()
    return written, latest


def statement_lines_rows(rows: Iterable[asyncpg.Record]) -> list[tuple[Any, ...]]:
    """statement_lines rows of the companies whose statement rows are given (SERVING_STATEMENTS)."""
    return lines.rows({**row, "payload": orjson.loads(row["payload"])} for row in rows)


def statement_pass_rows(rows: Iterable[asyncpg.Record]) -> tuple[pd.DataFrame, list[tuple[Any, ...]]]:
    """metric_history's frame and statement_lines' rows of the same statement rows, parsed once (both
    only read the payloads)."""
    rows = list(rows)
    return statement_pass(rows, [orjson.loads(row["payload"]) for row in rows])


def _later(latest: str | None, stamp: str | None) -> str | None:
    """The later of two ISO stamps; a missing one leaves the other."""
    if latest is None or stamp is None:
        return stamp if latest is None else latest
    return max(latest, stamp)


@dataclass(slots=True)
class Followed:
    """The companies whose metric_history and statement_lines a run wrote while it ran
    (engine/runs/following.py), and per table the rows and latest statement change written."""

    symbols: set[str] = field(default_factory=set)
    metric_rows: int = 0
    metric_as_of: str | None = None
    lines_rows: int = 0
    lines_as_of: str | None = None

    def add(self, batch: Sequence[str], done: tuple[tuple[int, str | None], tuple[int, str | None]]) -> None:
        """A batch `refresh_statement_pass` wrote, with what it returned."""
        (metric_rows, metric_as_of), (lines_rows, lines_as_of) = done
        self.symbols.update(batch)
        self.metric_rows += metric_rows
        self.metric_as_of = _later(self.metric_as_of, metric_as_of)
        self.lines_rows += lines_rows
        self.lines_as_of = _later(self.lines_as_of, lines_as_of)


# Per table (metric_history, statement_lines): rows written and the latest statement change they reflect.
PassDone = tuple[tuple[int, str | None], tuple[int, str | None]]


# A copied statement row and its updated_at.
Held = tuple[copied.CopiedRow, datetime]


def copied_pass_rows(
    read: Sequence[asyncpg.Record], held: Mapping[str, Sequence[Held]]
) -> tuple[pd.DataFrame, list[tuple[Any, ...]]]:
    """`statement_pass_rows` of the companies' statement rows, those of `held` companies from the rows
    their run COPYed (with each one's updated_at) in the form the read gives them (engine/runs/copied.py),
    the others' as read; companies in SERVING_STATEMENTS' order (symbol, then fiscal date)."""
    read_by_symbol = {symbol: list(rows) for symbol, rows in itertools.groupby(read, key=_symbol_of)}
    rows: list[Mapping[str, Any]] = []
    payloads: list[Any] = []
    for symbol in sorted({*read_by_symbol, *held}):
        if symbol not in held:
            rows.extend(read_by_symbol[symbol])
            payloads.extend(orjson.loads(row["payload"]) for row in read_by_symbol[symbol])
            continue
        for row, stamp in sorted(held[symbol], key=_fiscal_date_of):
            rows.append(
                {
                    "symbol": row.symbol,
                    "kind": row.kind,
                    "grp": copied.group_of(row.period),
                    "period": row.period,
                    "fiscal_date": row.fiscal_date,
                    "fiscal_year": row.fiscal_year,
                    "updated_at": stamp,
                }
            )
            payloads.append(row.payload)
    return statement_pass(rows, payloads)


_symbol_of = operator.itemgetter("symbol")


def _fiscal_date_of(held: Held) -> date:
    return held[0].fiscal_date


async def _held(
    pool: asyncpg.Pool, batch: Sequence[str], copies: Mapping[str, Sequence[copied.Copied]]
) -> dict[str, list[Held]]:
    """The companies of `batch` whose statement rows are all rows their run COPYed (the store holds as
    many, none changed since: one small read), and whose pass cannot depend on how the read orders rows
    of one fiscal date; with each row's updated_at."""
    candidates = [symbol for symbol in batch if copies.get(symbol)]
    if not candidates:
        return {}
    stored = {
        r["symbol"]: (r["statements"], r["latest"])
        for r in await _fetch(pool, queries.SERVING_STATEMENT_COUNTS, candidates)
    }
    held = {}
    for symbol in candidates:
        rows = [(row, copy.stamp) for copy in copies[symbol] for row in copy.rows]
        latest = max(stamp for _, stamp in rows)
        if stored.get(symbol) == (len(rows), latest) and copied.order_free([row for row, _ in rows]):
            held[symbol] = rows
    return held


async def refresh_statement_pass(
    pool: asyncpg.Pool, symbols: Sequence[str], copies: Mapping[str, Sequence[copied.Copied]] | None = None
) -> tuple[tuple[int, str | None], tuple[int, str | None]]:
    """Replace the metric_history and statement_lines rows of `symbols` from one read and parse of their
    statements, BATCH_SYMBOLS at a time (two passes read and parsed every payload twice, at once: twice
    the CPU, and twice the batches in memory); returns each table's rows written and latest change.

    A company whose statements are all rows its run COPYed (`copies`, the statement follower's) is
    computed from those instead of read back: ~0.5 CPU-s of Postgres (printing the payloads) per 100
    companies; the engine's CPU is unchanged (reordering the payloads' keys costs what decoding the read
    did)."""
    done: PassDone = ((0, None), (0, None))
    if copies:  # the follower's: no read of the next batch ahead (it holds one)
        for at in range(0, len(symbols), BATCH_SYMBOLS):
            batch = list(symbols[at : at + BATCH_SYMBOLS])
            held = await _held(pool, batch, copies)
            rest = [symbol for symbol in batch if symbol not in held]
            read = await _fetch(pool, queries.SERVING_STATEMENTS, rest) if rest else []
            frame, records = await asyncio.to_thread(copied_pass_rows, read, held)
            del read, held
            done = await _write_pass(pool, batch, frame, records, done)
        return done
    async with contextlib.aclosing(_batches(pool, queries.SERVING_STATEMENTS, symbols)) as batches:
        async for batch, rows in batches:
            frame, records = await asyncio.to_thread(statement_pass_rows, rows)
            del rows  # the batch's records are not needed for the writes
            done = await _write_pass(pool, batch, frame, records, done)
    return done


async def _write_pass(
    pool: asyncpg.Pool,
    batch: Sequence[str],
    frame: pd.DataFrame,
    records: list[tuple[Any, ...]],
    done: PassDone,
) -> PassDone:
    """Swap in one batch's metric_history and statement_lines; returns `done` with them added."""
    (metric_rows, metric_latest), (lines_rows, lines_latest) = done
    metric_rows += await _replace(pool, queries.DELETE_METRIC_HISTORY, (batch,), METRIC_HISTORY, frame)
    if not frame.empty:
        metric_latest = _later(metric_latest, max(frame["known_since"]).isoformat())
    written, lines_latest = await _write_statement_lines(pool, batch, records, lines_latest)
    return (metric_rows, metric_latest), (lines_rows + written, lines_latest)


async def refresh_statement_lines(pool: asyncpg.Pool, symbols: Sequence[str]) -> tuple[int, str | None]:
    """Replace the statement tables of `symbols`, BATCH_SYMBOLS at a time; returns rows written and the
    latest statement change they reflect."""
    written, latest = 0, None
    async with contextlib.aclosing(_batches(pool, queries.SERVING_STATEMENTS, symbols)) as batches:
        async for batch, rows in batches:
            records = await asyncio.to_thread(statement_lines_rows, rows)
            batch_written, latest = await _write_statement_lines(pool, batch, records, latest)
            written += batch_written
    return written, latest


async def _write_statement_lines(
    pool: asyncpg.Pool, batch: Sequence[str], records: list[tuple[Any, ...]], latest: str | None
) -> tuple[int, str | None]:
    """Swap in one batch's statement_lines; returns the rows written and the latest change so far."""
    written = await _replace_records(
        pool,
        queries.DELETE_STATEMENT_LINES,
        (batch,),
        STATEMENT_LINES,
        records,
        lines.COLUMNS,
        types=LINES_TYPES,
    )
    if records:
        latest = _later(latest, max(r[-1] for r in records).isoformat())
    return written, latest


@store_boundary
async def _fetch(pool: asyncpg.Pool, sql: str, *args: Any) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(sql, *args, timeout=TIMEOUT_S)
    return rows


@store_boundary
async def _scan(pool: asyncpg.Pool, sql: str, *args: Any) -> list[asyncpg.Record]:
    """`_fetch` with PostgreSQL's JIT off: the universe-wide reads are planned above `jit_above_cost`
    (the planner cannot see how few yearly partitions they touch, or counts every member's rows) and
    compiling them took longer than running them (0.6 s of 1.6 s a benchmark batch, 2.2 s of the price
    statistics' 2.9 s at 503 symbols, on the loaded dev machine)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.SET_LOCAL_NO_JIT, timeout=TIMEOUT_S)
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args, timeout=TIMEOUT_S)
    return rows


async def _replace(
    pool: asyncpg.Pool, delete: str, args: tuple[Any, ...], table: str, frame: pd.DataFrame
) -> int:
    """One transaction: delete the scope's rows, COPY the new ones (readers never wait on it), packed
    from the frame's arrays a column at a time (`copy_columns`: `_records` and asyncpg's encoding of
    each of metric_history's ~15,000 values a company were ~0.6 CPU-s per 100 companies)."""
    columns = list(frame.columns)
    arrays = [_array(frame[name]) for name in columns]
    types = [METRIC_TYPES[name] for name in columns]
    packed = functools.partial(copy_columns, arrays, types) if len(frame) else None
    return await _swap(pool, delete, args, table, columns, packed=packed, count=len(frame))


def _array(values: pd.Series) -> np.ndarray:
    """A column's values as `copy_columns` reads them (an aware time as UTC datetime64)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    array: np.ndarray = values.to_numpy()
    return array


async def _replace_records(
    pool: asyncpg.Pool,
    delete: str,
    args: tuple[Any, ...],
    table: str,
    records: list[tuple[Any, ...]],
    columns: Sequence[str],
    *,
    types: Sequence[str] | None = None,
) -> int:
    """One transaction: delete the scope's rows, COPY the new ones (packed here when their column
    `types` are given: rows of long float arrays, engine/db/copybinary.py)."""
    if records and types is not None:
        packed = functools.partial(copy_binary, records, types)
        return await _swap(pool, delete, args, table, columns, packed=packed, count=len(records))
    return await _swap(pool, delete, args, table, columns, records=records)


@store_boundary
async def _swap(
    pool: asyncpg.Pool,
    delete: str,
    args: tuple[Any, ...],
    table: str,
    columns: Sequence[str],
    *,
    packed: Callable[[], Iterable[bytes]] | None = None,
    count: int = 0,
    records: list[tuple[Any, ...]] | None = None,
) -> int:
    """Delete the scope's rows and COPY in the new ones in one transaction: `count` rows as `packed()`
    packs them for binary COPY (packed anew if a lost connection runs it again), or `records` encoded
    by asyncpg; returns the rows written."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.SERVING_LOCK, table, timeout=TIMEOUT_S)
        await conn.execute(delete, *args, timeout=TIMEOUT_S)
        if packed is not None:
            source = _chunks(packed())
            await conn.copy_to_table(
                table, source=source, columns=list(columns), format="binary", timeout=TIMEOUT_S
            )
            return count
        if records:
            await conn.copy_records_to_table(table, records=records, columns=list(columns), timeout=TIMEOUT_S)
    return len(records or ())


async def _chunks(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    """COPY's source as asyncpg reads it (an async iterable: a file would be read on an executor's thread)."""
    for piece in pieces:
        yield piece


@store_boundary
async def refresh_statement_changes(
    pool: asyncpg.Pool, symbols: Sequence[str], restated: Sequence[str]
) -> int:
    """Replace the restated figures of `symbols` in one transaction (computed in the database), comparing
    the payloads of the `restated` among them only: the others have none to compare, and asking for all
    scanned every statement (~8 s of Postgres at 503 symbols without a single revision)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.SERVING_LOCK, STATEMENT_CHANGES, timeout=TIMEOUT_S)
        await conn.execute(queries.DELETE_STATEMENT_CHANGES, list(symbols), timeout=TIMEOUT_S)
        if not restated:
            return 0
        status = await conn.execute(queries.INSERT_STATEMENT_CHANGES, list(restated), timeout=TIMEOUT_S)
    return int(status.split()[-1])


@dataclass(slots=True)
class BatchedPass:
    """What a pass written batch by batch committed, and the batches it left as they were."""

    symbols: int = 0
    rows: int = 0
    failed: list[str] = field(default_factory=list)  # "FIRST..LAST (N symbols): why"


async def refresh_month_end_closes(pool: asyncpg.Pool, since: dict[str, date]) -> BatchedPass:
    """Recompute each symbol's month-end closes from the month of its `since` date on, MONTH_END_BATCH
    symbols a transaction: a symbol's months are swapped in one (a page never sees half of them), and no
    statement reads more than a batch's prices (one transaction of every symbol's timed out at 300 s at 503
    symbols under load). A batch that fails is left as it was and named, the others commit; the database gone
    (StoreUnavailable) ends the pass, the rest named as not tried."""
    symbols = sorted(since)
    done = BatchedPass()
    for start in range(0, len(symbols), MONTH_END_BATCH):
        batch = symbols[start : start + MONTH_END_BATCH]
        try:
            done.rows += await _month_end_batch(pool, batch, [since[s] for s in batch])
            done.symbols += len(batch)
        except StoreError as exc:
            done.failed.append(f"{_span(batch)}: {exc}")
            rest = symbols[start + MONTH_END_BATCH :]
            if isinstance(exc, StoreUnavailable) and rest:
                done.failed.append(f"{_span(rest)}: not tried")
                break
    return done


@store_boundary
async def _month_end_batch(pool: asyncpg.Pool, symbols: list[str], days: list[date]) -> int:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.SERVING_LOCK, MONTH_END_CLOSES, timeout=TIMEOUT_S)
        await conn.execute(queries.DELETE_MONTH_END_CLOSES, symbols, days, timeout=TIMEOUT_S)
        status = await conn.execute(queries.INSERT_MONTH_END_CLOSES, symbols, days, timeout=TIMEOUT_S)
    return int(status.split()[-1])


def _span(symbols: Sequence[str]) -> str:
    return f"{symbols[0]}..{symbols[-1]} ({len(symbols)} symbols)" if len(symbols) > 1 else symbols[0]


def screener_frames(
    raw: pd.DataFrame,
    closes: pd.DataFrame,
    counts: pd.DataFrame,
    companies: pd.DataFrame,
    stats: pd.DataFrame,
    changes: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """screener_rows and sector_medians rows (CPU only: run in a thread); `changes` the restated lines
    (serving/restatements.py), counted back from the latest close."""
    table = universe.screener_table(raw, closes, counts, companies)
    if table.empty:
        return pd.DataFrame(), pd.DataFrame()
    restated = restatements.restatement_columns(changes, table.index, universe.latest_close_day(closes))
    rows = table.join(universe.added_columns(raw, table, stats)).join(restated).reset_index()
    return rows, universe.medians(table)


def _frame(rows: Sequence[asyncpg.Record], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r) for r in rows], columns=list(columns))


async def refresh_screener(
    pool: asyncpg.Pool, ready: asyncio.Event | None = None
) -> tuple[int, int, str | None]:
    """Rebuild screener_rows, sector_medians and screener_basis_rows whole, in one transaction (once
    `ready` is set: metric_history written); returns symbols, rows and the latest close they reflect."""
    # Its reads at once (each in a connection of its own): their wall is the slowest one's, not the sum.
    annual, latest, shares, members, priced, restated = await asyncio.gather(
        _scan(pool, queries.SERVING_RECENT_ANNUAL, list(universe.KINDS), universe.DEPTH),
        _scan(pool, queries.SERVING_LATEST_CLOSES),
        _scan(pool, queries.SERVING_SHARE_COUNTS),
        _fetch(pool, queries.SERVING_COMPANIES),
        _scan(pool, queries.SERVING_PRICE_STATS),
        _fetch(pool, queries.SERVING_RESTATEMENTS),
    )
    raw = _frame(annual, ("kind", "symbol", "fiscal_date", "payload"))
    raw["payload"] = [orjson.loads(p) for p in raw["payload"]]
    closes = _frame(latest, ("symbol", "date", "close"))
    counts = _frame(shares, ("symbol", "profile_shares", "quarter_shares")).set_index("symbol")
    for name in ("profile_shares", "quarter_shares"):
        counts[name] = pd.to_numeric(counts[name], errors="coerce").astype(float)
    companies = _frame(members, ("symbol", "name", "sector", "sub_industry"))
    stats = _frame(priced, ("symbol", *universe.PRICE_STATS)).set_index("symbol")
    for name in universe.PRICE_STATS[1:]:
        stats[name] = pd.to_numeric(stats[name], errors="coerce").astype(float)
    changes = _frame(restated, restatements.EVENT_COLUMNS)
    rows, medians = await asyncio.to_thread(screener_frames, raw, closes, counts, companies, stats, changes)
    firm = fitting.firm_flags(companies.set_index("symbol")["sub_industry"])
    if ready is not None:
        await ready.wait()
    await _replace_screener(pool, rows, medians, firm)
    as_of = str(max(closes["date"])) if not closes.empty else None
    return len(rows), len(rows) + len(medians), as_of


async def _typed(conn: asyncpg.Connection, sql: str) -> pd.DataFrame:
    """A derived table's rows typed as the dashboard types them (serving/rows.py)."""
    statement = await conn.prepare(sql, timeout=TIMEOUT_S)
    found = await statement.fetch(timeout=TIMEOUT_S)
    columns = [attribute.name for attribute in statement.get_attributes()]
    return derived_rows.typed(columns, [tuple(r) for r in found])


def basis_frame(table: pd.DataFrame, ttm_rows: pd.DataFrame, firm: pd.Series) -> pd.DataFrame:
    """screener_basis_rows from screener_rows and the latest TTM rows as read back (CPU only: run in a
    thread). None where the table reflects no close: the dashboard then measures ages from its own."""
    if table.empty:
        return pd.DataFrame()
    table = table.set_index("symbol").sort_index()
    reference = universe.price_day(table)
    if reference is None:
        return pd.DataFrame()
    return universe.ttm_basis(table, ttm_rows, firm, reference).reset_index()


@store_boundary
async def _replace_screener(
    pool: asyncpg.Pool, rows: pd.DataFrame, medians: pd.DataFrame, firm: pd.Series
) -> None:
    screener_records, median_records = _records(rows), _records(medians)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.SERVING_LOCK, SCREENER_ROWS, timeout=TIMEOUT_S)
        await conn.execute(queries.DELETE_SCREENER_ROWS, timeout=TIMEOUT_S)
        await conn.execute(queries.DELETE_SECTOR_MEDIANS, timeout=TIMEOUT_S)
        if screener_records:
            await conn.copy_records_to_table(
                SCREENER_ROWS, records=screener_records, columns=list(rows.columns), timeout=TIMEOUT_S
            )
        if median_records:
            await conn.copy_records_to_table(
                "sector_medians", records=median_records, columns=list(medians.columns), timeout=TIMEOUT_S
            )
        # The TTM basis from the rows as the dashboard would read them (NULLs, types, symbol order), so
        # that what it reads equals what it computed.
        table = await _typed(conn, queries.SERVING_SCREENER_ROWS)
        ttm_rows = await _typed(conn, queries.SERVING_LATEST_TTM)
        basis_rows = await asyncio.to_thread(basis_frame, table, ttm_rows, firm)
        await conn.execute(queries.DELETE_SCREENER_BASIS_ROWS, timeout=TIMEOUT_S)
        if not basis_rows.empty:
            await conn.copy_records_to_table(
                SCREENER_BASIS_ROWS,
                records=_records(basis_rows),
                columns=list(basis_rows.columns),
                timeout=TIMEOUT_S,
            )


@dataclass(slots=True)
class BenchmarkInputs:
    """What benchmark_returns reads beyond prices (serving/benchmark.py): the membership spells, the
    profiles' share counts, and the membership as step functions (benchmark_inputs, schema 111)."""

    spells: pd.DataFrame
    profile: pd.Series
    members: dict[str, benchmark.Steps]


async def benchmark_inputs(pool: asyncpg.Pool) -> BenchmarkInputs:
    spells = _frame(await _fetch(pool, queries.SERVING_MEMBERSHIP), ("symbol", "added", "removed"))
    for name in ("added", "removed"):
        spells[name] = pd.to_datetime(spells[name])
    found = await _fetch(pool, queries.SERVING_PROFILE_SHARES)
    profile = pd.Series(
        {r["symbol"]: float(r["shares"]) for r in found if r["shares"] is not None}, dtype=float
    )
    return BenchmarkInputs(spells, profile, benchmark.member_steps(spells))


def _reported(rows: Sequence[asyncpg.Record]) -> pd.DataFrame:
    """SERVING_REPORTED_SHARES' rows as `benchmark.partial_sums` takes them."""
    shares = _frame(rows, ("symbol", "date", "shares"))
    shares["date"] = pd.to_datetime(shares["date"])
    shares["shares"] = pd.to_numeric(shares["shares"], errors="coerce").astype(float)
    return shares


def benchmark_sums(
    priced: Sequence[asyncpg.Record],
    symbols: Sequence[str],
    spells: pd.DataFrame,
    reported: Sequence[asyncpg.Record],
    profile: pd.Series,
) -> tuple[pd.DataFrame, dict[str, benchmark.Steps]]:
    """One batch's per-date sums for benchmark_returns and its companies' share-count steps (CPU only:
    run in a thread)."""
    prices = price_frame(sorted(priced, key=lambda r: r["symbol"]))
    steps = benchmark.share_steps(_reported(reported), profile, symbols)
    return benchmark.partial_sums(prices, spells, steps=steps), steps


def price_frame(priced: Sequence[asyncpg.Record]) -> pd.DataFrame:
    """SERVING_BENCHMARK_PRICES' rows (by symbol) as `benchmark.partial_sums` takes them, symbols coded."""
    packed = [np.frombuffer(r["packed"], dtype=PACKED_PRICE) for r in priced]
    rows = np.concatenate(packed) if packed else np.empty(0, dtype=PACKED_PRICE)
    codes = np.repeat(np.arange(len(packed)), [len(p) for p in packed])
    return pd.DataFrame(
        {
            "symbol": pd.Categorical.from_codes(codes, categories=[r["symbol"] for r in priced]),
            "date": rows["day"].astype(np.int64).astype("datetime64[D]").astype("datetime64[ns]"),
            "close": rows["close"].astype(float),
            "value": rows["value"].astype(float),
        }
    )


async def refresh_benchmark(
    pool: asyncpg.Pool,
    start: date | None = None,
    *,
    inputs: BenchmarkInputs | None = None,
    changed: dict[str, benchmark.Steps] | None = None,
) -> tuple[int, int, str | None]:
    """Rebuild benchmark_returns whole (or its days from `start` on), in one transaction, from the per-date
    sums of BENCHMARK_BATCH companies at a time (memory follows the batch); returns the companies, rows
    written and latest date. Its inputs (benchmark_inputs) are written with it: all of them when whole,
    else the membership's and `changed`'s share counts when `changed` is given (the ones compared).

    From `start`: each company's prices from its last one before `start` (a day's return needs the close
    before it), so every day from `start` on sums exactly the rows a whole rebuild sums, in the same order.
    """
    inputs = inputs or await benchmark_inputs(pool)
    symbols = [r["symbol"] for r in await _fetch(pool, queries.SERVING_BENCHMARK_SYMBOLS)]
    batches = [symbols[at : at + BENCHMARK_BATCH] for at in range(0, len(symbols), BENCHMARK_BATCH)]
    parts, shares = [], {}
    # The next READS_AHEAD batches are read while this one is summed: the database's reads take most of
    # the time, two at once use both cores when nothing else runs (the engine sums on what is left).
    reading = deque(asyncio.ensure_future(_benchmark_batch(pool, b, start)) for b in batches[:READS_AHEAD])
    try:
        for at, batch in enumerate(batches):
            priced, reported = await reading.popleft()  # a batch's records leave with its future
            if at + READS_AHEAD < len(batches):
                reading.append(
                    asyncio.ensure_future(_benchmark_batch(pool, batches[at + READS_AHEAD], start))
                )
            sums, steps = await asyncio.to_thread(
                benchmark_sums, priced, batch, inputs.spells, reported, inputs.profile
            )
            parts.append(sums)
            shares.update(steps)
            del priced, reported
    finally:
        for pending in reading:
            pending.cancel()
    sums = pd.concat(parts) if parts else pd.DataFrame()
    if start is not None and not sums.empty:  # the days before `start` lack the returns they read
        sums = sums[sums.index >= pd.Timestamp(start)]
    frame = benchmark.finish(sums)
    kept = shares if start is None else changed
    rows = None
    if kept is not None:
        rows = benchmark.input_rows(benchmark.MEMBER, inputs.members) + benchmark.input_rows(
            benchmark.SHARES, kept
        )
    written = await _replace_benchmark(
        pool, start, frame, rows, None if start is None else sorted(kept or ())
    )
    as_of = str(max(frame["date"])) if not frame.empty else None
    return len(symbols), written, as_of


@store_boundary
async def _benchmark_batch(
    pool: asyncpg.Pool, batch: list[str], start: date | None
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """A batch's packed prices (all, or from the last close before `start`) and reported share counts, in
    one transaction without JIT (`_scan`)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.SET_LOCAL_NO_JIT, timeout=TIMEOUT_S)
        priced: list[asyncpg.Record] = await (
            conn.fetch(queries.SERVING_BENCHMARK_PRICES, batch, timeout=TIMEOUT_S)
            if start is None
            else conn.fetch(queries.SERVING_BENCHMARK_PRICES_FROM, batch, start, timeout=TIMEOUT_S)
        )
        reported: list[asyncpg.Record] = await conn.fetch(
            queries.SERVING_REPORTED_SHARES, batch, timeout=TIMEOUT_S
        )
    return priced, reported


@store_boundary
async def _replace_benchmark(
    pool: asyncpg.Pool,
    start: date | None,
    frame: pd.DataFrame,
    inputs: list[tuple[str, str, date, float]] | None,
    of: list[str] | None,
) -> int:
    """One transaction: the series' rows (all, or from `start`) and, when given, the inputs they were
    computed from (all, or the membership's and those of `of`)."""
    records = _records(frame)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.SERVING_LOCK, BENCHMARK_RETURNS, timeout=TIMEOUT_S)
        if start is None:
            await conn.execute(queries.DELETE_BENCHMARK_RETURNS, timeout=TIMEOUT_S)
        else:
            await conn.execute(queries.DELETE_BENCHMARK_RETURNS_FROM, start, timeout=TIMEOUT_S)
        if records:
            await conn.copy_records_to_table(
                BENCHMARK_RETURNS, records=records, columns=list(frame.columns), timeout=TIMEOUT_S
            )
        if inputs is not None:
            if of is None:
                await conn.execute(queries.DELETE_BENCHMARK_INPUTS, timeout=TIMEOUT_S)
            else:
                await conn.execute(queries.DELETE_BENCHMARK_INPUTS_OF, of, timeout=TIMEOUT_S)
            await conn.copy_records_to_table(
                BENCHMARK_INPUTS, records=inputs, columns=list(benchmark.INPUT_COLUMNS), timeout=TIMEOUT_S
            )
    return len(records)


async def refresh(
    pool: asyncpg.Pool, *, run_id: int | None = None, full: bool = False, followed: Followed | None = None
) -> RefreshReport:
    """Refresh every derived table for what changed since its last success (or whole); never raises
    for a table's failure: it is recorded in serving_refreshes and in the report. `followed`: the
    companies whose metric_history and statement_lines the run wrote already (engine/runs/following.py).

    Raises:
        StoreUnavailable: the database went away for longer than the outage bound.
    """
    until: datetime = (await _fetch(pool, queries.SERVING_NOW))[0][0]
    state = await _state(pool)
    # screener_rows counts the restatements statement_changes holds: it reads them once those are written.
    # Its TTM basis (screener_basis_rows) reads metric_history: it is written once that is.
    changes_written, metrics_written = asyncio.Event(), asyncio.Event()
    # The basis follows metric_history too: screener_rows is rebuilt whole (and the basis with it) when
    # the basis was never written, or when its last success or metric_history's is not screener_rows'
    # (a failure left one behind, or an engine of the previous release refreshed screener_rows alone).
    screened = state.get(SCREENER_ROWS)
    behind = (
        state.get(SCREENER_BASIS_ROWS) is None
        or state.get(SCREENER_BASIS_ROWS) != screened
        or state.get(METRIC_HISTORY) != screened
    )

    async def one(name: str) -> list[TableOutcome]:
        if name == SCREENER_ROWS:
            await changes_written.wait()
        if name == BENCHMARK_RETURNS:
            # After the statement pass: the two working sets at once set the engine's peak RSS.
            await metrics_written.wait()
        started, outcome = time.monotonic(), TableOutcome(name)
        since = None if full or (name == SCREENER_ROWS and behind) else state.get(name)
        try:
            await _refresh_table(pool, outcome, since, until, full=full, ready=metrics_written)
        except REFRESH_ERRORS as exc:
            _failed(outcome, exc)
        finally:
            if name == STATEMENT_CHANGES:
                changes_written.set()
            if name == METRIC_HISTORY:
                metrics_written.set()
        outcome.seconds = time.monotonic() - started
        await _record(pool, outcome, until, run_id)
        if name != SCREENER_ROWS:
            return [outcome]
        # Written in screener_rows' transaction: the same outcome, recorded after it (the dashboard reads
        # the basis only when its success is no older than screener_rows').
        basis = TableOutcome(
            SCREENER_BASIS_ROWS,
            outcome.state,
            outcome.symbols,
            outcome.symbols,
            outcome.seconds,
            outcome.error,
            outcome.data_as_of,
        )
        await _record(pool, basis, until, run_id)
        return [outcome, basis]

    # One pass for both when their scopes agree (always, unless one of them failed alone last time).
    shared = full or state.get(METRIC_HISTORY) == state.get(STATEMENT_LINES)
    apart = (SCREENER_BASIS_ROWS, METRIC_HISTORY, STATEMENT_LINES) if shared else (SCREENER_BASIS_ROWS,)
    # The tables at once: the statement pass computes on the engine's core while the screener's reads
    # (and the month-end pass, when one is due) run in the database.
    tasks = [one(name) for name in TABLES if name not in apart] + (
        [
            _statement_pass(
                pool, None if full else state.get(METRIC_HISTORY), until, run_id, metrics_written, followed
            )
        ]
        if shared
        else []
    )
    done = await asyncio.gather(*tasks)
    outcomes = sorted((o for outcomes in done for o in outcomes), key=lambda o: TABLES.index(o.name))
    report = RefreshReport(outcomes)
    log.info("serving refresh", extra={"event": "refresh", "tables": report.as_dict()})
    return report


async def _statement_pass(
    pool: asyncpg.Pool,
    since: datetime | None,
    until: datetime,
    run_id: int | None,
    written: asyncio.Event,
    followed: Followed | None = None,
) -> list[TableOutcome]:
    """metric_history and statement_lines from one read and parse of the same scope's statements (a
    failure fails both: they are written batch by batch together), but for the companies the run
    `followed` (written during the run: counted here); `written` is set once it ends."""
    started = time.monotonic()
    outcomes = metrics, statement_lines = TableOutcome(METRIC_HISTORY), TableOutcome(STATEMENT_LINES)
    followed = followed or Followed()
    try:
        scope = await _statement_scope(pool, since, until)
        symbols = [s for s in scope if s not in followed.symbols]
        metrics.symbols = statement_lines.symbols = len(symbols) + len(followed.symbols)
        metrics.during_run = statement_lines.during_run = len(followed.symbols)
        done = await refresh_statement_pass(pool, symbols)
        (metrics.rows, metrics.data_as_of), (statement_lines.rows, statement_lines.data_as_of) = done
        metrics.rows += followed.metric_rows
        metrics.data_as_of = _later(metrics.data_as_of, followed.metric_as_of)
        statement_lines.rows += followed.lines_rows
        statement_lines.data_as_of = _later(statement_lines.data_as_of, followed.lines_as_of)
    except REFRESH_ERRORS as exc:
        for outcome in outcomes:
            _failed(outcome, exc)
    finally:
        written.set()
    for outcome in outcomes:
        outcome.seconds = time.monotonic() - started
        await _record(pool, outcome, until, run_id)
    return list(outcomes)


def _failed(outcome: TableOutcome, exc: BaseException) -> None:
    outcome.state, outcome.error = "failed", f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    log.error(
        "refresh of %s failed: %s",
        outcome.name,
        outcome.error,
        extra={"event": "refresh_failed", "table": outcome.name},
    )


async def _statement_scope(pool: asyncpg.Pool, since: datetime | None, until: datetime) -> list[str]:
    """The companies whose statements changed since `since` (every company with statements: None)."""
    if since is None:
        return sorted(r["symbol"] for r in await _fetch(pool, queries.SERVING_STATEMENT_SYMBOLS))
    rows = await _fetch(pool, queries.SERVING_CHANGED, STATEMENT_DATASETS, since, until)
    return sorted(r["symbol"] for r in rows)


async def _refresh_statement_table(
    pool: asyncpg.Pool, outcome: TableOutcome, since: datetime | None, until: datetime
) -> None:
    """A table computed from statements, for the companies whose statements changed since `since`."""
    name = outcome.name
    symbols = await _statement_scope(pool, since, until)
    outcome.symbols = len(symbols)
    if name == METRIC_HISTORY:
        outcome.rows, outcome.data_as_of = await refresh_metric_history(pool, symbols)
    elif name == STATEMENT_LINES:
        outcome.rows, outcome.data_as_of = await refresh_statement_lines(pool, symbols)
    else:  # only restated companies have rows of their own (schema 173); revisions are never removed
        found = await _fetch(pool, queries.SERVING_RESTATED_SYMBOLS, symbols)
        restated = sorted(r["symbol"] for r in found)
        if name == STATEMENT_CHANGES:
            outcome.rows = await refresh_statement_changes(pool, symbols, restated)
        else:
            outcome.rows, outcome.data_as_of = await refresh_metric_history(pool, restated, name)


async def _refresh_table(
    pool: asyncpg.Pool,
    outcome: TableOutcome,
    since: datetime | None,
    until: datetime,
    *,
    full: bool,
    ready: asyncio.Event | None = None,
) -> None:
    name = outcome.name
    if name in STATEMENT_TABLES:
        await _refresh_statement_table(pool, outcome, since, until)
    elif name == MONTH_END_CLOSES:
        # Each price load keeps its symbol's months current (engine/db/load.py, PRICES_BATCH): the whole
        # pass is for `--all` and for symbols whose prices were loaded before schema 100.
        if since is not None and not full:
            return
        scope = queries.SERVING_PRICE_SYMBOLS if full else queries.SERVING_MONTH_END_MISSING
        wanted = dict.fromkeys(sorted(r["symbol"] for r in await _scan(pool, scope)), date.min)
        outcome.symbols = len(wanted)
        written = await refresh_month_end_closes(pool, wanted)
        outcome.rows = written.rows
        if written.failed:
            raise StoreError(
                f"{written.symbols} of {len(wanted)} symbols committed; left as they were: "
                + "; ".join(written.failed)
            )
    else:
        await _refresh_universe(pool, outcome, since, until, ready)


async def _refresh_universe(
    pool: asyncpg.Pool,
    outcome: TableOutcome,
    since: datetime | None,
    until: datetime,
    ready: asyncio.Event | None = None,
) -> None:
    """The universe-wide tables (screener_rows with sector_medians, benchmark_returns), rebuilt whole when
    anything they read moved since their last success (prices move every multiple and the index)."""
    if outcome.name == BENCHMARK_RETURNS:
        await _refresh_benchmark_table(pool, outcome, since, until)
        return
    if since is not None:
        every = [*STATEMENT_DATASETS, "prices", "profile"]
        changed = await _fetch(pool, queries.SERVING_CHANGED, every, since, until)
        moved = (await _fetch(pool, queries.SERVING_COMPANIES_CHANGED, since, until))[0][0]
        if not changed and not moved:
            return
    outcome.symbols, outcome.rows, outcome.data_as_of = await refresh_screener(pool, ready)


async def _refresh_benchmark_table(
    pool: asyncpg.Pool, outcome: TableOutcome, since: datetime | None, until: datetime
) -> None:
    """benchmark_returns from the first day anything it reads moved since its last success: the earliest
    day a price item loaded (its window start, or its re-adjusted history's), and the first day a
    membership or a share count differs from those the series was computed from (benchmark_inputs: a
    restated or new quarter's count moves the days from its period end on). Whole when it never
    succeeded, when a price item had no window, or when a change reaches back to the start."""
    inputs = await benchmark_inputs(pool)
    start: date | None = None
    changed: dict[str, benchmark.Steps] | None = None
    if since is not None and (await _fetch(pool, queries.SERVING_BENCHMARK_INPUTS_KEPT))[0][0]:
        prices = (await _fetch(pool, queries.SERVING_PRICES_CHANGED_FROM, since, until))[0]
        # Whose share counts may have moved: income statements (the reported counts) or a profile (the
        # count of a company without one, of a current member only) changed.
        moved = await _fetch(pool, queries.SERVING_CHANGED, [*INCOME_DATASETS, "profile"], since, until)
        touched = await _fetch(pool, queries.SERVING_COMPANIES_CHANGED_SYMBOLS, since, until)
        suspects = sorted(
            ({r["symbol"] for r in moved} | {r["symbol"] for r in touched}) & set(inputs.members)
        )
        kept = benchmark.input_steps(
            tuple(r) for r in await _fetch(pool, queries.SERVING_BENCHMARK_INPUTS, suspects)
        )
        members = set(kept[benchmark.MEMBER]) | set(inputs.members)
        first = benchmark.first_change(kept[benchmark.MEMBER], inputs.members, sorted(members))
        if first is not None:
            changed = {}  # the membership's steps are written again
        if suspects:
            reported = _reported(await _scan(pool, queries.SERVING_REPORTED_SHARES, suspects))
            current = benchmark.share_steps(reported, inputs.profile, suspects)
            counted = benchmark.first_change(kept[benchmark.SHARES], current, suspects)
            if counted is not None:
                changed = current
                first = counted if first is None else min(first, counted)
        days = [d for d in (prices["start"], first) if d is not None]
        if not days and not prices["whole"]:
            return  # nothing it reads moved
        start = None if prices["whole"] or min(days) <= benchmark.ORIGIN else min(days)
    outcome.symbols, outcome.rows, outcome.data_as_of = await refresh_benchmark(
        pool, start, inputs=inputs, changed=changed
    )
