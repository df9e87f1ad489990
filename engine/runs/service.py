"""`plan` and `run` end to end: lock, universe, plan or resume, run loop, ledger, summary, metrics."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, TextIO

import asyncpg

from engine.config import EngineSettings
from engine.db import (
    create_pool,
    last_price_dates,
    latest_fiscal_dates,
    statement_fetch_dates,
    upsert_companies,
)
from engine.db.membership import former_members, load_sp500_changes, parse_changes
from engine.db.partitions import ensure_run_partitions
from engine.db.pool import outage_bound
from engine.db.watermarks import profiled_symbols
from engine.errors import FMPAuthError, FMPError, RunLockedError, StoreError
from engine.exitcodes import ExitCode
from engine.fmp import FMPClient
from engine.fmp.endpoints import CONSTITUENTS, EOD_BULK, PROFILE_BULK, SP500_CHANGES, request_period
from engine.runs import ledger
from engine.runs.bulk import BulkData
from engine.runs.datasets import JOB_DATASETS, Family, Job
from engine.runs.lock import run_lock
from engine.runs.loop import RunLoop
from engine.runs.metrics import RunMetrics, emf_line
from engine.runs.plan import Freshness, Plan, PlanPolicy, build_plan, estimate_requests, restrict_universe
from engine.runs.progress import LogProgress, Progress, TtyProgress
from engine.runs.refresh import refresh
from engine.runs.reports import latest_reports
from engine.runs.runlog import RunFormatter
from engine.runs.steps import item_handler

log = logging.getLogger("engine.run")

PRICE_ENDPOINTS = 2  # historical-price-eod/full + dividend-adjusted, per window
POOL_EXTRA = 2  # connections beyond the workers: ledger writes and the heartbeat


def policy_for(settings: EngineSettings, fmp: FMPClient) -> PlanPolicy:
    return PlanPolicy(
        history_start=settings.history_start,
        price_overlap_days=settings.price_overlap_days,
        statement_refresh_annual=settings.statement_refresh_annual,
        statement_refresh_quarter=settings.statement_refresh_quarter,
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


@dataclass(frozen=True, slots=True)
class Universe:
    """Who a run covers: the constituent list and the index's changes as FMP sent them, the run's
    symbols (constituents, then former members; restricted to `wanted` when given) and the day each
    former member among them left."""

    constituents: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    symbols: tuple[str, ...]
    former: dict[str, date]


async def fetch_changes(fmp: FMPClient) -> list[dict[str, Any]]:
    """The index's changes; [] when FMP will not give them (a plan without the endpoint, retries spent):
    the run goes on with today's members alone and says so."""
    try:
        return await fmp.fetch(SP500_CHANGES)
    except FMPAuthError:
        raise
    except FMPError as exc:
        log.warning("index changes not fetched (%s): no former members this run", exc)
        return []


async def fetch_universe(fmp: FMPClient, wanted: Sequence[str], since: date | None) -> Universe:
    """The constituent list and the index's changes; former members are those that left on or after
    `since` (None: none)."""
    rows = await fmp.fetch(CONSTITUENTS)
    changes = await fetch_changes(fmp)
    current = [str(r["symbol"]).upper() for r in rows]
    left = former_members(parse_changes(changes)[0], current, since) if since is not None else {}
    symbols = restrict_universe([*current, *sorted(left, key=lambda s: (left[s], s), reverse=True)], wanted)
    chosen = set(symbols)
    return Universe(rows, changes, symbols, {s: day for s, day in left.items() if s in chosen})


