"""The audit trail is append-only for every application role and tamper-evident (review M3): its own
owner, the database's clock, a hash chain that `mycfa-dashboard audit verify` walks."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

from dashboard import audit_store, cli
from devkit import seed
from engine.db import migrate
from engine.db.migrate import migration_files
from tests.conftest import Cluster, Database, throwaway_database
from tests.dashboard.conftest import operator_cli_url

EVENT = ("login", "failure", "ann", "analyst", "10.0.0.1", "r1", Jsonb({"reason": "wrong password"}))


@pytest.fixture
def chain_db(pg_cluster: Cluster) -> Iterator[Database]:
    """A migrated database of its own (the tests here break its chain on purpose)."""
    with throwaway_database(pg_cluster, "audit_chain") as db:
        seed.apply_schema(db.owner_url)
        yield db


def _insert(url: str, count: int = 1) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(count):
            conn.execute(audit_store.INSERT, EVENT)


def _verify(db: Database, monkeypatch: pytest.MonkeyPatch, capsys: Any, *extra: str) -> tuple[int, str]:
    code = cli.main(["audit", "verify", *extra, "--database-url", operator_cli_url(db, monkeypatch)])
    return code, capsys.readouterr().out


def _as_superuser(db: Database, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """What only a superuser could do: write with the triggers off (session_replication_role)."""
    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else None


def test_engine_role_can_neither_read_nor_rewrite_the_trail(chain_db: Database) -> None:
    """The engine's role (`mycfa`, owner of everything else) cannot read, change, disable, take over or
    drop the trail: the review's P09 (DISABLE TRIGGER USER + DELETE) is refused."""
    _insert(chain_db.audit_url, 3)
    with psycopg.connect(chain_db.owner_url, autocommit=True) as conn:
        for sql in (
            "SELECT * FROM audit.events",
            "ALTER TABLE audit.events DISABLE TRIGGER USER",
            "DELETE FROM audit.events",
            "UPDATE audit.chain_head SET seq = 0",
            "TRUNCATE audit.events",
            "DROP TABLE audit.events",
            "DROP SCHEMA audit CASCADE",
            "ALTER TABLE audit.events OWNER TO mycfa",
            "SET ROLE mycfa_audit_owner",
            "CREATE TABLE audit.planted (n int)",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql)
        conn.execute("SELECT public.mycfa_audit_handover()")  # a no-op once handed over
    assert _as_superuser(chain_db, "SELECT count(*) FROM audit.events") == [(3,)]


def test_writers_may_only_append_and_the_database_sets_time_and_author(chain_db: Database) -> None:
    """The dashboard's role and an operator's login insert an event's own columns; a backdated time,
    a chosen position or hash, and any read, change or delete are refused; the database stamps its
    clock and the inserting login."""
    for url in (chain_db.audit_url, chain_db.operator_url):
        with psycopg.connect(url, autocommit=True) as conn:
            for sql in (
                "INSERT INTO audit.events (at, kind, outcome) VALUES ('2020-01-01', 'login', 'success')",
                "INSERT INTO audit.events (seq, kind, outcome) VALUES (1, 'login', 'success')",
                "INSERT INTO audit.events (hash, kind, outcome) VALUES ('\\x00', 'login', 'success')",
                "UPDATE audit.events SET outcome = 'x'",
                "DELETE FROM audit.events",
                "TRUNCATE audit.events",
                "UPDATE audit.chain_head SET seq = 0",
            ):
                with pytest.raises(errors.InsufficientPrivilege):
                    conn.execute(sql)
    with psycopg.connect(chain_db.admin_url) as conn:
        (before,) = conn.execute("SELECT clock_timestamp()").fetchone()  # type: ignore[misc]
    _insert(chain_db.audit_url)
    _insert(chain_db.operator_url)
    with psycopg.connect(chain_db.admin_url) as conn:
        (after,) = conn.execute("SELECT clock_timestamp()").fetchone()  # type: ignore[misc]
    rows = _as_superuser(chain_db, "SELECT seq, at, inserted_by FROM audit.events ORDER BY seq")
    assert [(seq, who) for seq, _, who in rows] == [(1, "mycfa_audit"), (2, "mycfa_ops")]
    assert all(before <= at <= after for _, at, _ in rows)
    with psycopg.connect(chain_db.reader_url, autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")  # even then: no privilege
        for sql, params in (("SELECT * FROM audit.events", ()), (audit_store.INSERT, EVENT)):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql, params)


