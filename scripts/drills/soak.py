"""Soak: analysts on every page and the scheduler's jobs for `--minutes`, with a fault every few minutes.

Steps, on a cluster of the drill's own: a clean full ingest into a database `clean` (the content to
compare with), a first full ingest into `mycfa`, then for `--minutes`: the dashboard (2 gunicorn
workers) with `--users` analysts replaying devkit/loadmix.py's clicks on every page (each with an
account and an address of their own, arriving over the first minute, logging in once; a fresh login
every 10 s besides), `mycfa-engine schedule` with its daily (`prices`) and weekly (`full`) jobs
on a compressed clock, and faults in random order, one at a time: primary failover, replica replay
paused past the lag limit, kill -9 of the engine's run, FMP 5xx/HTML/truncated bodies/resets/stalls,
kill -9 of a dashboard worker, the audit role refused logins for a while. Writers (the engine, the
audit trail) name both nodes with `target_session_attrs=read-write`, as RDS's endpoint follows the
primary. Then the faults stop and a `full` run catches up (the whole recovery, docs/runbook.md).

Figures: availability (requests answered without error / all), the longest outage an analyst saw,
the runs by state with the failed items' reasons, rows lost or duplicated against the clean ingest,
memory (PSS) per program over time with its slope after warm-up, and disk written per hour (WAL,
logs, audit rows) projected to a 30-day month.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import psycopg

from . import harness, soak_load, soak_measure

AVAILABILITY_GOAL = 99.9  # percent; the design asks 99.5
FAULT_RATE = 0.3
STALL_S = 35  # past the client's 30 s timeout
CATCH_UP_RUNS = 3
KINDS = ("failover", "replica-paused", "engine-kill", "fmp-faults", "worker-kill", "audit-refused")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=60, help="length of the soak (default 60)")
    parser.add_argument("--symbols", type=int, default=503, help="universe size (default 503)")
    parser.add_argument("--users", type=int, default=100, help="logged-in analysts (default 100)")
    parser.add_argument("--seed", type=int, default=34, help="order and timing of the faults (default 34)")
    parser.add_argument(
        "--availability-goal", type=float, default=AVAILABILITY_GOAL,
        help=f"percent of requests answered (default {AVAILABILITY_GOAL}; CI's short run asks 99: a few"
        " resets at a worker kill weigh more in 5 minutes)",
    )  # fmt: skip
    parser.add_argument(
        "--recount", metavar="RAW", type=Path,
        help="print the figures of a kept soak-raw.json (MYCFA_DRILL_KEEP=1) instead of running a soak",
    )  # fmt: skip


def writer_url(cluster: harness.DrillCluster, which: str, database: str = "mycfa") -> str:
    """`which` URL naming both nodes, connecting to whichever is the primary (libpq and asyncpg)."""
    url = cluster.url(which, database)
    ports = (cluster.info["primary_port"], cluster.info["replica_port"])
    head, _, rest = url.partition("@")
    return f"{head}@{','.join(f'127.0.0.1:{p}' for p in ports)}/{rest.split('/', 1)[1]}?target_session_attrs=read-write"


class Soak:
    """The processes of a soak, and the faults done to them."""

    def __init__(self, root: Path, cluster: harness.DrillCluster, fake: Any, minutes: float) -> None:
        self.root, self.cluster, self.fake = root, cluster, fake
        self.env = harness.engine_env(
            writer_url(cluster, "owner_url"), fake, (),
            MYCFA_SCHEDULE_PRICES=f"*/{max(1, round(minutes / 20))} * * * *",  # the "daily" job
            MYCFA_SCHEDULE_FULL=f"*/{max(3, round(minutes / 6))} * * * *",  # the "weekly" job
            MYCFA_DB_OUTAGE_S="120",
        )  # fmt: skip
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.dashboard = harness.Dashboard(
            root / "dashboard", primary_url=cluster.url("reader_url"),
            replica_urls=[cluster.url("replica_reader_url")], admin_url=writer_url(cluster, "operator_url"),
            audit_url=writer_url(cluster, "audit_url"),
        )  # fmt: skip
        self.events: list[tuple[float, str, str]] = []  # (time, fault, what happened)

    def start_scheduler(self) -> None:
        self.scheduler = harness.start_engine(self.env, "schedule", log_file=self.root / "engine.log")

    def stop_scheduler(self) -> None:
        if self.scheduler is not None and self.scheduler.poll() is None:
            self.scheduler.send_signal(signal.SIGTERM)
            try:
                self.scheduler.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.scheduler.kill()
                self.scheduler.wait()

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(writer_url(self.cluster, "admin_url", "postgres"), autocommit=True)

    # -- the faults: each returns what happened, in one line --------------------------------------------
    def fault(self, kind: str, hold_s: float) -> None:
        started = time.time()
        action: dict[str, Callable[[float], str]] = {
            "failover": self.failover, "replica-paused": self.replica_paused, "engine-kill": self.engine_kill,
            "fmp-faults": self.fmp_faults, "worker-kill": self.worker_kill, "audit-refused": self.audit_refused,
        }  # fmt: skip
        try:
            what = action[kind](hold_s)
        except (harness.DrillFailed, psycopg.Error, OSError) as exc:
            what = f"could not be done: {exc}"
        self.events.append((started, kind, what))
        harness.log(f"fault {kind}: {what}")

    def failover(self, _: float) -> str:
        self.cluster.devdb("promote", "--json")
        self.cluster.refresh()
        return f"replica promoted; primary now on port {self.cluster.info['primary_port']}, replica rebuilt"

    def replica_paused(self, hold_s: float) -> str:
        with psycopg.connect(self.cluster.url("admin_replica_url", "postgres"), autocommit=True) as replica:
            replica.execute("SELECT pg_wal_replay_pause()")
            time.sleep(hold_s)
            row = replica.execute(
                "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())"
            ).fetchone()
            replica.execute("SELECT pg_wal_replay_resume()")
        return f"replay paused {hold_s:.0f} s, {float(row[0] if row else 0) / 1e6:.1f} MB behind at resume"

    def engine_kill(self, wait_s: float) -> str:
        assert self.scheduler is not None
        deadline = time.monotonic() + wait_s  # a job in flight is the case worth killing: wait for one
        runs = psutil.Process(self.scheduler.pid).children(recursive=True)
        while not runs and time.monotonic() < deadline:
            time.sleep(1.0)
            runs = psutil.Process(self.scheduler.pid).children(recursive=True)
        if runs:
            for run in runs:
                run.kill()
            return f"kill -9 of the running job (pid {runs[0].pid}); the scheduler goes on"
        self.scheduler.kill()
        self.scheduler.wait()
        self.start_scheduler()
        return "no job running: kill -9 of the scheduler, started again (as the task would be)"

    def fmp_faults(self, hold_s: float) -> str:
        self.fake.configure(fault_rate=FAULT_RATE, stall_s=STALL_S)
        time.sleep(hold_s)
        self.fake.configure(fault_rate=0.0)
        return f"{FAULT_RATE:.0%} of FMP answers faulty for {hold_s:.0f} s"

    def worker_kill(self, _: float) -> str:
        assert self.dashboard.process is not None
        master = psutil.Process(self.dashboard.process.pid)
        workers = [p for p in master.children() if p.cmdline() == master.cmdline()]
        if not workers:
            return "no worker found"
        victim = random.choice(workers)
        victim.kill()
        return f"kill -9 of gunicorn worker {victim.pid}"

    def audit_refused(self, hold_s: float) -> str:
        with self.admin() as admin:
            admin.execute("ALTER ROLE mycfa_audit NOLOGIN")
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mycfa_audit'"
            )
            time.sleep(hold_s)
            admin.execute("ALTER ROLE mycfa_audit LOGIN")
        return f"mycfa_audit refused logins for {hold_s:.0f} s (its sessions ended)"


def fault_plan(minutes: float, rng: random.Random) -> list[tuple[float, str, float]]:
    """(seconds from the start, fault, hold seconds): every kind at least once, in random order, a
    fault every few minutes (one at a time), the last one done a minute before the end."""
    count = max(len(KINDS), round(minutes / 3))
    kinds = (list(KINDS) * (count // len(KINDS) + 1))[:count]
    rng.shuffle(kinds)
    every = max(20.0, (minutes * 60 - 60) / (count + 1))
    hold = min(60.0, every * 0.5)
    return [
        (every * (n + 1) + rng.uniform(-every / 4, every / 4), kind, hold) for n, kind in enumerate(kinds)
    ]


def run(args: argparse.Namespace) -> harness.Report:
    if args.recount is not None:
        return soak_measure.recount(args.recount, args.availability_goal)
    report = harness.Report("soak")
    rng = random.Random(args.seed)
    with harness.drill_stack("soak", "--symbols", str(args.symbols), "--price-cache", "16") as (
        root,
        cluster,
        fake,
    ):
        symbols = harness.universe(fake, args.symbols)
        harness.clean_reference(cluster, fake, symbols)
        soak = Soak(root, cluster, fake, args.minutes)
        harness.migrate(soak.env)
        code, seconds = harness.timed_run(soak.env, "--job", "full")
        if code != 0:
            raise harness.DrillFailed(f"the first full ingest exited {code}")
        harness.log(f"first full ingest: {len(symbols)} symbols in {seconds:.0f} s")
        soak_load.add_admin(soak.dashboard)
        soak_load.add_analysts(soak.dashboard, args.users)
        analysts: soak_load.Analysts | None = None
        sampler: soak_measure.Sampler | None = None
        try:
            soak.dashboard.start()
            soak.start_scheduler()
            analysts = soak_load.Analysts(soak.dashboard, symbols, args.users).start()
            sampler = soak_measure.Sampler(soak, root).start()
            started = time.time()
            for at, kind, hold in fault_plan(args.minutes, rng):
                time.sleep(max(0.0, started + at - time.time()))
                soak.fault(kind, hold)
            time.sleep(max(0.0, started + args.minutes * 60 - time.time()))
            ended = time.time()
            analysts.stop()
            sampler.stop()
            soak.stop_scheduler()
            catch_up = [harness.timed_run(soak.env, "--job", "full")[0]]
            while catch_up[-1] != 0 and len(catch_up) < CATCH_UP_RUNS:
                catch_up.append(harness.timed_run(soak.env, "--job", "full")[0])
            soak_measure.dump(root / "soak-raw.json", soak, analysts, sampler)
            soak_measure.figures(report, soak, analysts, sampler, started, ended, catch_up)
            report.check(
                "availability, % of requests answered", analysts.availability(),
                f">= {args.availability_goal:g} (design 99.5)", lambda a: a >= args.availability_goal,
            )  # fmt: skip
        finally:
            if analysts is not None:
                analysts.stop()
            if sampler is not None:
                sampler.stop()
            soak.stop_scheduler()
            soak.dashboard.stop()
    return report
