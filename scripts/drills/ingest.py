"""The engine in a drill: its environment against the drill's fake, runs, and the content they leave."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devkit import runs
from devkit.fingerprint import fingerprint
from fakefmp.process import FakeFMPProcess

from .cluster import DrillCluster
from .common import API_KEY, LIFTED_LIMIT, REPO, DrillFailed, log

# The drills' engine: the fake's limit lifted, prices from 2005 (tests start in 2016).
engine_env = functools.partial(
    runs.engine_env, api_key=API_KEY, rate_limit=LIFTED_LIMIT, history_start="2005-01-01"
)


def engine(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return runs.run_engine(env, *args, timeout=900)


def start_engine(env: dict[str, str], *args: str, log_file: Path) -> subprocess.Popen[bytes]:
    with open(log_file, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "engine", *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def migrate(env: dict[str, str]) -> None:
    result = engine(env, "migrate")
    if result.returncode != 0:
        raise DrillFailed(f"migrate exited {result.returncode}: {result.stderr.strip()[-400:]}")


def timed_run(env: dict[str, str], *args: str) -> tuple[int, float]:
    """`mycfa-engine run ...` to its end: exit code and seconds."""
    started = time.monotonic()
    result = engine(env, "run", *args)
    return result.returncode, time.monotonic() - started


def clean_reference(cluster: DrillCluster, fake: FakeFMPProcess, symbols: Sequence[str]) -> float:
    """A full ingest into a database `clean` of the cluster, undisturbed: the content to compare with."""
    cluster.createdb("clean")
    env = engine_env(cluster.url("owner_url", "clean"), fake, ())
    migrate(env)
    code, seconds = timed_run(env, "--job", "full")
    if code != 0:
        raise DrillFailed(f"the clean reference run exited {code}")
    log(f"clean reference run: {seconds:.1f} s for {len(symbols)} symbols")
    return seconds


def universe(fake: FakeFMPProcess, count: int) -> list[str]:
    """The first `count` symbols the fake serves, in its constituent order."""
    request = urllib.request.Request(f"{fake.base_url}/sp500-constituent", headers={"apikey": API_KEY})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        rows = json.loads(response.read())
    return sorted(str(row["symbol"]) for row in rows)[:count]


def same_content(a_url: str, b_url: str) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    a, b = fingerprint(a_url), fingerprint(b_url)
    return a == b, a, b