async def make_plan(
    settings: EngineSettings,
    fmp: FMPClient,
    pool: asyncpg.Pool,
    job: Job,
    symbols: Sequence[str],
    today: date,
    bulk: BulkData | None = None,
    former: Mapping[str, date] | None = None,
) -> Plan:
    """Plan from the store's freshness, the earnings calendar (when the job has statements and the
    store has some: a first load needs no calendar) and, given `bulk`, which bulk endpoints the plan
    allows (probed here: the probes' answers are kept for the run)."""
    families = {dataset.family for dataset in JOB_DATASETS[job]}
    freshness = await read_freshness(pool, symbols, former)
    calendar_requests = 0
    if Family.STATEMENT in families and freshness.statement_history:
        before = fmp.counters.requests
        reports = await latest_reports(fmp, symbols, today)
        calendar_requests = fmp.counters.requests - before
        freshness = replace(freshness, reports=reports)
    if bulk is not None:
        await bulk.probe(
            today,
            prices=Family.PRICES in families and bool(freshness.last_price),
            profiles=Family.PROFILE in families,
        )
    return build_plan(
        job,
        symbols,
        policy=policy_for(settings, fmp),
        freshness=freshness,
        rate_limit=settings.fmp_rate_limit,
        today=today,
        calendar_requests=calendar_requests,
        bulk_prices=bulk is not None and bool(freshness.last_price) and bulk.allows(EOD_BULK.path),
        bulk_profiles=bulk is not None and bulk.allows(PROFILE_BULK.path),
    )


async def plan_job(
    settings: EngineSettings, job: Job, wanted: Sequence[str], *, today: date | None = None
) -> Plan:
    """What a run would do now (or on `today`); reads FMP's constituent list, its earnings calendar,
    the bulk probes and the store, writes nothing."""
    pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=2)
    try:
        async with FMPClient.open(settings) as fmp:
            universe = await fetch_universe(fmp, wanted, settings.former_members_since)
            bulk = BulkData(fmp, universe.symbols)
            day = today or today_utc()
            return await make_plan(settings, fmp, pool, job, universe.symbols, day, bulk, universe.former)
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
                            return await self._run(pool, fmp)
                    finally:
                        await pool.close()
        except RunLockedError as exc:
            print(f"mycfa-engine: {exc}", file=sys.stderr)
            return ExitCode.LOCKED
        except FMPAuthError as exc:
            log.error("FMP rejected the API key: %s", exc)
            return ExitCode.AUTH
        except FMPError as exc:  # the constituent list could not be fetched: nothing was planned
            log.error("run not started: %s", exc)
            return ExitCode.PARTIAL_FAILURE
        except StoreError as exc:
            log.error(
                "database error: %s%s",
                exc,
                f" (after the run lock was lost: {self.lock_lost})" if self.lock_lost else "",
            )
            return ExitCode.DATABASE

    async def _open_run(self, pool: asyncpg.Pool, fmp: FMPClient, today: date) -> int:
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
        universe = await fetch_universe(fmp, self.wanted, self.settings.former_members_since)
        await upsert_companies(pool, universe.constituents)
        await load_sp500_changes(pool, universe.changes)
        self.bulk = BulkData(fmp, universe.symbols)
        plan = await make_plan(
            self.settings, fmp, pool, self.job, universe.symbols, today, self.bulk, universe.former
        )
        run_id = await ledger.create_run(pool, self.job, restriction, plan.items)
        log.info(
            "run %d planned: %d items, ~%d requests",
            run_id,
            len(plan.items),
            plan.requests,
            extra={"event": "planned", **plan.as_dict(), "datasets": None},
        )
        return run_id

    async def _run(self, pool: asyncpg.Pool, fmp: FMPClient) -> ExitCode:
        metrics = RunMetrics(rate_limit=self.settings.fmp_rate_limit)
        today = self.today or today_utc()
        run_id = await self._open_run(pool, fmp, today)
        await ensure_run_partitions(pool, self.settings.history_start, today)
        if self.formatter is not None:
            self.formatter.run_id = run_id
        counts = await ledger.item_counts(pool, run_id)
        items = await ledger.pending_items(pool, run_id)
        bulk = self.bulk or BulkData(fmp, {item.symbol for item in items})  # resumed: found on first use
        policy = policy_for(self.settings, fmp)
        planned_requests = sum(estimate_requests(item, policy, today) for item in items)
        loop = RunLoop(
            pool=pool,
            run_id=run_id,
            handler=item_handler(fmp, pool, today, bulk, run_id=run_id),
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
        if outcome.exit_code not in (ExitCode.INTERRUPTED, ExitCode.AUTH) and self.lock_lost is None:
            # What the run changed, into the tables the pages read (a failure is recorded, not raised).
            metrics.serving = (await refresh(pool, run_id=run_id)).as_dict()
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
