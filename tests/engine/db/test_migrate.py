"""Migrations: schema/ applied in order once each, recorded; failures and unreachable servers reported."""

from __future__ import annotations

import asyncio
import functools
import uuid
from pathlib import Path

import asyncpg
import psycopg
import pytest

from engine.cli import main
from engine.db import apply_migrations, migrate
from engine.db.migrate import SCHEMA_DIR, migration_files
from engine.errors import MigrationError, StoreUnavailable
from engine.exitcodes import ExitCode
from tests.conftest import Cluster, Database, throwaway_database


async def test_apply_migrations_second_run_applies_nothing(store_db: Database) -> None:
    """After the module's migrate, every schema file is recorded and a rerun applies none."""
    conn = await asyncpg.connect(store_db.owner_url)
    try:
        assert await apply_migrations(conn) == []
        recorded = [
            r["filename"] for r in await conn.fetch("SELECT filename FROM schema_migrations ORDER BY 1")
        ]
    finally:
        await conn.close()
    assert recorded == [path.name for path in migration_files()]


async def test_apply_migrations_concurrent_callers_apply_once(store_db: Database, tmp_path: Path) -> None:
    """Two engines migrating at once apply each new file exactly once."""
    (tmp_path / "001_once.sql").write_text(
        "CREATE TABLE applied_once (n int); INSERT INTO applied_once VALUES (1);"
    )
    conns = [await asyncpg.connect(store_db.owner_url) for _ in range(2)]
    try:
        results = await asyncio.gather(*(apply_migrations(c, schema_dir=tmp_path) for c in conns))
        assert sorted(len(r) for r in results) == [0, 1]
        assert await conns[0].fetchval("SELECT count(*) FROM applied_once") == 1
    finally:
        for conn in conns:
            await conn.close()


async def test_apply_migrations_failure_rolls_back_file(store_db: Database, tmp_path: Path) -> None:
    """A failing file is not recorded and leaves nothing behind; the files before it stay applied."""
    (tmp_path / "001_good.sql").write_text("CREATE TABLE good_one (n int);")
    (tmp_path / "002_bad.sql").write_text("CREATE TABLE half_done (n int); SELECT no_such_function();")
    conn = await asyncpg.connect(store_db.owner_url)
    try:
        with pytest.raises(MigrationError, match=r"002_bad\.sql"):
            await apply_migrations(conn, schema_dir=tmp_path)
        assert await conn.fetchval("SELECT to_regclass('good_one') IS NOT NULL")
        assert await conn.fetchval("SELECT to_regclass('half_done') IS NULL")
        assert not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE filename = '002_bad.sql')"
        )
    finally:
        await conn.close()


async def test_apply_migrations_edited_file_refused(store_db: Database, tmp_path: Path) -> None:
    """A recorded file whose text changed is refused instead of silently skipped."""
    (tmp_path / "001_edit.sql").write_text("CREATE TABLE edited (n int);")
    conn = await asyncpg.connect(store_db.owner_url)
    try:
        await apply_migrations(conn, schema_dir=tmp_path)
        (tmp_path / "001_edit.sql").write_text("CREATE TABLE edited (n bigint);")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(conn, schema_dir=tmp_path)
    finally:
        await conn.close()


async def test_migrate_unreachable_raises_store_unavailable() -> None:
    """A closed port gives StoreUnavailable whose message does not contain the password."""
    with pytest.raises(StoreUnavailable) as caught:
        await migrate("postgresql://mycfa:sekrit-pw@127.0.0.1:1/mycfa", timeout_s=5)
    assert "sekrit-pw" not in str(caught.value)


def _engine_env(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("MYCFA_DATABASE_URL", url)
    monkeypatch.setenv("MYCFA_FMP_API_KEY", "test-key")


def test_cli_migrate_up_to_date_exits_ok(
    store_db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mycfa-engine migrate` on a migrated database exits 0 and says so."""
    _engine_env(monkeypatch, store_db.owner_url)
    assert main(["migrate"]) == ExitCode.OK
    assert "schema up to date" in capsys.readouterr().out


def test_cli_migrate_unreachable_exits_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unreachable database gives exit code 7 and one line on stderr, without the password."""
    _engine_env(monkeypatch, "postgresql://mycfa:sekrit-pw@127.0.0.1:1/mycfa")
    assert main(["migrate"]) == ExitCode.DATABASE
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "sekrit-pw" not in err


def _reader_role_migration(tmp_path: Path, role: str) -> None:
    """schema/000_reader_role.sql with the reader's name swapped for `role` (roles are cluster-wide:
    the session cluster's own mycfa_reader must stay)."""
    text = (SCHEMA_DIR / "000_reader_role.sql").read_text().replace("mycfa_reader", role)
    (tmp_path / "000_reader_role.sql").write_text(text)


def _drop_role(admin_url: str, role: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP OWNED BY {role}")
        admin.execute(f"DROP ROLE IF EXISTS {role}")


def test_migrate_missing_reader_role_says_what_to_create(
    pg_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the reader role, a migrating role that may not create roles gets one sentence naming
    the role and the statement to run, exit 7, and nothing applied."""
    role = f"reader_{uuid.uuid4().hex[:8]}"
    _reader_role_migration(tmp_path, role)
    with throwaway_database(pg_cluster, "noreader") as database:
        monkeypatch.setattr("engine.cli.migrate", functools.partial(migrate, schema_dir=tmp_path))
        _engine_env(monkeypatch, database.owner_url)
        assert main(["migrate"]) == ExitCode.DATABASE
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert f'role "{role}" does not exist' in err
        assert f"CREATE ROLE {role} NOLOGIN;" in err
        assert "UndefinedObjectError" not in err


async def test_migrate_missing_reader_role_created_as_group(pg_cluster: Cluster, tmp_path: Path) -> None:
    """A migrating role that may create roles (a superuser on one's own Postgres) creates the reader as
    a NOLOGIN group and goes on."""
    role = f"reader_{uuid.uuid4().hex[:8]}"
    _reader_role_migration(tmp_path, role)
    try:
        with throwaway_database(pg_cluster, "groupreader") as database:
            assert await migrate(database.admin_url, schema_dir=tmp_path) == ["000_reader_role.sql"]
            conn = await asyncpg.connect(database.admin_url)
            try:
                can_login = await conn.fetchval("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", role)
            finally:
                await conn.close()
            assert can_login is False
    finally:
        _drop_role(pg_cluster.admin_url, role)
