"""The planner's vocabulary: jobs, datasets, a planned item, the planning policy and the store's freshness.

It sits below the planner, the dataset families and the registry, so each of them can use it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from engine.fmp.endpoints import Period

# A former member of the index is kept current like a member until this long after it left (a screen
# dated the day it left follows it a year forward), then frozen: only what was never stored is fetched.
FORMER_TAIL_DAYS = 366


class Job(StrEnum):
    """The jobs ops schedule: `full` weekly, `prices` on weekday evenings, `fundamentals` on demand."""

    FULL = "full"
    FUNDAMENTALS = "fundamentals"
    PRICES = "prices"


class Family(StrEnum):
    """The engine's own dataset families (engine/runs/families/); a registered family may add another."""

    PROFILE = "profile"
    STATEMENT = "statement"
    PRICES = "prices"


@dataclass(frozen=True, slots=True)
class Dataset:
    """One dataset of one symbol: the unit the run ledger tracks (`run_items.dataset` is `name`)."""

    name: str
    family: str  # the name of the family that plans, fetches and loads it
    kind: str | None = None  # statements.kind for statement datasets
    period: Period | None = None  # the request period, for statement datasets


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


def price_window_requests(start: date, end: date, policy: PlanPolicy) -> int:
    """Requests to fetch prices from `start` to `end` inclusive (at least one, even when up to date)."""
    days = max((end - start).days + 1, 1)
    return math.ceil(days / policy.price_window_days) * policy.price_requests_per_window
