"""A price batch's month-end closes: computed from a backfill's rows in the engine, equal to the SQL derive's."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import date, timedelta

import asyncpg
import pytest

from engine.db import PriceRow, load_price_rows
from engine.db import load as load_module
from engine.db.month_ends import month_end_closes, upsert_month_end_closes

NAN, INF = math.nan, math.inf
MONTH_ENDS = "SELECT month, date, close FROM month_end_closes WHERE symbol = $1 ORDER BY month"


def day_rows(
    symbol: str, first: date, last: date, values: dict[date, tuple[float, float | None]]
) -> list[PriceRow]:
    """A row per weekday of [first, last]: close 100 + the day's ordinal share, adjusted 0.9 of it,
    but for the days `values` gives (close, adj_close)."""
    rows, day = [], first
    while day <= last:
        if day.weekday() < 5:
            close, adj = values.get(
                day, (100.0 + day.toordinal() % 97 / 7, 0.9 * (100.0 + day.toordinal() % 97 / 7))
            )
            rows.append(PriceRow(symbol, day, 1.0, 2.0, 0.5, close, adj, 1000, None))
        day += timedelta(days=1)
    return rows


# Odd values where the rule bites: the last day of January has a NULL adjusted close (traded close),
# February's last two days are not finite (NaN close; an infinite adjusted close beside a finite close),
# every March day is non-finite (no row), April's last adjusted close is NaN (traded close), May's last
# close is infinite but its adjusted close finite (kept).
ODD = {
    date(2024, 1, 31): (50.0, None),
    date(2024, 2, 28): (60.0, NAN),
    date(2024, 2, 29): (NAN, None),
    date(2024, 2, 27): (61.0, INF),
    **{date(2024, 3, 1) + timedelta(days=n): (NAN, -INF if n % 2 else NAN) for n in range(31)},
    date(2024, 4, 30): (70.0, NAN),
    date(2024, 5, 31): (INF, 71.5),
}


def odd(symbol: str, first: date, last: date) -> list[PriceRow]:
    return day_rows(symbol, first, last, ODD)


# Each shape: the batches loaded one after another (first and last day of each).
SHAPES: dict[str, list[tuple[date, date]]] = {
    "first fill": [(date(2023, 12, 14), date(2024, 6, 12))],
    "new months after the stored ones": [
        (date(2023, 12, 1), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 6, 30)),
    ],
    "starts mid-month after stored days": [
        (date(2023, 12, 1), date(2024, 1, 16)),
        (date(2024, 1, 17), date(2024, 6, 3)),
    ],
    "starts mid-month, its first month not finite": [
        (date(2024, 2, 1), date(2024, 3, 12)),
        (date(2024, 3, 13), date(2024, 5, 8)),
    ],
    "ends before stored later days": [
        (date(2024, 2, 20), date(2024, 6, 30)),
        (date(2023, 11, 2), date(2024, 2, 13)),
    ],
    "ends before stored non-finite days": [
        (date(2024, 2, 28), date(2024, 4, 30)),
        (date(2023, 12, 4), date(2024, 2, 26)),
    ],
    "fills a gap between stored months": [
        (date(2023, 12, 1), date(2024, 1, 31)),
        (date(2024, 4, 1), date(2024, 6, 28)),
        (date(2024, 2, 1), date(2024, 3, 31)),
    ],
    "fills a gap inside a month": [
        (date(2024, 1, 1), date(2024, 1, 9)),
        (date(2024, 1, 22), date(2024, 2, 9)),
        (date(2024, 1, 10), date(2024, 1, 19)),
    ],
}


def sql_only(spec: load_module.BatchSpec) -> load_module.BatchSpec:
    """The former derive: the SQL statement after every batch, whatever its path."""

    async def derive(
        conn: asyncpg.Connection,
        symbol: str,
        first: date,
        last: date,
        _copied: Sequence[object] | None,
        timeout_s: float,
    ) -> None:
        await upsert_month_end_closes(conn, symbol, first, last, None, timeout_s)

    return dataclasses.replace(spec, derive=derive)


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_backfills_write_what_the_sql_derive_writes(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    """After each batch of each shape the table holds, row for row, what the SQL derive alone writes."""
    engine_symbol, sql_symbol = f"E{len(shape)}{shape[:3].upper()}", f"S{len(shape)}{shape[:3].upper()}"
    engine_spec = load_module.PRICES_BATCH
    for first, last in SHAPES[shape]:
        monkeypatch.setattr(load_module, "PRICES_BATCH", sql_only(engine_spec))
        former = await load_price_rows(pool, sql_symbol, odd(sql_symbol, first, last))
        monkeypatch.setattr(load_module, "PRICES_BATCH", engine_spec)
        result = await load_price_rows(pool, engine_symbol, odd(engine_symbol, first, last))
        assert result.path == former.path == "backfill"
        assert await pool.fetch(MONTH_ENDS, engine_symbol) == await pool.fetch(MONTH_ENDS, sql_symbol)
    assert await pool.fetchval("SELECT count(*) FROM month_end_closes WHERE symbol = $1", engine_symbol) > 0


def test_month_end_closes_equal_the_sql_rule_on_odd_values() -> None:
    """The engine's rule gives each month's last finite value (adjusted unless NULL or NaN), as the SQL does;
    a month without a finite value has no row."""
    rows = odd("ODD", date(2023, 12, 28), date(2024, 6, 12))
    days, closes = month_end_closes(rows)
    assert list(zip(days, closes, strict=True))[1:6] == [
        (date(2024, 1, 31), 50.0),
        (date(2024, 2, 28), 60.0),
        (date(2024, 4, 30), 70.0),
        (date(2024, 5, 31), 71.5),
        (date(2024, 6, 12), 0.9 * (100.0 + date(2024, 6, 12).toordinal() % 97 / 7)),
    ]
    assert month_end_closes([]) == ([], [])
    assert month_end_closes([r for r in rows if r.date.month == 3]) == ([], [])


async def test_copied_rows_are_written_only_when_the_sql_would_read_nothing_else(pool: asyncpg.Pool) -> None:
    """The engine's months are written when no other price of the symbol is stored from the batch's first
    month on; with a stored day before it in that month, the SQL derive reads the store instead."""
    stored = day_rows("ALN", date(2024, 1, 2), date(2024, 1, 31), {})
    await load_price_rows(pool, "ALN", stored)
    told = [r._replace(close=1.0, adj_close=None) for r in stored]  # not what the store holds

    async def derive(first: date, last: date) -> list[asyncpg.Record]:
        async with pool.acquire() as conn, conn.transaction():
            await upsert_month_end_closes(conn, "ALN", first, last, told, 10.0)
            return list(await conn.fetch(MONTH_ENDS, "ALN"))

    assert [tuple(r) for r in await derive(date(2024, 1, 2), date(2024, 1, 31))] == [
        (date(2024, 1, 1), date(2024, 1, 31), 1.0)
    ]
    by_sql = [(date(2024, 1, 1), date(2024, 1, 31), stored[-1].adj_close)]
    assert [tuple(r) for r in await derive(date(2024, 1, 3), date(2024, 1, 31))] == by_sql  # Jan 2 stored
    assert [tuple(r) for r in await derive(date(2024, 1, 2), date(2024, 1, 30))] == by_sql  # Jan 31 stored
