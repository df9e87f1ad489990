"""The shared FMP budget (Redis sliding-window log): one limit across processes, a local share without Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import redis.asyncio as aioredis

from engine.fmp.shared_budget import FALLBACK_SHARE, SharedBudget, budget_key
from fakefmp import FakeFMPProcess

REPO = Path(__file__).resolve().parents[3]
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
    assert keys == [budget_key(KEY)]
    assert KEY not in keys[0]


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


def run_workers(fake: FakeFMPProcess, processes: int, each: int, budget_url: str | None) -> list[dict]:  # type: ignore[type-arg]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYCFA_")}
    env |= {
        "MYCFA_DATABASE_URL": "postgresql://unused@127.0.0.1:1/unused",
        "MYCFA_FMP_API_KEY": KEY,
        "MYCFA_FMP_BASE_URL": fake.base_url,
        "MYCFA_FMP_RATE_LIMIT": str(LIMIT),
        "MYCFA_FMP_CONCURRENCY": "8",
        "BUDGET_WINDOW_S": str(WINDOW_S),
        "BUDGET_MARGIN_S": str(MARGIN_S),
    }
    if budget_url:
        env["MYCFA_FMP_BUDGET_URL"] = budget_url
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.engine.fmp.budget_worker", str(each)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    lines = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]
        lines.append(orjson.loads(out.strip().splitlines()[-1]))
    return lines


# The plan's 60 s window shrunk to 4 s (limit 30), so a few windows fit in a short test.
WINDOW_S, LIMIT, MARGIN_S, EACH = 4.0, 30, 0.3, 30


@pytest.mark.e2e
def test_three_engine_processes_on_one_key_stay_within_the_limit(redis_url: str) -> None:
    """3 processes sharing the budget: <= limit in any window at the fake, no 429, no slower than one process."""
    args = ["--symbols", "12", "--rate-limit", str(LIMIT), "--window", str(WINDOW_S)]
    with FakeFMPProcess(args) as fake:
        # warm-up: the fake builds each company's data on first request, and a request held up
        # meanwhile arrives bunched with later ones (the budget counts sends, the fake arrivals)
        run_workers(fake, 1, 6, None)
        fake.admin("reset", {})
        alone = run_workers(fake, 1, 3 * EACH, None)
        single = fake.stats()
        fake.admin("reset", {})
        shared = run_workers(fake, 3, EACH, redis_url)
        server = fake.stats()
    single_s = alone[0]["end"] - alone[0]["start"]
    shared_s = max(w["end"] for w in shared) - min(w["start"] for w in shared)
    print(
        f"one process: {single_s:.2f} s, max in window {single['max_in_window']}; three sharing: "
        f"{shared_s:.2f} s, max in window {server['max_in_window']}, statuses {server['statuses']}"
    )
    assert sum(w["requests"] for w in shared) == 3 * EACH
    assert server["max_in_window"] <= LIMIT
    assert server["statuses"].get("429", 0) == 0
    assert sum(w["http_429"] for w in shared) == 0
    assert shared_s <= 1.1 * single_s
