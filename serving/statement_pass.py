"""metric_history's frame and statement_lines' rows of a batch of companies from one grouping of their
statements, each kind's payloads turned into a matrix once for both.

`history.metric_frame` and `lines.rows` each group the rows and build each company's line x period
matrices from the same payloads: done apart, that was every payload's dict walked twice (~0.5 CPU-s per
100 companies of the ~2 the engine spends on the two tables). Here the rows are grouped once (history's
`meta`, lines' `Statement`s) and each matrix serves both, except where a date comes twice among a kind's
payloads: metric_history's frame then takes its fields from every one of them (`history.kept`), the
statement table from the last (tests/serving/test_statement_pass.py holds both to the separate paths).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from serving import history, lines
from serving.company import KINDS, PERIOD_LABELS

# Per (symbol, group, ISO fiscal date): fiscal year, period label, latest updated_at of its statements.
Meta = dict[tuple[str, str, str], tuple[int | None, str | None, datetime | None]]


def statement_pass(
    rows: Iterable[Mapping[str, Any]], payloads: Iterable[Mapping[str, Any]]
) -> tuple[pd.DataFrame, list[tuple[Any, ...]]]:
    """`history.metric_frame(*history.group_statements(...))` and `lines.rows(...)` of the statement
    rows (symbol, kind, grp "FY"/"Q", period, fiscal_date, fiscal_year, updated_at; by symbol, then
    fiscal date) whose payloads, parsed, are `payloads` in the same order."""
    grouped: dict[str, dict[tuple[str, str], lines.Statement]] = {}
    meta: Meta = {}
    iso: dict[date, str] = {}  # a batch's rows share a few hundred fiscal dates
    for row, payload in zip(rows, payloads, strict=True):
        symbol, group = row["symbol"], row["grp"]
        statements = grouped.get(symbol)
        if statements is None:
            statements = grouped[symbol] = {}
        statement = statements.get((group, row["kind"]))
        if statement is None:
            statement = statements[(group, row["kind"])] = lines.Statement()
        statement.add(row, payload)
        day = row["fiscal_date"]
        text = iso.get(day)
        if text is None:
            text = iso[day] = day.isoformat()
        key = (symbol, group, text)
        known, stamp = meta.get(key), row["updated_at"]
        meta[key] = (
            row["fiscal_year"],
            row["period"],
            stamp if known is None or known[2] < stamp else known[2],
        )
    matrices = {
        symbol: {key: statement.matrix() for key, statement in statements.items()}
        for symbol, statements in grouped.items()
    }
    tables = {
        (group, kind): {
            symbol: _kept(grouped[symbol].get((group, kind)), matrices[symbol].get((group, kind)), labels)
            for symbol in grouped
        }
        for group, labels in PERIOD_LABELS.items()
        for kind in KINDS
    }
    return history.kept_metric_frame(tables, meta), lines.grouped_rows(grouped, matrices)


def _kept(
    statement: lines.Statement | None, matrix: tuple[list[str], np.ndarray] | None, labels: tuple[str, ...]
) -> history.Kept:
    """metric_history's view of a company's statements of one kind: the statement table's matrix when
    each date came once (the same payloads in the same order), else its own of every payload."""
    if statement is None or matrix is None:
        return history.kept((), labels)
    if statement.labelled > len(statement.kept):
        return history.kept(statement.payloads, labels)
    return history.Kept(list(statement.kept), *matrix)