def test_verify_finds_an_altered_a_missing_and_a_truncated_row(
    chain_db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`audit verify` passes an intact chain and names the first break after a superuser alters a row,
    deletes one, cuts the tail, rewinds the head over the cut (caught by the noted anchor) or turns
    a trigger off."""
    _insert(chain_db.audit_url, 5)
    code, out = _verify(chain_db, monkeypatch, capsys)
    assert code == cli.EXIT_OK, out
    assert "5 rows intact" in out
    anchor = out.rsplit("head ", 1)[1].strip()
    assert anchor.startswith("5:")

    original = _as_superuser(chain_db, "SELECT detail FROM audit.events WHERE seq = 2")[0][0]
    _as_superuser(chain_db, 'UPDATE audit.events SET detail = \'{"reason": "ok"}\' WHERE seq = 2')
    code, out = _verify(chain_db, monkeypatch, capsys)
    assert (code, "seq 2 was altered" in out) == (cli.EXIT_FAILED, True), out
    _as_superuser(chain_db, "UPDATE audit.events SET detail = %s WHERE seq = 2", (Jsonb(original),))
    assert _verify(chain_db, monkeypatch, capsys)[0] == cli.EXIT_OK

    row3 = _as_superuser(chain_db, "SELECT * FROM audit.events WHERE seq = 3")[0]
    _as_superuser(chain_db, "DELETE FROM audit.events WHERE seq = 3")
    code, out = _verify(chain_db, monkeypatch, capsys)
    assert (code, "rows 3..3 are missing" in out) == (cli.EXIT_FAILED, True), out
    placeholders = ", ".join(["%s"] * len(row3))
    _as_superuser(
        chain_db,
        f"INSERT INTO audit.events VALUES ({placeholders})",
        tuple(Jsonb(v) if isinstance(v, dict) else v for v in row3),
    )
    assert _verify(chain_db, monkeypatch, capsys)[0] == cli.EXIT_OK

    _as_superuser(chain_db, "DELETE FROM audit.events WHERE seq >= 4")
    code, out = _verify(chain_db, monkeypatch, capsys)
    assert (code, "head says 5" in out) == (cli.EXIT_FAILED, True), out
    _as_superuser(
        chain_db, "UPDATE audit.chain_head SET seq = 3, hash = (SELECT hash FROM audit.events WHERE seq = 3)"
    )
    assert _verify(chain_db, monkeypatch, capsys)[0] == cli.EXIT_OK  # rewritten consistently...
    code, out = _verify(chain_db, monkeypatch, capsys, "--expect", anchor)
    assert (code, "past the head" in out) == (cli.EXIT_FAILED, True), out  # ...but not past the anchor

    _as_superuser(chain_db, "ALTER TABLE audit.events DISABLE TRIGGER events_no_change")
    code, out = _verify(chain_db, monkeypatch, capsys)
    assert (code, "events_no_change" in out) == (cli.EXIT_FAILED, True), out


def test_earlier_rows_and_the_previous_release_inserts_join_the_chain(
    pg_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Migrating a database that has an audit trail copies its rows into the chain, oldest first, with
    their former id and time; rows the previous release still inserts during a blue/green switch land
    in the chain too; the chain verifies."""
    with throwaway_database(pg_cluster, "audit_legacy") as db:
        for path in migration_files():
            if path.name < "140":
                shutil.copy(path, tmp_path / path.name)
        asyncio.run(migrate(db.owner_url, schema_dir=tmp_path))
        legacy_insert = (
            "INSERT INTO audit_events (at, kind, outcome, username, role, client_addr, request_id, detail)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        )
        with psycopg.connect(db.audit_url, autocommit=True) as conn:
            for n in range(3):
                conn.execute(legacy_insert, (f"2026-01-0{n + 1}T00:00:00Z", *EVENT[:5], f"old{n}", EVENT[6]))
        seed.apply_schema(db.owner_url)
        with psycopg.connect(db.audit_url, autocommit=True) as conn:  # the previous release, mid-switch
            conn.execute(legacy_insert, ("2026-02-01T00:00:00Z", *EVENT[:5], "mid-switch", EVENT[6]))
        rows = _as_superuser(
            db, "SELECT seq, request_id, detail->>'legacy_at', inserted_by FROM audit.events ORDER BY seq"
        )
        assert [(seq, rid) for seq, rid, _, _ in rows] == [
            (1, "old0"),
            (2, "old1"),
            (3, "old2"),
            (4, "mid-switch"),
        ]
        assert rows[0][2].startswith("2026-01-01")
        assert rows[3][3] == "mycfa_audit"
        assert _verify(db, monkeypatch, capsys)[0] == cli.EXIT_OK
