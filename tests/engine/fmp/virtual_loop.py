"""An event loop on a virtual clock: when nothing is ready, time jumps to the next timer instead of sleeping."""

from __future__ import annotations

import asyncio
import selectors
from typing import Any

LOOP_ITERATION_S = 1e-6


class _JumpingSelector:
    """Wraps the real selector: polls without blocking and advances the loop's clock by the timeout."""

    def __init__(self, loop: VirtualClockLoop, inner: selectors.BaseSelector) -> None:
        self._loop = loop
        self._inner = inner

    def select(self, timeout: float | None = None) -> list[Any]:
        events = self._inner.select(0)
        if not events and timeout is not None:
            # Every loop iteration takes some real time: without that floor a timer due "now" (a
            # float rounding leftover, as aiolimiter's waker can produce) would spin forever.
            self._loop.now += max(timeout, LOOP_ITERATION_S)
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """`loop.time()` is virtual; asyncio.sleep(60) returns at once with the clock 60 s later."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self._selector = _JumpingSelector(self, self._selector)  # type: ignore[has-type,arg-type]

    def time(self) -> float:
        return self.now
