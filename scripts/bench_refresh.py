#!/usr/bin/env python3
"""Requests per refresh, before and after the earnings calendar, the rotating sweep and bulk endpoints.

Usage:
    .venv/bin/python scripts/bench_refresh.py [--symbols 503] [--seed 42] [--year 2026]
                                              [--sweep-weeks 13] [--rate-limit 120]

Replays a year of Saturday `full` runs (after a quarter of warm-up) through the engine's own planner
(engine/runs/plan.py `build_plan`), on the fake FMP's release and filing dates for the universe
(fakefmp/events.py: each company reports a quarter when its statements are filed; 10-Ks follow
weeks later). Each week: what the store holds is what the previous runs fetched; `reports` is the
calendar's last 90 days. Prints, per job, requests and minutes at the budget for an average week and
for the busiest earnings week:

- before: every series, every week (the planner without a calendar, no bulk);
- after: calendar + sweep, per-symbol prices and profiles (a plan without bulk endpoints);
- after + bulk: the same with eod-bulk and profile-bulk.

Targets (503 symbols, the per-symbol "after", since a plan may not include bulk): weekly `full`
<= 2,500 requests in an average week and <= 4,000 in the busiest. Exit code 1 when one is missed.
Price re-adjustments (~6 symbols a day re-fetch their history after a dividend) are not planned and
so not counted: add ~35 requests to a daily `prices` run (docs/engine.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devkit.benchrecord import add_record_argument, record
from engine.fmp.endpoints import EARNINGS_CALENDAR_CAP
from engine.runs.datasets import STATEMENTS, Job
from engine.runs.plan import (
    PROFILE_BULK_PARTS_ESTIMATE,
    Freshness,
    Plan,
    PlannedItem,
    PlanPolicy,
    build_plan,
)
from engine.runs.reports import REPORT_LOOKBACK_DAYS
from fakefmp.events import annual_schedule, quarter_schedule
from fakefmp.extended import universe_companies
from fakefmp.world_calendar import CALENDAR_CAP, rows_on

TARGET_AVERAGE = 2_500
TARGET_BUSIEST = 4_000
WARM_UP_WEEKS = 13
Key = tuple[str, str, str]


@dataclass(slots=True)
class Week:
    day: date
    plans: dict[str, Plan]  # variant -> plan of the `full` job


def saturdays(first: date, count: int) -> list[date]:
    start = first + timedelta(days=(5 - first.weekday()) % 7)
    return [start + timedelta(weeks=n) for n in range(count)]


def latest_filed(schedule: list[tuple[str, str]], day: str) -> str | None:
    ends = [end for filing, end in schedule if filing <= day]
    return ends[-1] if ends else None


def initial_latest(
    symbols: list[str], schedule: dict[str, dict[str, list[tuple[str, str]]]], first: str
) -> dict[Key, date]:
    """The latest period end of each statement series filed by `first` (the store's initial load)."""
    latest: dict[Key, date] = {}
    for symbol in symbols:
        for dataset in STATEMENTS:
            assert dataset.kind is not None
            assert dataset.period is not None
            end = latest_filed(schedule[dataset.period][symbol], first)
            if end is not None:
                latest[(symbol, dataset.kind, dataset.period)] = date.fromisoformat(end)
    return latest


def reported(
    symbols: list[str], quarters: dict[str, list[tuple[str, str]]], lo: str, hi: str
) -> tuple[dict[str, date], dict[date, int]]:
    """Each symbol's latest report filed in [lo, hi], and the calendar's rows per day of that window:
    ours and the rest of the world's (FMP's calendar is global; fakefmp/world_calendar.py)."""
    reports: dict[str, date] = {}
    per_day: dict[date, int] = {}
    for symbol in symbols:
        dates = [filing for filing, _ in quarters[symbol] if lo <= filing <= hi]
        for filing in dates:
            per_day[date.fromisoformat(filing)] = per_day.get(date.fromisoformat(filing), 0) + 1
        if dates:
            reports[symbol] = date.fromisoformat(max(dates))
    day, last = date.fromisoformat(lo), date.fromisoformat(hi)
    while day <= last:
        per_day[day] = per_day.get(day, 0) + rows_on(day)
        day += timedelta(days=1)
    return reports, per_day


def calendar_walk(per_day: dict[date, int], lo: date, hi: date) -> int:
    """Requests of engine/runs/reports.calendar_rows over these rows: FMP answers the newest
    CALENDAR_CAP rows; an answer of EARNINGS_CALENDAR_CAP or more is asked again up to its earliest
    date."""
    requests = 0
    while True:
        requests += 1
        rows, day = 0, hi
        while day >= lo and rows < CALENDAR_CAP:
            rows += per_day.get(day, 0)
            day -= timedelta(days=1)
        earliest = day + timedelta(days=1)
        if min(rows, CALENDAR_CAP) < EARNINGS_CALENDAR_CAP:
            return requests
        cut = hi - timedelta(days=1) if earliest >= hi else earliest
        if cut < lo:
            return requests
        hi = cut


def simulate(symbols: list[str], seed: int, year: int, sweep_weeks: int) -> list[Week]:
    """Weekly plans for a year, the store advancing with what the "after" plans fetch."""
    quarters = {s: quarter_schedule(seed, s, year + 1) for s in symbols}
    annuals = {s: annual_schedule(seed, s, year + 1) for s in symbols}
    schedule = {"quarter": quarters, "annual": annuals}
    days = saturdays(date(year, 1, 1) - timedelta(weeks=WARM_UP_WEEKS), 52 + WARM_UP_WEEKS)
    policy = PlanPolicy(
        history_start=date(1990, 1, 1),
        price_window_days=15 * 365,
        price_requests_per_window=2,
        statement_sweep_weeks=sweep_weeks,
    )
    first = days[0].isoformat()
    latest = initial_latest(symbols, schedule, first)
    fetched: dict[Key, date] = dict.fromkeys(latest, days[0])  # the initial load
    weeks = []
    for day in days[1:]:
        lo, hi = (day - timedelta(days=REPORT_LOOKBACK_DAYS - 1)).isoformat(), day.isoformat()
        reports, per_day = reported(symbols, quarters, lo, hi)
        calendar = calendar_walk(per_day, date.fromisoformat(lo), day)
        last_price = dict.fromkeys(symbols, day - timedelta(days=1))  # the weekday `prices` runs
        stored = Freshness(last_price=last_price, statement_history=frozenset(latest))
        plans = {
            "before": build_plan(
                Job.FULL, symbols, policy=policy, freshness=stored, rate_limit=120, today=day
            )
        }
        # after: the same store, plus what the calendar-driven planner reads
        fresh = replace(stored, statement_latest=latest, statement_fetched=fetched, reports=reports)
        for name, bulk in (("after", False), ("after + bulk", True)):
            plans[name] = build_plan(
                Job.FULL,
                symbols,
                policy=policy,
                freshness=fresh,
                rate_limit=120,
                today=day,
                calendar_requests=calendar,
                bulk_prices=bulk,
                bulk_profiles=bulk,
            )
        for item in plans["after"].items:
            if "reason" in item.params:
                kind, period = item.dataset.rsplit("_", 1)
                key = (item.symbol, kind, period)
                fetched[key] = day
                end = latest_filed(schedule[period][item.symbol], hi)
                if end is not None:
                    latest[key] = date.fromisoformat(end)
        weeks.append(Week(day, plans))
    return weeks[WARM_UP_WEEKS - 1 :]


def job_requests(plan: Plan, job: Job) -> int:
    """Requests of `job` within a `full` plan: its items and the shared requests it needs (the
    constituent list; the calendar for statements; eod-bulk days for prices, profile-bulk parts)."""
    wanted = {Job.FULL: {"profile", "statement", "prices"}, Job.FUNDAMENTALS: {"profile", "statement"}}
    families = wanted.get(job, {"prices"})
    items = [item for item in plan.items if _family(item.dataset) in families]
    profile_parts = (
        PROFILE_BULK_PARTS_ESTIMATE if any(_bulk(i) and i.dataset == "profile" for i in plan.items) else 0
    )
    shared = 1
    if "statement" in families:
        shared += plan.calendar_requests
    if "prices" in families:
        shared += plan.bulk_requests - profile_parts
    if "profile" in families:
        shared += profile_parts
    return shared + sum(item.requests for item in items)


def _bulk(item: PlannedItem) -> bool:
    return bool(item.params.get("bulk"))


def _family(dataset: str) -> str:
    return dataset if dataset in ("prices", "profile") else "statement"


def minutes(requests: float, rate_limit: int) -> float:
    return requests / rate_limit


def rows_for(weeks: Iterable[Week], variant: str, job: Job) -> list[tuple[date, int]]:
    return [(w.day, job_requests(w.plans[variant], job)) for w in weeks]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=503)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--sweep-weeks", type=int, default=13)
    parser.add_argument("--rate-limit", type=int, default=120)
    add_record_argument(parser)
    args = parser.parse_args()
    symbols = [c.symbol for c in universe_companies(args.symbols)]
    weeks = simulate(symbols, args.seed, args.year, args.sweep_weeks)
    print(
        f"bench_refresh: {len(symbols)} symbols, {len(weeks)} weekly runs of {args.year}, sweep every "
        f"{args.sweep_weeks} weeks, at {args.rate_limit} requests/min"
    )
    print(f"{'job':<14}{'variant':<15}{'average week':>22}{'busiest week':>32}")
    results: dict[tuple[str, str], tuple[float, int]] = {}
    for job in (Job.FULL, Job.FUNDAMENTALS, Job.PRICES):
        for variant in ("before", "after", "after + bulk"):
            series = rows_for(weeks, variant, job)
            average = statistics.fmean(n for _, n in series)
            busiest_day, busiest = max(series, key=lambda row: row[1])
            results[(str(job), variant)] = (average, busiest)
            print(
                f"{job!s:<14}{variant:<15}{average:>9,.0f} req {minutes(average, args.rate_limit):>6.1f} min"
                f"{busiest:>12,} req {minutes(busiest, args.rate_limit):>6.1f} min ({busiest_day})"
            )
    average, busiest = results[("full", "after")]
    missed = []
    if len(symbols) == 503:
        if average > TARGET_AVERAGE:
            missed.append(f"average week {average:,.0f} > {TARGET_AVERAGE:,}")
        if busiest > TARGET_BUSIEST:
            missed.append(f"busiest week {busiest:,} > {TARGET_BUSIEST:,}")
    print(
        f"targets (503 symbols, weekly full, per-symbol path): average <= {TARGET_AVERAGE:,}, "
        f"busiest <= {TARGET_BUSIEST:,}: " + ("MISSED: " + "; ".join(missed) if missed else "met")
    )
    if args.record:
        per_job: dict[str, dict[str, dict[str, int]]] = {}
        for (job_name, variant), (mean, most) in results.items():
            per_job.setdefault(job_name, {})[variant] = {"average_week": round(mean), "busiest_week": most}
        record(
            "bench_refresh",
            {"symbols": len(symbols), "year": args.year, "rate_limit": args.rate_limit, **per_job,
             "targets_met": not missed},
        )  # fmt: skip
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
