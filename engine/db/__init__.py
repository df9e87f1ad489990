"""The store: asyncpg pool, schema migrations, validated COPY/merge loads, incremental watermarks."""

from __future__ import annotations

from engine.db.companies import load_profiles, upsert_companies
from engine.db.load import LoadResult, load_price_rows, load_prices, load_statement_rows, load_statements
from engine.db.migrate import MigrationLimits, apply_migrations, migrate
from engine.db.pool import create_pool
from engine.db.rows import PriceRow, QuarantineRow, StatementRow
from engine.db.validate import Parsed, parse_prices, parse_statements
from engine.db.watermarks import (
    last_price_dates,
    latest_fiscal_dates,
    record_statement_fetch,
    statement_fetch_dates,
)

__all__ = [
    "LoadResult",
    "MigrationLimits",
    "Parsed",
    "PriceRow",
    "QuarantineRow",
    "StatementRow",
    "apply_migrations",
    "create_pool",
    "last_price_dates",
    "latest_fiscal_dates",
    "load_price_rows",
    "load_prices",
    "load_profiles",
    "load_statement_rows",
    "load_statements",
    "migrate",
    "parse_prices",
    "parse_statements",
    "record_statement_fetch",
    "statement_fetch_dates",
    "upsert_companies",
]
