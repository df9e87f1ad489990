"""Benchmark and drill results as data: one JSON file per benchmark under docs/benchmarks/.

`record("bench_load", figures)` appends a run (date, commit, machine, command, figures) to
`docs/benchmarks/bench_load.json`; the docs quote the latest run and link to the file. Standard
library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "benchmarks"


def add_record_argument(parser: argparse.ArgumentParser) -> None:
    """The `--record` option every benchmark and drill takes."""
    parser.add_argument(
        "--record",
        action="store_true",
        help="add this run's figures to docs/benchmarks/<name>.json (date, commit, machine)",
    )


def commit() -> str:
    """HEAD's short hash, with `-dirty` when the work tree has uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{head}-dirty" if git("status", "--porcelain", "--untracked-files=no") else head


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    """What the figures depend on: cores, memory, the load average when the run ended."""
    return {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "python": platform.python_version(),
    }


def record(name: str, figures: Mapping[str, Any], *, results: Path = RESULTS) -> Path:
    """Append one run of benchmark `name` to its file (created with the run when missing).

    Args:
        name: the file's stem, e.g. `bench_load` or `drill_failover`.
        figures: JSON-serialisable figures, as the benchmark printed them.
    Returns:
        The file written.
    """
    path = results / f"{name}.json"
    document: dict[str, Any] = (
        json.loads(path.read_text()) if path.exists() else {"benchmark": name, "runs": []}
    )
    document["runs"].append(
        {
            "date": dt.datetime.now(dt.UTC).date().isoformat(),
            "commit": commit(),
            "machine": machine(),
            "command": shlex.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            "figures": dict(figures),
        }
    )
    results.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"recorded in {path.relative_to(REPO) if path.is_relative_to(REPO) else path}", flush=True)
    return path
