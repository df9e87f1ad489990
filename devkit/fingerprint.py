"""Content fingerprints of a store: equal fingerprints mean the same rows (as a multiset).

Each row is hashed on its own (md5 of its text) and the hashes are summed as 64-bit halves: memory
stays constant however large the table, where one `string_agg` of every row (the first version)
hit PostgreSQL's 1 GB string limit at 503 symbols. The sum is order-independent; a lost or
duplicated row still changes the count, and a changed value changes the sums.
"""

from __future__ import annotations

from typing import Any

import psycopg

ROW_TEXT = {
    "prices": "concat_ws('|', symbol, date, open, high, low, close, adj_close, volume, vwap)",
    "statements": "concat_ws('|', symbol, kind, period, fiscal_date, payload::text)",
    "companies": "concat_ws('|', symbol, name, sector, profile::text)",
}
TABLE = {"prices": "prices_daily", "statements": "statements", "companies": "companies"}


def _hash_sql(table: str, row_text: str) -> str:
    halves = ", ".join(
        f"coalesce(sum(('x' || substr(md5({row_text}), {start}, 16))::bit(64)::bigint), 0)::text"
        for start in (1, 17)
    )
    return f"SELECT count(*), concat_ws(':', {halves}) FROM {table}"


FINGERPRINT_SQL = {name: _hash_sql(TABLE[name], text) for name, text in ROW_TEXT.items()} | {
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
