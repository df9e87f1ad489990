"""Financial statements: one series per kind and request period, fetched when the company reported,
in its sweep week, or never before (the event-driven planner rule), and merged into `statements`."""

from __future__ import annotations

import zlib
from datetime import date, timedelta
from typing import Any, ClassVar

from engine.db import load_statement_rows, record_statement_fetch
from engine.db.load import LoadOptions
from engine.db.validate import parse_statements
from engine.db.watermarks import market_cap
from engine.errors import FMPEntitlementError
from engine.fmp import ENDPOINTS
from engine.fmp.endpoints import PERIODS, STATEMENT_KINDS
from engine.fmp.entitlements import limit_cap
from engine.runs.copied import Copied
from engine.runs.family import DatasetFamily, ItemContext, Loaded, PlanInputs
from engine.runs.items import Dataset, Family, Freshness, Job, PlannedItem, PlanPolicy, Reason

STATEMENTS = tuple(
    Dataset(f"{kind}_{period}", Family.STATEMENT, kind=kind, period=period)
    for kind in STATEMENT_KINDS
    for period in PERIODS
)

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


class Statements(DatasetFamily):
    """`statements`: income, balance, cash flow, ratios and key metrics, annual and quarterly."""

    name: ClassVar[str] = Family.STATEMENT
    order: ClassVar[int] = 20
    datasets: ClassVar[tuple[Dataset, ...]] = STATEMENTS
    jobs: ClassVar[frozenset[Job]] = frozenset({Job.FULL, Job.FUNDAMENTALS})
    calendar: ClassVar[bool] = True

    def plan(self, symbol: str, dataset: Dataset, inputs: PlanInputs) -> PlannedItem | None:
        assert dataset.kind is not None
        assert dataset.period is not None
        policy = inputs.policy
        reason = statement_reason(
            symbol, dataset.kind, dataset.period, policy, inputs.freshness, inputs.today
        )
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

    def plan_frozen(
        self, symbol: str, dataset: Dataset, left: date, inputs: PlanInputs
    ) -> PlannedItem | None:
        if (symbol, dataset.kind, dataset.period) in inputs.freshness.statement_history:
            return None
        whole = {"limit": inputs.policy.statement_history_limit, "reason": str(Reason.NEW)}
        return PlannedItem(symbol, dataset.name, whole, 1)

    async def load(self, ctx: ItemContext, item: PlannedItem, dataset: Dataset) -> Loaded:
        """Load the series; a `limit` the plan refuses is lowered to the one FMP names and asked again
        (the clip is returned for the ledger)."""
        assert dataset.kind is not None
        assert dataset.period is not None
        spec = ENDPOINTS[dataset.kind]
        limit = int(item.params.get("limit", 0)) or None
        clipped: dict[str, Any] | None = None
        try:
            rows = await ctx.fmp.fetch(spec, symbol=item.symbol, period=dataset.period, limit=limit)
        except FMPEntitlementError as exc:
            cap = limit_cap(exc.reason)
            if cap is None or (limit is not None and cap >= limit):
                raise
            clipped = {"limit": cap, "asked": limit, "fmp": exc.reason}
            rows = await ctx.fmp.fetch(spec, symbol=item.symbol, period=dataset.period, limit=cap)
        parsed = parse_statements(
            item.symbol,
            dataset.kind,
            rows,
            numeric=spec.numeric,
            market_cap=await market_cap(ctx.pool, item.symbol),
        )
        options: LoadOptions = {} if ctx.run_id is None else {"run_id": ctx.run_id}
        result = await load_statement_rows(
            ctx.pool, item.symbol, dataset.kind, parsed.rows, quarantined=parsed.quarantined, **options
        )
        # After the commit: a crash in between only means the series is refetched once more.
        await record_statement_fetch(ctx.pool, item.symbol, dataset.kind, dataset.period, ctx.today)
        copied = None
        if result.copied is not None and not parsed.quarantined:
            copied_rows, stamp = result.copied  # the loader's deduplicated rows: the parsed ones, or fewer
            payloads = {id(row): payload for row, payload in zip(parsed.rows, parsed.payloads, strict=True)}
            copied = Copied.of(copied_rows, stamp, [payloads[id(row)] for row in copied_rows])
        return Loaded(result.changed, clipped=clipped, copied=copied)


FAMILY = Statements()
