"""End-to-end test helpers: a running engine's stderr, and waiting on it (the rest is in devkit)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[3]


def start_engine(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "engine", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class StderrLines:
    """The lines a running process writes to stderr, collected by a thread so a test can wait for one."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stderr is not None
        self._thread = threading.Thread(target=self._read, args=(process.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    def has(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def tail(self, chars: int = 3000) -> str:
        self._thread.join(timeout=10)
        return "".join(self.lines)[-chars:]


def wait_until(
    condition: Callable[[], bool], process: subprocess.Popen[str], what: str, timeout_s: float = 120
) -> None:
    """Poll `condition` while `process` runs; fail with `what` if it exits first or never holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert process.poll() is None, f"{what} (the process exited with {process.returncode})"
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
