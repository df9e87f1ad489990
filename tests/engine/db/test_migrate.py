"""Migrations: schema/ applied in order once each, recorded; failures and unreachable servers reported."""

from __future__ import annotations

import asyncio
import functools
import importlib
import uuid
from pathlib import Path

import asyncpg
import psycopg
import pytest

from engine.cli import main
from engine.db import MigrationLimits, apply_migrations, migrate
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


EVERY_TABLE_LARGE = MigrationLimits(large_table_mb=0)
migrate_module = importlib.import_module("engine.db.migrate")  # `engine.db.migrate` is also the function


async def test_apply_migrations_session_limits_set_then_reset(store_db: Database, tmp_path: Path) -> None:
    """Each file runs under the configured lock_timeout, statement_timeout and application name; the
    caller's connection gets its own settings back afterwards."""
    (tmp_path / "001_seen.sql").write_text(
        "CREATE TABLE limits_seen AS SELECT current_setting('lock_timeout') AS lock,"
        " current_setting('statement_timeout') AS statement, current_setting('application_name') AS app;"
    )
    conn = await asyncpg.connect(store_db.owner_url)
    try:
        limits = MigrationLimits(lock_timeout_s=1.5, statement_timeout_s=120)
        await apply_migrations(conn, schema_dir=tmp_path, limits=limits)
        seen = await conn.fetchrow("SELECT * FROM limits_seen")
        assert seen is not None
        assert (seen["lock"], seen["statement"], seen["app"]) == ("1500ms", "2min", "mycfa-migrate")
        assert await conn.fetchval("SHOW lock_timeout") == "0"
        assert await conn.fetchval("SHOW statement_timeout") == "0"
    finally:
        await conn.close()


async def test_apply_migrations_index_on_large_partitioned_table_built_concurrently(
    store_db: Database, tmp_path: Path
) -> None:
    """An index on a large partitioned table is built per partition, CONCURRENTLY, and attached: the
    parent's index ends valid, every partition has one, and a rerun changes nothing."""
    (tmp_path / "001_parts.sql").write_text(
        "CREATE TABLE parts (d date NOT NULL, v int) PARTITION BY RANGE (d);"
        " CREATE TABLE parts_2023 PARTITION OF parts FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');"
        " CREATE TABLE parts_2024 PARTITION OF parts FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
        " INSERT INTO parts SELECT date '2023-06-01' + i, i FROM generate_series(0, 400) AS i;"
    )
    conn = await asyncpg.connect(store_db.owner_url)
    try:
        await apply_migrations(conn, schema_dir=tmp_path)
        (tmp_path / "002_parts_v.sql").write_text(
            "-- the index\nCREATE INDEX IF NOT EXISTS parts_v ON parts (v);\nCREATE TABLE after_parts (n int);\n"
        )
        assert await apply_migrations(conn, schema_dir=tmp_path, limits=EVERY_TABLE_LARGE) == [
            "002_parts_v.sql"
        ]
        assert await conn.fetchval("SELECT indisvalid FROM pg_index WHERE indexrelid = 'parts_v'::regclass")
        attached = await conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'parts_v'::regclass ORDER BY 1"
        )
        assert [r["relname"] for r in attached] == ["parts_2023_parts_v", "parts_2024_parts_v"]
        assert await conn.fetchval("SELECT to_regclass('after_parts') IS NOT NULL")
        assert await apply_migrations(conn, schema_dir=tmp_path, limits=EVERY_TABLE_LARGE) == []
    finally:
        await conn.close()


async def test_apply_migrations_failed_concurrent_build_retried_clean(
    store_db: Database, tmp_path: Path
) -> None:
    """A concurrent build that failed leaves an INVALID index; the next migrate drops and rebuilds it."""
    (tmp_path / "001_dupes.sql").write_text("CREATE TABLE dupes (n int); INSERT INTO dupes VALUES (1), (1);")
    conn = await asyncpg.connect(store_db.owner_url)
    try:
        await apply_migrations(conn, schema_dir=tmp_path)
        (tmp_path / "002_unique.sql").write_text("CREATE UNIQUE INDEX IF NOT EXISTS dupes_n ON dupes (n);")
        with pytest.raises(MigrationError, match=r"002_unique\.sql: UniqueViolationError"):
            await apply_migrations(conn, schema_dir=tmp_path, limits=EVERY_TABLE_LARGE)
        assert await conn.fetchval(
            "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = 'dupes_n'::regclass"
        )
        await conn.execute("DELETE FROM dupes WHERE ctid = (SELECT max(ctid) FROM dupes)")
        assert await apply_migrations(conn, schema_dir=tmp_path, limits=EVERY_TABLE_LARGE) == [
            "002_unique.sql"
        ]
        assert await conn.fetchval("SELECT indisvalid FROM pg_index WHERE indexrelid = 'dupes_n'::regclass")
    finally:
        await conn.close()


