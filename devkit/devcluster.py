"""The dev cluster as the benchmarks and the load test use it: its CLI, one database's URLs, the
dashboard's settings on that database. Standard library only."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

DEVDB = Path(__file__).resolve().parents[1] / "scripts" / "devdb.py"


def devdb(*args: str) -> str:
    """scripts/devdb.py's output (`start --json`, `createdb NAME`, ...); CalledProcessError if it fails."""
    return subprocess.run(
        [sys.executable, str(DEVDB), *args], check=True, capture_output=True, text=True
    ).stdout


def with_db(url: str, name: str) -> str:
    """`url` (one of `devdb start --json`'s) on database `name` instead of its own."""
    return url.rsplit("/", 1)[0] + "/" + name


def dashboard_env(info: Mapping[str, str], name: str, *, audit: bool = True) -> dict[str, str]:
    """The MYCFA_DASH_* settings of a dashboard on database `name` of the cluster `info` describes
    (`devdb start --json`): its reader on the primary and the replica, a fresh secret key, cookies over
    plain HTTP (loopback), and the audit writer, or, with `audit=False`, the audit trail made optional
    (the dashboard refuses to start with neither)."""
    env = {
        "MYCFA_DASH_DATABASE_URL": with_db(info["reader_url"], name),
        "MYCFA_DASH_REPLICA_URLS": with_db(info["replica_reader_url"], name),
        "MYCFA_DASH_SECRET_KEY": secrets.token_hex(32),
        "MYCFA_DASH_SECURE_COOKIES": "false",
    }
    if audit:
        env["MYCFA_DASH_AUDIT_DATABASE_URL"] = with_db(info["audit_url"], name)
    else:
        env["MYCFA_DASH_AUDIT_OPTIONAL"] = "true"
    return env
