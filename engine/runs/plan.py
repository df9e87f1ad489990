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
from engine.runs.datasets import DATASETS_BY_NAME, JOB_DATASETS, Family, Job

SECONDS_PER_WINDOW = 60  # the FMP budget is counted per 60-second window
UNIVERSE_REQUESTS = 1  # the sp500-constituent call that starts every fresh run


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    """How incremental a run is, and how the price fetch is split (for the request estimate)."""

    history_start: date
    price_overlap_days: int = 7  # refetch a week behind the last stored date to catch corrections
    statement_refresh_annual: int = 3  # restatements touch the last few fiscal years...
    statement_refresh_quarter: int = 8  # ...and the last two years of quarters
    statement_history_limit: int = 1000  # FMP's per-request maximum: the whole history at once
    price_window_days: int = 7000  # calendar days per price request (under FMP's 5,000-row cap)
    price_requests_per_window: int = 1


@dataclass(frozen=True, slots=True)
class Freshness:
    """What the store already holds: the last price date per symbol, and which statement series exist."""

    last_price: Mapping[str, date] = field(default_factory=dict)
    statement_history: frozenset[tuple[str, str, str]] = frozenset()  # (symbol, kind, period)


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

    @property
    def requests(self) -> int:
        return UNIVERSE_REQUESTS + sum(item.requests for item in self.items)

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

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": str(self.job),
            "symbols": len(self.symbols),
            "items": len(self.items),
            "requests": self.requests,
            "rate_limit_per_min": self.rate_limit,
            "eta_seconds": round(self.eta_seconds),
            "datasets": {name: {"items": n, "requests": r} for name, (n, r) in self.by_dataset().items()},
        }


def price_window_requests(start: date, end: date, policy: PlanPolicy) -> int:
    """Requests to fetch prices from `start` to `end` inclusive (at least one, even when up to date)."""
    days = max((end - start).days + 1, 1)
    return math.ceil(days / policy.price_window_days) * policy.price_requests_per_window


def estimate_requests(item: PlannedItem, policy: PlanPolicy, today: date) -> int:
    """Requests a (possibly resumed) item will send, from the parameters stored with it."""
    if DATASETS_BY_NAME[item.dataset].family is Family.PRICES and "from" in item.params:
        return price_window_requests(date.fromisoformat(str(item.params["from"])), today, policy)
    return 1


def plan_item(
    symbol: str, dataset_name: str, *, policy: PlanPolicy, freshness: Freshness, today: date
) -> PlannedItem:
    """Decide the parameters of one item from what the store already holds."""
    dataset = DATASETS_BY_NAME[dataset_name]
    if dataset.family is Family.PRICES:
        last = freshness.last_price.get(symbol)
        start = policy.history_start if last is None else last - timedelta(days=policy.price_overlap_days)
        start = max(min(start, today), policy.history_start)
        requests = price_window_requests(start, today, policy)
        return PlannedItem(symbol, dataset.name, {"from": start.isoformat()}, requests)
    if dataset.family is Family.STATEMENT:
        assert dataset.kind is not None and dataset.period is not None
        if (symbol, dataset.kind, dataset.period) in freshness.statement_history:
            limit = (
                policy.statement_refresh_annual
                if dataset.period == "annual"
                else policy.statement_refresh_quarter
            )
        else:
            limit = policy.statement_history_limit
        return PlannedItem(symbol, dataset.name, {"limit": limit}, 1)
    return PlannedItem(symbol, dataset.name, {}, 1)


def build_plan(
    job: Job,
    symbols: Iterable[str],
    *,
    policy: PlanPolicy,
    freshness: Freshness,
    rate_limit: int,
    today: date,
) -> Plan:
    """The items of a run: every dataset of the job for every symbol, symbol-major.

    Symbol-major order keeps one symbol's datasets close together in time, so a run stopped half
    way has whole companies loaded rather than one dataset of every company.
    """
    universe = tuple(dict.fromkeys(symbols))
    items = tuple(
        plan_item(symbol, dataset.name, policy=policy, freshness=freshness, today=today)
        for symbol in universe
        for dataset in JOB_DATASETS[job]
    )
    return Plan(job=job, symbols=universe, items=items, rate_limit=rate_limit)


def restrict_universe(constituents: Iterable[str], wanted: Iterable[str]) -> tuple[str, ...]:
    """The constituents restricted to `wanted` (all of them when `wanted` is empty), in index order.

    Raises:
        UsageError: a wanted symbol is not a constituent (a typo must not silently fetch nothing).
    """
    members = tuple(dict.fromkeys(constituents))
    want = tuple(dict.fromkeys(s.upper() for s in wanted))
    if not want:
        return members
    unknown = sorted(set(want) - set(members))
    if unknown:
        raise UsageError(f"not S&P 500 constituents: {', '.join(unknown)}")
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
    lines.append(
        f"ETA at {plan.rate_limit} requests/min: {format_duration(plan.eta_seconds)} "
        f"(the budget is the bound; {UNIVERSE_REQUESTS} request for the constituent list included)"
    )
    return "\n".join(lines)
