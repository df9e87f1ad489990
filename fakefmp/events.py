"""Company events derived from the statements the fake serves: FMP's `earnings-calendar`, and restatements.

A company "reports" a quarter on that quarter's filing date (the day its statement becomes visible),
so the calendar never announces a quarter the statement endpoints do not have yet. The annual
statement is filed later (60+ days after year end) than the fourth quarter's report, as 10-Ks are.

Restatements: for each company, a random number a year (Poisson, `restatement_rate` on average),
each made in one of its filings (the first quarterly filing on or after a random day) and
reclassifying revenue of one recent period (the latest annual or one of the latest 4 quarterly
filed by then): revenue and cost of revenue move by the same amount (a gross-versus-net correction), so
every identity still holds. A quarter's restatement restates its fiscal year too, a year's its
fourth quarter, so the quarters still sum to the year. From that filing on, the income endpoints
serve the revised rows with that filing's `filingDate` and `acceptedDate` (a period first filed
after it carries the revision from the start, under its own filing date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from fakefmp.draws import symbol_rng
from fakefmp.extended import find_company
from fakefmp.filings import annual_schedule as annual_filings
from fakefmp.filings import quarter_schedule as quarter_filings
from fakefmp.outline import outline

if TYPE_CHECKING:
    from fakefmp.data import Universe

CALENDAR_CAP = 3000  # FMP: "Maximum 3000 records per request"
CALENDAR_MAX_DAYS = 90  # FMP: "Max 90-day date range"
RESTATED_FIELDS = ("revenue", "costOfRevenue", "costAndExpenses")
RECENT = {"annual": 1, "quarter": 4}


@dataclass(frozen=True, slots=True)
class Report:
    """One earnings release: a quarter's results, public on `day`."""

    symbol: str
    day: str
    fiscal_end: str


def quarter_schedule(seed: int, symbol: str, last_year: int) -> list[tuple[str, str]]:
    """(filing date, period end) of every quarter up to fiscal year `last_year`, oldest first: the
    statements' own dates (fakefmp/filings.py), without generating the statements (a calendar over
    5,000 symbols cannot pay for that)."""
    company = find_company(symbol)
    if company is None:
        return []
    schedule = quarter_filings(outline(seed, company), last_year)
    return [(filing.isoformat(), end.isoformat()) for end, filing in schedule]


def annual_schedule(seed: int, symbol: str, last_year: int) -> list[tuple[str, str]]:
    """(filing date, fiscal year end) of every fiscal year up to `last_year`, oldest first."""
    company = find_company(symbol)
    if company is None:
        return []
    schedule = annual_filings(outline(seed, company), last_year)
    return [(filing.isoformat(), end.isoformat()) for end, filing in schedule]


@dataclass(frozen=True, slots=True)
class Restatement:
    """From the filing on `day` on, the income row of (`kind`, `period_end`) carries `delta` more revenue
    (and as much more cost of revenue)."""

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

    def calendar_rows(self, start: date, end: date) -> list[dict[str, Any]]:
        """FMP's `earnings-calendar` rows of the universe from `start` to `end` (at most 90 days), in
        no particular order. Only the dates are generated: EPS and revenue, actual and estimated, are
        null (FMP's value for a release not out yet), which the engine never reads."""
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
        return rows

    def calendar_body(self, start: date, end: date) -> bytes:
        """The universe's calendar rows from `start` to `end` (at most 90 days, 3,000 rows), newest first."""
        rows = self.calendar_rows(start, end)
        rows.sort(key=lambda row: (row["date"], row["symbol"]), reverse=True)
        return orjson.dumps(rows[:CALENDAR_CAP])

    def restatements(self, symbol: str) -> list[Restatement]:
        """The restatements of `symbol` over its whole history, oldest first (a quarter's with its
        fiscal year's, a year's with its fourth quarter's)."""
        self._fresh()
        if symbol in self._restatements:
            return self._restatements[symbol]
        events: list[Restatement] = []
        if self.restatement_rate > 0:
            events = self._draw(symbol)
        events.sort(key=lambda event: (event.day, event.kind, event.period_end))
        self._restatements[symbol] = events
        return events

    def _draw(self, symbol: str) -> list[Restatement]:
        year = self.universe.horizon.year
        quarters = quarter_schedule(self.seed, symbol, year + 1)
        annual = annual_schedule(self.seed, symbol, year + 1)
        filed = {"annual": annual, "quarter": quarters}
        days = [filing for filing, _ in quarters]
        # the fiscal year of each quarter end (and the fourth quarter of each year): FMP's periods
        year_of = {q_end: annual[i // 4][1] for i, (_, q_end) in enumerate(quarters) if i // 4 < len(annual)}
        fourth = {a_end: q_end for q_end, a_end in year_of.items() if q_end == a_end}
        rng = symbol_rng(self.seed, symbol, "restatements")
        events: list[Restatement] = []
        first = int(annual[0][0][:4]) + 1 if annual else year
        for calendar_year in range(first, year + 1):
            for _ in range(int(rng.poisson(self.restatement_rate))):
                drawn = (date(calendar_year, 1, 1) + timedelta(days=int(rng.integers(0, 365)))).isoformat()
                kind = "annual" if rng.random() < 0.3 else "quarter"
                delta = int(rng.integers(1, 1000)) * 1000 * (1 if rng.random() < 0.5 else -1)
                day = next((d for d in days if d >= drawn), None)
                recent = [end for filing, end in filed[kind] if filing < (day or "")][-RECENT[kind] :]
                if day is None or not recent:
                    continue
                end = recent[int(rng.integers(0, len(recent)))]
                events.append(Restatement(symbol, day, kind, end, delta))
                twin = year_of.get(end) if kind == "quarter" else fourth.get(end)
                if twin is not None:
                    events.append(
                        Restatement(symbol, day, "annual" if kind == "quarter" else "quarter", twin, delta)
                    )
        return events

    def visible_restatements(self, symbol: str, kind: str) -> dict[str, tuple[int, str]]:
        """period end → (total revision in force at the as-of date, the day of the latest), for one
        symbol and annual|quarter."""
        today = self.universe.as_of.isoformat()
        total: dict[str, tuple[int, str]] = {}
        for event in self.restatements(symbol):
            if event.day > today:
                break
            if event.kind == kind:
                delta, _ = total.get(event.period_end, (0, ""))
                total[event.period_end] = (delta + event.delta, event.day)
        return total

    def restate_body(self, symbol: str, dataset: str, period: str, body: bytes) -> bytes:
        """The statement body with the restatements in force applied (unchanged when there are none)."""
        if dataset != "income" or self.restatement_rate <= 0 or self.universe.company(symbol) is None:
            return body
        kind = "annual" if period in ("annual", "FY") else "quarter"
        revisions = self.visible_restatements(symbol, kind)
        if not revisions:
            return body
        rows = orjson.loads(body)
        changed = False
        for row in rows:
            found = revisions.get(row.get("date"))
            if found:
                delta, day = found
                for name in RESTATED_FIELDS:
                    row[name] += delta
                if day > row["filingDate"]:  # restated in a later filing
                    row["filingDate"] = day
                    row["acceptedDate"] = f"{day} {row['acceptedDate'][11:]}"
                changed = True
        return orjson.dumps(rows) if changed else body
