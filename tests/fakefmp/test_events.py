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


def test_restatements_change_revenue_from_their_filing_on() -> None:
    """A restatement is invisible before its filing; after it, revenue and cost of revenue move by the same
    amount (gross profit and every identity hold), the row carries the restating filing's date, and the
    fiscal year moves with its quarter, so the quarters still sum to the year."""
    universe = Universe(seed=3, symbols=12, as_of=AS_OF)
    events = Events(universe, seed=3, restatement_rate=4.0)
    symbol = next(iter(universe.companies))
    event = next(
        e for e in events.restatements(symbol) if "2020" < e.day <= "2026-06-01" and e.kind == "quarter"
    )
    filings = {filing for filing, _ in quarter_schedule(3, symbol, universe.horizon.year)}
    assert event.day in filings
    universe.set_as_of(date.fromisoformat(event.day))
    before = {
        kind: {r["date"]: r for r in orjson.loads(universe.statement_body("income", symbol, kind, 1000))}
        for kind in ("quarter", "annual")
    }
    after = {
        kind: {
            r["date"]: r
            for r in orjson.loads(
                events.restate_body(symbol, "income", kind, orjson.dumps(list(rows.values())))
            )
        }
        for kind, rows in before.items()
    }
    total, day = events.visible_restatements(symbol, "quarter")[event.period_end]
    assert total != 0
    assert day == event.day
    old, new = before["quarter"][event.period_end], after["quarter"][event.period_end]
    for name in ("revenue", "costOfRevenue", "costAndExpenses"):
        assert new[name] - old[name] == total
    assert new["grossProfit"] == old["grossProfit"]
    assert new["filingDate"] == event.day > old["filingDate"]
    assert new["acceptedDate"].startswith(event.day)
    year = next(r for r in after["annual"].values() if r["fiscalYear"] == old["fiscalYear"])
    quarters = [r for r in after["quarter"].values() if r["fiscalYear"] == old["fiscalYear"]]
    if len(quarters) == 4:
        assert sum(r["revenue"] for r in quarters) == year["revenue"]
    universe.set_as_of(date(1996, 1, 1))
    assert events.visible_restatements(symbol, "quarter") == {}
