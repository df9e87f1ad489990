"""The reader role (dashboard) may SELECT what the dashboard shows, and nothing else."""

from __future__ import annotations

import asyncpg
import pytest

from engine.db import load_prices
from tests.conftest import Database
from tests.engine.db.conftest import price

READABLE = ("companies", "sp500_members", "statements", "statement_revisions", "prices_daily")
WRITES = (
    "INSERT INTO prices_daily (symbol, date, open, high, low, close, volume) VALUES ('RG', '2024-01-02', 1, 1, 1, 1, 1)",
    "UPDATE prices_daily SET close = 0",
    "DELETE FROM companies",
    "INSERT INTO statements (symbol, kind, period, fiscal_date, fiscal_year, payload)"
    " VALUES ('RG', 'income', 'FY', '2024-01-01', 2024, '{}')",
    "SELECT ensure_price_partitions('1950-01-01', '1950-12-31')",
    "CREATE TABLE reader_table (x int)",
)


async def test_reader_selects_dashboard_tables(pool: asyncpg.Pool, store_db: Database) -> None:
    """The reader can read every table and view the dashboard queries."""
    await load_prices(pool, "RG", [price("RG", "2024-01-02")])
    reader = await asyncpg.connect(store_db.reader_url)
    try:
        for table in READABLE:
            await reader.fetch(f"SELECT * FROM {table} LIMIT 1")
        assert await reader.fetchval("SELECT count(*) FROM prices_daily WHERE symbol = 'RG'") == 1
        await reader.fetch("SELECT * FROM statements_as_of(now()) LIMIT 1")
    finally:
        await reader.close()


@pytest.mark.parametrize("sql", WRITES)
async def test_reader_cannot_write(store_db: Database, sql: str) -> None:
    """Even with read-only transactions switched off, every write is refused for lack of privilege."""
    reader = await asyncpg.connect(store_db.reader_url)
    try:
        await reader.execute("SET default_transaction_read_only = off")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await reader.execute(sql)
    finally:
        await reader.close()


async def test_reader_cannot_read_quarantine(store_db: Database) -> None:
    """Quarantine (raw rejected payloads) is for ops, not for the dashboard's role."""
    reader = await asyncpg.connect(store_db.reader_url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await reader.fetch("SELECT * FROM quarantine")
    finally:
        await reader.close()
