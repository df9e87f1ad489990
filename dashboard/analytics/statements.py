"""Moved to serving/statements.py, which the engine imports too (docs/serving.md); the dashboard's name for it."""

from __future__ import annotations

from serving.statements import *  # noqa: F403
