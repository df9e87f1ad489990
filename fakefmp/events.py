"""Company events derived from the statements the fake serves: FMP's `earnings-calendar`, and
restatements on random dates.

A company "reports" a quarter on that quarter's filing date (the day its statement becomes visible),
so the calendar never announces a quarter the statement endpoints do not have yet. The annual
statement is filed later (60+ days after year end) than the fourth quarter's report, as 10-Ks are.
Restatements: for each company, a random number of events a year (Poisson, `restatement_rate` on
average), each on a random date, revising revenue and gross profit of one recent period (one of the
latest 2 annual or 4 quarterly filed by then) by the same amount, so gross profit = revenue - cost
still holds. From that date on, the income statement endpoints serve the revised row.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from fakefmp.prices import first_trading_day, symbol_rng
from fakefmp.statements import FIRST_FISCAL_YEAR

if TYPE_CHECKING:
    from fakefmp.data import Universe

CALENDAR_CAP = 3000  # FMP: "Maximum 3000 records per request"
CALENDAR_MAX_DAYS = 90  # FMP: "Max 90-day date range"
RESTATED_FIELDS = ("revenue", "grossProfit")
RECENT = {"annual": 2, "quarter": 4}


@dataclass(frozen=True, slots=True)
class Report:
    """One earnings release: a quarter's results, public on `day`."""

    symbol: str
    day: str
    fiscal_end: str


def _month_end(year: int, month: int) -> date:
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, calendar.monthrange(year, month)[1])


def quarter_schedule(seed: int, symbol: str, last_year: int) -> list[tuple[str, str]]:
    """(filing date, period end) of every quarter up to `last_year`, oldest first.

    The dates of statements.generate_periods, without generating the statements (~0.1 s a symbol,
    which a calendar over 5,000 symbols cannot pay): its first draw is the fiscal year-end month,
    fiscal years start the year after the first trading day, and quarter i is filed 35 + i % 7 days
    after its end. tests/fakefmp/test_events.py holds the two to the same dates.
    """
    fye_month = int(symbol_rng(seed, symbol, "fundamentals").choice([12, 12, 12, 12, 9, 6, 3, 1]))
    first_year = max(FIRST_FISCAL_YEAR, first_trading_day(seed, symbol).year + 1)
    out = []
    for i in range(max(0, last_year - first_year + 1) * 4):
        year, quarter = first_year + i // 4, i % 4 + 1
        end = _month_end(year, fye_month - 3 * (4 - quarter))
        out.append(((end + timedelta(days=35 + i % 7)).isoformat(), end.isoformat()))
    return out


def annual_schedule(seed: int, symbol: str, last_year: int) -> list[tuple[str, str]]:
    """(filing date, fiscal year end) of every fiscal year up to `last_year`, oldest first: the
    annual dates of statements.generate_periods (year y is filed 60 + y % 9 days after its end)."""
    fye_month = int(symbol_rng(seed, symbol, "fundamentals").choice([12, 12, 12, 12, 9, 6, 3, 1]))
    first_year = max(FIRST_FISCAL_YEAR, first_trading_day(seed, symbol).year + 1)
    out = []
    for y, year in enumerate(range(first_year, last_year + 1)):
        end = _month_end(year, fye_month)
        out.append(((end + timedelta(days=60 + y % 9)).isoformat(), end.isoformat()))
    return out


@dataclass(frozen=True, slots=True)
class Restatement:
    """From `day` on, the income row of (`kind`, `period_end`) carries `delta` more revenue and gross profit."""

    symbol: str
    day: str
    kind: str  # "annual" | "quarter"
    period_end: str
    delta: int


