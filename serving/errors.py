"""The analytics error tree: every bad input is an AnalyticsError (a ValueError).

    AnalyticsError            bad input: empty or non-numeric data, unknown field, misaligned series
    ├── NotEnoughDataError    too little history for the requested computation
    └── TerminalGrowthError   terminal growth at or above the discount rate (the Gordon model diverges)

Functions translate pandas/numpy failures at their boundary, so callers (the engine's refresh, the
dashboard) only ever catch AnalyticsError.
"""

from __future__ import annotations


class AnalyticsError(ValueError):
    """An analytics function was given input it cannot compute on."""


class NotEnoughDataError(AnalyticsError):
    """The history is too short for the requested computation."""


class TerminalGrowthError(AnalyticsError):
    """Terminal growth is not below the discount rate, so the terminal value is undefined."""
