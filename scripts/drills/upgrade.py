"""Upgrade: the previous release keeps serving while this one's `migrate` runs, then runs on the new schema.

The release path migrates before the blue/green shift, so for minutes the previous release (REV) runs
on the new schema, and a rollback leaves it there for good (docs/deploy.md, "Migrations and
blue/green"). Steps, on a cluster of the drill's own:

1. REV (default: the commit before the newest one that added a schema file) exported with `git archive`;
   its `migrate`, a full ingest of `--symbols` by its engine, its dashboard serving `--users` analysts
   (Company profiles, Compare peer sets and the never-cached freshness export, one thread each).
2. HEAD's `migrate`, while they keep loading pages: its wall time, and every lock it held or waited
   for (pg_locks of the `mycfa-migrate` session, sampled every 20 ms), and the longest any other
   session waited behind it.
3. The rollback case: REV's engine runs an incremental `prices` job on the new schema.
4. HEAD's engine runs the same job and HEAD's dashboard takes the analysts over.

Per phase: page loads, errors (goal 0), p95. The run's exit codes (goal 0). Run it with the same
Python environment as HEAD (the previous release's code, this release's .venv): a release that
changes a dependency in a way the previous code cannot run with shows here as a failed step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from . import harness
from .analysts import DASH_START_S, DASH_USER

USERS_DEFAULT = 50
PAGE_INTERVAL_S = 1.0  # each analyst loads a page, then waits this long (as Locust's 0.5-2 s does)
SETTLE_S = 30.0  # page loads before and after each step, so every phase has a sample
LOCK_SAMPLE_S = 0.02
ENGINE_TIMEOUT_S = 1800
# Locks that block the dashboard's reads (ACCESS EXCLUSIVE) or the engine's writes (the others).
HEAVY_LOCKS = ("AccessExclusiveLock", "ExclusiveLock", "ShareRowExclusiveLock", "ShareLock")
MIGRATE_APP = "mycfa-migrate"  # engine/db/migrate.py APPLICATION_NAME
SERVE = "import sys; from dashboard.cli import main; sys.exit(main(sys.argv[1:]))"
LOCKS_SQL = """
SELECT l.mode, l.granted, coalesce(c.relname::text, 'a relation created by it'),
       extract(epoch FROM clock_timestamp() - coalesce(l.waitstart, a.xact_start)) * 1000
  FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
  LEFT JOIN pg_class c ON c.oid = l.relation
 WHERE a.application_name = %s AND l.locktype = 'relation' AND (NOT l.granted OR l.mode = ANY(%s))"""
BLOCKED_SQL = """
SELECT coalesce(max(extract(epoch FROM clock_timestamp() - b.query_start)) * 1000, 0)
  FROM pg_stat_activity m JOIN pg_stat_activity b ON m.pid = ANY(pg_blocking_pids(b.pid))
 WHERE m.application_name = %s"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="rev", help="the previous release's commit (default: the commit"
                        " before the newest one that added a schema file)")  # fmt: skip
    parser.add_argument("--symbols", type=int, default=503, help="universe size (default 503)")
    parser.add_argument(
        "--users", type=int, default=USERS_DEFAULT, help=f"analysts (default {USERS_DEFAULT})"
    )
    parser.add_argument("--history-start", default="1990-01-01", help="first price date (default 1990-01-01)")


