"""The engine as a process against the fake FMP server: its environment, and a command run to its end."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from fakefmp.process import FakeFMPProcess

REPO = Path(__file__).resolve().parents[1]
TEST_API_KEY = "e2e-canary-key-7f3a9c"  # tests grep logs for it: it must never appear


def engine_env(
    database_url: str,
    fake: FakeFMPProcess,
    symbols: str | Sequence[str],
    *,
    api_key: str = TEST_API_KEY,
    rate_limit: str = "3000",
    history_start: str = "2016-01-01",
    **extra: str,
) -> dict[str, str]:
    """The process environment without any inherited MYCFA_ setting, pointed at `fake`.

    Args:
        symbols: `MYCFA_SYMBOLS`, as "A,B" or a sequence ("" / () for the whole universe).
        extra: further `MYCFA_*` settings, overriding the ones above.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYCFA_")}
    env.update(
        MYCFA_DATABASE_URL=database_url,
        MYCFA_FMP_API_KEY=api_key,
        MYCFA_FMP_BASE_URL=fake.base_url,
        MYCFA_FMP_RATE_LIMIT=rate_limit,
        MYCFA_FMP_CONCURRENCY="8",
        MYCFA_SYMBOLS=symbols if isinstance(symbols, str) else ",".join(symbols),
        MYCFA_HISTORY_START=history_start,
        MYCFA_LOG_FORMAT="json",
        MYCFA_FMP_BULK_INTERVAL_S="0",  # the fake without a plan has no bulk throttle
    )
    env.update(extra)
    return env


def run_engine(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`python -m engine ARGS` to its end, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
