"""Run progress: a redrawn bar on a terminal, periodic structured log lines elsewhere (containers)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO

from engine.runs.plan import format_duration

log = logging.getLogger("engine.run")

BAR_WIDTH = 28
TTY_REDRAW_S = 0.2  # at most five redraws a second: a bar must not cost CPU
LOG_EVERY_S = 15.0  # a container log line per 15 s keeps CloudWatch readable on a 1 h run


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Where a run stands: items of the whole run (resumed sessions included) and this session's requests."""

    total: int
    done: int
    failed: int
    requests: int
    elapsed_s: float
    rate_limit: int
    planned_requests: int  # estimated requests still to send when this session started

    @property
    def finished(self) -> int:
        return self.done + self.failed

    @property
    def eta_s(self) -> float | None:
        """Remaining time: the larger of the budget bound and the observed pace."""
        remaining_requests = max(self.planned_requests - self.requests, 0)
        budget_bound = remaining_requests * 60.0 / self.rate_limit
        if self.requests == 0 or self.elapsed_s <= 0:
            return budget_bound if self.planned_requests else None
        pace_bound = remaining_requests * self.elapsed_s / self.requests
        return max(budget_bound, pace_bound)

    @property
    def requests_per_min(self) -> float:
        return self.requests * 60.0 / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Progress(Protocol):
    def update(self, snapshot: Snapshot, *, force: bool = False) -> None: ...

    def close(self, snapshot: Snapshot) -> None: ...


def render_bar(snapshot: Snapshot) -> str:
    """`[#######.....]  120/6036 items  3 failed  req 240 @ 119/min of 120  ETA 41m 10s`."""
    fraction = snapshot.finished / snapshot.total if snapshot.total else 1.0
    filled = round(fraction * BAR_WIDTH)
    eta = snapshot.eta_s
    failed = f"  {snapshot.failed} failed" if snapshot.failed else ""
    return (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {snapshot.finished}/{snapshot.total} items{failed}"
        f"  req {snapshot.requests} @ {snapshot.requests_per_min:.0f}/min of {snapshot.rate_limit}"
        f"  ETA {format_duration(eta) if eta is not None else '?'}"
    )


class TtyProgress:
    """A single line redrawn in place on stderr."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        self._last = float("-inf")

    def update(self, snapshot: Snapshot, *, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._last < TTY_REDRAW_S:
            return
        self._last = now
        self._stream.write("\r\x1b[2K" + render_bar(snapshot))
        self._stream.flush()

    def close(self, snapshot: Snapshot) -> None:
        self.update(snapshot, force=True)
        self._stream.write("\n")
        self._stream.flush()


class LogProgress:
    """A structured `progress` log line every LOG_EVERY_S seconds (the run id comes from the log context)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, every_s: float = LOG_EVERY_S) -> None:
        self._clock = clock
        self._every = every_s
        self._last = clock()

    def update(self, snapshot: Snapshot, *, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._last < self._every:
            return
        self._last = now
        eta = snapshot.eta_s
        log.info(
            "progress %d/%d items",
            snapshot.finished,
            snapshot.total,
            extra={
                "event": "progress",
                "items_total": snapshot.total,
                "items_done": snapshot.done,
                "items_failed": snapshot.failed,
                "requests": snapshot.requests,
                "requests_per_min": round(snapshot.requests_per_min, 1),
                "rate_limit": snapshot.rate_limit,
                "eta_s": round(eta) if eta is not None else None,
            },
        )

    def close(self, snapshot: Snapshot) -> None:
        self.update(snapshot, force=True)


class NullProgress:
    """No progress output (tests, `--quiet` callers)."""

    def update(self, snapshot: Snapshot, *, force: bool = False) -> None:
        return None

    def close(self, snapshot: Snapshot) -> None:
        return None
