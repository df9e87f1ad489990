"""Fixtures for the store's tests: a migrated throwaway database per module, a pool per test, FMP-shaped rows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from engine.db import create_pool, migrate
from tests.conftest import Database

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fmp"


def fixture_rows(name: str) -> list[dict[str, Any]]:
    """A recorded FMP body from tests/fixtures/fmp."""
    rows: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text())
    return rows


def price(symbol: str, day: str | None, close: float = 100.0, **overrides: Any) -> dict[str, Any]:
    """A historical-price-eod/full row, as FMP sends it."""
    row: dict[str, Any] = {
        "symbol": symbol,
        "date": day,
        "open": close - 1,
        "high": close + 2,
        "low": close - 2,
        "close": close,
        "volume": 1_000_000,
        "change": 1.0,
        "changePercent": 1.0,
        "vwap": close,
    }
    row.update(overrides)
    return row


def adjusted(symbol: str, day: str, adj_close: float) -> dict[str, Any]:
    """A historical-price-eod/dividend-adjusted row."""
    return {
        "symbol": symbol,
        "date": day,
        "adjOpen": adj_close,
        "adjHigh": adj_close,
        "adjLow": adj_close,
        "adjClose": adj_close,
        "volume": 1_000_000,
    }


def balance(symbol: str, day: str, year: int, period: str = "FY", **overrides: Any) -> dict[str, Any]:
    """A balance-sheet row shaped like the recorded AAPL one, re-keyed to symbol / date / period."""
    row = dict(fixture_rows("stable_balance-sheet-statement_AAPL_annual.json")[0])
    row.update({"symbol": symbol, "date": day, "fiscalYear": str(year), "period": period, **overrides})
    return row


def income(symbol: str, day: str, year: int, period: str = "FY", **overrides: Any) -> dict[str, Any]:
    """An income-statement row shaped like the recorded AAPL one."""
    row = dict(fixture_rows("stable_income-statement_AAPL_annual.json")[0])
    row.update({"symbol": symbol, "date": day, "fiscalYear": str(year), "period": period, **overrides})
    return row


@pytest.fixture(scope="module")
def store_db(pg_database: Database) -> Database:
    """The module's database with the schema applied (as the owner role, like `mycfa-engine migrate`)."""
    asyncio.run(migrate(pg_database.owner_url))
    return pg_database


@pytest.fixture
async def pool(store_db: Database) -> AsyncIterator[asyncpg.Pool]:
    """An owner pool on the module's database (per test: each test has its own event loop)."""
    pool = await create_pool(store_db.owner_url, max_size=3)
    try:
        yield pool
    finally:
        await pool.close()
