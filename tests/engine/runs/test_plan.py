"""The planner: incremental windows, statement refresh depth, universe restriction, cost estimate."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from engine.errors import UsageError
from engine.runs.datasets import REGISTRY, STATEMENTS, Job
from engine.runs.families.statements import statement_reason, sweep_bucket
from engine.runs.plan import (
    Freshness,
    PlannedItem,
    PlanPolicy,
    Reason,
    build_plan,
    format_duration,
    plan_item,
    render_plan,
    restrict_universe,
)

TODAY = date(2026, 11, 25)
POLICY = PlanPolicy(history_start=date(1990, 1, 1), price_window_days=15 * 365, price_requests_per_window=2)


def planned(symbol: str, dataset: str, freshness: Freshness, today: date = TODAY) -> PlannedItem:
    item = plan_item(symbol, dataset, policy=POLICY, freshness=freshness, today=today)
    assert item is not None
    return item


def test_plan_item_prices_without_history_starts_at_history_start() -> None:
    """A symbol with no stored price is fetched from MYCFA_HISTORY_START, in windows under the cap."""
    item = planned("AAPL", "prices", Freshness())
    assert item.params == {"from": "1990-01-01"}
    assert item.requests == 3 * 2  # 36 years = 3 windows of 15 years, full + adjusted


def test_plan_item_prices_up_to_date_makes_one_window_with_overlap() -> None:
    """A symbol stored up to yesterday refetches only the overlap: one window per price endpoint."""
    fresh = Freshness(last_price={"AAPL": date(2026, 11, 24)})
    item = planned("AAPL", "prices", fresh)
    assert item.params == {"from": "2026-11-17"}
    assert item.requests == 2


def test_plan_item_statements_use_small_limit_when_history_exists() -> None:
    """Stored statement series refetch only recent periods; new series fetch the whole history."""
    fresh = Freshness(statement_history=frozenset({("AAPL", "income", "annual")}))
    known = planned("AAPL", "income_annual", fresh)
    new = planned("AAPL", "income_quarter", fresh)
    assert known.params == {"limit": POLICY.statement_refresh_annual, "reason": "all"}
    assert new.params == {"limit": POLICY.statement_history_limit, "reason": "new"}


def _stored(symbol: str, annual_end: date, quarter_end: date, fetched: date) -> Freshness:
    latest = {(symbol, "income", "annual"): annual_end, (symbol, "income", "quarter"): quarter_end}
    return Freshness(
        statement_history=frozenset(latest),
        statement_latest=latest,
        statement_fetched=dict.fromkeys(latest, fetched),
        reports={},
    )


def test_statement_reason_follows_reports_after_the_stored_period() -> None:
    """A report after the stored quarter makes the quarter due; the annual only after a year."""
    fresh = _stored("AAPL", date(2025, 9, 27), date(2026, 6, 27), fetched=TODAY - timedelta(days=7))
    quiet = statement_reason("AAPL", "income", "quarter", POLICY, fresh, TODAY)
    reported = replace(fresh, reports={"AAPL": date(2026, 10, 30)})
    assert quiet is None or quiet is Reason.SWEEP
    assert statement_reason("AAPL", "income", "quarter", POLICY, reported, TODAY) is Reason.REPORTED
    # the Q4 release (FY end 2026-09-26, reported 2026-10-30) makes the annual series due too,
    # and it stays due until the 10-K's period is stored
    assert statement_reason("AAPL", "income", "annual", POLICY, reported, TODAY) is Reason.REPORTED
    # a release about the stored quarter itself (filed late) does not make it due again
    late = replace(fresh, reports={"AAPL": date(2026, 8, 1)})
    assert statement_reason("AAPL", "income", "quarter", POLICY, late, TODAY) is not Reason.REPORTED


def test_statement_reason_sweeps_each_series_within_the_period() -> None:
    """Without reports, a stored series is fetched in its symbol's sweep week and never left longer."""
    weeks = POLICY.statement_sweep_weeks
    fetched_on = TODAY
    due_weeks = []
    for week in range(1, 3 * weeks):
        day = TODAY + timedelta(weeks=week)
        fresh = _stored("MSFT", date(2026, 6, 30), date(2026, 9, 30), fetched=fetched_on)
        if statement_reason("MSFT", "income", "quarter", POLICY, fresh, day) is Reason.SWEEP:
            due_weeks.append(week)
            fetched_on = day
    gaps = [b - a for a, b in zip([0, *due_weeks], due_weeks, strict=False)]
    assert due_weeks
    assert max(gaps) <= weeks
    assert set(gaps[1:]) == {weeks}
    # after the first cycle the sweep falls in the symbol's own week
    assert {(TODAY + timedelta(weeks=w)).toordinal() // 7 % weeks for w in due_weeks[1:]} == {
        sweep_bucket("MSFT", weeks)
    }


