"""The analytics error tree, from serving/errors.py (shared with the engine); the dashboard's name for it."""

from __future__ import annotations

from serving.errors import AnalyticsError, NotEnoughDataError, TerminalGrowthError

__all__ = ["AnalyticsError", "NotEnoughDataError", "TerminalGrowthError"]
