"""Run the fake as a subprocess (for end-to-end tests and benchmarks) and read back its URL."""

from __future__ import annotations

import json
import re
import select
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from types import TracebackType
from typing import Any

URL_LINE = re.compile(r"fakefmp listening on (?P<url>http://\S+) base_url=(?P<base>http://\S+)")


def stop_process(proc: subprocess.Popen[Any], timeout_s: float = 10.0) -> None:
    """Terminate a child process and reap it; killed if it is still there after `timeout_s`."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class FakeFMPProcess:
    """`with FakeFMPProcess(["--symbols", "5"]) as fake: fake.base_url` — started, then terminated."""

    def __init__(self, args: Sequence[str] = (), *, startup_timeout_s: float = 30.0) -> None:
        self.args = list(args)
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.base_url = ""

    def start(self) -> FakeFMPProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fakefmp", "--quiet", *self.args],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                match = URL_LINE.search(line)
                if match:
                    self.url, self.base_url = match["url"], match["base"]
                    return self
                if not line:
                    break
        self.stop()
        raise RuntimeError("fakefmp did not print its URL")

    def stats(self) -> dict[str, Any]:
        """GET /__fake/stats."""
        with urllib.request.urlopen(f"{self.url}/__fake/stats", timeout=10) as response:  # noqa: S310 - loopback
            return dict(json.loads(response.read()))

    def admin(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST /__fake/<action> with a JSON body (config, as-of, restate, reset)."""
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.url}/__fake/{action}", data=json.dumps(payload).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return dict(json.loads(response.read()))

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def __enter__(self) -> FakeFMPProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
