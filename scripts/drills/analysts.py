"""The dashboard in a drill: `mycfa-dashboard serve` on a drill cluster, and analysts loading pages."""

from __future__ import annotations

import os
import random
import re
import secrets
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from devkit import callbacks
from devkit.net import free_port

from .cluster import DrillCluster
from .common import VENV_BIN, DrillFailed

DASH_USER = "drill"
DASH_START_S = 90.0
CSRF_COOKIE, CSRF_HEADER = "mycfa_csrf", "X-CSRF-Token"  # dashboard/auth.py
STALE_BANNER = "Data may be out of date"  # dashboard/components/states.py staleness()


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
            MYCFA_DASH_ADMIN_DATABASE_URL=admin_url,
            MYCFA_DASH_WORKERS="2",
        )
        if audit_url:  # the audit trail's rows, written to the primary as mycfa_audit
            self.env["MYCFA_DASH_AUDIT_DATABASE_URL"] = audit_url
        else:
            self.env["MYCFA_DASH_AUDIT_OPTIONAL"] = "true"
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


class LoginRefused(DrillFailed):
    """The login was answered with something other than a redirect; `retry_after_s` when asked to wait."""

    def __init__(self, status: int, retry_after_s: float | None) -> None:
        super().__init__(f"login answered {status}")
        self.status = status
        self.retry_after_s = retry_after_s


class Analyst:
    """One logged-in browser session replaying the app's own callbacks over HTTP.

    `address`: the analyst's own address, sent as the load balancer would (`X-Forwarded-For`, the
    client then our two proxies' hop; the dashboard believes it from loopback), so the login throttle
    counts each analyst apart as it would in production."""

    def __init__(
        self, dashboard: Dashboard, *, username: str = DASH_USER, address: str | None = None
    ) -> None:
        self.base = dashboard.base
        self.session = requests.Session()
        if address is not None:
            self.session.headers["X-Forwarded-For"] = f"{address}, 127.0.0.1"
        page = self.session.get(self.base + "/login", timeout=30).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if not token:
            raise DrillFailed("no CSRF token on the login page")
        response = self.session.post(
            self.base + "/login",
            data={
                "username": username,
                "password": dashboard.password,
                "csrf_token": token.group(1),
                "next": "/",
            },
            allow_redirects=False,
            timeout=30,
        )
        if response.status_code != 302:
            wait = response.headers.get("Retry-After", "")
            raise LoginRefused(response.status_code, float(wait) if wait.isdigit() else None)
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
