"""Backups of a throwaway cluster: WAL archiving, a base backup, point-in-time restore into a new one."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from devkit.net import free_port
from devkit.pgcluster import Cluster, chown_to_server_user, die, pg_ctl, wait_until

RESTORE_TIMEOUT_S = 600


def archive_command(folder: Path) -> str:
    # Never overwrite a segment already archived (PostgreSQL's documented recipe).
    return f"test ! -f '{folder}/%f' && cp '%p' '{folder}/%f'"


def archive(cluster: Cluster, folder: Path) -> None:
    """Continuous WAL archiving on the primary into `folder`, as RDS does for point-in-time recovery."""
    folder.mkdir(parents=True, exist_ok=True)
    chown_to_server_user(folder)
    for setting in (
        "archive_mode = 'on'",
        f"archive_command = $${archive_command(folder)}$$",
        "archive_timeout = '60s'",  # a quiet primary still closes a segment a minute: the RPO bound
    ):
        cluster.psql(f"ALTER SYSTEM SET {setting}")  # one statement a call: not in a transaction block
    # archive_mode needs a restart; start_node sends the server's output to its log file.
    pg_ctl(cluster, "stop", "-m", "fast", "-w", "-D", str(cluster.node_dir("primary")))
    cluster.start_node("primary")


def basebackup(cluster: Cluster, folder: Path) -> None:
    """A base backup (data folder + the cluster's state, for its roles' passwords) into `folder`."""
    if folder.exists():
        die(f"{folder} exists")
    folder.mkdir(parents=True)
    chown_to_server_user(folder)
    cluster.base_backup(folder / "data", standby=False)
    (folder / "state.json").write_text(json.dumps(cluster.state))


def restore(target: Cluster, backup: Path, wal: Path, target_time: str) -> dict[str, Any]:
    """Point-in-time recovery into the empty `target`: the base backup, then archived WAL replayed
    up to `target_time`; a primary only. Returns `restore_seconds` and the restored cluster's URLs."""
    if target.state:
        die(f"{target.root} already holds a cluster")
    source = json.loads((backup / "state.json").read_text())
    started = time.monotonic()
    target.root.mkdir(parents=True, exist_ok=True)
    data = target.root / "primary"
    shutil.copytree(backup / "data", data, symlinks=True)
    target.state = {
        "bindir": source["bindir"],
        "ports": {"primary": free_port()},
        "passwords": source["passwords"],
        "restored_to": target_time,
    }
    with open(data / "postgresql.auto.conf", "a") as handle:
        handle.write(
            f"port = {target.state['ports']['primary']}\n"
            f"unix_socket_directories = '{data}'\n"
            f'restore_command = \'cp "{wal}/%f" "%p"\'\n'
            f"recovery_target_time = '{target_time}'\n"
            "recovery_target_action = 'promote'\n"
            "archive_mode = 'off'\n"
        )
    (data / "recovery.signal").touch()
    for stale in ("postmaster.pid", "standby.signal"):
        (data / stale).unlink(missing_ok=True)
    chown_to_server_user(target.root)
    target.save()
    target.start_node("primary")
    wait_until(
        lambda: target.psql("SELECT pg_is_in_recovery()") == "f", "the recovery", timeout_s=RESTORE_TIMEOUT_S
    )
    return {"restore_seconds": round(time.monotonic() - started, 3), **target.urls()}
