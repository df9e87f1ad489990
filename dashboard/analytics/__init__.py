"""Pure analytics over pandas objects (no Dash, no SQL): fundamentals, valuation, forecasts, indicators."""

from __future__ import annotations

from dashboard.analytics.errors import AnalyticsError, NotEnoughDataError, TerminalGrowthError

__all__ = ["AnalyticsError", "NotEnoughDataError", "TerminalGrowthError"]
