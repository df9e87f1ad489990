"""What the drill modules share: where drills live, the fake's key and limit, the log line, the failure."""

from __future__ import annotations

import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DRILLS_ROOT = REPO / ".devdb" / "drills"
VENV_BIN = REPO / ".venv" / "bin"
API_KEY = "drill-key-0b7e41"
LIFTED_LIMIT = "1000000"


def log(message: str) -> None:
    print(f"drill: {time.strftime('%H:%M:%S')} {message}", flush=True)


class DrillFailed(Exception):
    """A step of the drill could not be carried out (not a missed goal: that is a figure)."""
