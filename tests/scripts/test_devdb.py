"""The throwaway cluster from scripts/devdb.py: real streaming, a reader that cannot write, idempotent start."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import Cluster, Database, devdb, wait_for_replica


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
    assert status["primary_running"] and status["replica_running"]
