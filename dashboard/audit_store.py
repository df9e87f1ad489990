"""The audit trail's storage: the record, its JSON line, and the `mycfa_audit` writer thread.

No Flask here: the login throttle, the `mycfa-dashboard` command and tests use it without a request.
`dashboard/audit.py` builds records from the current request on top of it.

    AuditStore.put(event) ─► queue ─► one writer thread per process ─► INSERT as `mycfa_audit`

The row is written off the request thread, so no request waits for (or fails because of) the audit
database: when the primary is unreachable the row is counted in `unstored` (reported as a metric). The
same connection runs the login throttle and the session functions (`AuditStore.call`), the dashboard's
only writes.

What an anonymous client can make it write is bounded: its strings are cut (with a hash of the whole),
its events may fill only half the queue (the rest stays for known users' events), and a flood of its
denials is recorded as the first few events of each minute plus one summary row counting the rest.
At exit (a gunicorn worker leaving) the queue is drained for a few seconds, and whatever could not be
stored is said on stderr: never lost silently.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
import psycopg
from psycopg.types.json import Jsonb

from dashboard.loghandler import CurrentStreamHandler

KINDS = ("login", "logout", "page_view", "export", "denied", "user_admin", "session", "callback")
LOGGER = "mycfa.audit"
QUEUE_SIZE = 10_000  # events waiting for the database; past that they are counted, not stored
ANONYMOUS_SHARE = 0.5  # anonymous events may fill this much of the queue
BATCH = 200
RETRY_AFTER_S = 5.0  # after a failed connection, events are counted as unstored for this long
TEXT_MAX = 1_000  # characters of one detail value kept from a logged-in user's request
ANONYMOUS_TEXT_MAX = 200  # ... and from an anonymous one (a path it made up)
DETAIL_MAX = 4_096  # bytes of a row's whole detail (schema/140 refuses more than 16 KiB)
FLOOD_SINGLES = 5  # anonymous events per (kind, outcome, address) and window recorded one by one
FLOOD_WINDOW_S = 60.0
FLOOD_KEYS = 1_024  # addresses tracked at once; beyond that they share one key
EXIT_WAIT_S = 5.0  # how long a leaving process waits for its queue to drain
TICK_S = 1.0  # how often the writer looks for flood windows to close
# The database sets each row's time, chain position, inserting login and hash (schema/140).
COLUMNS = "kind, outcome, username, role, client_addr, request_id, detail"
INSERT = f"INSERT INTO audit.events ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
COPY = f"COPY audit.events ({COLUMNS}) FROM STDIN"  # the writer's batches: one round trip, triggers fire
_log = logging.getLogger(__name__)


def bounded(detail: Mapping[str, Any], *, anonymous: bool) -> dict[str, Any]:
    """The detail with long strings cut (a `<key>_sha256` of the whole beside each cut one), and at
    most DETAIL_MAX bytes in all (else only its keys and a hash): what a client sends cannot grow a row."""
    limit = ANONYMOUS_TEXT_MAX if anonymous else TEXT_MAX
    out: dict[str, Any] = {}
    for key, value in detail.items():
        text = value if isinstance(value, str) else None
        if text is not None and len(text) > limit:
            out[key] = text[:limit]
            out[f"{key}_sha256"] = hashlib.sha256(text.encode()).hexdigest()
        else:
            out[key] = value
    raw = orjson.dumps(out, default=str)
    if len(raw) > DETAIL_MAX:
        return {"truncated": True, "keys": sorted(out)[:50], "sha256": hashlib.sha256(raw).hexdigest()}
    return out


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


_logger: logging.Logger | None = None  # set up once: each data callback writes a line


def audit_logger(stream: TextIO | None = None) -> logging.Logger:
    """The JSON-lines logger: its own handler on stdout (or `stream`), not subject to MYCFA_LOG_LEVEL."""
    global _logger
    if stream is None and _logger is not None:
        return _logger
    logger = logging.getLogger(LOGGER)
    if stream is not None or not logger.handlers:
        for old in list(logger.handlers):
            logger.removeHandler(old)
        handler = logging.StreamHandler(stream) if stream else CurrentStreamHandler("stdout")
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    _logger = logger
    return logger


def emit_json(event: AuditEvent) -> None:
    audit_logger().info(orjson.dumps(event.as_dict(), default=str).decode())


@dataclass
class _Flood:
    """One (kind, outcome, address) window of anonymous events: how many, and the first one's detail."""

    opened: float
    seen: int = 0
    sample: Mapping[str, Any] = field(default_factory=dict)


