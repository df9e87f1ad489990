"""Replica routing on real nodes: round-robin, failover to the primary, lag by LSN, staleness shown.

Stopping or pausing the session's shared replica would disturb other tests, so these tests build
their own standby with pg_basebackup from the session primary, on a free port, and remove it after.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dashboard.data.router import ReplicaRouter
from devkit import callbacks, pgcluster
from devkit.net import free_port
from tests.conftest import Cluster, Database
from tests.dashboard.conftest import login, make_settings


class Standby:
    """A hot standby of the session primary that this test module owns."""

    def __init__(self, cluster: pgcluster.Cluster, root: Path) -> None:
        self.cluster, self.dir = cluster, root / "standby"
        self.port = free_port()

    def create(self) -> None:
        self.cluster.base_backup(self.dir)
        with open(self.dir / "postgresql.conf", "a") as handle:
            handle.write(f"\nport = {self.port}\nunix_socket_directories = '{self.dir}'\n")
        pgcluster.chown_to_server_user(self.dir)
        pgcluster.sh(
            [
                str(self.cluster.bindir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.dir),
                "-l",
                str(self.dir / "log"),
            ]
        )

    def stop(self) -> None:
        pgcluster.sh(
            [str(self.cluster.bindir / "pg_ctl"), "stop", "-m", "immediate", "-w", "-D", str(self.dir)],
            check=False,
        )

    def url(self, base: str) -> str:
        return base.replace(f":{self.cluster.state['ports']['replica']}/", f":{self.port}/")


@pytest.fixture(scope="module")
def standby(pg_cluster: Cluster, dash_db: Database) -> Iterator[Standby]:
    cluster = pgcluster.Cluster(pgcluster.state_dir())
    root = Path(tempfile.mkdtemp(prefix="mycfa-standby-"))
    root.chmod(0o755)
    pgcluster.chown_to_server_user(root)  # the server runs as `postgres` when we are root
    node = Standby(cluster, root)
    node.create()
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(root, ignore_errors=True)


def _wait_caught_up(admin_primary: str, admin_standby: str) -> None:
    with psycopg.connect(admin_primary, autocommit=True) as primary:
        target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    with psycopg.connect(admin_standby, autocommit=True) as replica:
        for _ in range(600):
            if replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()[0]:  # type: ignore[index]
                return
            time.sleep(0.05)
    raise TimeoutError("standby did not catch up")


def _dead_url(url: str) -> str:
    return url.rsplit("@", 1)[0] + "@127.0.0.1:1/" + url.rsplit("/", 1)[1]


def test_router_round_robin_over_healthy_replicas(dash_db: Database, standby: Standby) -> None:
    """Two healthy replicas take turns; the primary is not used while they are healthy."""
    router = ReplicaRouter(
        dash_db.reader_url,
        [dash_db.replica_reader_url, standby.url(dash_db.replica_reader_url)],
        health_ttl_s=60,
    )
    _wait_caught_up(dash_db.admin_url, standby.url(dash_db.admin_replica_url))
    nodes = [router.read("SELECT count(*) AS n FROM companies").node for _ in range(4)]
    assert nodes == ["replica1", "replica2", "replica1", "replica2"]
    router.dispose()


def test_router_skips_a_down_replica(dash_db: Database) -> None:
    """A replica that refuses connections is skipped and the primary answers."""
    router = ReplicaRouter(dash_db.reader_url, [_dead_url(dash_db.replica_reader_url)], connect_timeout_s=1)
    result = router.read("SELECT count(*) AS n FROM companies")
    assert result.node == "primary"
    assert not result.stale
    assert int(result.frame["n"][0]) == 8
    assert router.health()["replica1"].reachable is False
    router.dispose()


def test_paused_replica_is_skipped_then_shown_stale(
    dash_db: Database, standby: Standby, tmp_path: Path
) -> None:
    """Replay paused with WAL pending → lagging by LSN: the primary serves; with the primary down too,
    the replica answers and the page says the data may be out of date."""
    standby_admin = standby.url(dash_db.admin_replica_url)
    standby_reader = standby.url(dash_db.replica_reader_url)
    _wait_caught_up(dash_db.admin_url, standby_admin)
    with psycopg.connect(standby_admin, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        for _ in range(200):  # a pause is a request: wait until replay has really stopped
            if conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] == "paused":  # type: ignore[index]
                break
            time.sleep(0.05)
    try:
        with psycopg.connect(
            dash_db.owner_url, autocommit=True
        ) as conn:  # new WAL the standby will not replay
            conn.execute("UPDATE companies SET updated_at = now() WHERE symbol = 'AAPL'")
        router = ReplicaRouter(dash_db.reader_url, [standby_reader], health_ttl_s=0)
        for _ in range(100):  # asynchronous commit: the WAL write position moves within wal_writer_delay
            health = router.probe()["replica1"]
            if health.lagging:
                break
            time.sleep(0.05)
        assert health.paused
        assert health.lagging
        assert (health.lag_bytes or 0) > 0
        assert router.read("SELECT 1 AS one").node == "primary"
        router.dispose()

        from dashboard.app import create_app

        app = create_app(
            make_settings(
                dash_db,
                database_url=_dead_url(dash_db.reader_url),
                replica_urls=(standby_reader,),
                connect_timeout_s=1,
            )
        )
        client = app.server.test_client()
        assert login(client, "ann").status_code == 302
        deps = client.get("/_dash-dependencies").get_json()
        response = client.post(
            "/_dash-update-component",
            json=callbacks.body(callbacks.find(deps, "company-profile"), {"company-symbol": "AAPL"}),
        )
        assert response.status_code == 200
        out = response.get_json()["response"]
        assert "out of date" in json.dumps(out["company-staleness"])
        assert "AAPL" in json.dumps(out["company-profile"])
        app.server.extensions["mycfa"].router.dispose()
    finally:
        with psycopg.connect(standby_admin, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")


def test_stopped_replica_pages_answer_from_primary(
    dash_db: Database, standby: Standby, tmp_path: Path
) -> None:
    """With the (own) replica stopped, pages still answer, from the primary, without a staleness warning."""
    from dashboard.app import create_app

    app = create_app(
        make_settings(dash_db, replica_urls=(standby.url(dash_db.replica_reader_url),), connect_timeout_s=1)
    )
    standby.stop()
    client = app.server.test_client()
    assert login(client, "ann").status_code == 302
    deps = client.get("/_dash-dependencies").get_json()
    body = callbacks.body(
        callbacks.find(deps, "company-price-graph"),
        {"company-symbol": "XOM", "company-adjusted": "adj", "company-overlays": [], "company-range": "1Y"},
    )
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    assert (
        response.get_json()["response"]["company-price-graph"]["figure"]["data"][0]["type"] == "candlestick"
    )
    assert login(client, "ada").status_code == 302  # node details are for admins
    health = client.get("/health/ready").get_json()["nodes"]
    assert health["replica1"]["reachable"] is False
    assert health["primary"]["reachable"] is True
    app.server.extensions["mycfa"].router.dispose()
