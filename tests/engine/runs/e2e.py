"""End-to-end harness: the fake FMP server and the engine as real processes, and database fingerprints."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psycopg

from fakefmp.process import stop_process

REPO = Path(__file__).resolve().parents[3]
API_KEY = "e2e-canary-key-7f3a9c"
SERVER_START_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FakeFMP:
    """A running `python -m fakefmp` on a loopback port, with its control endpoints."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stable"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return json.loads(response.read() or b"null")

    def configure(self, **fields: Any) -> Any:
        return self._call("POST", "/__fake/config", fields)

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "/__fake/stats"))

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
        stop_process(self.process)


def start_fakefmp(*args: str) -> FakeFMP:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fakefmp", "--port", str(port), "--quiet", *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    fake = FakeFMP(process, port)
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fakefmp exited with {process.returncode}")
        try:
            fake.stats()
            return fake
        except OSError:
            time.sleep(0.1)
    fake.stop()
    raise TimeoutError("fakefmp did not start")


def engine_env(database_url: str, fake: FakeFMP, symbols: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYCFA_")}
    env.update(
        MYCFA_DATABASE_URL=database_url,
        MYCFA_FMP_API_KEY=API_KEY,
        MYCFA_FMP_BASE_URL=fake.base_url,
        MYCFA_FMP_RATE_LIMIT="3000",
        MYCFA_FMP_CONCURRENCY="8",
        MYCFA_SYMBOLS=symbols,
        MYCFA_HISTORY_START="2016-01-01",
        MYCFA_LOG_FORMAT="json",
    )
    env.update(extra)
    return env


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


def run_engine(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


FINGERPRINT_SQL = {
    "prices": "SELECT count(*), md5(coalesce(string_agg(concat_ws('|', symbol, date, open, high, low, close,"
    " adj_close, volume, vwap), ',' ORDER BY symbol, date), '')) FROM prices_daily",
    "statements": "SELECT count(*), md5(coalesce(string_agg(concat_ws('|', symbol, kind, period, fiscal_date,"
    " payload::text), ',' ORDER BY symbol, kind, period, fiscal_date), '')) FROM statements",
    "companies": "SELECT count(*), md5(coalesce(string_agg(concat_ws('|', symbol, name, sector, profile::text),"
    " ',' ORDER BY symbol), '')) FROM companies",
    "revisions": "SELECT count(*), '' FROM statement_revisions",
}


def fingerprint(database_url: str) -> dict[str, tuple[int, str]]:
    """Row count and a content hash per table: equal fingerprints mean exactly the same rows."""
    with psycopg.connect(database_url) as conn:
        result = {}
        for name, sql in FINGERPRINT_SQL.items():
            row = conn.execute(sql).fetchone()
            assert row is not None
            result[name] = (int(row[0]), str(row[1]))
        return result


def query(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, params).fetchall()
