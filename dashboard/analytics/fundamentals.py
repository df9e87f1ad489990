"""Moved to serving/fundamentals.py, which the engine imports too (docs/serving.md); the dashboard's name for it."""

from __future__ import annotations

from serving.fundamentals import *  # noqa: F403
