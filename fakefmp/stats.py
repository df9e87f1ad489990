"""Counters (requests, statuses, faults, busiest window) and the per-key sliding-window limit."""

from __future__ import annotations

from collections import Counter, deque
from typing import Any


class Stats:
    """What the fake saw, counted when each API request arrived."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.faults: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()  # what the plan refused: "402 price", "429 daily"...
        self.paths: Counter[str] = Counter()
        self.max_in_window = 0
        self.rows_served = 0
        self._recent: deque[float] = deque()

    def arrived(self, now: float, path: str) -> None:
        self.requests += 1
        self.paths[path] += 1
        recent = self._recent
        recent.append(now)
        while recent and recent[0] < now - self.window_s:  # closed window: the strict reading
            recent.popleft()
        self.max_in_window = max(self.max_in_window, len(recent))

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "faults": dict(self.faults),
            "refusals": dict(self.refusals),
            "paths": dict(self.paths),
            "max_in_window": self.max_in_window,
            "window_s": self.window_s,
            "rows_served": self.rows_served,
        }


class SlidingLimit:
    """FMP-style per-key limit: a request is refused (429) when `limit` were accepted in the last window."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._accepted: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> bool:
        times = self._accepted.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True

    def reset(self) -> None:
        self._accepted.clear()
