"""Fixtures for the run tests: a pool per test on the module's own `demo` database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from engine.db import create_pool
from tests.conftest import Database


@pytest.fixture
async def pool(demo: Database) -> AsyncIterator[asyncpg.Pool]:
    """A pool on `demo`, which each module that uses it defines (its own seeds and name)."""
    pool = await create_pool(demo.owner_url, max_size=3)
    yield pool
    await pool.close()
