"""Content fingerprints of a store: equal fingerprints mean exactly the same rows."""

from __future__ import annotations

from typing import Any

import psycopg

FINGERPRINT_SQL = {
    "prices": "SELECT count(*), md5(coalesce(string_agg(concat_ws('|', symbol, date, open, high, low, close,"
    " adj_close, volume, vwap), ',' ORDER BY symbol, date), '')) FROM prices_daily",
    "statements": "SELECT count(*), md5(coalesce(string_agg(concat_ws('|', symbol, kind, period, fiscal_date,"
    " payload::text), ',' ORDER BY symbol, kind, period, fiscal_date), '')) FROM statements",
    "companies": "SELECT count(*), md5(coalesce(string_agg(concat_ws('|', symbol, name, sector, profile::text),"
    " ',' ORDER BY symbol), '')) FROM companies",
    "revisions": "SELECT count(*), '' FROM statement_revisions",
}


def fingerprint(database_url: str) -> dict[str, tuple[int, str]]:
    """Row count and a content hash per table."""
    with psycopg.connect(database_url) as conn:
        result = {}
        for name, sql in FINGERPRINT_SQL.items():
            row = conn.execute(sql).fetchone()
            assert row is not None
            result[name] = (int(row[0]), str(row[1]))
        return result


def query(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, params).fetchall()
