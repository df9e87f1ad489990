"""The soak's analysts: logged-in sessions replaying devkit/loadmix.py's clicks on every page, each
request recorded with its time, so availability and the longest outage an analyst saw can be counted."""

from __future__ import annotations

import random
import subprocess
import threading
import time
from dataclasses import dataclass, field

import psycopg
import requests

from devkit import loadmix as mix

from . import harness
from .analysts import DASH_USER, LoginRefused

THINK_S = (0.5, 2.0)  # between an analyst's clicks, as the load test's users wait
LOGIN_EVERY_S = 10.0  # a fresh login (argon2, the shared throttle, the audit row) this often
ARRIVAL_S = 60.0  # the analysts arrive spread over this long, not all in the same second
BACKOFF_S = (2.0, 60.0)  # a failed login waits this long, doubling (with jitter) up to the cap
THROTTLED_TRIES = 20  # a login asked to wait (429 with Retry-After) tries again this many times


@dataclass(frozen=True, slots=True)
class Request:
    at: float  # when it was sent (time.time())
    analyst: int  # -1: the login prober
    name: str
    ok: bool
    ms: float
    detail: str = ""


def add_admin(dashboard: harness.Dashboard) -> None:
    """The drill's account as an admin (the Status page is an admin's), through `mycfa-dashboard users`
    as the cluster's operator login."""
    result = subprocess.run(
        [str(harness.VENV_BIN / "mycfa-dashboard"), "users", "add", DASH_USER, "--role", "admin",
         "--password-stdin"],
        input=dashboard.password + "\n", env=dashboard.env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise harness.DrillFailed(f"users add exited {result.returncode}: {result.stderr.strip()[-300:]}")


def account(n: int) -> str:
    return f"{DASH_USER}-{n:03d}"


def address(n: int) -> str:
    """Analyst n's own address (the login prober, n = -1, has one too)."""
    return f"10.20.{(n + 1) // 250}.{(n + 1) % 250 + 1}"


def add_analysts(dashboard: harness.Dashboard, count: int) -> None:
    """An account of their own for each analyst, copied from the drill's admin in one statement (a
    `users add` each would start Python `count` times; the same hash is fine for a drill)."""
    with psycopg.connect(dashboard.env["MYCFA_DASH_ADMIN_DATABASE_URL"], connect_timeout=10) as conn:
        conn.execute(
            "INSERT INTO dashboard_users (username, password_hash, role)"
            " SELECT format('%%s-%%s', u.username, lpad(n::text, 3, '0')), u.password_hash, u.role"
            " FROM dashboard_users u, generate_series(0, %s - 1) AS n WHERE u.username = %s"
            " ON CONFLICT (username) DO NOTHING",
            (count, DASH_USER),
        )


@dataclass
class Analysts:
    """`count` analysts in threads, plus a login every LOGIN_EVERY_S; `requests` is every answer."""

    dashboard: harness.Dashboard
    symbols: list[str]
    count: int
    requests: list[Request] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Analysts:
        weighted = [click for click in mix.CLICKS for _ in range(click.weight)]
        for n in range(self.count):
            thread = threading.Thread(target=self._analyst, args=(n, weighted), daemon=True)
            self._threads.append(thread)
            thread.start()
        prober = threading.Thread(target=self._logins, daemon=True)
        self._threads.append(prober)
        prober.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=40)

    def _login(self, n: int) -> harness.Analyst | None:
        """A logged-in session, or None after recording why the login failed. Asked to wait (429), the
        analyst waits what Retry-After says, as a person reading "wait a little" would."""
        started = time.time()
        for _ in range(THROTTLED_TRIES):
            try:
                analyst = harness.Analyst(
                    self.dashboard, username=DASH_USER if n < 0 else account(n), address=address(n)
                )
            except LoginRefused as exc:
                if exc.status == 429 and exc.retry_after_s and not self._stop.is_set():
                    self._stop.wait(exc.retry_after_s + random.random())
                    continue
                self._record(n, "login", started, ok=False, detail=str(exc)[:120])
                return None
            except (harness.DrillFailed, requests.RequestException, ValueError) as exc:
                self._record(n, "login", started, ok=False, detail=type(exc).__name__)
                return None
            self._record(n, "login", started, ok=True)
            return analyst
        self._record(n, "login", started, ok=False, detail="throttled throughout")
        return None

    def _analyst(self, n: int, weighted: list[mix.Click]) -> None:
        """Arrives at a random moment of the first ARRIVAL_S, logs in once, clicks until the session
        ends; a failed login is tried again after a doubling, jittered wait, so an overloaded
        dashboard is not handed a new argon2 hash for every timed-out one."""
        rng = random.Random(n)
        analyst: harness.Analyst | None = None
        backoff = BACKOFF_S[0]
        self._stop.wait(rng.uniform(0, ARRIVAL_S))
        while not self._stop.is_set():
            if analyst is None:
                analyst = self._login(n)
                if analyst is None:
                    self._stop.wait(rng.uniform(0.5, 1.0) * backoff)
                    backoff = min(backoff * 2, BACKOFF_S[1])
                    continue
                backoff = BACKOFF_S[0]
            click = rng.choice(weighted)
            started = time.time()
            try:
                response = analyst.session.post(
                    analyst.base + "/_dash-update-component",
                    json=click.body(analyst.dependencies, self.symbols),
                    headers=analyst.headers,
                    timeout=30,
                    allow_redirects=False,
                )
                ok = response.status_code == 200 and click.answered(response.text)
                detail = "" if ok else f"HTTP {response.status_code}"
                if response.status_code in (302, 401, 403):  # the session is gone: log in again
                    analyst = None
            except requests.RequestException as exc:
                ok, detail = False, type(exc).__name__
            self._record(n, click.key, started, ok=ok, detail=detail)
            self._stop.wait(rng.uniform(*THINK_S))

    def _logins(self) -> None:
        while not self._stop.wait(LOGIN_EVERY_S):
            self._login(-1)

    def _record(self, n: int, name: str, started: float, *, ok: bool, detail: str = "") -> None:
        self.requests.append(Request(started, n, name, ok, (time.time() - started) * 1000, detail))

    # -- figures ------------------------------------------------------------------------------------
    def within(self, since: float, until: float) -> list[Request]:
        return [r for r in self.requests if since <= r.at < until]

    def availability(self) -> float:
        answered = sum(1 for r in self.requests if r.ok)
        return 100.0 * answered / max(1, len(self.requests))

    def longest_outage(self) -> tuple[float, int, float]:
        """(seconds, analyst, when it began): from a failed request to that analyst's next answered one."""
        longest = (0.0, -2, 0.0)
        by_analyst: dict[int, list[Request]] = {}
        for r in sorted(self.requests, key=lambda r: r.at):
            by_analyst.setdefault(r.analyst, []).append(r)
        for n, seen in by_analyst.items():
            down_since: float | None = None
            for r in seen:
                if not r.ok and down_since is None:
                    down_since = r.at
                elif r.ok and down_since is not None:
                    longest = max(longest, (r.at - down_since, n, down_since))
                    down_since = None
            if down_since is not None:
                longest = max(longest, (seen[-1].at + seen[-1].ms / 1000 - down_since, n, down_since))
        return longest
