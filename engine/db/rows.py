"""Typed rows the loader writes, in the column order of their tables, and their in-batch dedup rules."""

from __future__ import annotations

import math
import operator
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any, NamedTuple


class PriceRow(NamedTuple):
    """One `prices_daily` row; field order is the table's column order (the COPY relies on it)."""

    symbol: str
    date: date
    open: float
    high: float
    low: float
    close: float
    adj_close: float | None
    volume: int
    vwap: float | None


PRICE_COLUMNS = PriceRow._fields


class StatementRow(NamedTuple):
    """One `statements` row without its timestamps; `payload` is canonical JSON text (sorted keys)."""

    symbol: str
    kind: str
    period: str
    fiscal_date: date
    fiscal_year: int
    reported_currency: str | None
    filing_date: date | None
    payload: str


STATEMENT_COLUMNS = StatementRow._fields


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    """A row refused by validation: where it came from, why, and the raw payload as FMP sent it."""

    dataset: str
    symbol: str | None
    kind: str | None
    reason: str
    payload: dict[str, Any]


def _price_rank(row: PriceRow) -> tuple[float, ...]:
    return tuple(-math.inf if value is None else float(value) for value in row[2:])


def _price_key(row: PriceRow) -> tuple[str, date]:
    return (row.symbol, row.date)


_symbol_of = operator.itemgetter(0)
_date_of = operator.itemgetter(1)


def _ordered_one_symbol(batch: list[PriceRow]) -> list[PriceRow] | None:
    """`batch` in ascending date order if it is one symbol with strictly monotonic dates, else None.

    The common input (FMP sends one symbol's history newest first) needs no sort and no key set:
    these checks run as C-level loops (map over itemgetters), a few times faster than the sort.
    """
    if len(set(map(_symbol_of, batch))) != 1:
        return None
    dates = list(map(_date_of, batch))
    if all(map(operator.lt, dates, dates[1:])):
        return batch
    if all(map(operator.gt, dates, dates[1:])):
        return batch[::-1]
    return None


def dedupe_prices(rows: Iterable[PriceRow]) -> list[PriceRow]:
    """One row per (symbol, date), sorted by key.

    Winner among duplicates: the greatest tuple of values (open, high, ..., vwap; missing counts
    lowest). Arbitrary but independent of input order, so a shuffled batch loads the same rows.
    """
    batch = list(rows)
    if len(batch) < 2:
        return batch
    ordered = _ordered_one_symbol(batch)
    if ordered is not None:
        return ordered  # strictly monotonic dates of one symbol: no duplicates, order known
    if len({(row.symbol, row.date) for row in batch}) == len(batch):
        return sorted(batch, key=_price_key)  # the common case, no duplicates: skip the ranking
    best: dict[tuple[str, date], PriceRow] = {}
    for row in batch:
        key = (row.symbol, row.date)
        held = best.get(key)
        if held is None or _price_rank(row) > _price_rank(held):
            best[key] = row
    return [best[key] for key in sorted(best)]


def dedupe_statements(rows: Iterable[StatementRow]) -> list[StatementRow]:
    """One row per (symbol, kind, period, fiscal_date), sorted by key.

    Winner among duplicates: the latest filing date (a later filing is a restatement), then the
    greatest canonical payload text, so the choice never depends on input order.
    """
    best: dict[tuple[str, str, str, date], StatementRow] = {}
    for row in rows:
        key = (row.symbol, row.kind, row.period, row.fiscal_date)
        held = best.get(key)
        if held is None or _statement_rank(row) > _statement_rank(held):
            best[key] = row
    return [best[key] for key in sorted(best)]


def _statement_rank(row: StatementRow) -> tuple[date, str]:
    return (row.filing_date or date.min, row.payload)


# How the backfill COPY feeds a multi-partition batch (see copy_order). PostgreSQL 15's COPY into a
# partitioned table buffers rows per leaf partition and flushes every buffer once 1,000 rows are
# queued in all; each buffer creates one tuple slot per row it ever holds, and every slot is
# registered with the statement's resource owner (a hash that degrades when thousands of entries
# share a key). Rows arriving partition after partition (one symbol's history in date order) make
# every buffer hold its whole run: ~one new slot per row. Round-robin chunks over a group of
# partitions keep each buffer at ~1,000 / COPY_GROUP rows, so slots are reused across flushes;
# groups stay under PostgreSQL's 32 live buffers (MAX_PARTITION_BUFFERS), beyond which it tears
# buffers down after every flush.
COPY_GROUP = 16
COPY_CHUNK = 8


def copy_order(
    rows: Sequence[PriceRow], *, group: int = COPY_GROUP, chunk: int = COPY_CHUNK
) -> Sequence[PriceRow]:
    """The rows of a date-sorted, one-symbol batch reordered for a COPY into yearly partitions.

    Within each year the rows keep their date order (each partition's index still receives its
    keys ascending); years are fed in round-robin chunks of `chunk` rows, `group` years at a time.
    Same rows, same stored end state, only the order the server receives them in differs.
    """
    if len(rows) <= chunk or rows[0].date.year == rows[-1].date.year:
        return rows
    years = range(rows[0].date.year + 1, rows[-1].date.year + 1)
    cuts = [0, *(bisect_left(rows, date(year, 1, 1), key=_date_of) for year in years), len(rows)]
    runs = [rows[start:end] for start, end in pairwise(cuts) if end > start]
    out: list[PriceRow] = []
    for first in range(0, len(runs), group):
        members = runs[first : first + group]
        for offset in range(0, max(map(len, members)), chunk):
            for run in members:
                out.extend(run[offset : offset + chunk])
    return out
