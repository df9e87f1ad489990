"""What every drill is made of: its own cluster, the fake FMP, the engine and the dashboard as processes.

Each drill gets a cluster of its own (`scripts/devdb.py` with `MYCFA_DEVDB_DIR` under `.devdb/drills/`),
so killing or promoting nodes never touches the cluster the tests or the demo use; `Drill.close()`
stops everything the drill started and deletes its folders.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

from tests.dashboard import callbacks
from tests.engine.runs.e2e import FakeFMP, fingerprint, free_port, run_engine, start_fakefmp

REPO = Path(__file__).resolve().parents[2]
DRILLS_ROOT = REPO / ".devdb" / "drills"
VENV_BIN = REPO / ".venv" / "bin"
API_KEY = "drill-key-0b7e41"
LIFTED_LIMIT = "1000000"
DASH_USER = "drill"
DASH_START_S = 90.0
CSRF_COOKIE, CSRF_HEADER = "mycfa_csrf", "X-CSRF-Token"  # dashboard/auth.py
STALE_BANNER = "Data may be out of date"  # dashboard/components/states.py staleness()


def log(message: str) -> None:
    print(f"drill: {time.strftime('%H:%M:%S')} {message}", flush=True)


class DrillFailed(Exception):
    """A step of the drill could not be carried out (not a missed goal: that is a figure)."""


# -- the cluster -------------------------------------------------------------------------------------
class DrillCluster:
    """A `scripts/devdb.py` cluster in a folder of the drill's own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.info: dict[str, Any] = {}

    def devdb(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "devdb.py"), *args],
            env={**os.environ, "MYCFA_DEVDB_DIR": str(self.root)},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise DrillFailed(f"devdb {' '.join(args)} failed: {result.stderr.strip()[-600:]}")
        return result.stdout

    def start(self) -> DrillCluster:
        self.info = json.loads(self.devdb("start", "--json"))
        return self

    def refresh(self) -> None:
        """Re-read the URLs (after a promotion the primary's port changes)."""
        self.info = {**self.info, **json.loads(self.devdb("status", "--json") or "{}")}

    def url(self, which: str, database: str = "mycfa") -> str:
        """`owner_url`, `reader_url`, `replica_reader_url`, `admin_url`... on `database`."""
        return str(self.info[which]).rsplit("/", 1)[0] + "/" + database

    def createdb(self, name: str) -> None:
        self.devdb("createdb", name)

    def destroy(self) -> None:
        with suppress(DrillFailed):
            self.devdb("destroy")
        shutil.rmtree(self.root, ignore_errors=True)