class AuditStore:
    """The `mycfa_audit` connection: a queue of rows for one writer thread, plus synchronous calls.

    The thread starts at the first event, so each gunicorn worker gets its own after the fork; so does
    the exit handler that drains the queue.
    """

    def __init__(
        self,
        url: str | None,
        *,
        connect_timeout_s: int = 3,
        queue_size: int = QUEUE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._connect_timeout_s = connect_timeout_s
        self._queue: queue.Queue[AuditEvent] = queue.Queue(maxsize=queue_size)
        self._anonymous_max = int(queue_size * ANONYMOUS_SHARE)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._down_until = float("-inf")
        self._floods: dict[tuple[str, str, str], _Flood] = {}
        self._clock = clock
        self.stored = 0
        self.unstored = 0

    @property
    def enabled(self) -> bool:
        return self._url is not None

    @property
    def busy(self) -> int:
        """Events the writer holds (taken off the queue, not yet stored or counted)."""
        return max(0, self._unfinished() - self._queue.qsize())

    def _unfinished(self) -> int:
        """Events queued or held by the writer: the queue counts each from `put` until the writer's
        `task_done`, so none is missed between the writer taking it and storing it."""
        with self._queue.mutex:
            return self._queue.unfinished_tasks

    @property
    def queued(self) -> int:
        return self._queue.qsize()

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

    def _ensure_writer(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mycfa-audit", daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def put(self, event: AuditEvent, *, anonymous: bool = False) -> None:
        """Queue the row; never blocks, never raises. An anonymous event gets half the queue at most."""
        if self._url is None:
            return
        self._ensure_writer()
        if anonymous and self._queue.qsize() >= self._anonymous_max:
            self._count_unstored(1)
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._count_unstored(1)

    def single(self, kind: str, outcome: str, address: str | None, detail: Mapping[str, Any]) -> bool:
        """True when this anonymous event is to be recorded on its own (one of the first FLOOD_SINGLES
        of its window); else it is counted into the window's summary row, written when the window closes."""
        now = self._clock()
        with self._lock:
            key = (kind, outcome, address or "")
            if key not in self._floods and len(self._floods) >= FLOOD_KEYS:
                key = (kind, outcome, "")
            flood = self._floods.get(key)
            if flood is None or now - flood.opened > FLOOD_WINDOW_S:
                if flood is not None and flood.seen > FLOOD_SINGLES:
                    self._summarise(key, flood)
                flood = self._floods[key] = _Flood(opened=now, sample=detail)
            flood.seen += 1
            return flood.seen <= FLOOD_SINGLES

    def _summarise(self, key: tuple[str, str, str], flood: _Flood) -> None:
        """The summary row of a window (caller holds the lock)."""
        kind, outcome, address = key
        event = AuditEvent(
            kind=kind,
            outcome=outcome,
            client_addr=address or None,
            detail={
                "count": flood.seen - FLOOD_SINGLES,
                "window_s": FLOOD_WINDOW_S,
                "first": dict(flood.sample),
            },
        )
        emit_json(event)
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.unstored += 1

    def close_floods(self, *, every: bool = False) -> None:
        """Write the summary rows of the windows that are over (all of them with `every`)."""
        now = self._clock()
        with self._lock:
            for key, flood in list(self._floods.items()):
                if every or now - flood.opened > FLOOD_WINDOW_S:
                    del self._floods[key]
                    if flood.seen > FLOOD_SINGLES:
                        self._summarise(key, flood)

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        while True:
            try:
                batch = [self._queue.get(timeout=TICK_S)]
            except queue.Empty:
                self.close_floods()
                continue
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                conn = self._write(conn, batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(
        self, conn: psycopg.Connection[Any] | None, batch: list[AuditEvent]
    ) -> psycopg.Connection[Any] | None:
        """Store a batch (or count it as unstored); returns the connection to reuse, if any."""
        try:
            if time.monotonic() < self._down_until:
                raise psycopg.OperationalError("audit database marked down")
            if conn is None or conn.closed:
                conn = self._connect()
            # One transaction and one COPY a batch: the chain's head row is locked once, not once a row.
            with conn.transaction(), conn.cursor() as cur, cur.copy(COPY) as copy:
                for event in batch:
                    copy.write_row(event.row())
            with self._lock:
                self.stored += len(batch)
            return conn
        except psycopg.Error as exc:
            _log.warning("audit rows not stored (%d): %s", len(batch), type(exc).__name__)
            self._count_unstored(len(batch))
            if isinstance(exc, psycopg.OperationalError):
                self._down_until = time.monotonic() + RETRY_AFTER_S
            if conn is not None:
                conn.close()
            return None

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Close every flood window and wait until every queued row is stored or counted (tests,
        shutdown); False on timeout."""
        self.close_floods(every=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._unfinished() == 0:
                return True
            time.sleep(0.02)
        return False

    def close(self, timeout_s: float = EXIT_WAIT_S) -> None:
        """At exit (or when its owner is done with it): drain for up to `timeout_s`, then say how many
        events this process did not store; once closed, the exit does not say it again."""
        atexit.unregister(self.close)
        self.flush(timeout_s)
        left = self._unfinished()
        with self._lock:
            missing = self.unstored + left
        if missing:
            _log.error(
                "%d audit events not stored by this process (%d still queued at exit); their JSON lines went to stdout",
                missing,
                left,
            )

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
