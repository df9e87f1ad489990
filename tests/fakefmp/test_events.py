"""The fake's earnings calendar and restatements agree with the statements it serves."""

from __future__ import annotations

from datetime import date

import orjson

from fakefmp.data import Universe
from fakefmp.events import Events, annual_schedule, quarter_schedule

AS_OF = date(2026, 6, 30)


def test_quarter_schedule_matches_the_generated_statements() -> None:
    """The schedules (computed cheaply) are the generated statements' filing dates and period ends."""
    universe = Universe(seed=3, symbols=12, as_of=AS_OF)
    for symbol in universe.companies:
        entries = universe.fundamentals(symbol)[("income", "quarter")]
        generated = [(e.filing, e.date) for e in reversed(entries)]
        assert quarter_schedule(3, symbol, universe.horizon.year) == generated, symbol
        annual = [(e.filing, e.date) for e in reversed(universe.fundamentals(symbol)[("income", "annual")])]
        assert annual_schedule(3, symbol, universe.horizon.year) == annual, symbol


def test_calendar_lists_releases_in_range_newest_first() -> None:
    """earnings-calendar rows fall in [from, to], newest first, one per company and quarter."""
    universe = Universe(seed=3, symbols=12, as_of=AS_OF)
    rows = orjson.loads(Events(universe, seed=3, restatement_rate=0).calendar_body(date(2026, 4, 1), AS_OF))
    assert rows
    assert all("2026-04-01" <= row["date"] <= "2026-06-30" for row in rows)
    assert [row["date"] for row in rows] == sorted((row["date"] for row in rows), reverse=True)
    assert len({(row["symbol"], row["date"]) for row in rows}) == len(rows)


def test_restatements_change_revenue_from_their_date_on() -> None:
    """A restatement is invisible before its date and revises revenue and gross profit after it."""
    universe = Universe(seed=3, symbols=12, as_of=AS_OF)
    events = Events(universe, seed=3, restatement_rate=4.0)
    symbol = next(iter(universe.companies))
    event = next(e for e in events.restatements(symbol) if e.day <= "2026-06-01" and e.kind == "quarter")
    body = universe.statement_body("income", symbol, "quarter", 1000)
    universe.set_as_of(date.fromisoformat(event.day))
    after = {r["date"]: r for r in orjson.loads(events.restate_body(symbol, "income", "quarter", body))}
    before = {r["date"]: r for r in orjson.loads(body)}
    changed = after[event.period_end]
    total = events.visible_restatements(symbol, "quarter")[event.period_end]
    assert total != 0
    assert changed["revenue"] - before[event.period_end]["revenue"] == total
    assert changed["grossProfit"] - before[event.period_end]["grossProfit"] == total
    universe.set_as_of(date(1996, 1, 1))
    assert events.visible_restatements(symbol, "quarter") == {}
