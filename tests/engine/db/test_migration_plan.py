"""The migration planner: one transaction by default, concurrent index builds on large tables, rewrites refused."""

from __future__ import annotations

import pytest

from engine.db.migrate import SCHEMA_DIR, migration_files
from engine.db.migration_plan import (
    MB,
    ConcurrentIndex,
    InTransaction,
    Step,
    index_sql,
    parse_file,
    plan,
    touched_tables,
)
from engine.errors import MigrationError

LARGE = 10 * MB


def planned(text: str, **sizes: int) -> list[Step]:
    return plan(text, parse_file(text), sizes, large_bytes=LARGE)


def test_plan_small_tables_whole_file_in_one_transaction() -> None:
    """A file touching only small (or new) tables runs as written, in one transaction."""
    text = (
        "-- a comment\nCREATE TABLE t (n int);\nCREATE INDEX IF NOT EXISTS t_n ON t (n);\n"
        "ALTER TABLE companies ALTER COLUMN name TYPE text;\n"
    )
    assert planned(text, companies=MB) == [InTransaction(text)]


def test_plan_index_on_large_table_built_concurrently_between_transactions() -> None:
    """CREATE INDEX on a large table becomes its own concurrent step; the statements around it stay in
    transactions, in order."""
    text = (
        "CREATE TABLE a (n int);\n"
        "CREATE INDEX IF NOT EXISTS prices_vwap ON prices_daily (vwap);\n"
        "CREATE TABLE b (n int);\n"
    )
    steps = planned(text, prices_daily=500 * MB)
    assert [type(s) for s in steps] == [InTransaction, ConcurrentIndex, InTransaction]
    index = steps[1]
    assert isinstance(index, ConcurrentIndex)
    assert (index.name, index.table, index.line) == ("prices_vwap", "prices_daily", 2)
    assert "CREATE TABLE a" in str(steps[0])
    assert "CREATE TABLE b" in str(steps[2])


def test_plan_concurrently_written_runs_outside_even_on_small_table() -> None:
    """CREATE INDEX CONCURRENTLY cannot run in a transaction, whatever the size: it is a step of its own."""
    text = "CREATE INDEX CONCURRENTLY IF NOT EXISTS c_name ON companies (name);"
    steps = planned(text, companies=1)
    assert steps == [ConcurrentIndex("c_name", "companies", text.rstrip(";"), 1)]


def test_plan_concurrent_index_without_if_not_exists_refused() -> None:
    """An index migrate must build concurrently needs a name and IF NOT EXISTS, so a rerun finds it."""
    with pytest.raises(MigrationError, match=r"line 2: CREATE INDEX on prices_daily .*IF NOT EXISTS"):
        planned("SELECT 1;\nCREATE INDEX ON prices_daily (vwap);", prices_daily=LARGE)


@pytest.mark.parametrize(
    ("statement", "what"),
    [
        ("ALTER TABLE prices_daily ALTER COLUMN volume TYPE numeric", "ALTER COLUMN ... TYPE"),
        ("ALTER TABLE prices_daily ADD COLUMN id uuid DEFAULT gen_random_uuid()", "volatile DEFAULT"),
        ("ALTER TABLE prices_daily ADD COLUMN n bigserial", "of type bigserial"),
        ("ALTER TABLE prices_daily ADD COLUMN n int GENERATED ALWAYS AS (volume) STORED", "GENERATED"),
        ("ALTER TABLE prices_daily SET UNLOGGED", "SET UNLOGGED"),
        ("UPDATE prices_daily SET vwap = close", "UPDATE in a migration"),
        ("DELETE FROM prices_daily WHERE volume = 0", "DELETE in a migration"),
        ("VACUUM (FULL) prices_daily", "VACUUM FULL"),
    ],
)
def test_plan_rewrite_of_large_table_refused(statement: str, what: str) -> None:
    """A statement that rewrites a large table (or all its rows) is refused, naming line, table and why."""
    text = f"-- header\n\n{statement};\n"
    with pytest.raises(MigrationError, match=r"line 3: ") as caught:
        planned(text, prices_daily=LARGE)
    message = str(caught.value)
    assert what in message
    assert "prices_daily" in message
    assert "MYCFA_MIGRATE_LARGE_TABLE_MB" in message


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE prices_daily ADD COLUMN source text",
        "ALTER TABLE prices_daily ADD COLUMN seen timestamptz NOT NULL DEFAULT now()",
        "ALTER TABLE prices_daily ADD COLUMN n int NOT NULL DEFAULT 0",
        "ALTER TABLE prices_daily ADD CONSTRAINT v CHECK (volume >= 0) NOT VALID",
        "VACUUM (ANALYZE) prices_daily",
        "GRANT SELECT ON prices_daily TO mycfa_reader",
    ],
)
def test_plan_catalog_only_change_on_large_table_allowed(statement: str) -> None:
    """Changes PostgreSQL makes in the catalog alone (a constant default, NOT VALID) pass on a large table."""
    assert planned(statement, prices_daily=10 * LARGE) == [InTransaction(statement)]


def test_plan_rewrite_of_table_created_in_same_file_allowed() -> None:
    """A table the file creates (absent from the sizes) is not large, whatever is done to it."""
    text = "CREATE TABLE fresh (n int);\nALTER TABLE fresh ALTER COLUMN n TYPE bigint;"
    assert planned(text) == [InTransaction(text)]


def test_parse_file_syntax_error_is_migration_error() -> None:
    """Invalid SQL is refused before anything runs, with the parser's reason."""
    with pytest.raises(MigrationError, match="not valid SQL"):
        parse_file("CREATE TABLE (;")


def test_parse_file_dollar_quoted_body_is_one_statement() -> None:
    """Semicolons inside a function body do not split it (PostgreSQL's own grammar)."""
    text = "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2; $$;\nSELECT f();"
    assert [s.line for s in parse_file(text)] == [1, 2]


def test_touched_tables_every_schema_file_parses() -> None:
    """Every shipped schema file parses, and the tables it touches are found (the planner sees them all)."""
    for path in migration_files(SCHEMA_DIR):
        touched_tables(parse_file(path.read_text(encoding="utf-8")))
    prices = parse_file((SCHEMA_DIR / "095_dashboard_audit.sql").read_text(encoding="utf-8"))
    assert "audit_events" in touched_tables(prices)


def test_index_sql_partition_and_only() -> None:
    """The written index re-aimed at a partition (concurrently) or at ONLY its parent, keeping its definition."""
    written = "CREATE INDEX CONCURRENTLY IF NOT EXISTS p_vwap ON prices_daily (vwap) WHERE vwap IS NOT NULL"
    child = index_sql(written, table="public.prices_daily_y2024", name="y2024_p_vwap", concurrent=True)
    assert child == (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS y2024_p_vwap ON public.prices_daily_y2024 (vwap)"
        " WHERE vwap IS NOT NULL"
    )
    parent = index_sql(written, table="prices_daily", name="p_vwap", concurrent=False, only=True)
    assert parent == "CREATE INDEX IF NOT EXISTS p_vwap ON ONLY prices_daily (vwap) WHERE vwap IS NOT NULL"
