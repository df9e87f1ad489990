"""Fixtures: an in-process fake FMP server and a client wired to it with zero retry waits."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from devkit.net import free_port
from engine.fmp.budget import RateBudget
from engine.fmp.client import FMPClient, RetryPolicy
from fakefmp import FakeConfig, RunningServer, serve

CANARY_KEY = "CANARY-9f3b7c1e-do-not-leak"
AS_OF = date(2026, 8, 7)
NO_WAIT = RetryPolicy(attempts=3, initial_s=0.0, cap_s=0.0, rate_limit_wait_s=0.0)
# The client's timeout: far above any answer on a busy machine, except against a fake told to stall
# (stall_s=2.0), whose stall must outlast it.
TIMEOUT_S = 30.0
STALL_TIMEOUT_S = 0.5


@pytest.fixture
async def fake() -> AsyncIterator[RunningServer]:
    """A fake serving 12 symbols with a generous limit and no faults."""
    async with serve(FakeConfig(symbols=12, seed=7, rate_limit=10_000, as_of=AS_OF, stall_s=2.0)) as server:
        yield server


ClientFactory = Callable[..., Any]


@asynccontextmanager
async def make_client(
    server: RunningServer,
    *,
    key: str = CANARY_KEY,
    limit: int = 10_000,
    window_s: float = 60.0,
    margin_s: float = 1.0,
    retry: RetryPolicy = NO_WAIT,
    timeout_s: float | None = None,
    concurrency: int = 8,
    **kwargs: Any,
) -> AsyncIterator[FMPClient]:
    """A client of `server`; set the fake's faults first, since a stalling fake gets a short timeout."""
    if timeout_s is None:
        timeout_s = STALL_TIMEOUT_S if "stall" in server.state.config.faults else TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        yield FMPClient(
            session,
            RateBudget(limit, window_s, margin_s=margin_s),
            api_key=SecretStr(key),
            base_url=server.base_url,
            concurrency=concurrency,
            retry=retry,
            timeout_s=timeout_s,
            **kwargs,
        )


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway Debian redis-server on a free loopback port (no persistence), like the tests' Postgres."""
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(200):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
