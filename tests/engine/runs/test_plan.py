"""The planner: incremental windows, statement refresh depth, universe restriction, cost estimate."""

from __future__ import annotations

from datetime import date

import pytest

from engine.errors import UsageError
from engine.runs.datasets import JOB_DATASETS, Job
from engine.runs.plan import Freshness, PlanPolicy, build_plan, format_duration, plan_item, restrict_universe

TODAY = date(2026, 11, 25)
POLICY = PlanPolicy(history_start=date(1990, 1, 1), price_window_days=15 * 365, price_requests_per_window=2)


def test_plan_item_prices_without_history_starts_at_history_start() -> None:
    """A symbol with no stored price is fetched from MYCFA_HISTORY_START, in windows under the cap."""
    item = plan_item("AAPL", "prices", policy=POLICY, freshness=Freshness(), today=TODAY)
    assert item.params == {"from": "1990-01-01"}
    assert item.requests == 3 * 2  # 36 years = 3 windows of 15 years, full + adjusted


def test_plan_item_prices_up_to_date_makes_one_window_with_overlap() -> None:
    """A symbol stored up to yesterday refetches only the overlap: one window per price endpoint."""
    fresh = Freshness(last_price={"AAPL": date(2026, 11, 24)})
    item = plan_item("AAPL", "prices", policy=POLICY, freshness=fresh, today=TODAY)
    assert item.params == {"from": "2026-11-17"}
    assert item.requests == 2


def test_plan_item_statements_use_small_limit_when_history_exists() -> None:
    """Stored statement series refetch only recent periods; new series fetch the whole history."""
    fresh = Freshness(statement_history=frozenset({("AAPL", "income", "annual")}))
    known = plan_item("AAPL", "income_annual", policy=POLICY, freshness=fresh, today=TODAY)
    new = plan_item("AAPL", "income_quarter", policy=POLICY, freshness=fresh, today=TODAY)
    assert known.params == {"limit": POLICY.statement_refresh_annual}
    assert new.params == {"limit": POLICY.statement_history_limit}


def test_build_plan_jobs_select_their_datasets() -> None:
    """`full` plans every dataset, `fundamentals` all but prices, `prices` only prices, per symbol."""
    for job, expected in ((Job.FULL, 12), (Job.FUNDAMENTALS, 11), (Job.PRICES, 1)):
        plan = build_plan(job, ["A", "B"], policy=POLICY, freshness=Freshness(), rate_limit=120, today=TODAY)
        assert len(plan.items) == 2 * expected == 2 * len(JOB_DATASETS[job])
        assert {item.symbol for item in plan.items} == {"A", "B"}
    prices = build_plan(Job.PRICES, ["A"], policy=POLICY, freshness=Freshness(), rate_limit=120, today=TODAY)
    assert {item.dataset for item in prices.items} == {"prices"}


def test_build_plan_eta_follows_the_budget() -> None:
    """The ETA is the request estimate (constituent call included) spread over the budget."""
    fresh = Freshness(last_price={s: date(2026, 11, 24) for s in ("A", "B", "C")})
    plan = build_plan(Job.PRICES, ["A", "B", "C"], policy=POLICY, freshness=fresh, rate_limit=60, today=TODAY)
    assert plan.requests == 1 + 3 * 2
    assert plan.eta_seconds == pytest.approx(7.0)
    assert plan.as_dict()["datasets"] == {"prices": {"items": 3, "requests": 6}}


def test_restrict_universe_keeps_index_order_and_rejects_unknown() -> None:
    """--symbols restricts the constituents (case-insensitive) and a non-member is an error."""
    assert restrict_universe(["MMM", "AOS", "ABT"], []) == ("MMM", "AOS", "ABT")
    assert restrict_universe(["MMM", "AOS", "ABT"], ["abt", "MMM"]) == ("MMM", "ABT")
    with pytest.raises(UsageError, match="ZZZZ"):
        restrict_universe(["MMM"], ["ZZZZ"])


def test_format_duration_scales_units() -> None:
    """Durations read as seconds, minutes or hours."""
    assert format_duration(12.4) == "12s"
    assert format_duration(245) == "4m 05s"
    assert format_duration(3720) == "1h 02m"
