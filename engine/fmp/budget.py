"""The hard request budget: at most N sends in any sliding window, evenly paced, on an injectable clock."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]

DEFAULT_WINDOW_S = 60.0
# The server counts a request when it arrives, we count it when we send: a request sent later can
# overtake an earlier one on the wire. A second of slack per minute absorbs that jitter and still
# leaves 60/61 ≈ 98% of the plan usable.
DEFAULT_MARGIN_S = 1.0


class RateBudget:
    """A sliding-log limiter: never more than `limit` grants in any `window_s` seconds.

    A leaky bucket (aiolimiter) lets a full bucket through at once and then refills at the same
    rate, so a 60 s window straddling the burst can see up to twice the limit. Here every grant's
    time is kept (at most `limit` of them), and a new grant waits until the oldest has left the
    window (`window_s + margin_s`). Grants are also paced `(window_s + margin_s) / limit` apart so
    the budget is spread evenly instead of spent in one burst per minute; the log, not the pacing,
    is what guarantees the bound. Waiters are served first come, first served.

    The clock defaults to the running loop's (`loop.time()`), so tests can drive it virtually::

        budget = RateBudget(120)
        await budget.acquire()   # returns once a send is allowed; the caller sends right away
    """

    __slots__ = ("_clock", "_grants", "_lock", "_sleep", "limit", "margin_s", "spacing_s", "window_s")

    def __init__(
        self,
        limit: int,
        window_s: float = DEFAULT_WINDOW_S,
        *,
        margin_s: float = DEFAULT_MARGIN_S,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window_s <= 0 or margin_s < 0:
            raise ValueError("window_s must be positive and margin_s not negative")
        self.limit = limit
        self.window_s = window_s
        self.margin_s = margin_s
        self.spacing_s = (window_s + margin_s) / limit
        self._clock = clock
        self._sleep = sleep
        self._grants: deque[float] = deque(maxlen=limit)
        self._lock = asyncio.Lock()

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def next_free_at(self) -> float:
        """The earliest clock time at which the next grant could be made."""
        if not self._grants:
            return float("-inf")
        paced = self._grants[-1] + self.spacing_s
        if len(self._grants) < self.limit:
            return paced
        return max(paced, self._grants[0] + self.window_s + self.margin_s)

    async def acquire(self) -> float:
        """Wait until one more send fits in the budget, record it, and return its clock time."""
        async with self._lock:
            while True:
                now = self._now()
                free_at = self.next_free_at()
                if free_at <= now:
                    self._grants.append(now)  # maxlen drops the grant that just left the window
                    return now
                await self._sleep(free_at - now)
