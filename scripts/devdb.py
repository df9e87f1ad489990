#!/usr/bin/env python3
"""Throwaway PostgreSQL 15 primary + streaming hot-standby replica for development and tests.

Usage:
    scripts/devdb.py start [--json]     find the running cluster or create/start it; print URLs
    scripts/devdb.py status [--json]    say what runs, with replication lag
    scripts/devdb.py stop               stop both nodes (data kept)
    scripts/devdb.py destroy            stop both nodes and delete the folder
    scripts/devdb.py createdb NAME      a fresh database owned by the engine role, hardened for the reader
    scripts/devdb.py dropdb NAME
    scripts/devdb.py kill NODE          stop one node at once (`pg_ctl stop -m immediate`: a crash)
    scripts/devdb.py restart NODE [--down S]
                                        a clean restart (`pg_ctl stop -m fast`), down for S seconds
    scripts/devdb.py promote [--json]   fail over: fence the old primary, promote the replica, rebuild
                                        a replica from the new primary (`--no-rebuild` skips that)
    scripts/devdb.py archive DIR        WAL archiving on the primary into DIR (restarts the primary)
    scripts/devdb.py basebackup DIR     a base backup of the primary into DIR (for `restore`)
    scripts/devdb.py restore --from DIR --wal DIR --target-time T [--json]
                                        point-in-time recovery into MYCFA_DEVDB_DIR, primary only

Everything lives in `.devdb/` of the repository (ignored by git; `MYCFA_DEVDB_DIR` picks another
folder, as the drills do for clusters of their own), on free loopback ports. The work is done by
`devkit.pgcluster` (the cluster), `devkit.pgfaults` and `devkit.pgbackup`; this is their CLI.
Standard library only, so it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # devkit, without the virtualenv

from devkit import pgbackup, pgcluster, pgfaults  # noqa: E402 (after the path)
from devkit.pgcluster import Cluster, ClusterError  # noqa: E402


def cmd_start(cluster: Cluster, as_json: bool) -> None:
    cluster, how = pgcluster.start(cluster)
    info = {"status": how, **cluster.urls()}
    if as_json:
        print(json.dumps(info))
        return
    print(f"devdb: {how} primary on port {info['primary_port']}, replica on port {info['replica_port']}")
    print(f"  engine (owner):   {info['owner_url']}")
    print(f"  reader, primary:  {info['reader_url']}")
    print(f"  reader, replica:  {info['replica_reader_url']}")
    print(f"  audit writer:     {info['audit_url']}")
    print(f"  operator:         {info['operator_url']}")


def cmd_status(cluster: Cluster, as_json: bool) -> int:
    if not cluster.state:
        print("devdb: no cluster here (run `scripts/devdb.py start`)")
        return 3
    info: dict[str, Any] = {
        "primary_running": cluster.is_running("primary"),
        "replica_running": cluster.is_running("replica"),
    }
    if info["primary_running"]:
        lag = cluster.psql(
            "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), -1) "
            "FROM pg_stat_replication"
        )
        info["replay_lag_bytes"] = int(float(lag))
    info.update(cluster.urls())
    if as_json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key}: {value}")
    return 0 if info["primary_running"] and info["replica_running"] else 3


def cmd_stop(cluster: Cluster) -> None:
    for node in pgcluster.stop(cluster):
        print(f"devdb: stopped {node}")


def cmd_destroy(cluster: Cluster) -> None:
    if cluster.state:
        cmd_stop(cluster)
    shutil.rmtree(cluster.root, ignore_errors=True)
    print("devdb: destroyed")


def cmd_kill(cluster: Cluster, node: str) -> None:
    if pgfaults.kill(cluster, node):
        print(f"devdb: killed {node}")


def cmd_restart(cluster: Cluster, node: str, down_s: float) -> None:
    pgfaults.restart(cluster, node, down_s)
    print(f"devdb: restarted {node} (down for at least {down_s:g} s)")


def cmd_promote(cluster: Cluster, *, rebuild: bool, as_json: bool) -> None:
    info = pgfaults.promote(cluster, rebuild=rebuild)
    if as_json:
        print(json.dumps(info))
        return
    print(
        f"devdb: promoted the replica in {info['promote_seconds']:.2f} s (primary now on port {info['primary_port']})"
    )
    if rebuild:
        print(f"devdb: new replica on port {info['replica_port']} in {info['rebuild_seconds']:.1f} s")


def cmd_archive(cluster: Cluster, folder: Path) -> None:
    pgbackup.archive(cluster, folder)
    print(f"devdb: archiving WAL into {folder}")


def cmd_basebackup(cluster: Cluster, folder: Path) -> None:
    pgbackup.basebackup(cluster, folder)
    print(f"devdb: base backup in {folder}")


def cmd_restore(target: Cluster, backup: Path, wal: Path, target_time: str, as_json: bool) -> None:
    info = pgbackup.restore(target, backup, wal, target_time)
    if as_json:
        print(json.dumps(info))
    else:
        print(
            f"devdb: restored to {target_time} in {info['restore_seconds']} s on port {info['primary_port']}"
        )


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="verb", required=True)
    for verb in ("start", "status"):
        sub.add_parser(verb).add_argument("--json", action="store_true")
    sub.add_parser("stop")
    sub.add_parser("destroy")
    for verb in ("createdb", "dropdb"):
        sub.add_parser(verb).add_argument("name")
    sub.add_parser("kill").add_argument("node", choices=("primary", "replica"))
    restart = sub.add_parser("restart")
    restart.add_argument("node", choices=("primary", "replica"))
    restart.add_argument("--down", type=float, default=0.0, help="seconds between stop and start")
    promote = sub.add_parser("promote")
    promote.add_argument("--no-rebuild", action="store_true", help="leave the cluster without a replica")
    promote.add_argument("--json", action="store_true")
    for verb in ("archive", "basebackup"):
        sub.add_parser(verb).add_argument("folder", type=Path)
    restore = sub.add_parser("restore")
    restore.add_argument("--from", dest="backup", type=Path, required=True, help="a `basebackup` folder")
    restore.add_argument("--wal", type=Path, required=True, help="the `archive` folder")
    restore.add_argument("--target-time", required=True, help="e.g. '2026-11-30 05:10:00.123+00'")
    restore.add_argument("--json", action="store_true")
    return parser


def main() -> int:
    args = parser().parse_args()
    cluster = Cluster(pgcluster.state_dir())
    verbs: dict[str, Callable[[], int | None]] = {
        "start": lambda: cmd_start(cluster, args.json),
        "status": lambda: cmd_status(cluster, args.json),
        "stop": lambda: cmd_stop(cluster) if cluster.state else None,
        "destroy": lambda: cmd_destroy(cluster),
        "createdb": lambda: cluster.create_database(args.name),
        "dropdb": lambda: cluster.drop_database(args.name),
        "kill": lambda: cmd_kill(cluster, args.node),
        "restart": lambda: cmd_restart(cluster, args.node, args.down),
        "promote": lambda: cmd_promote(cluster, rebuild=not args.no_rebuild, as_json=args.json),
        "archive": lambda: cmd_archive(cluster, args.folder.resolve()),
        "basebackup": lambda: cmd_basebackup(cluster, args.folder.resolve()),
        "restore": lambda: cmd_restore(
            cluster, args.backup.resolve(), args.wal.resolve(), args.target_time, args.json
        ),
    }
    try:
        return verbs[args.verb]() or 0
    except ClusterError as exc:
        print(f"devdb: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
