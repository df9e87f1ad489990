"""The shared FMP budget (Redis sliding-window log): one limit across processes, a local share without Redis."""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from subprocess import Popen

import pytest
import redis.asyncio as aioredis

from devkit.runs import engine_env, run_engine
from engine.db import migrate
from engine.fmp.shared_budget import FALLBACK_SHARE, SharedBudget, budget_key
from fakefmp.process import FakeFMPProcess, fakefmp_running
from tests.conftest import Cluster, throwaway_database
from tests.engine.runs.e2e import start_engine

KEY = "shared-budget-canary-key"


def busiest(times: list[float], window_s: float) -> int:
    """The most grants in any window of `window_s` (each window starting at a grant)."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + window_s) for i, start in enumerate(times))


async def test_shared_budget_two_holders_share_one_limit(redis_url: str) -> None:
    """Two budgets on one key never grant more than the limit in a window together; Redis holds only a hash."""
    window_s, limit = 1.0, 10
    a, b = (SharedBudget(redis_url, KEY, limit, window_s, margin_s=0.05) for _ in range(2))
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        grants = await asyncio.gather(*(budget.acquire() for budget in (a, b) for _ in range(15)))
    finally:
        await a.close()
        await b.close()
    assert busiest(grants, window_s) <= limit
    assert max(grants) - started >= 2 * window_s  # 30 grants at 10 a window need a third window
    assert a.shared
    assert b.shared
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        keys = [str(k) for k in await client.keys("*")]
    finally:
        await client.aclose()
    assert budget_key(KEY) in keys
    assert not any(KEY in k for k in keys)


async def test_shared_budget_unreachable_falls_back_to_a_local_share(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With Redis gone, the process keeps to 1/FALLBACK_SHARE of the limit and says so."""
    window_s, limit = 1.0, 8
    budget = SharedBudget("redis://127.0.0.1:1/0", KEY, limit, window_s, margin_s=0.05, timeout_s=0.5)
    try:
        grants = [await budget.acquire() for _ in range(6)]
    finally:
        await budget.close()
    assert not budget.shared
    assert busiest(grants, window_s) <= limit // FALLBACK_SHARE
    assert "shared FMP budget unreachable (ConnectionError)" in caplog.text


# Three `mycfa-engine run` processes, each on its own database and symbol, sharing one key's budget in
# Redis against one fake with FMP's 60 s window, beside one run of all three symbols on the same kind
# of budget (its own key and fake), both at once so the machine's load weighs on both alike. LIMIT is
# low enough that the budget, not the CPU, sets the pace: each side sends 41-45 requests, so LIMIT of
# them go at once, LIMIT more ~61 s later and the rest ~122 s later.
LIMIT = 16
SHARES = ("MMM", "AOS", "ABT")
FAKE_ARGS = (
    "--symbols",
    "12",
    "--seed",
    "7",
    "--rate-limit",
    str(LIMIT),
    "--as-of",
    "2026-06-30",
    "--deny-bulk",
)


def start_runs(
    fake: FakeFMPProcess, key: str, urls: list[str], shares: list[str], budget_url: str
) -> list[Popen[str]]:
    """One `mycfa-engine run --job full` per (database, symbols), all on `key` and the Redis budget."""
    extra = {"MYCFA_FMP_RATE_LIMIT": str(LIMIT), "MYCFA_FMP_API_KEY": key, "MYCFA_FMP_BUDGET_URL": budget_url}
    return [
        start_engine(engine_env(url, fake, symbols, **extra), "run", "--job", "full")
        for url, symbols in zip(urls, shares, strict=True)
    ]


def finish(engine: Popen[str]) -> float:
    """Wait for one engine to exit 0 having used the shared budget throughout; the monotonic time it ended."""
    _, stderr = engine.communicate(timeout=600)
    assert engine.returncode == 0, stderr[-3000:]
    assert "budget_fallback" not in stderr  # Redis answered every send
    return time.monotonic()


def warm_up(fakes: list[FakeFMPProcess], urls: list[str], probed: list[str]) -> None:
    """One unthrottled run per fake first: a fake builds a company's data on its first request, and
    requests that arrive meanwhile are counted late, bunched with later ones (the budget counts
    sends, the fake arrivals); the databases of the measured runs get their FMP plan probed (once per
    database in real life, not part of what is measured here); then the fakes forget these requests."""
    for fake in fakes:
        fake.configure(rate_limit=100_000)
    runs = [
        start_engine(engine_env(url, fake, ",".join(SHARES)), "run", "--job", "full")
        for fake, url in zip(fakes, urls, strict=True)
    ]
    for run in runs:
        finish(run)
    for url in probed:
        probe = run_engine(engine_env(url, fakes[0], ",".join(SHARES)), "probe")
        assert probe.returncode == 0, probe.stderr[-3000:]
    for fake in fakes:
        fake.configure(rate_limit=LIMIT)
        fake.reset()


@pytest.mark.e2e
def test_three_engine_runs_on_one_key_stay_within_the_limit(redis_url: str, pg_cluster: Cluster) -> None:
    """3 `mycfa-engine run`s on one key sharing the budget: <= limit in any 60 s window, no 429, within 10 %
    of one run doing all their work on the same budget."""
    with contextlib.ExitStack() as stack:
        fakes = [stack.enter_context(fakefmp_running(*FAKE_ARGS)) for _ in range(2)]
        urls = [stack.enter_context(throwaway_database(pg_cluster, "budget")).owner_url for _ in range(6)]
        for url in urls:
            asyncio.run(migrate(url))
        warm_up(fakes, urls[4:], urls[:4])
        started = time.monotonic()
        alone = start_runs(fakes[0], "e2e-budget-key-alone", urls[:1], [",".join(SHARES)], redis_url)
        shared = start_runs(fakes[1], "e2e-budget-key-shared", urls[1:4], list(SHARES), redis_url)
        with ThreadPoolExecutor(len(alone + shared)) as pool:
            ends = list(pool.map(finish, alone + shared))
        alone_s, shared_s = ends[0] - started, max(ends[1:]) - started
        one, three = (fake.stats() for fake in fakes)
    print(
        f"one run: {one['requests']} requests in {alone_s:.1f} s, at most {one['max_in_window']} in a"
        f" 60 s window; three sharing: {three['requests']} requests in {shared_s:.1f} s, at most"
        f" {three['max_in_window']} in a window, statuses {three['statuses']}"
    )
    assert 2 * LIMIT < one["requests"] <= three["requests"] <= 3 * LIMIT  # both wait for two windows
    assert three["window_s"] == 60.0
    assert three["max_in_window"] <= LIMIT
    assert three["statuses"].get("429", 0) == 0
    assert one["statuses"].get("429", 0) == 0
    assert shared_s <= 1.1 * alone_s
