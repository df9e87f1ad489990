"""The hard request budget: at most N sends in any sliding window, evenly paced (aiolimiter + a send log)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from aiolimiter import AsyncLimiter

DEFAULT_WINDOW_S = 60.0
# The server counts a request when it arrives, we count it when we send: a request sent later can
# overtake an earlier one on the wire. A second of slack per minute absorbs that jitter and still
# leaves 60/61 ≈ 98% of the plan usable.
DEFAULT_MARGIN_S = 1.0


class Budget(Protocol):
    """What the client needs of a budget: RateBudget here, SharedBudget (Redis) across processes."""

    @property
    def window_s(self) -> float: ...

    async def acquire(self) -> float:
        """Wait for a send slot; return the loop time of the grant."""
        ...


class RateBudget:
    """aiolimiter's leaky bucket, sized and wrapped so that no sliding window exceeds the limit.

    A leaky bucket of capacity N (aiolimiter's `AsyncLimiter(N, 60)`) lets a full bucket through at
    once and then refills at the same rate, so a 60 s window straddling the burst can see up to
    twice the limit. Here the bucket is sized to ONE request leaking every `(window_s + margin_s) /
    limit` seconds: sends are paced evenly, never in a burst. Around it, a log of the last `limit`
    send times makes the bound hard whatever the pacing does (a new send waits until the oldest has
    left the window plus the margin). Waiters are served first come, first served; time is the
    running loop's (`loop.time()`), so tests drive it with a virtual-clock loop::

        budget = RateBudget(120)
        await budget.acquire()   # returns once a send is allowed; the caller sends right away
    """

    __slots__ = ("_grants", "_lock", "_pacer", "limit", "margin_s", "spacing_s", "window_s")

    def __init__(
        self, limit: int, window_s: float = DEFAULT_WINDOW_S, *, margin_s: float = DEFAULT_MARGIN_S
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window_s <= 0 or margin_s < 0:
            raise ValueError("window_s must be positive and margin_s not negative")
        self.limit = limit
        self.window_s = window_s
        self.margin_s = margin_s
        self.spacing_s = (window_s + margin_s) / limit
        self._pacer = AsyncLimiter(1, self.spacing_s)
        self._grants: deque[float] = deque(maxlen=limit)
        self._lock = asyncio.Lock()

    async def acquire(self) -> float:
        """Wait until one more send fits in the budget, record it, and return its loop time."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            await self._pacer.acquire()
            while True:
                now = loop.time()
                if len(self._grants) < self.limit:
                    break
                oldest_leaves_at = self._grants[0] + self.window_s + self.margin_s
                if oldest_leaves_at <= now:
                    break
                await asyncio.sleep(oldest_leaves_at - now)
            self._grants.append(now)  # maxlen drops the grant that just left the window
            return now
