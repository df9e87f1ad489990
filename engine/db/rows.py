"""Typed rows the loader writes, in the column order of their tables, and their in-batch dedup rules."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

STATEMENT_KINDS = ("income", "balance", "cashflow", "ratios", "key_metrics")
STATEMENT_PERIODS = ("FY", "Q1", "Q2", "Q3", "Q4")


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


def dedupe_prices(rows: Iterable[PriceRow]) -> list[PriceRow]:
    """One row per (symbol, date), sorted by key.

    Winner among duplicates: the greatest tuple of values (open, high, ..., vwap; missing counts
    lowest). Arbitrary but independent of input order, so a shuffled batch loads the same rows.
    """
    batch = list(rows)
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