def wait_replica_caught_up(cluster: DrillCluster, timeout_s: float = 60) -> None:
    """Block until the replica has replayed everything the primary has written."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(cluster.url("admin_url", "postgres"), autocommit=True) as primary:
        row = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
        assert row is not None
        target = row[0]
        with psycopg.connect(cluster.url("admin_replica_url", "postgres"), autocommit=True) as replica:
            while time.monotonic() < deadline:
                row = replica.execute(
                    "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) >= 0", (str(target),)
                ).fetchone()
                if row and row[0]:
                    return
                time.sleep(0.1)
    raise DrillFailed("the replica did not catch up")


# -- the engine --------------------------------------------------------------------------------------
def engine_env(database_url: str, fake: FakeFMP, symbols: Sequence[str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYCFA_")}
    env.update(
        MYCFA_DATABASE_URL=database_url,
        MYCFA_FMP_API_KEY=API_KEY,
        MYCFA_FMP_BASE_URL=fake.base_url,
        MYCFA_FMP_RATE_LIMIT=LIFTED_LIMIT,
        MYCFA_FMP_CONCURRENCY="8",
        MYCFA_SYMBOLS=",".join(symbols),
        MYCFA_HISTORY_START="2005-01-01",
        MYCFA_LOG_FORMAT="json",
    )
    env.update(extra)
    return env


def engine(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_engine(env, *args, timeout=900)


def start_engine(env: dict[str, str], *args: str, log_file: Path) -> subprocess.Popen[bytes]:
    with open(log_file, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "engine", *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def migrate(env: dict[str, str]) -> None:
    result = engine(env, "migrate")
    if result.returncode != 0:
        raise DrillFailed(f"migrate exited {result.returncode}: {result.stderr.strip()[-400:]}")


def timed_run(env: dict[str, str], *args: str) -> tuple[int, float]:
    """`mycfa-engine run ...` to its end: exit code and seconds."""
    started = time.monotonic()
    result = engine(env, "run", *args)
    return result.returncode, time.monotonic() - started


def clean_reference(cluster: DrillCluster, fake: FakeFMP, symbols: Sequence[str]) -> float:
    """A full ingest into a database `clean` of the cluster, undisturbed: the content to compare with."""
    cluster.createdb("clean")
    env = engine_env(cluster.url("owner_url", "clean"), fake, ())
    migrate(env)
    code, seconds = timed_run(env, "--job", "full")
    if code != 0:
        raise DrillFailed(f"the clean reference run exited {code}")
    log(f"clean reference run: {seconds:.1f} s for {len(symbols)} symbols")
    return seconds


def universe(fake: FakeFMP, count: int) -> list[str]:
    """The first `count` symbols the fake serves, in its constituent order."""
    request = urllib.request.Request(f"{fake.base_url}/sp500-constituent", headers={"apikey": API_KEY})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        rows = json.loads(response.read())
    return sorted(str(row["symbol"]) for row in rows)[:count]


# -- the dashboard -----------------------------------------------------------------------------------
class Dashboard:
    """`mycfa-dashboard serve` on a free loopback port, and a logged-in analyst account."""

    def __init__(
        self,
        work: Path,
        *,
        primary_url: str,
        replica_urls: Sequence[str],
        admin_url: str,
        audit_url: str = "",
        password: str | None = None,
    ) -> None:
        self.work = work
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.password = password or secrets.token_urlsafe(16)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MYCFA_")}
        self.env.update(
            MYCFA_DASH_DATABASE_URL=primary_url,
            MYCFA_DASH_REPLICA_URLS=",".join(replica_urls),
            MYCFA_DASH_SECRET_KEY=secrets.token_hex(32),
            MYCFA_DASH_SECURE_COOKIES="false",
            MYCFA_DASH_CACHE_DIR=str(work / "dash-cache"),
            MYCFA_DASH_ADMIN_DATABASE_URL=admin_url,
            MYCFA_DASH_WORKERS="2",
        )
        if audit_url:  # the audit trail's rows, written to the primary as mycfa_audit
            self.env["MYCFA_DASH_AUDIT_DATABASE_URL"] = audit_url
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def on(
        cls, cluster: DrillCluster, work: Path, *, replica: bool = True, password: str | None = None
    ) -> Dashboard:
        """The dashboard on a drill cluster's `mycfa` database: its primary, its replica (unless told
        not to), the cluster's operator login for `users`, and the audit writer on the primary."""
        return cls(
            work,
            primary_url=cluster.url("reader_url"),
            replica_urls=[cluster.url("replica_reader_url")] if replica else [],
            admin_url=cluster.url("operator_url"),
            audit_url=cluster.url("audit_url"),
            password=password,
        )

    def add_user(self) -> None:
        result = subprocess.run(
            [
                str(VENV_BIN / "mycfa-dashboard"),
                "users",
                "add",
                DASH_USER,
                "--role",
                "analyst",
                "--password-stdin",
            ],
            input=self.password + "\n",
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise DrillFailed(f"users add exited {result.returncode}: {result.stderr.strip()[-300:]}")

    def start(self) -> Dashboard:
        self.work.mkdir(parents=True, exist_ok=True)
        with open(self.work / "dashboard.log", "ab") as out:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "mycfa-dashboard"), "serve", "--bind", f"127.0.0.1:{self.port}"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + DASH_START_S
        while time.monotonic() < deadline:
            if self.alive():
                return self
            time.sleep(0.2)
        raise DrillFailed(f"the dashboard did not answer; see {self.work / 'dashboard.log'}")

    def alive(self) -> bool:
        """The process answers HTTP (the load balancer's check)."""
        for path in ("/health/live", "/health"):
            try:
                with urllib.request.urlopen(self.base + path, timeout=2) as response:  # noqa: S310 - loopback
                    return bool(response.status == 200)
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    return False
            except OSError:
                return False
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Analyst:
    """One logged-in browser session replaying the app's own callbacks over HTTP."""

    def __init__(self, dashboard: Dashboard) -> None:
        self.base = dashboard.base
        self.session = requests.Session()
        page = self.session.get(self.base + "/login", timeout=30).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if not token:
            raise DrillFailed("no CSRF token on the login page")
        response = self.session.post(
            self.base + "/login",
            data={
                "username": DASH_USER,
                "password": dashboard.password,
                "csrf_token": token.group(1),
                "next": "/",
            },
            allow_redirects=False,
            timeout=30,
        )
        if response.status_code != 302:
            raise DrillFailed(f"login answered {response.status_code}")
        # Callbacks carry the session's CSRF token in a header, as the app's own script sends it.
        self.headers = {CSRF_HEADER: self.session.cookies.get(CSRF_COOKIE) or ""}
        self.dependencies: list[dict[str, Any]] = self.session.get(
            self.base + "/_dash-dependencies", headers=self.headers, timeout=30
        ).json()

    def callback(self, output_id: str, values: dict[str, Any], timeout_s: float = 30) -> requests.Response:
        body = callbacks.body(callbacks.find(self.dependencies, output_id), values)
        return self.session.post(
            self.base + "/_dash-update-component", json=body, headers=self.headers, timeout=timeout_s
        )


@dataclass
class PageLoad:
    at: float
    ok: bool
    ms: float
    detail: str = ""
    stale: bool = False


