"""The audit trail's storage: the record, its JSON line, and the `mycfa_audit` writer thread.

No Flask here: the login throttle, the `mycfa-dashboard` command and tests use it without a request.
`dashboard/audit.py` builds records from the current request on top of it.

    AuditStore.put(event) ─► queue ─► one writer thread per process ─► INSERT as `mycfa_audit`

The row is written off the request thread, so no request waits for (or fails because of) the audit
database: when the primary is unreachable the row is counted in `unstored` (reported as a metric). The
same connection runs the login throttle and the session functions (`AuditStore.call`), the dashboard's
only writes.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
import psycopg
from psycopg.types.json import Jsonb

KINDS = ("login", "logout", "page_view", "export", "denied", "user_admin", "session")
LOGGER = "mycfa.audit"
QUEUE_SIZE = 10_000  # events waiting for the database; past that they are counted, not stored
BATCH = 200
RETRY_AFTER_S = 5.0  # after a failed connection, events are counted as unstored for this long
# The database sets each row's time, chain position, inserting login and hash (schema/140).
INSERT = (
    "INSERT INTO audit.events (kind, outcome, username, role, client_addr, request_id, detail)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


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
