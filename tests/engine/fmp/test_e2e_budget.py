"""End to end: the client against `python -m fakefmp` in a subprocess, faults on, budget never exceeded."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from pydantic import SecretStr

from engine.errors import FMPTransientError
from engine.fmp.budget import RateBudget
from engine.fmp.client import FMPClient, RetryPolicy
from engine.fmp.endpoints import CONSTITUENTS, INCOME, PRICES, PROFILE
from fakefmp import FakeFMPProcess

# A 60 s window is shrunk to 6 s (limit 30) so several windows fit in a short real-time run; the
# margin (0.4 s) absorbs the delay between our send and the fake's handler seeing the request.
WINDOW_S, LIMIT, RUN_S, MARGIN_S = 6.0, 30, 18.0, 0.4


@pytest.mark.e2e
async def test_client_budget_holds_against_subprocess_fake_with_faults() -> None:
    """Over ~18 s (3 windows' worth) with 15% faults, the server never sees more than the limit in a window."""
    args = ["--symbols", "20", "--seed", "3", "--rate-limit", str(LIMIT), "--window", str(WINDOW_S),
            "--fault-rate", "0.15", "--faults", "5xx,html,stall,truncate,reset", "--stall-s", "1.0"]  # fmt: skip
    with FakeFMPProcess(args) as fake:
        async with aiohttp.ClientSession() as session:
            fmp = FMPClient(
                session,
                RateBudget(LIMIT, WINDOW_S, margin_s=MARGIN_S),
                api_key=SecretStr("e2e-key"),
                base_url=fake.base_url,
                concurrency=8,
                retry=RetryPolicy(attempts=8, initial_s=0.01, cap_s=0.05, rate_limit_wait_s=WINDOW_S),
                timeout_s=0.5,
            )
            symbols = [row["symbol"] for row in await fmp.fetch(CONSTITUENTS)]
            deadline = time.monotonic() + RUN_S
            done = 0

            async def worker(offset: int) -> None:
                nonlocal done
                i = offset
                while time.monotonic() < deadline:
                    symbol = symbols[i % len(symbols)]
                    spec = (PROFILE, INCOME, PRICES)[i % 3]
                    try:
                        await fmp.fetch(spec, symbol=symbol, period="quarter" if spec is INCOME else None)
                        done += 1
                    except FMPTransientError:
                        pass  # exhausted retries are allowed under 15% faults; the budget is what is tested
                    i += 8

            await asyncio.gather(*(worker(k) for k in range(8)))
        stats = fake.stats()
    assert stats["statuses"].get("429", 0) == 0
    assert stats["max_in_window"] <= LIMIT
    assert fmp.counters.max_in_window <= LIMIT
    assert sum(stats["faults"].values()) > 0
    assert fmp.counters.retries > 0
    assert fmp.counters.requests == stats["requests"]  # every send, retries included, went through the budget
    rate = fmp.counters.requests / (fmp.counters.last_send - fmp.counters.first_send) * WINDOW_S  # type: ignore[operator]
    # 6 / 6.4 = 94% is the most the margin allows; 80% leaves room for a loaded machine (26.8/30 seen
    # there) while still catching a budget that idles (scripts/bench_fmp_client.py measures 97%).
    assert rate >= 0.8 * LIMIT
    assert done > 0
