"""Moved to serving/screener.py, which the engine imports too (docs/serving.md); the dashboard's name for it."""

from __future__ import annotations

from serving.screener import *  # noqa: F403
