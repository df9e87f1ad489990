"""Login throttle shared by every dashboard task: failures counted in Postgres, growing delays.

Failures are counted per (account, client address) and per client address by
`login_attempt_begin` (schema/095), which reserves the attempt atomically under row locks: however
many tasks and threads try at once, the count cannot be overrun. Past `free` failures an address
waits `base * 2^(failures - free)` seconds (capped at the window) before its next attempt is even
checked: a delay, not a lock, and only for the address that failed, so the owner logging in from
elsewhere is never held up by someone else's guesses.

Guesses spread over many addresses are slowed per account (schema/142): past `account_free`
failures within `account_window_s` every new attempt on the account waits the same doubling delay,
capped at that window, except from an address the owner logged in from within `known_days`. The
dashboard counts an IPv6 client by its /64 (`forwarded.throttle_key`).

When the audit database (the primary) is unreachable the same rule runs in this process only, so
logins keep working from the replicas with a weaker, per-task limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from dashboard.audit_store import AuditStore

ADDRESS_FACTOR = 4  # an address may fail this many times more, spread over accounts, before waiting


@dataclass(frozen=True)
class ThrottleRule:
    free: int  # failures per (account, address) before delays start
    base_s: float  # first delay
    window_s: float  # failures older than this are forgotten; the longest delay
    account_free: int = 20  # failures per account, from any addresses, before delays start
    account_window_s: float = 3600.0  # ... counted over this long; the longest account-wide delay
    known_days: int = 30  # an address the owner logged in from within this long skips the account count

    @property
    def address_free(self) -> int:
        return self.free * ADDRESS_FACTOR

    def wait_s(self, failures: int, free: int, since_last_s: float, window_s: float | None = None) -> float:
        window = self.window_s if window_s is None else window_s
        if since_last_s > window or failures < free:
            return 0.0
        return min(self.base_s * 2.0 ** (failures - free), window) - since_last_s


class LocalCounts:
    """The per-process fallback: the same rule over in-memory tables."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._rows: dict[tuple[str, str], tuple[int, float]] = {}
        self._known: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def begin(self, rule: ThrottleRule, username: str, addr: str) -> float:
        now = self._clock()
        keys = [
            (("account", f"{username} {addr}"), rule.free, rule.window_s),
            (("address", addr), rule.address_free, rule.window_s),
        ]
        if now - self._known.get((username, addr), float("-inf")) > rule.known_days * 86400:
            keys.append((("account_all", username), rule.account_free, rule.account_window_s))
        with self._lock:
            counts = {}
            wait = 0.0
            for key, free, window in keys:
                failures, last = self._rows.get(key, (0, now))
                failures = 0 if now - last > window else failures
                counts[key] = failures
                wait = max(wait, rule.wait_s(failures, free, now - last, window))
            if wait > 0:
                return wait
            for key, _, _ in keys:
                self._rows[key] = (counts[key] + 1, now)
            return 0.0

    def succeeded(self, username: str, addr: str) -> None:
        with self._lock:
            self._rows.pop(("account", f"{username} {addr}"), None)
            for key in (("address", addr), ("account_all", username)):
                failures, last = self._rows.get(key, (0, 0.0))
                self._rows[key] = (max(failures - 1, 0), last)
            self._known[(username, addr)] = self._clock()


class LoginThrottle:
    """`begin` before the password is checked, `succeeded` after a right one."""

    def __init__(self, store: AuditStore, rule: ThrottleRule) -> None:
        self.store = store
        self.rule = rule
        self.local = LocalCounts()

    def begin(self, username: str, addr: str) -> float:
        """0 when the attempt may go on (it is counted as a failure until `succeeded`), else the
        seconds to wait."""
        if self.store.enabled:
            try:
                rule = self.rule
                wait = self.store.call(
                    "login_attempt_begin",
                    (
                        username, addr, rule.free, rule.address_free, rule.base_s, rule.window_s,
                        rule.account_free, rule.account_window_s, rule.known_days,
                    ),
                )  # fmt: skip
                return float(wait or 0.0)
            except psycopg.Error:
                pass  # the primary is down: fall back to this process's counts
        return self.local.begin(self.rule, username, addr)

    def succeeded(self, username: str, addr: str) -> None:
        self.local.succeeded(username, addr)
        if self.store.enabled:
            try:
                self.store.call("login_attempt_succeeded", (username, addr, self.rule.known_days))
            except psycopg.Error:
                pass  # best effort: the count ages out with the window
