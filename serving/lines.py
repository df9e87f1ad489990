"""A company's statement tables (FY, Q, TTM) as statement_lines stores them, and back (schema 101).

The engine's refresh builds each table with the functions the Company page used per request
(`company.statement_frames`, `company.ttm_frames`) and stores its fiscal dates, line items and values;
the page turns the stored row back into the same frame (`table_frame`), value for value, instead of
parsing ~140 JSONB payloads per request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from serving.company import KINDS, PERIOD_LABELS
from serving.statements import TTM_QUARTERS, fiscal_date, payload_matrix, rolling_ttms

BASES = ("FY", "Q", "TTM")
# The TTM balance sheet is the quarterly one (balances are stocks, `ttm_frames`): stored once, as Q.
TTM_KINDS = ("income", "cashflow")
COLUMNS = (
    "symbol",
    "statement",
    "basis",
    "fiscal_dates",
    "fiscal_years",
    "periods",
    "lines",
    "line_values",
    "known_since",
)


def stored_basis(kind: str, basis: str) -> str:
    """The basis of the row holding `kind`'s table on `basis` (the TTM balance sheet is the Q one)."""
    return "Q" if basis == "TTM" and kind not in TTM_KINDS else basis


@dataclass(slots=True)
class Statement:
    """One kind and period group of a company: its payloads (oldest first), those of the group's labels
    by fiscal date (the last of a date wins, as in the frame) with each one's statements-table fields,
    and how many payloads of those labels there were (more than dates: a date given twice)."""

    payloads: list[Mapping[str, Any]] = field(default_factory=list)
    kept: dict[pd.Timestamp, Mapping[str, Any]] = field(default_factory=dict)
    periods: dict[pd.Timestamp, tuple[int | None, str | None]] = field(default_factory=dict)
    labelled: int = 0
    known_since: datetime | None = None

    def add(self, row: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        """One statement row (SERVING_STATEMENTS' columns) and its payload, in the rows' order."""
        self.payloads.append(payload)
        if payload.get("period") in PERIOD_LABELS[row["grp"]]:  # the payloads the frame keeps
            day = fiscal_date(payload)
            self.kept[day] = payload
            self.periods[day] = (row["fiscal_year"], row["period"])
            self.labelled += 1
        stamp = row["updated_at"]
        if self.known_since is None or self.known_since < stamp:  # max() without its call
            self.known_since = stamp

    def matrix(self) -> tuple[list[str], np.ndarray]:
        """`payload_matrix` of the payloads kept, in the order of their dates' first appearance."""
        return payload_matrix(list(self.kept.values()))


def rows(statement_rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """statement_lines rows (COLUMNS) of every company of `statement_rows` (symbol, kind, grp "FY"/"Q",
    period, fiscal_year, updated_at and the payload as a dict; by symbol, then fiscal date).

    A table the page would build empty (no periods) gets no row: the page then builds it from the
    payloads as before, so what it shows never depends on how an empty frame was stored. The tables
    are `company.statement_frames`' and `ttm_frames`' values without their frames (a few dozen pandas
    constructions a company were most of the cost), the TTM ones of every company rolled at once
    (`statements.rolling_ttms`); tests/serving/test_lines.py holds them to the frames.
    """
    grouped = _grouped(statement_rows)
    return grouped_rows(
        grouped,
        {
            symbol: {key: statement.matrix() for key, statement in statements.items()}
            for symbol, statements in grouped.items()
        },
    )


def grouped_rows(
    grouped: Mapping[str, Mapping[tuple[str, str], Statement]],
    matrices: Mapping[str, Mapping[tuple[str, str], tuple[list[str], np.ndarray]]],
) -> list[tuple[Any, ...]]:
    """`rows` of the companies' `Statement`s by (period group, kind), each with its `matrix()` given
    (the statement pass computes it once for metric_history too, serving/statement_pass.py)."""
    tables = {symbol: _tables(statements, matrices[symbol]) for symbol, statements in grouped.items()}
    _add_ttm(tables)
    out: list[tuple[Any, ...]] = []
    for symbol, found in tables.items():
        for (kind, basis), table in found.items():
            source = grouped[symbol][("FY" if basis == "FY" else "Q", kind)]
            meta = [source.periods.get(day, (None, None)) for day in table.dates]
            out.append(
                (
                    symbol,
                    kind,
                    basis,
                    [day.date() for day in table.dates],
                    [m[0] for m in meta],
                    [m[1] for m in meta],
                    [str(c) for c in table.columns],
                    _cells(table.matrix),
                    source.known_since,
                )
            )
    return out


def _grouped(statement_rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[tuple[str, str], Statement]]:
    """Per company, per (period group, kind): its payloads, periods and latest change."""
    grouped: dict[str, dict[tuple[str, str], Statement]] = defaultdict(dict)
    for row in statement_rows:
        key = (row["grp"], row["kind"])
        found = grouped[row["symbol"]].get(key)
        if found is None:
            found = grouped[row["symbol"]][key] = Statement()
        found.add(row, row["payload"])
    return grouped


def _tables(
    statements: Mapping[tuple[str, str], Statement],
    matrices: Mapping[tuple[str, str], tuple[list[str], np.ndarray]],
) -> dict[tuple[str, str], _Table]:
    """A company's FY and Q tables by (kind, basis), in the page's order."""
    out = {}
    for group in PERIOD_LABELS:
        for kind in KINDS:
            if (group, kind) in statements:
                table = _table(statements[(group, kind)], matrices[(group, kind)])
                if table is not None:
                    out[(kind, group)] = table
    return out


def _add_ttm(tables: Mapping[str, dict[tuple[str, str], _Table]]) -> None:
    """Each company's TTM income and cash flow tables from its quarterly ones (`ttm_frames`: none from
    fewer than four quarters, the windows of missing quarters left out), every company's at once."""
    quarterly = [
        (symbol, kind, table)
        for symbol, found in tables.items()
        for kind in TTM_KINDS
        if (table := found.get((kind, "Q"))) is not None and len(table.dates) >= TTM_QUARTERS
    ]
    rolled = rolling_ttms([(pd.DatetimeIndex(t.dates), t.columns, t.matrix) for _, _, t in quarterly])
    for (symbol, kind, table), values in zip(quarterly, rolled, strict=True):
        kept = ~np.isnan(values).all(axis=1)  # ttm_frames' dropna(how="all")
        if kept.any():
            dates = [day for day, keep in zip(table.dates[TTM_QUARTERS - 1 :], kept, strict=True) if keep]
            tables[symbol][(kind, "TTM")] = _Table(dates, table.columns, values[kept])


@dataclass(slots=True)
class _Table:
    """One statement table: its fiscal dates (ascending), lines and values (dates x lines)."""

    dates: list[pd.Timestamp]
    columns: list[str]
    matrix: np.ndarray


def _table(statement: Statement, matrix: tuple[list[str], np.ndarray]) -> _Table | None:
    """`statement_frame(payloads, period=labels)` as a table (None where that frame is empty): the last
    payload of a date wins, the lines in their order of first appearance, the dates ascending."""
    columns, values = matrix
    if not statement.kept or not columns:
        return None
    dates = list(statement.kept)
    order = sorted(range(len(dates)), key=dates.__getitem__)
    return _Table([dates[at] for at in order], columns, values[order])


def _cells(matrix: np.ndarray) -> np.ndarray:
    """The matrix row-major, as the COPY packs it at once (engine/db/copybinary.py: NaN as NULL, SQL
    never meets NaN); a list of Python floats and None cost as much again to build and to pack."""
    return np.ascontiguousarray(matrix, dtype=float).ravel()


def table_frame(
    fiscal_dates: Sequence[date], lines: Sequence[str], values: Sequence[float | None]
) -> pd.DataFrame:
    """A stored row back into the frame the page built: indexed by fiscal date ("date", ascending, as
    `statement_frame` builds it), one float column per line in the stored order, NULL as NaN."""
    index = pd.DatetimeIndex([pd.Timestamp(day.isoformat()) for day in fiscal_dates], name="date")
    matrix = np.array(values, dtype=float).reshape(len(index), len(lines))
    return pd.DataFrame(matrix, index=index, columns=list(lines))