async def test_apply_migrations_rewrite_of_large_table_refused(store_db: Database, tmp_path: Path) -> None:
    """A file that would rewrite a large table is refused before any of it runs."""
    (tmp_path / "001_wide.sql").write_text("CREATE TABLE wide (n int); INSERT INTO wide VALUES (1);")
    conn = await asyncpg.connect(store_db.owner_url)
    try:
        await apply_migrations(conn, schema_dir=tmp_path)
        (tmp_path / "002_retype.sql").write_text(
            "CREATE TABLE before_retype (n int);\nALTER TABLE wide ALTER COLUMN n TYPE bigint;\n"
        )
        with pytest.raises(
            MigrationError, match=r"002_retype\.sql: line 2: ALTER COLUMN \.\.\. TYPE on wide"
        ):
            await apply_migrations(conn, schema_dir=tmp_path, limits=EVERY_TABLE_LARGE)
        assert await conn.fetchval("SELECT to_regclass('before_retype') IS NULL")
        assert (
            await conn.fetchval(
                "SELECT format_type(atttypid, NULL) FROM pg_attribute"
                " WHERE attrelid = 'wide'::regclass AND attname = 'n'"
            )
            == "integer"
        )
    finally:
        await conn.close()


async def test_apply_migrations_lock_timeout_retried_then_applied(
    store_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file meeting lock_timeout behind a reader is rolled back and retried; once the reader is gone
    it applies."""
    (tmp_path / "001_busy.sql").write_text("CREATE TABLE busy (n int);")
    conn, reader = await asyncpg.connect(store_db.owner_url), await asyncpg.connect(store_db.owner_url)
    try:
        await apply_migrations(conn, schema_dir=tmp_path)
        reading = reader.transaction()
        await reading.start()
        await reader.execute("LOCK TABLE busy IN ACCESS SHARE MODE")  # a dashboard query, held open
        waits: list[float] = []

        async def reader_finishes(seconds: float) -> None:
            waits.append(seconds)
            await reading.commit()

        monkeypatch.setattr(migrate_module, "pause", reader_finishes)
        (tmp_path / "002_busy_column.sql").write_text("ALTER TABLE busy ADD COLUMN m int;")
        limits = MigrationLimits(lock_timeout_s=0.05)
        assert await apply_migrations(conn, schema_dir=tmp_path, limits=limits) == ["002_busy_column.sql"]
        assert waits == [migrate_module.LOCK_RETRY_FIRST_S]
    finally:
        await conn.close()
        await reader.close()


async def test_apply_migrations_lock_timeout_every_attempt_gives_up(
    store_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader that never lets go makes migrate give up after LOCK_ATTEMPTS, with nothing applied."""
    (tmp_path / "001_held.sql").write_text("CREATE TABLE held (n int);")
    conn, reader = await asyncpg.connect(store_db.owner_url), await asyncpg.connect(store_db.owner_url)
    try:
        await apply_migrations(conn, schema_dir=tmp_path)
        async with reader.transaction():
            await reader.execute("LOCK TABLE held IN ACCESS SHARE MODE")
            waits: list[float] = []

            async def no_wait(seconds: float) -> None:
                waits.append(seconds)

            monkeypatch.setattr(migrate_module, "pause", no_wait)
            (tmp_path / "002_held_column.sql").write_text("ALTER TABLE held ADD COLUMN m int;")
            with pytest.raises(MigrationError, match=r"002_held_column\.sql: met lock_timeout"):
                await apply_migrations(conn, schema_dir=tmp_path, limits=MigrationLimits(lock_timeout_s=0.05))
        assert waits == [1.0, 2.0, 4.0, 8.0]
        assert not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE filename = '002_held_column.sql')"
        )
    finally:
        await conn.close()
        await reader.close()


async def test_apply_migrations_statement_timeout_fails_file(store_db: Database, tmp_path: Path) -> None:
    """A statement running past statement_timeout is cancelled by the server; the file is not recorded."""
    (tmp_path / "001_slow.sql").write_text("CREATE TABLE slow_one (n int); SELECT pg_sleep(5);")
    conn = await asyncpg.connect(store_db.owner_url)
    try:
        with pytest.raises(MigrationError, match=r"001_slow\.sql: .*statement timeout"):
            await apply_migrations(conn, schema_dir=tmp_path, limits=MigrationLimits(statement_timeout_s=0.2))
        assert await conn.fetchval("SELECT to_regclass('slow_one') IS NULL")
    finally:
        await conn.close()
