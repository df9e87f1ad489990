"""The throwaway cluster from scripts/devdb.py: real streaming, a reader that cannot write, idempotent start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psycopg
import pytest

from tests.conftest import DEVDB, Cluster, Database, devdb, wait_for_replica


def test_replica_streams_rows_written_on_primary(pg_cluster: Cluster, pg_database: Database) -> None:
    """A row committed on the primary is readable on the hot standby."""
    with psycopg.connect(pg_database.owner_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE probe (id int PRIMARY KEY, note text)")
        conn.execute("GRANT SELECT ON probe TO mycfa_reader")
        conn.execute("INSERT INTO probe VALUES (1, 'streamed')")
    wait_for_replica(pg_cluster)
    with psycopg.connect(pg_database.replica_reader_url) as replica:
        assert replica.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        assert replica.execute("SELECT note FROM probe WHERE id = 1").fetchone() == ("streamed",)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO probe VALUES (2, 'nope')",
        "CREATE TABLE intruder (id int)",
        "CREATE TEMP TABLE intruder (id int)",
        "CREATE SCHEMA intruder",
    ],
)
@pytest.mark.parametrize("node", ["primary", "replica"])
def test_reader_cannot_write_even_in_read_write_transaction(
    pg_cluster: Cluster, pg_database: Database, node: str, statement: str
) -> None:
    """mycfa_reader is refused INSERT/CREATE on both nodes, even after SET TRANSACTION READ WRITE."""
    url = pg_database.reader_url if node == "primary" else pg_database.replica_reader_url
    with psycopg.connect(pg_database.owner_url, autocommit=True) as owner:
        owner.execute("CREATE TABLE IF NOT EXISTS probe (id int PRIMARY KEY, note text)")
        owner.execute("GRANT SELECT ON probe TO mycfa_reader")
    wait_for_replica(pg_cluster)
    with psycopg.connect(url) as conn:
        if node == "primary":
            conn.execute("SET TRANSACTION READ WRITE")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        else:
            # A hot standby refuses read-write mode outright, and any write after that.
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute("SET TRANSACTION READ WRITE")
            conn.rollback()
            with pytest.raises((psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.InsufficientPrivilege)):
                conn.execute(statement)


def test_reader_can_select_granted_table(pg_database: Database) -> None:
    """The reader's SELECT grant works: the refusals above are about writing, not connecting."""
    with psycopg.connect(pg_database.owner_url, autocommit=True) as owner:
        owner.execute("CREATE TABLE IF NOT EXISTS probe (id int PRIMARY KEY, note text)")
        owner.execute("INSERT INTO probe VALUES (7, 'seen') ON CONFLICT DO NOTHING")
        owner.execute("GRANT SELECT ON probe TO mycfa_reader")
    with psycopg.connect(pg_database.reader_url) as conn:
        assert conn.execute("SELECT note FROM probe WHERE id = 7").fetchone() == ("seen",)


def test_start_twice_reuses_running_cluster(pg_cluster: Cluster) -> None:
    """A second `start` finds the running pair and hands back the same URLs."""
    info = json.loads(devdb("start", "--json"))
    assert info["status"] == "reused"
    assert info["owner_url"] == pg_cluster.owner_url
    assert info["replica_reader_url"] == pg_cluster.replica_reader_url
    status = json.loads(devdb("status", "--json"))
    assert status["primary_running"]
    assert status["replica_running"]


def test_promote_fails_over_to_replica_and_rebuilds_one() -> None:
    """`promote` fences the primary, promotes the replica (it takes writes) and streams to a new replica."""
    # A cluster of its own (the session's stays as it is), where the postgres user can reach it.
    folder = DEVDB.parent.parent / ".devdb" / f"test-promote-{os.getpid()}"
    env = {**os.environ, "MYCFA_DEVDB_DIR": str(folder)}

    def run(*args: str) -> str:
        return subprocess.run(
            [sys.executable, str(DEVDB), *args], env=env, capture_output=True, text=True, check=True
        ).stdout

    try:
        before = json.loads(run("start", "--json"))
        with psycopg.connect(before["admin_url"], autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (id int)")
            conn.execute("INSERT INTO kept VALUES (1)")
            conn.execute("SELECT pg_switch_wal()")
        after = json.loads(run("promote", "--json"))
        assert after["primary_port"] == before["replica_port"]
        assert after["promote_seconds"] > 0
        with psycopg.connect(after["admin_url"], autocommit=True) as primary:
            assert primary.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
            primary.execute("INSERT INTO kept VALUES (2)")  # the new primary takes writes
        status = json.loads(run("status", "--json"))
        assert status["primary_running"]
        assert status["replica_running"]
        deadline = time.monotonic() + 90  # generous: CI machines can be loaded
        with psycopg.connect(after["admin_replica_url"], autocommit=True) as replica:
            assert replica.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            while replica.execute("SELECT count(*) FROM kept").fetchone() != (2,):
                assert time.monotonic() < deadline, "the rebuilt replica never saw the new primary's write"
                time.sleep(0.1)
    finally:
        run("destroy")
