"""Shared fixtures: a real PostgreSQL primary + streaming replica, and a fresh database per module.

The cluster comes from `scripts/devdb.py` (the same script developers use), so tests exercise the
real thing. Each test module gets its own database, created here and dropped afterwards: tests
never touch a database they did not create.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DEVDB = REPO_ROOT / "scripts" / "devdb.py"
REPLICA_CATCH_UP_S = 30


def devdb(*args: str) -> str:
    result = subprocess.run([sys.executable, str(DEVDB), *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"devdb {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


@dataclass(frozen=True)
class Cluster:
    """URLs of the session's primary and replica (roles: superuser, owner, reader, audit writer,
    the operator who administers users and verifies the audit trail)."""

    admin_url: str
    admin_replica_url: str
    owner_url: str
    reader_url: str
    replica_reader_url: str
    audit_url: str
    operator_url: str


@dataclass(frozen=True)
class Database:
    """A throwaway database on the session cluster, with a URL per role and node."""

    name: str
    owner_url: str
    reader_url: str
    replica_reader_url: str
    admin_url: str
    admin_replica_url: str
    audit_url: str
    operator_url: str


def wait_for_replica(cluster: Cluster, timeout_s: float = REPLICA_CATCH_UP_S) -> None:
    """Block until the replica has replayed everything the primary has written so far."""
    with psycopg.connect(cluster.admin_url, autocommit=True) as primary:
        # the insert position: with synchronous_commit off, the write position can lag the last commit
        target = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(cluster.admin_replica_url, autocommit=True) as replica:
        while time.monotonic() < deadline:
            row = replica.execute(
                "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) >= 0", (target,)
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
    raise TimeoutError("replica did not catch up with the primary")


@pytest.fixture(scope="session")
def pg_cluster() -> Cluster:
    """The session-wide primary + replica (started, or reused when already running)."""
    info = json.loads(devdb("start", "--json"))
    return Cluster(
        admin_url=info["admin_url"],
        admin_replica_url=info["admin_replica_url"],
        owner_url=info["owner_url"],
        reader_url=info["reader_url"],
        replica_reader_url=info["replica_reader_url"],
        audit_url=info["audit_url"],
        operator_url=info["operator_url"],
    )


def _with_database(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


@contextlib.contextmanager
def throwaway_database(cluster: Cluster, stem: str) -> Iterator[Database]:
    """A fresh database on the session cluster (hardened for the reader), dropped on exit."""
    name = f"t_{re.sub(r'[^a-z0-9_]', '_', stem.lower())[:30]}_{uuid.uuid4().hex[:8]}"
    devdb("createdb", name)
    try:
        yield Database(
            name=name,
            owner_url=_with_database(cluster.owner_url, name),
            reader_url=_with_database(cluster.reader_url, name),
            replica_reader_url=_with_database(cluster.replica_reader_url, name),
            admin_url=_with_database(cluster.admin_url, name),
            admin_replica_url=_with_database(cluster.admin_replica_url, name),
            audit_url=_with_database(cluster.audit_url, name),
            operator_url=_with_database(cluster.operator_url, name),
        )
    finally:
        devdb("dropdb", name)


@pytest.fixture(scope="module")
def pg_database(pg_cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A fresh database for this test module, dropped at the end."""
    with throwaway_database(pg_cluster, request.module.__name__.rsplit(".", 1)[-1]) as database:
        yield database


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No MYCFA_* variable from the caller's environment: each settings test sets its own."""
    for name in list(os.environ):
        if name.startswith("MYCFA_"):
            monkeypatch.delenv(name)
    return monkeypatch