class Events:
    """The calendar and restatements of a universe, computed per symbol on first use and cached."""

    def __init__(self, universe: Universe, *, seed: int, restatement_rate: float) -> None:
        self.universe = universe
        self.seed = seed
        self.restatement_rate = restatement_rate
        self._reports: dict[str, list[Report]] = {}
        self._restatements: dict[str, list[Restatement]] = {}
        self._horizon = universe.horizon

    def _fresh(self) -> None:
        # Moving the as-of date past the horizon regenerates the data: derive the events again.
        if self.universe.horizon != self._horizon:
            self._horizon = self.universe.horizon
            self._reports.clear()
            self._restatements.clear()

    def reports(self, symbol: str) -> list[Report]:
        """Every quarterly release of `symbol`, oldest first (future ones included: the calendar
        shows upcoming dates)."""
        self._fresh()
        if symbol not in self._reports:
            schedule = quarter_schedule(self.seed, symbol, self.universe.horizon.year)
            self._reports[symbol] = [Report(symbol, filing, end) for filing, end in schedule]
        return self._reports[symbol]

    def calendar_body(self, start: date, end: date) -> bytes:
        """FMP's `earnings-calendar` rows from `start` to `end` (at most 90 days, 3,000 rows), newest
        first. Only the dates are generated: EPS and revenue, actual and estimated, are null (FMP's
        value for a release not out yet), which the engine never reads."""
        end = min(end, start + timedelta(days=CALENDAR_MAX_DAYS - 1))
        lo, hi, today = start.isoformat(), end.isoformat(), self.universe.as_of.isoformat()
        rows: list[dict[str, Any]] = []
        for symbol in self.universe.companies:
            for report in self.reports(symbol):
                if lo <= report.day <= hi:
                    rows.append(
                        {
                            "symbol": symbol,
                            "date": report.day,
                            "epsActual": None,
                            "epsEstimated": None,
                            "revenueActual": None,
                            "revenueEstimated": None,
                            "lastUpdated": min(report.day, today),
                        }
                    )
        rows.sort(key=lambda row: (row["date"], row["symbol"]), reverse=True)
        return orjson.dumps(rows[:CALENDAR_CAP])

    def restatements(self, symbol: str) -> list[Restatement]:
        """The random restatements of `symbol` over its whole history, oldest first."""
        self._fresh()
        if symbol in self._restatements:
            return self._restatements[symbol]
        events: list[Restatement] = []
        if self.restatement_rate > 0:
            fundamentals = self.universe.fundamentals(symbol)
            filed = {
                kind: [(e.filing, e.date) for e in reversed(fundamentals[("income", kind)])]
                for kind in RECENT
            }
            rng = symbol_rng(self.seed, symbol, "restatements")
            first = int(filed["annual"][0][0][:4]) + 1 if filed["annual"] else self.universe.horizon.year
            for year in range(first, self.universe.horizon.year + 1):
                for _ in range(int(rng.poisson(self.restatement_rate))):
                    day = (date(year, 1, 1) + timedelta(days=int(rng.integers(0, 365)))).isoformat()
                    kind = "annual" if rng.random() < 0.3 else "quarter"
                    recent = [end for filing, end in filed[kind] if filing < day][-RECENT[kind] :]
                    if not recent:
                        continue
                    end = recent[int(rng.integers(0, len(recent)))]
                    delta = int(rng.integers(1, 1000)) * 1000 * (1 if rng.random() < 0.5 else -1)
                    events.append(Restatement(symbol, day, kind, end, delta))
        events.sort(key=lambda event: event.day)
        self._restatements[symbol] = events
        return events

    def visible_restatements(self, symbol: str, kind: str) -> dict[str, int]:
        """period end → total revision in force at the as-of date, for one symbol and annual|quarter."""
        today = self.universe.as_of.isoformat()
        total: dict[str, int] = {}
        for event in self.restatements(symbol):
            if event.day > today:
                break
            if event.kind == kind:
                total[event.period_end] = total.get(event.period_end, 0) + event.delta
        return total

    def restate_body(self, symbol: str, dataset: str, period: str, body: bytes) -> bytes:
        """The statement body with the restatements in force applied (unchanged when there are none)."""
        if dataset != "income" or self.restatement_rate <= 0 or symbol not in self.universe.companies:
            return body
        kind = "annual" if period in ("annual", "FY") else "quarter"
        revisions = self.visible_restatements(symbol, kind)
        if not revisions:
            return body
        rows = orjson.loads(body)
        changed = False
        for row in rows:
            delta = revisions.get(row.get("date"))
            if delta:
                for name in RESTATED_FIELDS:
                    row[name] += delta
                changed = True
        return orjson.dumps(rows) if changed else body
