"""The audit trail: each security-relevant event as one JSON line on stdout and one `audit_events` row.

    record(kind, outcome, **detail)   # from a request: user, role, client address, request id added
        ├─ JSON line, at once, whatever MYCFA_LOG_LEVEL says (CloudWatch Logs in AWS)
        └─ queue ─► one writer thread per process ─► INSERT as `mycfa_audit` on the primary

The row is written off the request thread, so no request waits for (or fails because of) the audit
database: when the primary is unreachable the JSON line still goes out and the row is counted in
`unstored` (reported as a metric). The same `mycfa_audit` connection runs the login throttle and
"log out everywhere" (`AuditStore.call`), the dashboard's only writes.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import flask
import orjson
import psycopg
from psycopg.types.json import Jsonb

KINDS = ("login", "logout", "page_view", "export", "denied", "user_admin", "session")
LOGGER = "mycfa.audit"
QUEUE_SIZE = 10_000  # events waiting for the database; past that they are counted, not stored
BATCH = 200
RETRY_AFTER_S = 5.0  # after a failed connection, events are counted as unstored for this long
INSERT = (
    "INSERT INTO audit_events (at, kind, outcome, username, role, client_addr, request_id, detail)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AuditEvent:
    """One record: what happened, to whom, from where, and how it ended."""

    kind: str
    outcome: str
    username: str | None = None
    role: str | None = None
    client_addr: str | None = None
    request_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_dict(self) -> dict[str, Any]:
        return {
            "ts": self.at.isoformat(timespec="milliseconds"),
            "audit": self.kind,
            "outcome": self.outcome,
            "user": self.username,
            "role": self.role,
            "client_addr": self.client_addr,
            "request_id": self.request_id,
            **self.detail,
        }

    def row(self) -> tuple[Any, ...]:
        return (
            self.at,
            self.kind,
            self.outcome,
            self.username,
            self.role,
            self.client_addr,
            self.request_id,
            Jsonb(dict(self.detail)),
        )


def audit_logger(stream: TextIO | None = None) -> logging.Logger:
    """The JSON-lines logger: its own handler on stdout, not subject to MYCFA_LOG_LEVEL."""
    logger = logging.getLogger(LOGGER)
    if stream is not None or not logger.handlers:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        handler = logging.StreamHandler(stream or sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def emit_json(event: AuditEvent) -> None:
    audit_logger().info(orjson.dumps(event.as_dict(), default=str).decode())


class AuditStore:
    """The `mycfa_audit` connection: a queue of rows for one writer thread, plus synchronous calls.

    The thread starts at the first event, so each gunicorn worker gets its own after the fork.
    """

    def __init__(self, url: str | None, *, connect_timeout_s: int = 3, queue_size: int = QUEUE_SIZE) -> None:
        self._url = url
        self._connect_timeout_s = connect_timeout_s
        self._queue: queue.Queue[AuditEvent] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._down_until = float("-inf")
        self._busy = 0  # events taken off the queue, not yet stored or counted
        self.stored = 0
        self.unstored = 0

    @property
    def enabled(self) -> bool:
        return self._url is not None

    def _connect(self) -> psycopg.Connection[Any]:
        assert self._url is not None
        return psycopg.connect(
            self._url,
            connect_timeout=self._connect_timeout_s,
            autocommit=True,
            application_name="mycfa-dashboard-audit",
        )

    def _count_unstored(self, n: int) -> None:
        with self._lock:
            self.unstored += n

    def put(self, event: AuditEvent) -> None:
        """Queue the row; never blocks, never raises."""
        if self._url is None:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mycfa-audit", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._count_unstored(1)

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            with self._lock:
                self._busy = len(batch)
            try:
                if time.monotonic() < self._down_until:
                    raise psycopg.OperationalError("audit database marked down")
                if conn is None or conn.closed:
                    conn = self._connect()
                with conn.cursor() as cur:
                    cur.executemany(INSERT, [event.row() for event in batch])
                with self._lock:
                    self.stored += len(batch)
            except psycopg.Error as exc:
                logging.getLogger(__name__).warning(
                    "audit rows not stored (%d): %s", len(batch), type(exc).__name__
                )
                self._count_unstored(len(batch))
                if isinstance(exc, psycopg.OperationalError):
                    self._down_until = time.monotonic() + RETRY_AFTER_S
                if conn is not None:
                    conn.close()
                conn = None
            finally:
                with self._lock:
                    self._busy = 0

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued row is stored or counted (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                idle = self._busy == 0
            if idle and self._queue.empty():
                return True
            time.sleep(0.02)
        return False

    def call(self, function: str, args: Sequence[Any]) -> Any:
        """`SELECT function(args)` as `mycfa_audit` (the login throttle, log out everywhere).

        Raises:
            psycopg.Error: the database is unreachable or refused the call.
        """
        if time.monotonic() < self._down_until:
            raise psycopg.OperationalError("audit database marked down")
        placeholders = ", ".join(["%s"] * len(args))
        try:
            with self._connect() as conn:
                row = conn.execute(f"SELECT {function}({placeholders})", tuple(args)).fetchone()
        except psycopg.OperationalError:
            self._down_until = time.monotonic() + RETRY_AFTER_S
            raise
        return row[0] if row else None


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def client_address(remote: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str | None:
    """The client's address: `X-Forwarded-For` is believed only when the request came from a
    trusted proxy, and then only up to the first hop that is not one of ours (rightmost first:
    the leftmost entries are whatever the client chose to send)."""
    try:
        peer = ipaddress.ip_address(remote or "")
    except ValueError:
        return None
    if not trusted or not any(peer in net for net in trusted) or not forwarded_for:
        return str(peer)
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return str(peer)  # a malformed hop: trust nothing beyond our proxy
        if not any(address in net for net in trusted):
            return str(address)
        peer = address
    return str(peer)


def request_id() -> str:
    """This request's id (made at its start, sent back as `X-Request-Id`)."""
    if not flask.has_request_context():
        return ""
    if "mycfa_request_id" not in flask.g:
        flask.g.mycfa_request_id = uuid.uuid4().hex
    return str(flask.g.mycfa_request_id)


def record(
    kind: str, outcome: str, *, username: str | None = None, role: str | None = None, **detail: Any
) -> AuditEvent:
    """One event from the current request: the JSON line now, the row soon (never raises).

    The user defaults to the logged-in one; the client address and request id come from the request.
    """
    import flask_login

    from dashboard.services import services

    svc = services()
    if username is None and flask.has_request_context():
        user = flask_login.current_user
        if getattr(user, "is_authenticated", False):
            username, role = getattr(user, "username", None), getattr(user, "role", None)
    addr = None
    if flask.has_request_context():
        addr = client_address(
            flask.request.remote_addr, flask.request.headers.get("X-Forwarded-For"), svc.trusted_proxies
        )
    event = AuditEvent(
        kind=kind,
        outcome=outcome,
        username=username,
        role=role,
        client_addr=addr,
        request_id=request_id() or None,
        detail=detail,
    )
    emit_json(event)
    svc.audit.put(event)
    if kind == "login":
        svc.metrics.login(outcome == "success")
    return event


def current_client_address() -> str:
    """The client address of the current request ('unknown' when there is none)."""
    from dashboard.services import services

    addr = client_address(
        flask.request.remote_addr, flask.request.headers.get("X-Forwarded-For"), services().trusted_proxies
    )
    return addr or "unknown"
