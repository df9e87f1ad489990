"""Production's database bootstrap (deploy/sql/db-bootstrap.sql) then `migrate`, on a real Postgres."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import psycopg
import pytest

from engine.db import migrate
from engine.db.migrate import migration_files
from tests.conftest import Cluster, Database
from tests.deploy.deploytools import REPO_ROOT, TEMPLATE_DIR, load_template, resources

BOOTSTRAP_SQL = REPO_ROOT / "deploy" / "sql" / "db-bootstrap.sql"
# The default privilege the AWS and compose bootstraps set before this file existed.
OLD_DEFAULT_GRANT = (
    "ALTER DEFAULT PRIVILEGES FOR ROLE mycfa IN SCHEMA public GRANT SELECT ON TABLES TO mycfa_reader"
)
READER_TABLES = """
    SELECT c.relname FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v')
      AND has_table_privilege('mycfa_reader', c.oid, 'SELECT')
    ORDER BY 1
"""


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def password(url: str) -> str:
    return urlsplit(url).password or ""


@pytest.fixture
def raw_database(pg_cluster: Cluster) -> Iterator[str]:
    """A database as RDS creates it (owned by the admin, default grants): the bootstrap's input."""
    name = f"t_bootstrap_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster.admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        with psycopg.connect(pg_cluster.admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run_bootstrap(cluster: Cluster, database: str, *extra_sql: str) -> None:
    """psql -f deploy/sql/db-bootstrap.sql as the admin, with the cluster's own role passwords."""
    psql = shutil.which("psql")
    assert psql, "psql is installed by scripts/bootstrap"
    argv = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", with_database(cluster.admin_url, database)]
    argv += [
        "-v",
        f"owner_pw={password(cluster.owner_url)}",
        "-v",
        f"reader_pw={password(cluster.reader_url)}",
        "-v",
        f"audit_pw={password(cluster.audit_url)}",
    ]
    argv += ["-f", str(BOOTSTRAP_SQL)]
    for sql in extra_sql:
        argv += ["-c", sql]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


async def reader_tables(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [row["relname"] for row in await conn.fetch(READER_TABLES)]
    finally:
        await conn.close()


async def assert_reader_denied(url: str, table: str) -> None:
    reader = await asyncpg.connect(url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await reader.fetch(f"SELECT * FROM {table} LIMIT 1")
    finally:
        await reader.close()


def test_db_bootstrap_template_runs_the_sql_file() -> None:
    """The AWS db-bootstrap task's psql heredoc is exactly deploy/sql/db-bootstrap.sql."""
    task = resources(load_template(TEMPLATE_DIR / "engine.yaml"), "AWS::ECS::TaskDefinition")[
        "DbBootstrapTaskDefinition"
    ]
    script = str(task["Properties"]["ContainerDefinitions"][0]["Command"][0])
    heredoc = script.split("<<'SQL'\n", 1)[1].rsplit("\nSQL", 1)[0]
    assert heredoc + "\n" == BOOTSTRAP_SQL.read_text()
    assert "ALTER DEFAULT PRIVILEGES" not in BOOTSTRAP_SQL.read_text()


def test_db_bootstrap_compose_primary_runs_the_sql_file() -> None:
    """compose's primary mounts the same file and its init script runs it."""
    compose = (REPO_ROOT / "compose.yaml").read_text()
    assert "./deploy/sql/db-bootstrap.sql:/mycfa-sql/db-bootstrap.sql:ro" in compose
    assert (
        "-f /mycfa-sql/db-bootstrap.sql" in (REPO_ROOT / "deploy" / "compose" / "primary-init.sh").read_text()
    )


async def test_db_bootstrap_then_migrate_reader_cannot_read_quarantine(
    pg_cluster: Cluster, raw_database: str, pg_database: Database
) -> None:
    """Bootstrap then migrate: the reader may not read quarantine nor the migration ledger, and reads
    exactly the tables it reads on the test cluster's databases."""
    run_bootstrap(pg_cluster, raw_database)
    await migrate(with_database(pg_cluster.owner_url, raw_database))
    await migrate(pg_database.owner_url)
    reader_url = with_database(pg_cluster.reader_url, raw_database)
    for table in ("quarantine", "schema_migrations"):
        await assert_reader_denied(reader_url, table)
    readable = await reader_tables(reader_url)
    assert "companies" in readable
    assert "prices_daily" in readable
    assert readable == await reader_tables(pg_database.owner_url)


async def test_db_bootstrap_previous_release_migrate_takes_back_default_grants(
    pg_cluster: Cluster, raw_database: str, tmp_path: Path
) -> None:
    """A database bootstrapped with the old default grant and migrated by the previous release loses
    the reader's access to quarantine, the ledger and the partitions at the next migrate."""
    run_bootstrap(pg_cluster, raw_database, OLD_DEFAULT_GRANT)
    owner_url = with_database(pg_cluster.owner_url, raw_database)
    previous = [path for path in migration_files() if path.name[:3] not in ("000", "099")]
    for path in previous:
        shutil.copy(path, tmp_path / path.name)
    await migrate(owner_url, schema_dir=tmp_path)
    conn = await asyncpg.connect(owner_url)
    try:
        await conn.execute("SELECT ensure_price_partitions('2024-01-01', '2024-12-31')")
    finally:
        await conn.close()
    reader_url = with_database(pg_cluster.reader_url, raw_database)
    assert "quarantine" in await reader_tables(owner_url)  # the finding, reproduced

    await migrate(owner_url)
    await assert_reader_denied(reader_url, "quarantine")
    readable = await reader_tables(owner_url)
    assert "schema_migrations" not in readable
    assert not [name for name in readable if name.startswith("prices_daily_")]
    conn = await asyncpg.connect(owner_url)
    try:
        await conn.execute("CREATE TABLE later_table (n int)")
        assert "later_table" not in [r["relname"] for r in await conn.fetch(READER_TABLES)]
    finally:
        await conn.close()
