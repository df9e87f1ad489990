"""Replica router: read queries go round-robin to healthy replicas, the primary is the last resort.

A replica is healthy when it answers, is in recovery, and its replay position is close to the
primary's WAL position: lag is measured in bytes as `pg_current_wal_lsn()` on the primary minus
`pg_last_wal_replay_lsn()` on the replica, plus the replay pause state (a paused replica with
pending WAL is lagging) and the time behind while WAL is pending. `now() -
pg_last_xact_replay_timestamp()` alone would call an idle but current replica stale.

Order of attempts: healthy replicas (round-robin), the primary, then lagging replicas (only when
the primary is down too; their answers are flagged stale so pages can say so).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pandas as pd
import psycopg
import psycopg.types.json
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from dashboard.errors import DashboardError

PRIMARY = "primary"


class NoNodeAvailable(DashboardError):
    """Neither a replica nor the primary answered."""


class QueryFailed(DashboardError):
    """A query was rejected or timed out (not a connectivity problem); its message names no secret."""


def parse_lsn(text: str | None) -> int | None:
    """`'16/B374D848'` → byte position, None when unknown."""
    if not text:
        return None
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass(frozen=True)
class NodeHealth:
    """What one probe saw on one node."""

    name: str
    role: str  # "primary" or "replica"
    reachable: bool
    lag_bytes: int | None = None  # replicas: primary WAL position minus replay position
    paused: bool = False
    behind_s: float | None = None  # replicas: seconds since last replayed commit, while WAL is pending
    lagging: bool = False
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.reachable and not self.lagging


@dataclass(frozen=True)
class ReadResult:
    """Rows of one read, with where they came from and whether they may be behind."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    node: str
    stale: bool = False
    lag_bytes: int | None = None

    @property
    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame (built on use: a one-row lookup does not need pandas)."""
        return pd.DataFrame(self.rows, columns=self.columns)


@dataclass
class _Node:
    name: str
    role: str
    url: str
    engine: Engine | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("database URLs must start with postgresql://")


class ReplicaRouter:
    """Routes read-only SQL to the freshest healthy node.

    Engines (connection pools) are created lazily, so each gunicorn worker builds its own after fork.
    """

    def __init__(
        self,
        primary_url: str,
        replica_urls: Sequence[str] = (),
        *,
        max_lag_bytes: int = 16 * 1024 * 1024,
        max_lag_seconds: float = 30.0,
        statement_timeout_ms: int = 5000,
        connect_timeout_s: int = 3,
        pool_size: int = 4,
        health_ttl_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = _Node(PRIMARY, "primary", _sqlalchemy_url(primary_url))
        self._replicas = [
            _Node(f"replica{i + 1}", "replica", _sqlalchemy_url(url)) for i, url in enumerate(replica_urls)
        ]
        self.max_lag_bytes = max_lag_bytes
        self.max_lag_seconds = max_lag_seconds
        self.statement_timeout_ms = statement_timeout_ms
        self._connect_timeout_s = connect_timeout_s
        self._pool_size = pool_size
        self._health_ttl_s = health_ttl_s
        self._clock = clock
        self._rr = itertools.count()
        self._health: dict[str, NodeHealth] = {}
        self._health_at = float("-inf")
        self._health_lock = threading.Lock()
        self._compiled: dict[str, str] = {}  # SQL text -> the driver's statement (compiled once)

    # -- pools -------------------------------------------------------------------------------------
    def _engine(self, node: _Node) -> Engine:
        with node.lock:
            if node.engine is None:
                node.engine = sa.create_engine(
                    node.url,
                    pool_size=self._pool_size,
                    max_overflow=self._pool_size,
                    pool_timeout=self._connect_timeout_s * 2,
                    pool_recycle=1800,
                    pool_pre_ping=False,
                    # Single SELECTs: no BEGIN/ROLLBACK round trips around each one.
                    isolation_level="AUTOCOMMIT",
                    connect_args={
                        "connect_timeout": self._connect_timeout_s,
                        "application_name": "mycfa-dashboard",
                        # Every query on every connection is bounded; and reads only, whatever the role.
                        # No parallel workers: the pages' reads are small, and a parallel plan's worker
                        # start costs more than it saves (the Company profile's freshness query took
                        # 19-52 ms with two workers, 6-7 ms without, on the 503-symbol store at load
                        # ~11; the heaviest universe-wide read, the latest TTM rows, 333 against 261).
                        "options": f"-c statement_timeout={self.statement_timeout_ms}"
                        " -c default_transaction_read_only=on -c max_parallel_workers_per_gather=0",
                    },
                )
                sa.event.listen(node.engine, "connect", _fast_json)
            return node.engine

    def dispose(self) -> None:
        """Close every pooled connection (tests, shutdown)."""
        for node in [self._primary, *self._replicas]:
            if node.engine is not None:
                node.engine.dispose()
                node.engine = None

    # -- health ------------------------------------------------------------------------------------
    def _scalar_row(self, node: _Node, sql: str) -> Sequence[Any]:
        with self._engine(node).connect() as conn:
            row = conn.exec_driver_sql(sql).one()
            return tuple(row)

    def probe(self) -> dict[str, NodeHealth]:
        """Probe every node now (primary first, for its WAL position) and remember the result."""
        health: dict[str, NodeHealth] = {}
        primary_lsn: int | None = None
        try:
            (lsn_text,) = self._scalar_row(self._primary, "SELECT pg_current_wal_lsn()::text")
            primary_lsn = parse_lsn(lsn_text)
            health[PRIMARY] = NodeHealth(PRIMARY, "primary", reachable=True, lag_bytes=0)
        except (OperationalError, DBAPIError) as exc:
            health[PRIMARY] = NodeHealth(PRIMARY, "primary", reachable=False, error=type(exc.orig).__name__)
        for node in self._replicas:
            health[node.name] = self._probe_replica(node, primary_lsn)
        with self._health_lock:
            self._health = health
            self._health_at = self._clock()
        return health

    def _probe_replica(self, node: _Node, primary_lsn: int | None) -> NodeHealth:
        try:
            in_recovery, replay_text, paused, behind = self._scalar_row(
                node,
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, pg_is_wal_replay_paused(),"
                " extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8",
            )
        except (OperationalError, DBAPIError) as exc:
            return NodeHealth(node.name, "replica", reachable=False, error=type(exc.orig).__name__)
        if not in_recovery:  # promoted or misconfigured: not a replica of this primary any more
            return NodeHealth(node.name, "replica", reachable=True, lagging=True, error="not in recovery")
        replay = parse_lsn(replay_text)
        lag = None if primary_lsn is None or replay is None else max(0, primary_lsn - replay)
        behind_s = float(behind) if behind is not None else None
        pending = lag is None or lag > 0
        lagging = (
            (lag is not None and lag > self.max_lag_bytes)
            or (bool(paused) and pending)
            or (pending and behind_s is not None and behind_s > self.max_lag_seconds)
        )
        return NodeHealth(
            node.name,
            "replica",
            reachable=True,
            lag_bytes=lag,
            paused=bool(paused),
            behind_s=behind_s if pending else 0.0,
            lagging=lagging,
        )

    def health(self) -> dict[str, NodeHealth]:
        """The last probe, refreshed when older than the health TTL."""
        with self._health_lock:
            fresh = self._clock() - self._health_at < self._health_ttl_s
            cached = self._health
        return cached if fresh and cached else self.probe()

    def _mark_down(self, name: str, error: str) -> None:
        with self._health_lock:
            old = self._health.get(name)
            role = old.role if old else ("primary" if name == PRIMARY else "replica")
            self._health = {**self._health, name: NodeHealth(name, role, reachable=False, error=error)}

    def plan(self) -> list[tuple[_Node, bool]]:
        """Nodes to try in order, each with whether its answer would be stale."""
        health = self.health()
        good = [n for n in self._replicas if health.get(n.name, NodeHealth(n.name, "replica", False)).usable]
        order: list[tuple[_Node, bool]] = []
        if good:
            start = next(self._rr) % len(good)
            order += [(n, False) for n in good[start:] + good[:start]]
        if health.get(PRIMARY, NodeHealth(PRIMARY, "primary", True)).reachable:
            order.append((self._primary, False))
        lagging = [
            n
            for n in self._replicas
            if health.get(n.name) and health[n.name].reachable and health[n.name].lagging
        ]
        order += [(n, True) for n in lagging]
        if not order:  # everything looked down at the last probe: try anyway, primary first
            order = [(self._primary, False)] + [(n, True) for n in self._replicas]
        return order

    # -- reads -------------------------------------------------------------------------------------
    def read(self, sql: str, params: Mapping[str, Any] | None = None, *, fresh: bool = False) -> ReadResult:
        """Run one parameterised SELECT on the best node; `fresh` asks the primary first (what must
        not lag, such as a session's revocation), the usual order after it.

        Raises:
            NoNodeAvailable: no node could be reached.
            QueryFailed: the query itself failed (timeout, missing table...).
        """
        last_error = "no node configured"
        order = self.plan()
        if fresh:
            order = sorted(order, key=lambda item: item[0].role != "primary")
        for node, stale in order:
            try:
                columns, rows = self._fetch(node, sql, params)
            except (DBAPIError, psycopg.Error) as exc:
                driver_error = exc.orig if isinstance(exc, DBAPIError) else exc
                if _is_connectivity(driver_error):
                    self._mark_down(node.name, type(driver_error).__name__)
                    last_error = f"{node.name} unreachable"
                    continue
                raise QueryFailed(_describe(driver_error)) from None
            lag = self._health.get(node.name)
            return ReadResult(columns, rows, node.name, stale=stale, lag_bytes=lag.lag_bytes if lag else None)
        raise NoNodeAvailable(last_error)

    def _fetch(
        self, node: _Node, sql: str, params: Mapping[str, Any] | None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """One SELECT on one node through the pooled driver connection, rows fetched in binary.

        SQLAlchemy compiles the statement (`:name` parameters) and keeps the pool; the driver's cursor
        reads the rows: a price history costs ~10 ms of CPU this way against ~25 ms through
        SQLAlchemy's result rows and psycopg's text format.

        Raises:
            psycopg.Error / sqlalchemy DBAPIError: from the driver, or from the pool when connecting.
        """
        engine = self._engine(node)
        statement = self._compiled.get(sql)
        if statement is None:
            statement = self._compiled[sql] = str(sa.text(sql).compile(dialect=engine.dialect))
        pooled = engine.raw_connection()
        try:
            driver = pooled.driver_connection
            if not isinstance(driver, psycopg.Connection):
                raise TypeError(f"the dashboard reads through psycopg, not {type(driver).__name__}")
            with driver.cursor(binary=True) as cursor:
                cursor.execute(statement, dict(params or {}))
                return [column.name for column in cursor.description or ()], cursor.fetchall()
        except psycopg.Error as exc:
            if _is_connectivity(exc):
                pooled.invalidate(exc)  # a dead link must not go back to the pool
            raise
        finally:
            pooled.close()


def _fast_json(driver_connection: Any, _record: Any) -> None:
    """JSONB columns (statement payloads) parsed by orjson: ~3x faster than the standard library's."""
    psycopg.types.json.set_json_loads(orjson.loads, driver_connection)


def _is_connectivity(exc: BaseException | None) -> bool:
    """A dropped/refused connection (fail over) versus a query error such as a timeout (report)."""
    if not isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    sqlstate = exc.sqlstate
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in {"57P01", "57P02", "57P03"}


def _describe(exc: BaseException | None) -> str:
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate == "57014":
        return "the query took too long (statement timeout)"
    return f"query failed ({type(exc).__name__}, SQLSTATE {sqlstate})"
