"""Schemas 100 and 101 (the serving layer) only expand: the previous release's dashboard reads on unchanged, even
while it is applied."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg

from devkit import seed
from engine.db.migrate import SCHEMA_DIR, MigrationLimits, migrate
from tests.conftest import Cluster, throwaway_database

SERVING_FILES = ("100_serving.sql", "101_statement_lines.sql")
# What the previous release's dashboard reads (dashboard/data/queries.py before #26), each under the
# lock a read takes.
PREVIOUS_READS = (
    "SELECT symbol, name, sector, sub_industry, index_removed IS NULL FROM companies",
    "SELECT count(*) FROM sp500_members",
    "SELECT kind, payload FROM statements WHERE symbol = 'AAPL' AND period = 'FY'",
    "SELECT count(*) FROM statements_as_of(now(), 'AAPL')",
    "SELECT kind, min(valid_to) FROM statement_revisions GROUP BY kind",
    "SELECT max(date), count(*) FROM prices_daily WHERE symbol = 'AAPL'",
    "SELECT run_id, state FROM runs ORDER BY run_id DESC LIMIT 20",
    "SELECT run_id, symbol FROM run_items WHERE state IN ('failed', 'skipped') LIMIT 50",
)

CATALOG = """
SELECT c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
   AND c.relkind IN ('r', 'p', 'v')
UNION ALL
SELECT p.proname, 'f', pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid), false
  FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
UNION ALL
SELECT c.relname, 'g', r.rolname, has_table_privilege(r.oid, c.oid, 'SELECT')::text, false
  FROM pg_class c, pg_roles r
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v') AND r.rolname = 'mycfa_reader'
"""


def _previous_schema(tmp_path: Path) -> Path:
    """The schema files of the release before the serving layer (those numbered below it), in a folder of
    their own."""
    previous = tmp_path / "schema"
    previous.mkdir()
    for path in sorted(SCHEMA_DIR.glob("*.sql")):
        if path.name < min(SERVING_FILES):
            shutil.copy(path, previous / path.name)
    return previous


def _catalog(url: str) -> set[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return {tuple(row) for row in conn.execute(CATALOG)}


def test_serving_schema_keeps_every_object_and_grant_of_the_previous_release(
    pg_cluster: Cluster, tmp_path: Path
) -> None:
    """Every column, view, function and reader grant the store had before schema 100 is there, the
    same, after it: nothing the previous release reads was changed or taken away."""
    previous = _previous_schema(tmp_path)
    with throwaway_database(pg_cluster, "expand") as db:
        import asyncio

        asyncio.run(migrate(db.owner_url, schema_dir=previous))
        before = _catalog(db.owner_url)
        asyncio.run(migrate(db.owner_url))
        after = _catalog(db.owner_url)
    assert before <= after, sorted(before - after)
    assert {r[0] for r in after - before if r[1] in ("r", "v")} >= {
        "metric_history",
        "month_end_closes",
        "screener_rows",
        "sector_medians",
        "serving_refreshes",
        "sp500_membership",
        "statement_lines",
        "statement_line_values",
    }


def test_serving_schema_applies_while_the_previous_dashboard_reads(pg_cluster: Cluster) -> None:
    """With the previous release's reads holding their locks in an open transaction, schemas 100 and 101
    apply within migrate's lock timeout (nothing they do waits on a reader), and the reads go on after."""
    import asyncio

    with throwaway_database(pg_cluster, "expand_live") as db:
        seed.seed(
            db.owner_url
        )  # the whole schema, then take schemas 100 and 101 back out to apply it under load
        with psycopg.connect(db.owner_url, autocommit=True) as conn:
            conn.execute("DROP VIEW sp500_membership, statement_line_values")
            conn.execute("DROP TABLE statement_lines")
            conn.execute(
                "DROP TABLE metric_history, month_end_closes, screener_rows, sector_medians, serving_refreshes"
            )
            conn.execute("DROP INDEX run_items_finished_idx")
            conn.execute("DELETE FROM schema_migrations WHERE filename = ANY(%s)", (list(SERVING_FILES),))
        with psycopg.connect(db.reader_url) as reader:
            for sql in PREVIOUS_READS:
                reader.execute(sql).fetchall()  # the transaction keeps each read's lock
            applied = asyncio.run(migrate(db.owner_url, limits=MigrationLimits(lock_timeout_s=1.0)))
            assert applied == list(SERVING_FILES)
            for sql in PREVIOUS_READS:
                assert reader.execute(sql).fetchall() is not None
