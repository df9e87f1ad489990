"""`plan` and `run` end to end: lock, universe, plan or resume, run loop, ledger, summary, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import TextIO

import asyncpg

from engine.config import EngineSettings
from engine.db import (
    create_pool,
    last_price_dates,
    latest_fiscal_dates,
    statement_fetch_dates,
    upsert_companies,
)
from engine.db.membership import load_sp500_changes
from engine.db.partitions import ensure_run_partitions
from engine.db.pool import outage_bound
from engine.db.watermarks import profiled_symbols
from engine.errors import FMPAuthError, FMPError, FMPQuotaError, RunLockedError, StoreError
from engine.exitcodes import ExitCode
from engine.fmp import FMPClient
from engine.fmp.endpoints import EOD_BULK, PROFILE_BULK, request_period
from engine.fmp.entitlements import Entitlements
from engine.runs import ledger
from engine.runs.bulk import BulkData
from engine.runs.datasets import REGISTRY, Job, served_datasets
from engine.runs.following import StatementFollower
from engine.runs.lock import run_lock
from engine.runs.loop import RunLoop
from engine.runs.metrics import RunMetrics, emf_line
from engine.runs.plan import UNIVERSE_REQUESTS, Freshness, Plan, PlanPolicy, build_plan, estimate_requests
from engine.runs.probe import current_entitlements
from engine.runs.progress import LogProgress, Progress, TtyProgress
from engine.runs.refresh import refresh
from engine.runs.reports import latest_reports
from engine.runs.runlog import RunFormatter
from engine.runs.steps import item_handler
from engine.runs.universe import Universe, fetch_universe
from engine.runs.usage import save_usage, start_quota

log = logging.getLogger("engine.run")

PRICE_ENDPOINTS = 2  # historical-price-eod/full + dividend-adjusted, per window
POOL_EXTRA = 3  # connections beyond the workers: ledger writes, the heartbeat, the statement follower


def policy_for(settings: EngineSettings, fmp: FMPClient, ent: Entitlements, today: date) -> PlanPolicy:
    """How a run plans, within what the key's plan serves (its history and statement `limit`)."""
    floor = ent.history_floor(today)
    return PlanPolicy(
        history_start=max(settings.history_start, floor) if floor else settings.history_start,
        price_overlap_days=settings.price_overlap_days,
        statement_refresh_annual=settings.statement_refresh_annual,
        statement_refresh_quarter=settings.statement_refresh_quarter,
        statement_limit_cap=ent.statement_limit,
        price_window_days=fmp.price_window_days,
        price_requests_per_window=PRICE_ENDPOINTS,
        statement_sweep_weeks=settings.statement_sweep_weeks,
    )


async def read_freshness(
    pool: asyncpg.Pool, symbols: Sequence[str], former: Mapping[str, date] | None = None
) -> Freshness:
    """What the store holds: the last price date per symbol, the statement series with their latest
    fiscal date and the engine's date of their last fetch (index probes and one small table); the
    universe's former members and which companies have a profile."""
    latest: dict[tuple[str, str, str], date] = {}
    for (symbol, kind, period), day in (await latest_fiscal_dates(pool, symbols)).items():
        key = (symbol, kind, request_period(period))
        latest[key] = max(day, latest.get(key, day))
    return Freshness(
        last_price=await last_price_dates(pool, symbols),
        statement_history=frozenset(latest),
        statement_latest=latest,
        statement_fetched=await statement_fetch_dates(pool, symbols),
        former=dict(former or {}),
        profiled=frozenset(await profiled_symbols(pool, list(former or ()))),
    )


async def know_the_plan(
    settings: EngineSettings, fmp: FMPClient, pool: asyncpg.Pool, today: date, *, store: bool = True
) -> Entitlements:
    """What the key's FMP plan allows (the stored probe, or a new one) and the day's request count,
    set on the client: where the key goes, the history floor, the daily limit."""
    quota = await start_quota(pool, fmp, settings.fmp_daily_limit)
    ent = await current_entitlements(pool, fmp, today, now=datetime.now(UTC), store=store)
    quota.set_limit(settings.fmp_daily_limit or ent.daily_limit)
    fmp.history_floor = ent.history_floor(today)
    return ent


