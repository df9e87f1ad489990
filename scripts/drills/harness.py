"""What every drill is made of: a folder, a cluster, the fake FMP, the engine, the dashboard, a report.

Each drill gets a cluster of its own (`scripts/devdb.py` with `MYCFA_DEVDB_DIR` under `.devdb/drills/`),
so killing or promoting nodes never touches the cluster the tests or the demo use. The parts live in
`common`, `cluster`, `ingest`, `analysts` and `report`; this module puts a drill's stack together and
names them all, so a drill needs only `from . import harness`.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fakefmp.process import FakeFMPProcess, start_fakefmp

from .analysts import Analyst, Dashboard, PageLoad, PageStream
from .cluster import DrillCluster, wait_replica_caught_up
from .common import API_KEY, DRILLS_ROOT, LIFTED_LIMIT, REPO, VENV_BIN, DrillFailed, log
from .ingest import (
    clean_reference,
    engine,
    engine_env,
    migrate,
    same_content,
    start_engine,
    timed_run,
    universe,
)
from .report import Figure, Report

__all__ = [
    "API_KEY",
    "DRILLS_ROOT",
    "LIFTED_LIMIT",
    "REPO",
    "VENV_BIN",
    "Analyst",
    "Dashboard",
    "DrillCluster",
    "DrillFailed",
    "Figure",
    "PageLoad",
    "PageStream",
    "Report",
    "clean_reference",
    "drill_folder",
    "drill_stack",
    "engine",
    "engine_env",
    "log",
    "migrate",
    "same_content",
    "start_engine",
    "start_fake",
    "timed_run",
    "universe",
    "wait_replica_caught_up",
]


@contextmanager
def drill_folder(name: str) -> Iterator[Path]:
    """A fresh folder for one drill's clusters and logs, removed at the end (kept with MYCFA_DRILL_KEEP)."""
    root = DRILLS_ROOT / f"{name}-{secrets.token_hex(3)}"
    root.mkdir(parents=True)
    try:
        yield root
    finally:
        if not os.environ.get("MYCFA_DRILL_KEEP"):
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def drill_stack(name: str, *fake_args: str) -> Iterator[tuple[Path, DrillCluster, FakeFMPProcess]]:
    """A drill's folder, its started cluster and a fake FMP (`fake_args` for `python -m fakefmp`);
    the fake is stopped and the cluster destroyed at the end, after the drill's own clean-up."""
    with drill_folder(name) as root:
        cluster = DrillCluster(root / "cluster").start()
        fake = start_fake(*fake_args)
        try:
            yield root, cluster, fake
        finally:
            fake.stop()
            cluster.destroy()


def start_fake(*args: str) -> FakeFMPProcess:
    return start_fakefmp("--rate-limit", LIFTED_LIMIT, "--seed", "1", *args)
