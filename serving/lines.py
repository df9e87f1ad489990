"""A company's statement tables (FY, Q, TTM) as statement_lines stores them, and back (schema 101).

The engine's refresh builds each table with the functions the Company page used per request
(`company.statement_frames`, `company.ttm_frames`) and stores its fiscal dates, line items and values;
the page turns the stored row back into the same frame (`table_frame`), value for value, instead of
parsing ~140 JSONB payloads per request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from serving.company import KINDS, PERIOD_LABELS, statement_frames, ttm_frames
from serving.statements import fiscal_date

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
class _Statement:
    """One kind and period group of a company: its payloads (oldest first) and each payload's
    statements-table fields by fiscal date (the last payload of a date wins, as in the frame)."""

    payloads: list[Mapping[str, Any]]
    periods: dict[pd.Timestamp, tuple[int | None, str | None]]
    known_since: datetime | None = None


def rows(statement_rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """statement_lines rows (COLUMNS) of every company of `statement_rows` (symbol, kind, grp "FY"/"Q",
    period, fiscal_year, updated_at and the payload as a dict; by symbol, then fiscal date).

    A table the page would build empty (no periods) gets no row: the page then builds it from the
    payloads as before, so what it shows never depends on how an empty frame was stored.
    """
    grouped: dict[str, dict[tuple[str, str], _Statement]] = defaultdict(dict)
    for row in statement_rows:
        key = (row["grp"], row["kind"])
        found = grouped[row["symbol"]].get(key)
        if found is None:
            found = grouped[row["symbol"]][key] = _Statement([], {})
        payload = row["payload"]
        found.payloads.append(payload)
        if payload.get("period") in PERIOD_LABELS[row["grp"]]:  # the payloads the frame keeps
            found.periods[fiscal_date(payload)] = (row["fiscal_year"], row["period"])
        stamp = row["updated_at"]
        found.known_since = stamp if found.known_since is None else max(found.known_since, stamp)
    out: list[tuple[Any, ...]] = []
    for symbol, statements in grouped.items():
        out.extend(_company_rows(symbol, statements))
    return out


def _company_rows(symbol: str, statements: Mapping[tuple[str, str], _Statement]) -> list[tuple[Any, ...]]:
    tables: dict[tuple[str, str], pd.DataFrame] = {}
    for group in PERIOD_LABELS:
        payloads = {k: statements[(group, k)].payloads for k in KINDS if (group, k) in statements}
        for kind, frame in statement_frames(payloads, group).items():
            tables[(kind, group)] = frame
    quarterly = {k: tables.get((k, "Q"), pd.DataFrame()) for k in TTM_KINDS}
    for kind, frame in ttm_frames(quarterly).items():
        if kind in TTM_KINDS:
            tables[(kind, "TTM")] = frame
    out = []
    for (kind, basis), frame in tables.items():
        if frame.empty:
            continue
        source = statements[("FY" if basis == "FY" else "Q", kind)]
        meta = [source.periods.get(day, (None, None)) for day in frame.index]
        out.append(
            (
                symbol,
                kind,
                basis,
                [day.date() for day in frame.index],
                [m[0] for m in meta],
                [m[1] for m in meta],
                [str(c) for c in frame.columns],
                _cells(frame.to_numpy(dtype=float)),
                source.known_since,
            )
        )
    return out


def _cells(matrix: np.ndarray) -> list[float | None]:
    """The matrix row-major, NaN as None (NULL: SQL never meets NaN)."""
    flat = matrix.ravel()
    cells = flat.astype(object)  # each cell a Python float, as tolist() gives it
    cells[~np.isfinite(flat)] = None
    values: list[float | None] = cells.tolist()
    return values


def table_frame(
    fiscal_dates: Sequence[date], lines: Sequence[str], values: Sequence[float | None]
) -> pd.DataFrame:
    """A stored row back into the frame the page built: indexed by fiscal date ("date", ascending, as
    `statement_frame` builds it), one float column per line in the stored order, NULL as NaN."""
    index = pd.DatetimeIndex([pd.Timestamp(day.isoformat()) for day in fiscal_dates], name="date")
    matrix = np.array(values, dtype=float).reshape(len(index), len(lines))
    return pd.DataFrame(matrix, index=index, columns=list(lines))
