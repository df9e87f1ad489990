"""The rate budget on a virtual clock: the sliding-window bound holds and the budget is used."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from engine.fmp.budget import RateBudget
from engine.fmp.counters import FMPCounters
from tests.engine.fmp.virtual_loop import VirtualClockLoop

WINDOW_S = 60.0


def _max_in_any_window(times: list[float], window_s: float) -> int:
    """Most sends inside any closed window of `window_s` seconds."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] < t - window_s:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def _run(limit: int, concurrency: int, requests: int, latency: tuple[float, float], seed: int) -> list[float]:
    loop = VirtualClockLoop()
    rng = random.Random(seed)

    async def main() -> list[float]:
        budget = RateBudget(limit)
        slots = asyncio.Semaphore(concurrency)
        sent: list[float] = []

        async def one() -> None:
            async with slots:
                sent.append(await budget.acquire())
                await asyncio.sleep(rng.uniform(*latency))

        await asyncio.gather(*(one() for _ in range(requests)))
        return sent

    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.parametrize(
    ("limit", "concurrency", "latency"),
    [(120, 8, (0.01, 3.0)), (120, 64, (0.0, 0.0)), (600, 8, (0.05, 0.5)), (7, 3, (0.0, 20.0))],
)
def test_rate_budget_never_exceeds_limit_in_any_window(
    limit: int, concurrency: int, latency: tuple[float, float]
) -> None:
    """Over 1,200+ virtual-clock sends no 60 s window holds more than the limit."""
    times = _run(limit, concurrency, max(1200, limit * 3), latency, seed=limit)
    assert times == sorted(times)
    assert _max_in_any_window(times, WINDOW_S) <= limit


def test_rate_budget_uses_at_least_95_percent_over_a_long_run() -> None:
    """A saturated long run achieves ≥95% of the allowed rate."""
    limit = 120
    times = _run(limit, concurrency=8, requests=2400, latency=(0.05, 2.0), seed=1)
    elapsed = times[-1] - times[0]
    achieved_per_window = (len(times) - 1) / elapsed * WINDOW_S
    assert achieved_per_window >= 0.95 * limit
    assert _max_in_any_window(times, WINDOW_S) <= limit


def test_rate_budget_spreads_a_burst_evenly() -> None:
    """A burst of waiters is paced, not released all at once."""
    times = _run(60, concurrency=60, requests=120, latency=(0.0, 0.0), seed=2)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= (WINDOW_S + 1.0) / 60 - 1e-9


def test_rate_budget_rejects_a_nonpositive_limit() -> None:
    """A limit below one is a configuration bug, reported at construction."""
    with pytest.raises(ValueError, match="limit"):
        RateBudget(0)


def test_counters_max_in_window_counts_a_closed_window() -> None:
    """Two sends exactly 60 s apart share a window in the client's own count."""
    counters = FMPCounters()
    for t in (0.0, 30.0, 60.0, 60.5, 121.0):
        counters.record_send(t)
    assert counters.max_in_window == 3
    assert counters.requests == 5