@dataclass
class PageStream:
    """A steady stream of logged-in page loads (Company profile and price chart) in a thread."""

    dashboard: Dashboard
    symbols: Sequence[str]
    interval_s: float = 0.2
    # "profile": the Company page's header (cached per symbol); "compare": random peer sets (their
    # figures come from one cached frame, so after warm-up they rarely read a node); "freshness":
    # the Company page's freshness export, never cached: every load reads a symbol's rows from a node.
    page: str = "profile"
    loads: list[PageLoad] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> PageStream:
        analyst = Analyst(self.dashboard)
        self._thread = threading.Thread(target=self._loop, args=(analyst,), daemon=True)
        self._thread.start()
        return self

    def _loop(self, analyst: Analyst) -> None:
        rng = random.Random(7)
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                ok, detail, stale = self._load(analyst, rng)
            except requests.RequestException as exc:
                ok, detail, stale = False, type(exc).__name__, False
            self.loads.append(PageLoad(time.time(), ok, (time.monotonic() - started) * 1000, detail, stale))
            self._stop.wait(self.interval_s)

    def _load(self, analyst: Analyst, rng: random.Random) -> tuple[bool, str, bool]:
        """One page load: (answered, why not, showed the staleness banner)."""
        if self.page == "freshness":
            response = analyst.session.get(
                f"{analyst.base}/export/company/freshness.csv",
                params={"symbol": rng.choice(list(self.symbols))},
                timeout=30,
            )
            ok = response.status_code == 200 and response.text.startswith("dataset,")
            return ok, "" if ok else f"HTTP {response.status_code}", False
        if self.page == "compare":
            peers = rng.sample(list(self.symbols), rng.randint(2, min(5, len(self.symbols))))
            span = rng.choice(["1Y", "3Y", "5Y"])
            response = analyst.callback("compare-table", {"compare-symbols": peers, "compare-span": span})
        else:
            response = analyst.callback("company-profile", {"company-symbol": rng.choice(list(self.symbols))})
        ok = response.status_code == 200 and '"response"' in response.text
        return ok, "" if ok else f"HTTP {response.status_code}", STALE_BANNER in response.text

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def errors(self, since: float = 0.0, until: float = float("inf")) -> list[PageLoad]:
        return [load for load in self.loads if since <= load.at <= until and not load.ok]

    def count(self, since: float = 0.0, until: float = float("inf")) -> int:
        return sum(1 for load in self.loads if since <= load.at <= until)


# -- figures -----------------------------------------------------------------------------------------
@dataclass
class Figure:
    name: str
    value: Any
    goal: str = ""
    met: bool | None = None  # None: a figure with no goal


@dataclass
class Report:
    drill: str
    figures: list[Figure] = field(default_factory=list)

    def add(self, name: str, value: Any, goal: str = "", met: bool | None = None) -> None:
        self.figures.append(Figure(name, value, goal, met))

    def check(self, name: str, value: Any, goal: str, ok: Callable[[Any], bool]) -> None:
        self.add(name, value, goal, ok(value))

    @property
    def passed(self) -> bool:
        return all(f.met is not False for f in self.figures)

    def print(self) -> None:
        def shown(value: Any) -> str:
            return f"{value:,.2f}" if isinstance(value, float) else str(value)

        names = max((len(f.name) for f in self.figures), default=6)
        values = max((len(shown(f.value)) for f in self.figures), default=5)
        goals = max((len(f.goal) for f in self.figures), default=4)
        print(f"\n{self.drill}: figures", flush=True)
        print(f"  {'figure':<{names}}  {'value':>{values}}  {'goal':<{goals}}  result")
        for f in self.figures:
            result = "" if f.met is None else ("ok" if f.met else "MISSED")
            print(f"  {f.name:<{names}}  {shown(f.value):>{values}}  {f.goal:<{goals}}  {result}")
        print(f"{self.drill}: {'PASS' if self.passed else 'FAIL'}", flush=True)


def same_content(a_url: str, b_url: str) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    a, b = fingerprint(a_url), fingerprint(b_url)
    return a == b, a, b


@contextmanager
def drill_folder(name: str) -> Iterator[Path]:
    """A fresh folder for one drill's clusters and logs, removed at the end (kept with MYCFA_DRILL_KEEP)."""
    root = DRILLS_ROOT / f"{name}-{secrets.token_hex(3)}"
    root.mkdir(parents=True)
    try:
        yield root
    finally:
        if not os.environ.get("MYCFA_DRILL_KEEP"):
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def drill_stack(name: str, *fake_args: str) -> Iterator[tuple[Path, DrillCluster, FakeFMP]]:
    """A drill's folder, its started cluster and a fake FMP (`fake_args` for `python -m fakefmp`);
    the fake is stopped and the cluster destroyed at the end, after the drill's own clean-up."""
    with drill_folder(name) as root:
        cluster = DrillCluster(root / "cluster").start()
        fake = start_fake(*fake_args)
        try:
            yield root, cluster, fake
        finally:
            fake.stop()
            cluster.destroy()


def start_fake(*args: str) -> FakeFMP:
    return start_fakefmp("--rate-limit", LIFTED_LIMIT, "--seed", "1", *args)
