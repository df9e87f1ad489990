"""The planner: which items (symbol x dataset) a run fetches, with what window, and what it costs.

Planning is pure: the universe and the store's freshness are read by the caller and passed in, so
`plan` and `run` decide identically and tests need no database.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from engine.errors import UsageError
from engine.runs.bulk import weekdays
from engine.runs.datasets import REGISTRY, Dataset, Job
from engine.runs.family import PlanInputs
from engine.runs.items import (
    FORMER_TAIL_DAYS,
    Freshness,
    PlannedItem,
    PlanPolicy,
    Reason,
    price_window_requests,
)

__all__ = [
    "FORMER_TAIL_DAYS",
    "PROFILE_BULK_PARTS_ESTIMATE",
    "SECONDS_PER_WINDOW",
    "UNIVERSE_REQUESTS",
    "Freshness",
    "Plan",
    "PlanPolicy",
    "PlannedItem",
    "Reason",
    "build_plan",
    "estimate_requests",
    "format_duration",
    "plan_item",
    "price_window_requests",
    "render_plan",
    "restrict_universe",
]

SECONDS_PER_WINDOW = 60  # the FMP budget is counted per 60-second window
# FMP's ~90,000 profiles come in 4 parts (a universe of ours is spread over all of them), and the
# request for the part past the last is how the walk learns it has ended (HTTP 400)
PROFILE_BULK_PARTS_ESTIMATE = 5
UNIVERSE_REQUESTS = 2  # the constituent list and the index's changes that start every fresh run


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
        return {name: (items[name], requests[name]) for name in REGISTRY.names() if items[name]}

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


def estimate_requests(item: PlannedItem, policy: PlanPolicy, today: date) -> int:
    """Requests a (possibly resumed) item will send, from the parameters stored with it."""
    if item.params.get("bulk"):
        return 0  # shared bulk answers, counted once per run
    return REGISTRY.family_of(item.dataset).estimate(item, policy, today)


def plan_item(
    symbol: str,
    dataset_name: str,
    *,
    policy: PlanPolicy,
    freshness: Freshness,
    today: date,
    bulk_prices: bool = False,
    bulk_profiles: bool = False,
    state: Any = None,
) -> PlannedItem | None:
    """Decide the parameters of one item from what the store already holds (None: nothing to do),
    by its family's rule.

    With `bulk_prices`, a symbol less than BULK_PRICE_MAX_DAYS behind is cut from the run's shared
    eod-bulk days (requests 0 here: the days are counted once, in `Plan.bulk_requests`); with
    `bulk_profiles`, profiles come from profile-bulk likewise; `state` is what the family's
    `read_state` found. A former member is never served from
    the bulk answers (they list today's members), and once FORMER_TAIL_DAYS gone it is frozen.
    """
    dataset = REGISTRY.dataset(dataset_name)
    family = REGISTRY.family_of(dataset_name)
    left = freshness.former.get(symbol)
    if left is not None:
        bulk_prices = bulk_profiles = False
    inputs = PlanInputs(
        policy, freshness, today, bulk_prices=bulk_prices, bulk_profiles=bulk_profiles, state=state
    )
    if left is not None and today > left + timedelta(days=FORMER_TAIL_DAYS):
        return family.plan_frozen(symbol, dataset, left, inputs)
    return family.plan(symbol, dataset, inputs)


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
    states: Mapping[str, Any] | None = None,
    universe_requests: int = UNIVERSE_REQUESTS,
    withheld: Mapping[str, str] | None = None,
    plan_name: str = "unknown",
    daily_limit: int | None = None,
    spent_today: int = 0,
) -> Plan:
    """The items of a run: every dataset of the job (or `datasets`, those the plan serves) for every
    symbol, symbol-major, each by its family's rule (with `states[family]`, what the family's
    `read_state` found); the rest describes the key's FMP plan for `plan` to print.

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
            state=(states or {}).get(REGISTRY.family_of(dataset.name).name),
        )
        for symbol in universe
        for dataset in (REGISTRY.for_job(job) if datasets is None else datasets)
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
