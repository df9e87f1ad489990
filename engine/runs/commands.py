"""The run verbs of `mycfa-engine`: `probe`, `plan`, `run`, `status`, `refresh`, `schedule` (registered by
engine/cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import orjson

from engine.config import EngineSettings, split_symbols
from engine.db import create_pool
from engine.errors import FMPAuthError, FMPError, FMPQuotaError, StoreError, UsageError
from engine.exitcodes import ExitCode
from engine.fmp import FMPClient
from engine.fmp.entitlements import Entitlements
from engine.runs.datasets import Job
from engine.runs.plan import render_plan
from engine.runs.probe import probe, render_probe, store_probe
from engine.runs.refresh import RefreshReport, refresh
from engine.runs.runlog import configure_run_logging
from engine.runs.schedule import Scheduler, triggers
from engine.runs.service import RunService, plan_job, today_utc
from engine.runs.status import collect_status, render_status
from engine.runs.usage import save_usage, start_quota

Handler = Callable[[argparse.Namespace, EngineSettings], int]
T = TypeVar("T")


def _symbols(args: argparse.Namespace, settings: EngineSettings) -> tuple[str, ...]:
    if args.symbols:
        return split_symbols(args.symbols)
    return settings.symbols


def _fail(message: str, code: ExitCode) -> int:
    print(f"mycfa-engine: {message}", file=sys.stderr)
    return int(code)


def _ask_fmp(work: Callable[[], Coroutine[Any, Any, T]], failed: str = "") -> T | ExitCode:
    """Run a verb's FMP work; each error of the FMP and store boundaries becomes its exit code and
    one line on stderr."""
    try:
        return asyncio.run(work())
    except UsageError as exc:
        return ExitCode(_fail(str(exc), ExitCode.USAGE))
    except FMPAuthError as exc:
        return ExitCode(_fail(f"FMP rejected the API key ({exc})", ExitCode.AUTH))
    except FMPQuotaError as exc:
        return ExitCode(_fail(str(exc), ExitCode.QUOTA))
    except FMPError as exc:
        return ExitCode(_fail(f"{failed}{exc}", ExitCode.PARTIAL_FAILURE))
    except StoreError as exc:
        return ExitCode(_fail(str(exc), ExitCode.DATABASE))


def cmd_plan(args: argparse.Namespace, settings: EngineSettings) -> int:
    """Print what a run would fetch now: items, requests and ETA at the configured budget."""
    configure_run_logging(
        secrets=settings.log_secrets(), log_format=settings.log_format, level=settings.log_level
    )
    plan = _ask_fmp(lambda: plan_job(settings, Job(args.job), _symbols(args, settings)))
    if isinstance(plan, ExitCode):
        return int(plan)
    print(orjson.dumps(plan.as_dict()).decode() if args.json else render_plan(plan))
    return int(ExitCode.OK)


async def _probe(settings: EngineSettings) -> Entitlements:
    pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=1)
    try:
        async with FMPClient.open(settings) as fmp:
            await start_quota(pool, fmp, settings.fmp_daily_limit)
            try:
                found = await probe(fmp, today_utc())
            finally:
                await save_usage(pool, fmp)
        await store_probe(pool, found)
        return found
    finally:
        await pool.close()


def cmd_probe(args: argparse.Namespace, settings: EngineSettings) -> int:
    """Learn what the key's FMP plan allows (at most 10 requests), print it and store it for runs."""
    configure_run_logging(
        secrets=settings.log_secrets(), log_format=settings.log_format, level=settings.log_level
    )
    found = _ask_fmp(lambda: _probe(settings), failed="probe failed: ")
    if isinstance(found, ExitCode):
        return int(found)
    print(orjson.dumps(found.as_json()).decode() if args.json else render_probe(found))
    return int(ExitCode.OK)