def test_build_plan_counts_the_series_left_alone_and_shows_the_saving() -> None:
    """`plan` lists statement reasons and the requests the calendar saved."""
    symbols = ("AAPL", "MSFT")
    latest: dict[tuple[str, str, str], date] = {
        (s, d.kind or "", d.period or ""): date(2026, 9, 30) for s in symbols for d in STATEMENTS
    }
    fresh = Freshness(
        statement_history=frozenset(latest),
        statement_latest=latest,
        statement_fetched=dict.fromkeys(latest, TODAY - timedelta(days=7)),
        reports={"AAPL": date(2027, 1, 5)},
    )
    plan = build_plan(
        Job.FUNDAMENTALS,
        symbols,
        policy=POLICY,
        freshness=fresh,
        rate_limit=120,
        today=date(2027, 1, 9),
        calendar_requests=1,
    )
    reasons = plan.statement_reasons()
    assert reasons["reported"] == 5  # AAPL's quarterly series; its annual ones are not a year on
    assert plan.statements_skipped == 20 - sum(v for k, v in reasons.items() if k != "skipped")
    assert plan.as_dict()["requests_saved"] == plan.statements_skipped - 1
    text = render_plan(plan)
    assert "statement series: reported 5" in text
    assert "saved by the earnings calendar" in text


def test_build_plan_jobs_select_their_datasets() -> None:
    """`full` plans every dataset, `fundamentals` all but prices, `prices` only prices, per symbol."""
    for job, expected in ((Job.FULL, 12), (Job.FUNDAMENTALS, 11), (Job.PRICES, 1)):
        plan = build_plan(job, ["A", "B"], policy=POLICY, freshness=Freshness(), rate_limit=120, today=TODAY)
        assert len(plan.items) == 2 * expected == 2 * len(REGISTRY.for_job(job))
        assert {item.symbol for item in plan.items} == {"A", "B"}
    prices = build_plan(Job.PRICES, ["A"], policy=POLICY, freshness=Freshness(), rate_limit=120, today=TODAY)
    assert {item.dataset for item in prices.items} == {"prices"}


def test_build_plan_eta_follows_the_budget() -> None:
    """The ETA is the request estimate (constituent call included) spread over the budget."""
    fresh = Freshness(last_price={s: date(2026, 11, 24) for s in ("A", "B", "C")})
    plan = build_plan(Job.PRICES, ["A", "B", "C"], policy=POLICY, freshness=fresh, rate_limit=60, today=TODAY)
    assert plan.requests == 2 + 3 * 2
    assert plan.eta_seconds == pytest.approx(8.0)
    assert plan.as_dict()["datasets"] == {"prices": {"items": 3, "requests": 6}}


def test_restrict_universe_keeps_index_order_and_rejects_unknown() -> None:
    """--symbols restricts the constituents (case-insensitive) and a non-member is an error."""
    assert restrict_universe(["MMM", "AOS", "ABT"], []) == ("MMM", "AOS", "ABT")
    assert restrict_universe(["MMM", "AOS", "ABT"], ["abt", "MMM"]) == ("MMM", "ABT")
    with pytest.raises(UsageError, match="ZZZZ"):
        restrict_universe(["MMM"], ["ZZZZ"])


def test_former_member_within_its_tail_is_planned_as_a_member_never_from_bulk() -> None:
    """A company that left the index less than a year ago is kept current like a member, but never cut
    from the bulk answers (they list today's members)."""
    fresh = Freshness(
        last_price={"OLD": TODAY - timedelta(days=1)}, former={"OLD": TODAY - timedelta(days=200)}
    )
    item = plan_item("OLD", "prices", policy=POLICY, freshness=fresh, today=TODAY, bulk_prices=True)
    assert item is not None
    assert item.params == {"from": (TODAY - timedelta(days=8)).isoformat()}
    profile = plan_item("OLD", "profile", policy=POLICY, freshness=fresh, today=TODAY, bulk_profiles=True)
    assert profile is not None
    assert profile.params == {}


def test_former_member_past_its_tail_fetches_only_what_was_never_stored() -> None:
    """A year after it left a former member is frozen: prices up to that year's end once, each statement
    series once whole, the profile once; then nothing more."""
    left = date(2017, 9, 1)
    empty = Freshness(former={"YHOO": left})
    prices = planned("YHOO", "prices", empty)
    assert prices.params == {"from": "1990-01-01", "to": "2018-09-02"}
    assert prices.requests == 2 * 2  # 28 years: two 15-year windows, full + adjusted
    assert planned("YHOO", "income_quarter", empty).params == {"limit": 1000, "reason": "new"}
    assert planned("YHOO", "profile", empty).params == {}
    stored = Freshness(
        former={"YHOO": left},
        last_price={"YHOO": left},
        statement_history=frozenset({("YHOO", "income", "quarter")}),
        profiled=frozenset({"YHOO"}),
    )
    for dataset in ("prices", "income_quarter", "profile"):
        assert plan_item("YHOO", dataset, policy=POLICY, freshness=stored, today=TODAY) is None
    plan = build_plan(Job.FULL, ["YHOO"], policy=POLICY, freshness=stored, rate_limit=120, today=TODAY)
    assert {item.dataset for item in plan.items} == {d.name for d in STATEMENTS} - {"income_quarter"}


def test_restrict_universe_takes_former_members_listed_after_the_constituents() -> None:
    """The universe is the constituents, then the former members; --symbols may name either."""
    assert restrict_universe(["MMM", "AOS", "YHOO"], ["yhoo", "mmm"]) == ("MMM", "YHOO")
    with pytest.raises(UsageError, match="constituents or former members: ZZZZ"):
        restrict_universe(["MMM", "YHOO"], ["ZZZZ"])


def test_format_duration_scales_units() -> None:
    """Durations read as seconds, minutes or hours."""
    assert format_duration(12.4) == "12s"
    assert format_duration(245) == "4m 05s"
    assert format_duration(3720) == "1h 02m"