def git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=harness.REPO, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise harness.DrillFailed(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def previous_schema_release() -> str:
    """The commit before the newest one that added a schema file: the release whose schema HEAD
    migrates. (Not merely the newest change: a file edited again before its release, as a lint fix,
    would make the "previous release" one that already applied an older text of it.)"""
    newest = git("log", "-1", "--diff-filter=A", "--format=%H", "--", "schema")
    if not newest:
        raise harness.DrillFailed("no commit changed schema/ (a shallow clone? fetch the history)")
    return git("rev-parse", f"{newest}^")


@dataclass
class Release:
    """A release's code: `root` is the repository (HEAD) or a commit exported into a folder."""

    label: str
    root: Path

    @classmethod
    def export(cls, rev: str, folder: Path) -> Release:
        folder.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", rev], cwd=harness.REPO, capture_output=True, check=False)
        if archive.returncode != 0:
            raise harness.DrillFailed(f"git archive {rev}: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
        release = cls(rev[:10], folder)
        release.check_imports()
        return release

    def env(self, env: dict[str, str]) -> dict[str, str]:
        return {**env, "PYTHONPATH": str(self.root)}

    def check_imports(self) -> None:
        """The release's own packages are the ones imported (not the .venv's editable HEAD)."""
        probe = "import engine, dashboard; print(engine.__file__); print(dashboard.__file__)"
        result = subprocess.run(
            [sys.executable, "-c", probe], cwd=self.root, env=self.env(dict(os.environ)),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        paths = result.stdout.split()
        if result.returncode != 0 or not all(Path(p).is_relative_to(self.root) for p in paths):
            raise harness.DrillFailed(
                f"{self.label}'s packages do not import from {self.root}: {result.stderr}"
            )

    def engine(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [sys.executable, "-m", "engine", *args], cwd=self.root, env=self.env(env),
                capture_output=True, text=True, timeout=ENGINE_TIMEOUT_S, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise harness.DrillFailed(
                f"{self.label}'s `{' '.join(args)}` ran past {ENGINE_TIMEOUT_S} s (a loaded machine?"
                " --history-start later makes the ingest smaller)"
            ) from None


class ReleaseDashboard(harness.Dashboard):
    """`mycfa-dashboard` of a given release: its `users add` and `serve` run from that release's code."""

    release: Release
    admin_urls: tuple[str, ...] = ()

    def add_user(self) -> None:
        """`users add` as the release expects it: newer ones as an operator's own login, older ones
        (before the audit chain, schema 140) as the owner: the first that works."""
        errors = []
        for admin_url in self.admin_urls:
            result = subprocess.run(
                [sys.executable, "-c", SERVE, "users", "add", DASH_USER, "--role", "analyst", "--password-stdin"],
                input=self.password + "\n", cwd=self.release.root,
                env=self.release.env({**self.env, "MYCFA_DASH_ADMIN_DATABASE_URL": admin_url}),
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if result.returncode == 0:
                return
            errors.append(result.stderr.strip()[-300:])
        raise harness.DrillFailed(f"{self.release.label} users add: {' / '.join(errors)}")

    def start(self) -> ReleaseDashboard:
        self.work.mkdir(parents=True, exist_ok=True)
        with open(self.work / "dashboard.log", "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", SERVE, "serve", "--bind", f"127.0.0.1:{self.port}"],
                cwd=self.release.root, env=self.release.env(self.env),
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + DASH_START_S
        while not self.alive():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise harness.DrillFailed(f"{self.release.label}'s dashboard did not answer: {self.work}")
            time.sleep(0.2)
        return self


def serve(
    release: Release, cluster: harness.DrillCluster, work: Path, password: str | None
) -> ReleaseDashboard:
    dashboard = ReleaseDashboard(
        work, primary_url=cluster.url("reader_url"), replica_urls=[cluster.url("replica_reader_url")],
        admin_url=cluster.url("operator_url"), audit_url=cluster.url("audit_url"), password=password,
    )  # fmt: skip
    dashboard.release = release
    dashboard.admin_urls = (cluster.url("operator_url"), cluster.url("owner_url"))
    return dashboard


@dataclass
class LockWatch:
    """Samples the migrate session's heavy locks (held: since its transaction began; waited: since
    the wait began) and the longest wait of any session behind it, in a thread."""

    admin_url: str
    held: dict[str, float] = field(default_factory=dict)  # "mode on relation" -> longest ms seen
    waited_ms: float = 0.0
    others_blocked_ms: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> LockWatch:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self._stop.is_set():
                for mode, granted, relation, ms in conn.execute(LOCKS_SQL, (MIGRATE_APP, list(HEAVY_LOCKS))):
                    if granted:
                        key = f"{mode} on {relation}"
                        self.held[key] = max(self.held.get(key, 0.0), float(ms or 0))
                    else:
                        self.waited_ms = max(self.waited_ms, float(ms or 0))
                row = conn.execute(BLOCKED_SQL, (MIGRATE_APP,)).fetchone()
                self.others_blocked_ms = max(self.others_blocked_ms, float(row[0]) if row else 0.0)
                self._stop.wait(LOCK_SAMPLE_S)


class Analysts:
    """`count` logged-in analysts on one dashboard, a third each on profiles, Compare and the export."""

    PAGES = ("profile", "compare", "freshness")

    def __init__(self, dashboard: harness.Dashboard, symbols: list[str], count: int) -> None:
        self.streams = [
            harness.PageStream(dashboard, symbols, PAGE_INTERVAL_S, page=self.PAGES[n % 3])
            for n in range(count)
        ]

    def start(self) -> Analysts:
        for stream in self.streams:
            stream.start()
        return self

    def stop(self) -> None:
        for stream in self.streams:
            stream._stop.set()
        for stream in self.streams:
            stream.stop()

    def loads(self, since: float, until: float) -> list[harness.PageLoad]:
        return [load for s in self.streams for load in s.loads if since <= load.at < until]


def phase_figures(report: harness.Report, name: str, loads: list[harness.PageLoad]) -> None:
    errors = [load for load in loads if not load.ok]
    kinds = sorted({load.detail for load in errors})
    p95 = statistics.quantiles([load.ms for load in loads], n=20)[-1] if len(loads) > 1 else 0.0
    report.add(f"{name}: page loads, p95 ms", f"{len(loads)}, {p95:,.0f}")
    report.check(
        f"{name}: errors", len(errors), "0" + (f" ({', '.join(kinds)})" if kinds else ""), lambda n: n == 0
    )


def run(args: argparse.Namespace) -> harness.Report:
    report = harness.Report("upgrade")
    rev = git("rev-parse", args.rev) if args.rev else previous_schema_release()
    added = sorted(set(git("ls-tree", "--name-only", "HEAD", "schema/").split()) - set(
        git("ls-tree", "--name-only", rev, "schema/").split()))  # fmt: skip
    with harness.drill_stack("upgrade", "--symbols", str(args.symbols), "--price-cache", "16") as (
        root,
        cluster,
        fake,
    ):
        previous, head = Release.export(rev, root / "previous"), Release("HEAD", harness.REPO)
        harness.log(f"previous release {previous.label}; HEAD adds {', '.join(added) or 'no schema file'}")
        env = harness.engine_env(
            cluster.url("owner_url"),
            fake,
            (),
            MYCFA_HISTORY_START=args.history_start,
            MYCFA_FMP_CONCURRENCY="16",
        )
        symbols = harness.universe(fake, args.symbols)
        dashboards: list[ReleaseDashboard] = []
        groups: list[Analysts] = []
        try:
            for what, result in (("migrate", previous.engine(env, "migrate")),
                                 ("full ingest", previous.engine(env, "run", "--job", "full"))):  # fmt: skip
                if result.returncode != 0:
                    raise harness.DrillFailed(
                        f"{previous.label} {what} exited {result.returncode}: {result.stderr[-400:]}"
                    )
            harness.log(f"{previous.label} ingested {len(symbols)} symbols")
            old = serve(previous, cluster, root / "dash-previous", None)
            dashboards.append(old)
            old.add_user()
            old.start()
            groups.append(Analysts(old, symbols, args.users).start())
            marks = [time.time()]
            time.sleep(SETTLE_S)

            marks.append(time.time())
            with LockWatch(cluster.url("admin_url")) as locks:
                started = time.monotonic()
                migrated = head.engine(env, "migrate")
                migrate_s = time.monotonic() - started
            harness.log(
                f"HEAD migrate: exit {migrated.returncode} in {migrate_s:.2f} s: {migrated.stdout.strip()}"
            )
            if migrated.returncode != 0:
                raise harness.DrillFailed(
                    f"HEAD's migrate exited {migrated.returncode}: {migrated.stderr[-400:]}"
                )
            time.sleep(SETTLE_S)

            marks.append(time.time())
            rollback = previous.engine(env, "run", "--job", "prices")
            harness.log(f"{previous.label} prices run on the new schema: exit {rollback.returncode}")
            time.sleep(SETTLE_S)

            marks.append(time.time())
            forward = head.engine(env, "run", "--job", "prices")
            new = serve(head, cluster, root / "dash-head", old.password)
            dashboards.append(new)
            new.start()
            groups[0].stop()  # the load balancer's shift: every analyst now on HEAD's dashboard
            groups.append(Analysts(new, symbols, args.users).start())
            time.sleep(SETTLE_S)
            marks.append(time.time())
            groups[1].stop()

            report.add(
                "previous release -> HEAD", f"{previous.label} -> {git('rev-parse', '--short=10', 'HEAD')}"
            )
            report.add("schema files HEAD adds", ", ".join(added) or "none")
            report.add("symbols, analysts", f"{len(symbols)}, {args.users}")
            names = ("1 previous release serving", "2 HEAD's migrate", "3 previous engine on new schema",
                     "4 HEAD engine + dashboard")  # fmt: skip
            for name, since, until in zip(names, marks, marks[1:], strict=False):
                phase_figures(report, name, [load for group in groups for load in group.loads(since, until)])
            report.add("migrate wall time, seconds", migrate_s)
            longest = max(locks.held.items(), key=lambda kv: kv[1], default=("none", 0.0))
            report.add("longest heavy lock migrate held (at most), ms", f"{longest[1]:,.0f} ({longest[0]})")
            report.add("longest lock wait of migrate, ms", locks.waited_ms)
            report.check("longest wait of another session behind migrate, ms", locks.others_blocked_ms,
                         "< 2,000 (lock_timeout)", lambda ms: ms < 2000)  # fmt: skip
            report.check(
                f"{previous.label} prices run on the new schema, exit",
                rollback.returncode,
                "0",
                lambda c: c == 0,
            )
            report.check("HEAD prices run, exit", forward.returncode, "0", lambda c: c == 0)
        finally:
            for group in groups:
                group.stop()
            for dashboard in dashboards:
                dashboard.stop()
    return report
