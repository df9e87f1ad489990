"""The planner: which items (symbol x dataset) a run fetches, with what window, and what it costs.

Planning is pure: the universe and the store's freshness are read by the caller and passed in, so
`plan` and `run` decide identically and tests need no database.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from engine.errors import UsageError
from engine.runs.bulk import BULK_PRICE_MAX_DAYS, weekdays
from engine.runs.datasets import DATASETS_BY_NAME, JOB_DATASETS, Dataset, Family, Job

SECONDS_PER_WINDOW = 60  # the FMP budget is counted per 60-second window
# FMP's ~90,000 profiles come in 4 parts (a universe of ours is spread over all of them), and the
# request for the part past the last is how the walk learns it has ended (HTTP 400)
PROFILE_BULK_PARTS_ESTIMATE = 5
UNIVERSE_REQUESTS = 2  # the constituent list and the index's changes that start every fresh run
# A former member of the index is kept current like a member until this long after it left (a screen
# dated the day it left follows it a year forward), then frozen: only what was never stored is fetched.
FORMER_TAIL_DAYS = 366


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    """How incremental a run is, and how the price fetch is split (for the request estimate)."""

    history_start: date
    price_overlap_days: int = 7  # refetch a week behind the last stored date to catch corrections
    statement_refresh_annual: int = 3  # restatements touch the last few fiscal years...
    statement_refresh_quarter: int = 8  # ...and the last two years of quarters
    statement_history_limit: int = 1000  # FMP's per-request maximum: the whole history at once
    statement_limit_cap: int | None = None  # the plan's largest `limit` (Free: 5), None: FMP's maximum
    price_window_days: int = 7000  # calendar days per price request (under FMP's 5,000-row cap)
    price_requests_per_window: int = 1
    statement_sweep_weeks: int = 13  # every stored series is refetched at least this often


@dataclass(frozen=True, slots=True)
class Freshness:
    """What the store already holds: the last price date per symbol, and which statement series exist."""

    last_price: Mapping[str, date] = field(default_factory=dict)
    statement_history: frozenset[tuple[str, str, str]] = frozenset()  # (symbol, kind, period)
    # Event-driven statements: the latest stored fiscal date and the last fetch (engine's date) per
    # series, and the latest earnings date per symbol from the calendar. `reports` None: no calendar
    # (not in the plan, or not asked): every stored series is refetched, as before.
    statement_latest: Mapping[tuple[str, str, str], date] = field(default_factory=dict)
    statement_fetched: Mapping[tuple[str, str, str], date] = field(default_factory=dict)
    reports: Mapping[str, date] | None = None
    # Former members of the index in the universe: the day each left (docs/engine.md, "Former members"),
    # and which companies have a stored profile (a frozen former member's is fetched once).
    former: Mapping[str, date] = field(default_factory=dict)
    profiled: frozenset[str] = frozenset()


class Reason(StrEnum):
    """Why a statement series is fetched (kept in the item's params; `plan` counts them)."""

    NEW = "new"  # never stored: the whole history
    REPORTED = "reported"  # the company reported after the latest stored period
    SWEEP = "sweep"  # the rotating sweep: catches restatements outside earnings
    ALL = "all"  # no earnings calendar: every series, as before


# A period's length in days, less a tolerance for 52/53-week fiscal years and month-end drift. A
# series is "behind" a report when the report came at least this long after its latest stored
# period end: the announced period must then be newer than the stored one (a report comes after its
# period ended, and within ~90 days of it, so it cannot be about the stored period itself).
PERIOD_DAYS = {"annual": 365 - 10, "quarter": 91 - 10}
# The fourth quarter's release comes weeks before the annual report (10-K) that FMP's annual
# statements are read from: asking for the annual series in the release week finds nothing and would
# double the busiest earnings week. It is asked for from this many days after the release, weekly
# until it is stored (quarterly series are asked for in the release week).
ANNUAL_FILING_LAG_DAYS = 21
SWEEP_SLACK_DAYS = 6  # a weekly run that fires a day early still counts as N weeks on
# The sweep takes a symbol in its own week of every N (a stable hash of the symbol), unless it was
# fetched these last few days: so after the initial load the sweeps spread evenly over the weeks
# instead of all falling due together N weeks later. The age rule is the guarantee when runs are missed.
SWEEP_MIN_AGE_DAYS = 5


@dataclass(frozen=True, slots=True)
class PlannedItem:
    """One unit of work: a dataset of a symbol, with the parameters the planner fixed for it."""

    symbol: str
    dataset: str
    params: Mapping[str, Any]
    requests: int  # estimated FMP requests

    @property
    def key(self) -> tuple[str, str]:
        return (self.symbol, self.dataset)


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a run would do, and what it costs at the configured budget."""

    job: Job
    symbols: tuple[str, ...]
    items: tuple[PlannedItem, ...]
    rate_limit: int
    statements_skipped: int = 0  # stored statement series not due this run (1 request saved each)
    calendar_requests: int = 0  # earnings-calendar requests made to plan
    bulk_requests: int = 0  # eod-bulk days and profile-bulk parts, shared by the items
    universe_requests: int = UNIVERSE_REQUESTS  # 0 when the plan has no constituent list
    withheld: Mapping[str, str] = field(default_factory=dict)  # what the key's plan leaves out, and why
    plan_name: str = "unknown"  # the FMP plan the probe found
    daily_limit: int | None = None  # the plan's requests a day (Free: 250)
    spent_today: int = 0  # requests already spent today (UTC)

    @property
    def requests(self) -> int:
        shared = self.universe_requests + self.calendar_requests + self.bulk_requests
        return shared + sum(item.requests for item in self.items)

    @property
    def eta_seconds(self) -> float:
        return self.requests * SECONDS_PER_WINDOW / self.rate_limit

    def by_dataset(self) -> dict[str, tuple[int, int]]:
        """Items and estimated requests per dataset, in the order datasets are declared."""
        items: Counter[str] = Counter()
        requests: Counter[str] = Counter()
        for item in self.items:
            items[item.dataset] += 1
            requests[item.dataset] += item.requests
        return {name: (items[name], requests[name]) for name in DATASETS_BY_NAME if items[name]}

    def statement_reasons(self) -> dict[str, int]:
        """Statement items per reason, and the series left alone (`skipped`)."""
        reasons: Counter[str] = Counter(
            str(item.params["reason"]) for item in self.items if "reason" in item.params
        )
        counts = {str(reason): reasons[str(reason)] for reason in Reason if reasons[str(reason)]}
        if self.statements_skipped:
            counts["skipped"] = self.statements_skipped
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": str(self.job),
            "symbols": len(self.symbols),
            "items": len(self.items),
            "requests": self.requests,
            "rate_limit_per_min": self.rate_limit,
            "eta_seconds": round(self.eta_seconds),
            "datasets": {name: {"items": n, "requests": r} for name, (n, r) in self.by_dataset().items()},
            "statements": self.statement_reasons(),
            "requests_saved": self.statements_skipped - self.calendar_requests,
            "bulk_requests": self.bulk_requests,
            "bulk_items": sum(1 for item in self.items if item.params.get("bulk")),
            "fmp_plan": self.plan_name,
            "withheld": dict(self.withheld),
            "daily_limit": self.daily_limit,
            "spent_today": self.spent_today,
        }


def price_window_requests(start: date, end: date, policy: PlanPolicy) -> int:
    """Requests to fetch prices from `start` to `end` inclusive (at least one, even when up to date)."""
    days = max((end - start).days + 1, 1)
    return math.ceil(days / policy.price_window_days) * policy.price_requests_per_window


def estimate_requests(item: PlannedItem, policy: PlanPolicy, today: date) -> int:
    """Requests a (possibly resumed) item will send, from the parameters stored with it."""
    if item.params.get("bulk"):
        return 0  # shared bulk answers, counted once per run
    if DATASETS_BY_NAME[item.dataset].family is Family.PRICES and "from" in item.params:
        end = date.fromisoformat(str(item.params["to"])) if "to" in item.params else today
        return price_window_requests(date.fromisoformat(str(item.params["from"])), end, policy)
    return 1


def plan_frozen_former(
    symbol: str, dataset_name: str, *, left: date, policy: PlanPolicy, freshness: Freshness
) -> PlannedItem | None:
    """A former member more than FORMER_TAIL_DAYS gone: only what was never stored (its prices to the
    end of the tail, a statement series' whole history, its profile)."""
    dataset = DATASETS_BY_NAME[dataset_name]
    if dataset.family is Family.PRICES:
        if symbol in freshness.last_price:
            return None
        end = left + timedelta(days=FORMER_TAIL_DAYS)
        start = min(policy.history_start, end)
        window = {"from": start.isoformat(), "to": end.isoformat()}
        return PlannedItem(symbol, dataset.name, window, price_window_requests(start, end, policy))
    if dataset.family is Family.STATEMENT:
        if (symbol, dataset.kind, dataset.period) in freshness.statement_history:
            return None
        whole = {"limit": policy.statement_history_limit, "reason": str(Reason.NEW)}
        return PlannedItem(symbol, dataset.name, whole, 1)
    return None if symbol in freshness.profiled else PlannedItem(symbol, dataset.name, {}, 1)


def plan_item(
    symbol: str,
    dataset_name: str,
    *,
    policy: PlanPolicy,
    freshness: Freshness,
    today: date,
    bulk_prices: bool = False,
    bulk_profiles: bool = False,
) -> PlannedItem | None:
    """Decide the parameters of one item from what the store already holds (None: nothing to do).

    With `bulk_prices`, a symbol less than BULK_PRICE_MAX_DAYS behind is cut from the run's shared
    eod-bulk days (requests 0 here: the days are counted once, in `Plan.bulk_requests`); with
    `bulk_profiles`, profiles come from profile-bulk likewise.
    """
    left = freshness.former.get(symbol)
    if left is not None:  # never from the bulk answers: they list today's members
        if today > left + timedelta(days=FORMER_TAIL_DAYS):
            return plan_frozen_former(symbol, dataset_name, left=left, policy=policy, freshness=freshness)
        bulk_prices = bulk_profiles = False
    dataset = DATASETS_BY_NAME[dataset_name]
    if dataset.family is Family.PRICES:
        last = freshness.last_price.get(symbol)
        start = policy.history_start if last is None else last - timedelta(days=policy.price_overlap_days)
        start = max(min(start, today), policy.history_start)
        if bulk_prices and last is not None and (today - start).days <= BULK_PRICE_MAX_DAYS:
            return PlannedItem(symbol, dataset.name, {"from": start.isoformat(), "bulk": True}, 0)
        requests = price_window_requests(start, today, policy)
        return PlannedItem(symbol, dataset.name, {"from": start.isoformat()}, requests)
    if dataset.family is Family.PROFILE and bulk_profiles:
        return PlannedItem(symbol, dataset.name, {"bulk": True}, 0)
    if dataset.family is Family.STATEMENT:
        assert dataset.kind is not None
        assert dataset.period is not None
        reason = statement_reason(symbol, dataset.kind, dataset.period, policy, freshness, today)
        if reason is None:
            return None
        if reason is Reason.NEW:
            limit = policy.statement_history_limit
        else:
            limit = (
                policy.statement_refresh_annual
                if dataset.period == "annual"
                else policy.statement_refresh_quarter
            )
        if policy.statement_limit_cap is not None:
            limit = min(limit, policy.statement_limit_cap)
        return PlannedItem(symbol, dataset.name, {"limit": limit, "reason": str(reason)}, 1)
    return PlannedItem(symbol, dataset.name, {}, 1)


def sweep_bucket(symbol: str, weeks: int) -> int:
    """The week (modulo `weeks`) in which a symbol's series are swept: a stable hash, not Python's."""
    return zlib.crc32(symbol.encode()) % weeks


def statement_reason(
    symbol: str, kind: str, period: str, policy: PlanPolicy, freshness: Freshness, today: date
) -> Reason | None:
    """Why this statement series is fetched now, or None when it need not be.

    - never stored: NEW (the whole history);
    - no calendar: ALL (every stored series, the behaviour before the calendar);
    - the company reported at least a period's length after the latest stored period end: REPORTED
      (stays due until the new period is stored; an annual series only from ANNUAL_FILING_LAG_DAYS
      after the release, as the 10-K is filed weeks after the fourth quarter's earnings release);
    - the rotating sweep: each symbol has its week in every `statement_sweep_weeks`, and no stored
      series goes unfetched for longer than that (restatements outside earnings).
    """
    key = (symbol, kind, period)
    if key not in freshness.statement_history:
        return Reason.NEW
    if freshness.reports is None:
        return Reason.ALL
    latest = freshness.statement_latest.get(key)
    reported = freshness.reports.get(symbol)
    if reported is not None and (latest is None or latest + timedelta(days=PERIOD_DAYS[period]) <= reported):
        if period != "annual" or (today - reported).days >= ANNUAL_FILING_LAG_DAYS:
            return Reason.REPORTED
    weeks = policy.statement_sweep_weeks
    fetched = freshness.statement_fetched.get(key)
    if fetched is None:
        return Reason.SWEEP  # stored before fetches were recorded: sweep once, then rotate
    age = (today - fetched).days
    if age >= 7 * weeks - SWEEP_SLACK_DAYS:
        return Reason.SWEEP
    in_turn = sweep_bucket(symbol, weeks) == (today.toordinal() // 7) % weeks
    if in_turn and age >= SWEEP_MIN_AGE_DAYS:
        return Reason.SWEEP
    return None


def build_plan(
    job: Job,
    symbols: Iterable[str],
    *,
    policy: PlanPolicy,
    freshness: Freshness,
    rate_limit: int,
    today: date,
    calendar_requests: int = 0,
    bulk_prices: bool = False,
    bulk_profiles: bool = False,
    datasets: tuple[Dataset, ...] | None = None,
    universe_requests: int = UNIVERSE_REQUESTS,
    withheld: Mapping[str, str] | None = None,
    plan_name: str = "unknown",
    daily_limit: int | None = None,
    spent_today: int = 0,
) -> Plan:
    """The items of a run: every dataset of the job (or `datasets`, those the plan serves) for every
    symbol, symbol-major; the rest describes the key's FMP plan for `plan` to print.

    Symbol-major order keeps one symbol's datasets close together in time, so a run stopped half
    way has whole companies loaded rather than one dataset of every company.
    """
    universe = tuple(dict.fromkeys(symbols))
    planned = [
        plan_item(
            symbol,
            dataset.name,
            policy=policy,
            freshness=freshness,
            today=today,
            bulk_prices=bulk_prices,
            bulk_profiles=bulk_profiles,
        )
        for symbol in universe
        for dataset in (JOB_DATASETS[job] if datasets is None else datasets)
    ]
    items = tuple(item for item in planned if item is not None)
    bulk_starts = [
        date.fromisoformat(str(item.params["from"]))
        for item in items
        if item.params.get("bulk") and "from" in item.params
    ]
    bulk_requests = len(weekdays(min(bulk_starts), today)) if bulk_starts else 0
    if any(item.params.get("bulk") and "from" not in item.params for item in items):
        bulk_requests += PROFILE_BULK_PARTS_ESTIMATE
    return Plan(
        job=job,
        symbols=universe,
        items=items,
        rate_limit=rate_limit,
        statements_skipped=len(planned) - len(items),
        calendar_requests=calendar_requests,
        bulk_requests=bulk_requests,
        universe_requests=universe_requests,
        withheld=dict(withheld or {}),
        plan_name=plan_name,
        daily_limit=daily_limit,
        spent_today=spent_today,
    )


def restrict_universe(constituents: Iterable[str], wanted: Iterable[str]) -> tuple[str, ...]:
    """The universe (constituents, then former members) restricted to `wanted` (all of it when
    `wanted` is empty), in its order.

    Raises:
        UsageError: a wanted symbol is in neither (a typo must not silently fetch nothing).
    """
    members = tuple(dict.fromkeys(constituents))
    want = tuple(dict.fromkeys(s.upper() for s in wanted))
    if not want:
        return members
    unknown = sorted(set(want) - set(members))
    if unknown:
        raise UsageError(f"not S&P 500 constituents or former members: {', '.join(unknown)}")
    chosen = set(want)
    return tuple(symbol for symbol in members if symbol in chosen)


def format_duration(seconds: float) -> str:
    """`1h 02m`, `4m 05s`, `12s`: short enough for a progress line."""
    total = round(max(seconds, 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def render_plan(plan: Plan) -> str:
    """The human-readable table `mycfa-engine plan` prints."""
    lines = [
        f"job {plan.job}: {len(plan.symbols)} symbols, {len(plan.items)} items, ~{plan.requests} requests",
        f"{'dataset':<22}{'items':>8}{'requests':>10}",
    ]
    for name, (count, requests) in plan.by_dataset().items():
        lines.append(f"{name:<22}{count:>8}{requests:>10}")
    reasons = plan.statement_reasons()
    if reasons:
        why = ", ".join(f"{name} {count}" for name, count in reasons.items())
        lines.append(f"statement series: {why}")
    if plan.statements_skipped:
        lines.append(
            f"saved by the earnings calendar: {plan.statements_skipped} statement requests "
            f"for {plan.calendar_requests} calendar request(s)"
        )
    bulk_items = sum(1 for item in plan.items if item.params.get("bulk"))
    if bulk_items:
        lines.append(
            f"bulk: {bulk_items} items from ~{plan.bulk_requests} shared eod-bulk/profile-bulk requests"
        )
    lines.append(
        f"ETA at {plan.rate_limit} requests/min: {format_duration(plan.eta_seconds)} "
        f"(the budget is the bound; {plan.universe_requests} request(s) for the constituent list and the "
        "index's changes included)"
    )
    lines.extend(render_withheld(plan))
    return "\n".join(lines)


def render_withheld(plan: Plan) -> list[str]:
    """What the key's FMP plan leaves out of this plan, and its daily limit against the plan's cost."""
    lines = []
    if plan.withheld:
        lines.append(f"FMP plan {plan.plan_name} withholds:")
        lines.extend(f"  {what}" for what in plan.withheld.values())
    if plan.daily_limit:
        left = max(0, plan.daily_limit - plan.spent_today)
        days = math.ceil(plan.requests / plan.daily_limit)
        lines.append(
            f"requests a day: {plan.daily_limit} ({plan.spent_today} spent today, {left} left): "
            + (
                "fits today"
                if plan.requests <= left
                else f"about {days} day(s); each run stops before the limit"
            )
        )
    return lines
