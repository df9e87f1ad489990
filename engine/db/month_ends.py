"""A price batch's month-end closes (docs/serving.md), written in its transaction: from the rows it COPYed, or by SQL.

The rule is queries.UPSERT_MONTH_END_CLOSES': per month, the latest date whose value is finite, the value
being adj_close unless it is NULL or NaN, else close. That statement reads back every stored price of the
symbol from the batch's first month on (~9,000 rows of a history from 1990, ~10 ms of Postgres each). When
those are exactly the rows a backfill just COPYed (a first fill, or new months after the last stored day)
the engine holds them already: their months are computed here and only those are sent. When the
store holds other prices in that read (a batch that starts mid-month after stored days, or ends before
stored later ones) the SQL derive runs instead, so the table is always what that statement writes.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_left
from collections.abc import Sequence
from datetime import date
from itertools import pairwise

import asyncpg

from engine.db import queries
from engine.db.rows import PriceRow

_DATE = operator.itemgetter(PriceRow._fields.index("date"))


def _month_starts(first: date, last: date) -> list[date]:
    """The first day of every month from `first`'s to `last`'s."""
    starts, (year, month) = [], (first.year, first.month)
    while (year, month) <= (last.year, last.month):
        starts.append(date(year, month, 1))
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return starts


def month_end_closes(rows: Sequence[PriceRow]) -> tuple[list[date], list[float]]:
    """Each month's last finite close of `rows` (one symbol's, in ascending date order, as the loader's
    dedupe leaves a batch): its dates and values, month by month, by the SQL derive's rule.

    Work per month, not per row: each month's rows are found by bisection and read from its last day
    back to the first finite one (nearly always the last day). Turning the ~9,000 rows' columns into
    NumPy arrays first cost three times as much (1.9 ms a 36-year history against 0.6 ms).
    """
    if not rows:
        return [], []
    days = list(map(_DATE, rows))
    bounds = [bisect_left(days, start) for start in _month_starts(days[0], days[-1])] + [len(rows)]
    month_days, closes = [], []
    for first, end in pairwise(bounds):
        for row in reversed(rows[first:end]):
            value = row.close if row.adj_close is None or math.isnan(row.adj_close) else row.adj_close
            if math.isfinite(value):
                month_days.append(row.date)
                closes.append(value)
                break
    return month_days, closes


async def upsert_month_end_closes(
    conn: asyncpg.Connection,
    symbol: str,
    first: date,
    last: date,
    copied: Sequence[PriceRow] | None,
    timeout_s: float,
) -> None:
    """Write `symbol`'s month-end closes from the month of `first` on, as UPSERT_MONTH_END_CLOSES does.

    `copied`: the batch's rows when it was a backfill (nothing was stored in [first, last]). Their months
    are written if no other price of the symbol is stored from `first`'s month on (checked in the same
    statement, under the batch lock, so a concurrent loader's commit is seen); otherwise, and after a
    merge, the SQL derive reads the stored prices back.
    """
    if copied is not None:
        days, closes = month_end_closes(copied)
        alone = await conn.fetchval(
            queries.UPSERT_COPIED_MONTH_END_CLOSES, symbol, first, last, days, closes, timeout=timeout_s
        )
        if alone:
            return
    await conn.execute(queries.UPSERT_MONTH_END_CLOSES, symbol, first, timeout=timeout_s)
