"""A drill's own cluster: `scripts/devdb.py` in a folder of the drill's, and waiting on its replica."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import psycopg

from .common import REPO, DrillFailed


class DrillCluster:
    """A `scripts/devdb.py` cluster in a folder of the drill's own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.info: dict[str, Any] = {}

    def devdb(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "devdb.py"), *args],
            env={**os.environ, "MYCFA_DEVDB_DIR": str(self.root)},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise DrillFailed(f"devdb {' '.join(args)} failed: {result.stderr.strip()[-600:]}")
        return result.stdout

    def start(self) -> DrillCluster:
        self.info = json.loads(self.devdb("start", "--json"))
        return self

    def refresh(self) -> None:
        """Re-read the URLs (after a promotion the primary's port changes)."""
        self.info = {**self.info, **json.loads(self.devdb("status", "--json") or "{}")}

    def url(self, which: str, database: str = "mycfa") -> str:
        """`owner_url`, `reader_url`, `replica_reader_url`, `admin_url`... on `database`."""
        return str(self.info[which]).rsplit("/", 1)[0] + "/" + database

    def createdb(self, name: str) -> None:
        self.devdb("createdb", name)

    def destroy(self) -> None:
        with suppress(DrillFailed):
            self.devdb("destroy")
        shutil.rmtree(self.root, ignore_errors=True)


def wait_replica_caught_up(cluster: DrillCluster, timeout_s: float = 60) -> None:
    """Block until the replica has replayed everything the primary has written."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(cluster.url("admin_url", "postgres"), autocommit=True) as primary:
        row = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
        assert row is not None
        target = row[0]
        with psycopg.connect(cluster.url("admin_replica_url", "postgres"), autocommit=True) as replica:
            while time.monotonic() < deadline:
                row = replica.execute(
                    "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) >= 0", (str(target),)
                ).fetchone()
                if row and row[0]:
                    return
                time.sleep(0.1)
    raise DrillFailed("the replica did not catch up")
