"""The FMP boundary: endpoint specs, the rate budget and the one HTTP client.

The client (and aiohttp with it) is imported on first use, so modules that only need the endpoint
specs or the statement vocabulary (engine/db) do not load the HTTP stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine.fmp.endpoints import ENDPOINTS, EndpointSpec, Period

if TYPE_CHECKING:
    from engine.fmp.budget import RateBudget
    from engine.fmp.client import FMPClient, RetryPolicy
    from engine.fmp.counters import FMPCounters
    from engine.fmp.price_history import PRICE_ROW_CAP

__all__ = [
    "ENDPOINTS",
    "PRICE_ROW_CAP",
    "EndpointSpec",
    "FMPClient",
    "FMPCounters",
    "Period",
    "RateBudget",
    "RetryPolicy",
]
_LAZY = {
    "RateBudget": "engine.fmp.budget",
    "PRICE_ROW_CAP": "engine.fmp.price_history",
    "FMPClient": "engine.fmp.client",
    "RetryPolicy": "engine.fmp.client",
    "FMPCounters": "engine.fmp.counters",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
