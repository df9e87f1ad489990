"""The fake as a subprocess, for end-to-end tests, benchmarks and drills: started, driven, stopped.

The one way to start `python -m fakefmp` from Python: `FakeFMPProcess(args).start()` (or `with`)
waits for the URL line the server prints once it listens, then offers its control endpoints.
"""

from __future__ import annotations

import json
import re
import select
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

URL_LINE = re.compile(r"fakefmp listening on (?P<url>http://\S+) base_url=(?P<base>http://\S+)")
STARTUP_TIMEOUT_S = 30.0


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
    """`with FakeFMPProcess(["--symbols", "5"]) as fake: fake.base_url` — started, then terminated.

    Args:
        args: `python -m fakefmp` options (`--quiet` is added; the port is 0, a free one, unless given).
        startup_timeout_s: how long to wait for the URL line.
        quiet_stderr: discard the server's stderr (tracebacks of injected faults) instead of inheriting it.
    """

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
        quiet_stderr: bool = False,
    ) -> None:
        self.args = list(args)
        self.startup_timeout_s = startup_timeout_s
        self.quiet_stderr = quiet_stderr
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.base_url = ""

    def start(self) -> FakeFMPProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fakefmp", "--quiet", *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if self.quiet_stderr else None,
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
                    self.url, self.base_url = match["url"].rstrip("/"), match["base"]
                    return self
                if not line:
                    break
        self.stop()
        raise RuntimeError(f"fakefmp did not print its URL (exit code {self.proc.poll()})")

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.url}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read() or b"null")

    def stats(self) -> dict[str, Any]:
        """GET /__fake/stats."""
        return dict(self._call("GET", "/__fake/stats"))

    def admin(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST /__fake/<action> with a JSON body (config, as-of, restate, reset, hold)."""
        return dict(self._call("POST", f"/__fake/{action}", payload))

    def configure(self, **fields: Any) -> Any:
        return self._call("POST", "/__fake/config", fields)

    def reset(self) -> None:
        """Forget the requests seen so far: counters and the per-key rate window."""
        self._call("POST", "/__fake/reset", {})

    def set_as_of(self, day: str) -> None:
        self._call("POST", "/__fake/as-of", {"date": day})

    def hold(self, *paths: str) -> None:
        """Hold answers to these API paths (none: every path) until `release`."""
        self._call("POST", "/__fake/hold", {"paths": list(paths)})

    def release(self) -> None:
        self._call("POST", "/__fake/hold", {"release": True})

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def __enter__(self) -> FakeFMPProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_fakefmp(*args: str) -> FakeFMPProcess:
    """A started fake with `args`, its stderr discarded (what tests and drills want)."""
    return FakeFMPProcess(args, quiet_stderr=True).start()


@contextmanager
def fakefmp_running(*args: str) -> Iterator[FakeFMPProcess]:
    """`with fakefmp_running("--symbols", "5") as fake:` the fake of `start_fakefmp(*args)`, stopped
    when the block ends (a module fixture's whole body: `with ... as fake: yield fake`)."""
    fake = start_fakefmp(*args)
    try:
        yield fake
    finally:
        fake.stop()