def withheld(settings: EngineSettings, ent: Entitlements, universe: Universe, today: date) -> dict[str, str]:
    """What the plan leaves out of this run, in words for the log, `plan` and `status`."""
    out = ent.withheld()
    out.pop("constituents", None)
    if not universe.complete:
        out["constituents"] = f"the constituent list: the universe is {universe.note()}"
    floor = ent.history_floor(today)
    out.pop("history", None)
    if floor is not None and floor > settings.history_start:
        out["history"] = (
            f"prices before {floor} (the plan's {ent.history_years} years; MYCFA_HISTORY_START is "
            f"{settings.history_start})"
        )
    return out


async def make_plan(
    settings: EngineSettings,
    fmp: FMPClient,
    pool: asyncpg.Pool,
    job: Job,
    universe: Universe,
    today: date,
    ent: Entitlements,
    bulk: BulkData | None = None,
) -> Plan:
    """Plan from the store's freshness, the earnings calendar (when the job has statements, the plan
    serves the calendar and the store has some: a first load needs no calendar) and, given `bulk`
    and a plan with bulk files, which bulk endpoints answer (probed here: the answers are kept for
    the run). Datasets the plan does not serve are left out and said in `withheld`."""
    datasets = served_datasets(job, quarterly=ent.quarterly)
    families = {REGISTRY.family_of(dataset.name) for dataset in datasets}
    bulk_paths = {family.bulk_endpoint.path for family in families if family.bulk_endpoint is not None}
    symbols = universe.symbols
    freshness = await read_freshness(pool, symbols, universe.former)
    calendar_requests = 0
    if any(family.calendar for family in families) and freshness.statement_history and ent.calendar:
        before = fmp.counters.requests
        reports = await latest_reports(fmp, symbols, today)
        calendar_requests = fmp.counters.requests - before
        freshness = replace(freshness, reports=reports)
    if not ent.bulk:
        bulk = None
    if bulk is not None:
        await bulk.probe(
            today,
            prices=EOD_BULK.path in bulk_paths and bool(freshness.last_price),
            profiles=PROFILE_BULK.path in bulk_paths,
        )
    quota = fmp.quota
    return build_plan(
        job,
        symbols,
        policy=policy_for(settings, fmp, ent, today),
        freshness=freshness,
        rate_limit=settings.fmp_rate_limit,
        today=today,
        calendar_requests=calendar_requests,
        bulk_prices=bulk is not None and bool(freshness.last_price) and bulk.allows(EOD_BULK.path),
        bulk_profiles=bulk is not None and bulk.allows(PROFILE_BULK.path),
        datasets=datasets,
        states={family.name: await family.read_state(pool, symbols) for family in families},
        universe_requests=UNIVERSE_REQUESTS if universe.complete else 0,
        withheld=withheld(settings, ent, universe, today),
        plan_name=ent.plan,
        daily_limit=quota.limit if quota else None,
        spent_today=quota.spent if quota else 0,
    )


async def plan_job(
    settings: EngineSettings, job: Job, wanted: Sequence[str], *, today: date | None = None
) -> Plan:
    """What a run would do now (or on `today`); reads the stored probe (or probes without storing),
    FMP's constituent list, its earnings calendar, the bulk probes and the store. It writes only
    the day's FMP request count."""
    day = today or today_utc()
    pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=2)
    try:
        async with FMPClient.open(settings) as fmp:
            try:
                ent = await know_the_plan(settings, fmp, pool, day, store=False)
                universe = await fetch_universe(fmp, wanted, ent, settings.former_members_since)
                bulk = BulkData(fmp, universe.symbols)
                return await make_plan(settings, fmp, pool, job, universe, day, ent, bulk)
            finally:
                await save_usage(pool, fmp)
    finally:
        await pool.close()


