"""The FMP boundary: endpoint specs, the rate budget and the one HTTP client."""

from __future__ import annotations

from engine.fmp.budget import RateBudget
from engine.fmp.client import PRICE_ROW_CAP, FMPClient, RetryPolicy
from engine.fmp.counters import FMPCounters
from engine.fmp.endpoints import ENDPOINTS, EndpointSpec, Period

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