def cmd_run(args: argparse.Namespace, settings: EngineSettings) -> int:
    """Run a job to its end (or resume the interrupted one); the exit code says how it went."""
    formatter = configure_run_logging(
        secrets=settings.log_secrets(), log_format=settings.log_format, level=settings.log_level
    )
    service = RunService(settings, Job(args.job), _symbols(args, settings), formatter=formatter)
    try:
        return int(asyncio.run(service.execute()))
    except UsageError as exc:  # --symbols names a non-constituent
        return _fail(str(exc), ExitCode.USAGE)


async def _status(settings: EngineSettings) -> dict[str, object]:
    pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=1)
    try:
        return await collect_status(pool)
    finally:
        await pool.close()


def cmd_status(args: argparse.Namespace, settings: EngineSettings) -> int:
    """Recent runs, rows and freshness per dataset, failed items with reasons."""
    try:
        status = asyncio.run(_status(settings))
    except StoreError as exc:
        return _fail(str(exc), ExitCode.DATABASE)
    print(orjson.dumps(status).decode() if args.json else render_status(status))
    return int(ExitCode.OK)


async def _refresh(settings: EngineSettings, full: bool) -> RefreshReport:
    pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=4)
    try:
        return await refresh(pool, full=full)
    finally:
        await pool.close()


def cmd_refresh(args: argparse.Namespace, settings: EngineSettings) -> int:
    """Refresh the serving layer's tables for what changed since their last success (--all: whole)."""
    configure_run_logging(
        secrets=settings.log_secrets(), log_format=settings.log_format, level=settings.log_level
    )
    try:
        report = asyncio.run(_refresh(settings, args.all))
    except StoreError as exc:
        return _fail(str(exc), ExitCode.DATABASE)
    print(orjson.dumps(report.as_dict()).decode())
    return int(ExitCode.OK if report.ok else ExitCode.PARTIAL_FAILURE)


def cmd_schedule(args: argparse.Namespace, settings: EngineSettings) -> int:
    """Run `full` and `prices` on their cron schedules until SIGTERM."""
    configure_run_logging(
        secrets=settings.log_secrets(), log_format=settings.log_format, level=settings.log_level
    )
    try:
        triggers(settings)
    except (ValueError, LookupError) as exc:
        return _fail(f"configuration error: MYCFA_SCHEDULE_* is invalid ({exc})", ExitCode.CONFIG)
    return asyncio.run(Scheduler(settings).serve())


def add_run_verbs(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser], handlers: dict[str, Handler]
) -> None:
    """Register probe, plan, run, status and schedule on the `mycfa-engine` parser."""
    jobs = [str(job) for job in Job]
    probe_verb = verbs.add_parser("probe", help="learn what the key's FMP plan allows (<= 10 requests)")
    probe_verb.add_argument("--json", action="store_true", help="print the result as one JSON object")
    handlers["probe"] = cmd_probe

    plan = verbs.add_parser("plan", help="what a run would fetch: items, requests, ETA (writes nothing)")
    plan.add_argument("--job", choices=jobs, default=str(Job.FULL))
    plan.add_argument("--symbols", help="comma list restricting the universe (default: MYCFA_SYMBOLS)")
    plan.add_argument("--json", action="store_true", help="print the plan as one JSON object")
    handlers["plan"] = cmd_plan

    run = verbs.add_parser("run", help="fetch and load a job; resumes an interrupted run of the same job")
    run.add_argument("--job", choices=jobs, default=str(Job.FULL))
    run.add_argument("--symbols", help="comma list restricting the universe (default: MYCFA_SYMBOLS)")
    handlers["run"] = cmd_run

    status = verbs.add_parser("status", help="recent runs, rows and freshness per dataset, failed items")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    handlers["status"] = cmd_status

    refresh_verb = verbs.add_parser("refresh", help="recompute the serving layer's tables (docs/serving.md)")
    refresh_verb.add_argument("--all", action="store_true", help="every table for every symbol")
    handlers["refresh"] = cmd_refresh

    verbs.add_parser("schedule", help="run `full` weekly and `prices` on weekday evenings until stopped")
    handlers["schedule"] = cmd_schedule