def today_utc() -> date:
    return datetime.now(UTC).date()


class RunService:
    """One `run` invocation: everything between taking the lock and printing the summary."""

    def __init__(
        self,
        settings: EngineSettings,
        job: Job,
        wanted: Sequence[str],
        *,
        formatter: RunFormatter | None = None,
        progress_stream: TextIO | None = None,
        metrics_stream: TextIO | None = None,
        today: date | None = None,
    ) -> None:
        self.settings = settings
        self.job = job
        self.wanted = tuple(wanted)
        self.formatter = formatter
        self.progress_stream = progress_stream or sys.stderr
        self.metrics_stream = metrics_stream or sys.stdout
        self.stop = asyncio.Event()
        self.lock_lost: str | None = None  # why the run lock was lost for good, if it was
        self.today = today  # None: the UTC date when the run starts (tests move a simulated clock)
        self.bulk: BulkData | None = None

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self.stop.is_set():
            log.warning("%s: finishing items in flight, then stopping (resumable)", sig.name)
        self.stop.set()

    def _on_lock_lost(self, reason: str) -> None:
        self.lock_lost = reason
        log.error(
            "run lock lost: %s; finishing items in flight, then stopping (resumable)",
            reason,
            extra={"event": "lock_lost"},
        )
        self.stop.set()

    def _progress(self) -> Progress:
        if self.formatter is not None and not self.formatter.json_lines and self.progress_stream.isatty():
            return TtyProgress(self.progress_stream)
        return LogProgress()

    async def execute(self) -> ExitCode:
        self._install_signals()
        dsn = self.settings.database_url.get_secret_value()
        outage_s = self.settings.db_outage_s
        try:
            with outage_bound(outage_s):
                async with run_lock(dsn, on_lost=self._on_lock_lost, reconnect_s=outage_s):
                    pool = await create_pool(
                        dsn,
                        min_size=1,
                        max_size=self.settings.fmp_concurrency + POOL_EXTRA,
                        transactions_only=True,  # ledger, loads, watermarks: see create_pool
                    )
                    try:
                        async with FMPClient.open(self.settings) as fmp:
                            try:
                                return await self._run(pool, fmp)
                            finally:
                                with contextlib.suppress(StoreError):  # the error on the way out says more
                                    await save_usage(pool, fmp)
                    finally:
                        await pool.close()
        except RunLockedError as exc:
            print(f"mycfa-engine: {exc}", file=sys.stderr)
            return ExitCode.LOCKED
        except FMPAuthError as exc:
            log.error("FMP rejected the API key: %s", exc)
            return ExitCode.AUTH
        except FMPQuotaError as exc:  # spent while probing or planning: nothing was planned
            log.error("run not started: %s", exc, extra={"event": "daily_limit"})
            return ExitCode.QUOTA
        except FMPError as exc:  # the probe or the constituent list failed: nothing was planned
            log.error("run not started: %s", exc)
            return ExitCode.PARTIAL_FAILURE
        except StoreError as exc:
            log.error(
                "database error: %s%s",
                exc,
                f" (after the run lock was lost: {self.lock_lost})" if self.lock_lost else "",
            )
            return ExitCode.DATABASE

    async def _open_run(self, pool: asyncpg.Pool, fmp: FMPClient, today: date, ent: Entitlements) -> int:
        """Resume the interrupted run of the same job and universe, or plan and record a new one."""
        restriction = self.wanted or None
        unfinished = await ledger.latest_unfinished(pool)
        if unfinished is not None:
            if unfinished.job == self.job and unfinished.symbols == restriction:
                await ledger.reopen_run(pool, unfinished.run_id)
                log.info("resuming run %d (%s)", unfinished.run_id, self.job, extra={"event": "resume"})
                return unfinished.run_id
            await ledger.abandon_unfinished(pool)
            log.warning("run %d (%s) left unfinished: abandoned", unfinished.run_id, unfinished.job)
        universe = await fetch_universe(fmp, self.wanted, ent, self.settings.former_members_since)
        # the shipped list is not today's list: members missing from it are not marked removed
        await upsert_companies(pool, universe.constituents, complete=universe.complete)
        await load_sp500_changes(pool, universe.changes)
        self.bulk = BulkData(fmp, universe.symbols)
        plan = await make_plan(self.settings, fmp, pool, self.job, universe, today, ent, self.bulk)
        notes = {"fmp_plan": ent.plan, "universe": universe.note(), "withheld": dict(plan.withheld)}
        run_id = await ledger.create_run(pool, self.job, restriction, plan.items, notes=notes)
        log.info(
            "run %d planned: %d items, ~%d requests",
            run_id,
            len(plan.items),
            plan.requests,
            extra={"event": "planned", **plan.as_dict(), "datasets": None},
        )
        for what in plan.withheld.values():
            log.warning("FMP plan %s: %s", ent.plan, what, extra={"event": "withheld"})
        return run_id

    async def _run(self, pool: asyncpg.Pool, fmp: FMPClient) -> ExitCode:
        metrics = RunMetrics(rate_limit=self.settings.fmp_rate_limit)
        today = self.today or today_utc()
        ent = await know_the_plan(self.settings, fmp, pool, today)
        run_id = await self._open_run(pool, fmp, today, ent)
        await ensure_run_partitions(pool, self.settings.history_start, today)
        if self.formatter is not None:
            self.formatter.run_id = run_id
        counts = await ledger.item_counts(pool, run_id)
        items = await ledger.pending_items(pool, run_id)
        bulk = self.bulk or BulkData(fmp, {item.symbol for item in items})  # resumed: found on first use
        policy = policy_for(self.settings, fmp, ent, today)
        planned_requests = sum(estimate_requests(item, policy, today) for item in items)
        # Each company's statement tables are written as soon as its statement items are in (not all at the end).
        follower = StatementFollower(pool, items)
        loop = RunLoop(
            pool=pool,
            run_id=run_id,
            handler=follower.wrap(item_handler(fmp, pool, today, bulk, run_id=run_id)),
            metrics=metrics,
            concurrency=self.settings.fmp_concurrency,
            total_items=sum(counts.values()),
            planned_requests=planned_requests,
            stop=self.stop,
            progress=self._progress(),
            secrets=self.settings.log_secrets(),
            client_counters=lambda: (fmp.counters.requests, fmp.counters.rate_limited, fmp.counters.retries),
        )
        outcome = await loop.execute(
            items,
            done_before=counts.get("done", 0),
            failed_before=counts.get("failed", 0) + counts.get("skipped", 0),
        )
        metrics.bulk = dict(bulk.access)
        followed = await follower.close()
        if outcome.exit_code not in (ExitCode.INTERRUPTED, ExitCode.AUTH) and self.lock_lost is None:
            # What the run changed, into the tables the pages read (a failure is recorded, not raised).
            metrics.serving = (await refresh(pool, run_id=run_id, followed=followed)).as_dict()
        summary = metrics.as_dict()
        exit_code, error = outcome.exit_code, outcome.error
        if self.lock_lost is not None:  # stopped for the database, not by a signal
            exit_code, error = ExitCode.DATABASE, f"run lock lost: {self.lock_lost}"
        await ledger.finish_run(
            pool,
            run_id,
            state=outcome.state,
            exit_code=int(exit_code),
            metrics=summary,
            error=error,
        )
        print(emf_line(metrics, run_id=run_id, job=str(self.job)), file=self.metrics_stream, flush=True)
        log.info(
            "run %d %s: %s",
            run_id,
            outcome.state,
            ", ".join(f"{n} {state}" for state, n in sorted(outcome.counts.items())),
            extra={
                "event": "summary",
                "state": outcome.state,
                "exit_code": int(exit_code),
                "items": outcome.counts,
                **summary,
            },
        )
        return exit_code
