"""Faults on a throwaway cluster: a node crashed, restarted, the replica promoted in its place."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

from devkit.pgcluster import START_TIMEOUT_S, Cluster, die, locked, pg_ctl, wait_until


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _postmaster_pid(cluster: Cluster, node: str) -> int:
    pid_file = cluster.node_dir(node) / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else 0


def kill(cluster: Cluster, node: str) -> bool:
    """Stop one node the way a crash does: no checkpoint, no goodbye to clients. False if it was down."""
    if not cluster.is_running(node):
        return False
    pid = _postmaster_pid(cluster, node)
    pg_ctl(cluster, "stop", "-m", "immediate", "-w", "-D", str(cluster.node_dir(node)))
    # pg_ctl returns once postmaster.pid is gone; the process may still be removing its socket
    # lock files, which a server started next in that folder would find (and refuse to start).
    wait_until(lambda: not pid or not process_alive(pid), f"the {node}'s postmaster to exit")
    return True


def restart(cluster: Cluster, node: str, down_s: float) -> None:
    """Restart one node the way a maintenance restart does: clients are disconnected, then refused."""
    pid = _postmaster_pid(cluster, node)
    pg_ctl(cluster, "stop", "-m", "fast", "-w", "-D", str(cluster.node_dir(node)))
    wait_until(lambda: not pid or not process_alive(pid), f"the {node}'s postmaster to exit")
    time.sleep(down_s)
    cluster.start_node(node)


def promote(cluster: Cluster, *, rebuild: bool) -> dict[str, Any]:
    """Fail over to the replica; the old primary is fenced (stopped) first, so there is never two.

    Serialised with `pgcluster.start` on the cluster's lock. Returns `promote_seconds`,
    `rebuild_seconds` (0 without `rebuild`) and the cluster's new URLs.
    """
    with locked(cluster.root):
        cluster = Cluster(cluster.root)
        if not cluster.is_running("replica"):
            die("the replica is not running: nothing to promote")
        kill(cluster, "primary")
        started = time.monotonic()
        pg_ctl(cluster, "promote", "-w", "-t", str(START_TIMEOUT_S), "-D", str(cluster.node_dir("replica")))
        wait_until(lambda: cluster.psql("SELECT pg_is_in_recovery()", node="replica") == "f", "the promotion")
        promote_s = time.monotonic() - started
        # The promoted node is the primary from now on; the old primary's folder and port are the replica's.
        dirs = {"primary": cluster.node_dir("replica").name, "replica": cluster.node_dir("primary").name}
        ports = cluster.state["ports"]
        cluster.state["dirs"] = dirs
        cluster.state["ports"] = {"primary": ports["replica"], "replica": ports["primary"]}
        cluster.save()
        rebuild_s = 0.0
        if rebuild:
            started = time.monotonic()
            shutil.rmtree(cluster.node_dir("replica"), ignore_errors=True)
            cluster.clone_replica()
            rebuild_s = time.monotonic() - started
        return {
            "promote_seconds": round(promote_s, 3),
            "rebuild_seconds": round(rebuild_s, 3),
            **cluster.urls(),
        }
