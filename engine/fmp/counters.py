"""Counters of what the FMP client sent and got back, for run reports and benchmarks."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

COUNT_WINDOW_S = 60.0


@dataclass(slots=True)
class FMPCounters:
    """Requests sent (retries included), retries, 429s, statuses, and the busiest 60 s seen."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # transport failures by error class name
    max_in_window: int = 0
    first_send: float | None = None
    last_send: float | None = None
    window_s: float = COUNT_WINDOW_S
    _recent: deque[float] = field(default_factory=deque, repr=False)

    def record_send(self, now: float) -> None:
        """Count one request at the moment it is sent and update the sliding-window maximum."""
        self.requests += 1
        if self.first_send is None:
            self.first_send = now
        self.last_send = now
        recent = self._recent
        recent.append(now)
        # closed window [now - window, now]: the strictest reading of "any 60 s window"
        while recent and recent[0] < now - self.window_s:
            recent.popleft()
        self.max_in_window = max(self.max_in_window, len(recent))

    def record_status(self, status: int) -> None:
        self.statuses[status] += 1
        if status == 429:
            self.rate_limited += 1

    def snapshot(self) -> dict[str, Any]:
        """A JSON-friendly copy for logs and reports."""
        return {
            "requests": self.requests,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "failures": dict(self.failures),
            "max_in_window": self.max_in_window,
            "window_s": self.window_s,
        }
