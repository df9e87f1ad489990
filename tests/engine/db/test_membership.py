"""S&P 500 membership changes: FMP's rows typed, stored, withdrawn when corrected away, turned into spells."""

from __future__ import annotations

from datetime import date

import asyncpg

from engine.db.membership import former_members, load_sp500_changes, parse_change, parse_changes
from fakefmp.membership import history, members_on
from tests.engine.db.conftest import fixture_rows


def change(
    day: str, added: str | None, removed: str | None, reason: str = "Market capitalization change"
) -> dict[str, str]:
    """A historical-sp500-constituent row as FMP sends it (a removal alone repeats the removed ticker)."""
    return {
        "dateAdded": day,
        "addedSecurity": f"{added} Corp." if added else "",
        "removedTicker": removed or "",
        "removedSecurity": f"{removed} Inc." if removed else "",
        "date": day,
        "symbol": added or removed or "",
        "reason": reason,
    }


def test_parse_change_reads_fmps_recorded_rows() -> None:
    """The recorded historical-dowjones body (same fields): a swap, and a removal alone that repeats its
    ticker as `symbol` with an empty addedSecurity."""
    rows = fixture_rows("stable_historical-dowjones-constituent.json")
    swaps = [parse_change(r) for r in rows]
    both = next(c for c in swaps if c.added_symbol and c.removed_symbol)
    assert both.day.isoformat() == next(r["date"] for r in rows if r["symbol"] == both.added_symbol)
    alone = [c for c in swaps if c.added_symbol is None]
    assert alone, "the recorded body has a removal alone"
    assert all(c.removed_symbol for c in alone)


def test_parse_changes_quarantines_a_row_naming_nobody_and_keeps_one_per_key() -> None:
    """A row without a date or without any symbol is refused with its reason; duplicates collapse."""
    rows = [
        change("2020-01-02", "NEW", "OLD"),
        change("2020-01-02", "NEW", "OLD"),
        change("someday", "X", None),
    ]
    rows.append({**change("2021-01-04", None, None)})
    good, refused = parse_changes(rows)
    assert [(c.added_symbol, c.removed_symbol) for c in good] == [("NEW", "OLD")]
    assert sorted(r.reason for r in refused) == [
        "names neither an added nor a removed symbol",
        "unparseable date: 'someday'",
    ]


def test_former_members_are_removed_companies_not_members_now_since_a_day() -> None:
    """Left on or after `since` and not back in the index: the day each last left."""
    good, _ = parse_changes(
        [change("2005-03-01", "A", "B"), change("1995-03-01", "C", "D"), change("2010-05-03", "B", "E")]
    )
    assert former_members(good, ["A", "B", "C"], date(2000, 1, 1)) == {"E": date(2010, 5, 3)}
    assert former_members(good, ["A", "C"], date(1990, 1, 1)) == {
        "B": date(2005, 3, 1),
        "D": date(1995, 3, 1),
        "E": date(2010, 5, 3),
    }


async def test_load_gives_the_fakes_members_on_any_date(pool: asyncpg.Pool) -> None:
    """The fake's whole history (915 rows) stored, the spells view answers "members on D" exactly as the
    fake's own membership does, on dates across 1990-2026; a rerun changes nothing."""
    rows = [c.row() for c in history()[0]]
    first = await load_sp500_changes(pool, rows)
    assert (first.inserted, first.quarantined) == (len(rows), 0)
    again = await load_sp500_changes(pool, rows)
    assert again.changed == 0
    for day in (date(1990, 6, 29), date(2008, 9, 15), date(2010, 6, 30), date(2017, 9, 1), date(2026, 6, 30)):
        stored = await pool.fetch(
            "SELECT symbol FROM sp500_membership WHERE added <= $1 AND (removed IS NULL OR removed > $1)"
            " AND symbol IN (SELECT added_symbol FROM sp500_changes UNION SELECT removed_symbol FROM sp500_changes)",
            day,
        )
        assert {r["symbol"] for r in stored} == members_on(day), day
    yahoo = await pool.fetchrow(
        "SELECT name, in_index, index_added, index_removed FROM companies WHERE symbol = 'YHOO'"
    )
    assert tuple(yahoo) == ("Yahoo!", False, date(1999, 9, 29), date(2017, 9, 1))


async def test_a_change_fmp_corrects_away_is_withdrawn_not_deleted(pool: asyncpg.Pool) -> None:
    """A stored change missing from the next complete answer is marked withdrawn and leaves the spells;
    an empty answer withdraws nothing."""
    await pool.execute("DELETE FROM sp500_changes")
    await load_sp500_changes(pool, [change("2019-04-01", "WDA", "WDB"), change("2019-04-02", "WDC", None)])
    corrected = await load_sp500_changes(pool, [change("2019-04-01", "WDA", "WDB")])
    assert corrected.updated == 1
    assert await load_sp500_changes(pool, []) == type(corrected)()
    rows = await pool.fetch(
        "SELECT added_symbol, withdrawn_at IS NOT NULL AS gone FROM sp500_changes ORDER BY day"
    )
    assert [tuple(r) for r in rows] == [("WDA", False), ("WDC", True)]
    spells = await pool.fetch("SELECT symbol FROM sp500_membership WHERE symbol LIKE 'WD%' ORDER BY symbol")
    assert [r["symbol"] for r in spells] == ["WDA", "WDB"]
    removed = await pool.fetchrow("SELECT added, removed FROM sp500_membership WHERE symbol = 'WDB'")
    assert tuple(removed) == (None, date(2019, 4, 1))
