"""`mycfa-dashboard users` writes argon2 hashes as the operator's own login, recorded as the actor;
`serve` builds a sane gunicorn line."""

from __future__ import annotations

import io

import psycopg
import pytest
from argon2 import PasswordHasher

from dashboard import cli
from dashboard.config import ConfigError, load_dashboard_settings
from tests.conftest import Database
from tests.dashboard.conftest import audit_mark, audit_rows, run_users


def test_cli_users_add_set_role_remove(dash_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """add stores an argon2 hash (never the password), set-role changes the role, remove deletes."""

    def users(*args: str) -> int:
        return run_users(dash_db, monkeypatch, *args)

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert users("add", "Carol", "--role", "analyst", "--password-stdin") == 0
    with psycopg.connect(dash_db.owner_url) as conn:
        stored, role = conn.execute(
            "SELECT password_hash, role FROM dashboard_users WHERE username = 'carol'"
        ).fetchone()  # type: ignore[misc]
    assert role == "analyst"
    assert stored.startswith("$argon2id$")
    assert "a long enough" not in stored
    assert PasswordHasher().verify(stored, "a long enough password")
    assert users("set-role", "carol", "admin") == 0
    assert users("set-role", "carol", "root") == cli.EXIT_USAGE
    assert users("remove", "carol") == 0
    assert users("remove", "carol") == cli.EXIT_FAILED


def test_cli_users_refuses_short_password(dash_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A password under the minimum length is refused before anything is written."""
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert (
        run_users(dash_db, monkeypatch, "add", "dave", "--role", "viewer", "--password-stdin")
        == cli.EXIT_USAGE
    )


def test_cli_users_refuses_program_roles_and_records_the_login(
    dash_db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The review's P13: under the owner's (or any program's) role `users` refuses and writes nothing,
    whatever $LOGNAME says; under an operator's own login the actor recorded is that login, by the
    database, and $LOGNAME is only a hint beside it."""
    monkeypatch.setenv("LOGNAME", "alice.from.hr")
    monkeypatch.setenv("USER", "alice.from.hr")
    since = audit_mark(dash_db)
    for url in (dash_db.owner_url, dash_db.reader_url, dash_db.audit_url):
        monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
        code = run_users(
            dash_db, monkeypatch, "add", "mallory", "--role", "admin", "--password-stdin", url=url
        )
        assert code == cli.EXIT_CONFIG
        assert "your own database login" in capsys.readouterr().err
    with psycopg.connect(dash_db.owner_url) as conn:
        assert conn.execute("SELECT count(*) FROM dashboard_users WHERE username = 'mallory'").fetchone() == (
            0,
        )
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert run_users(dash_db, monkeypatch, "add", "mallory", "--role", "viewer", "--password-stdin") == 0
    [row] = [r for r in audit_rows(dash_db, since) if r["kind"] == "user_admin"]
    assert row["inserted_by"] == "mycfa_ops"
    assert row["detail"]["actor"] == "mycfa_ops"
    assert row["detail"]["os_user"] == "alice.from.hr"
    assert run_users(dash_db, monkeypatch, "remove", "mallory") == 0


def test_cli_users_refuses_a_password_on_the_command_line(
    dash_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `--database-url` holding a password (ps and the shell history would keep it) is refused."""
    code = cli.main(["users", "remove", "nobody", "--database-url", dash_db.operator_url])
    assert code == cli.EXIT_USAGE
    assert "no password in --database-url" in capsys.readouterr().err


def test_cli_default_workers_bounds() -> None:
    """Workers follow the CPU count (cores + 1) within 2..8."""
    assert [cli.default_workers(n) for n in (1, 2, 4, 16)] == [2, 3, 5, 8]


def test_cli_serve_without_secret_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """serve refuses to start without the secret key, naming the variable, exit code 3."""
    monkeypatch.delenv("MYCFA_DASH_SECRET_KEY", raising=False)
    monkeypatch.setenv("MYCFA_DASH_DATABASE_URL", "postgresql://r:pw@127.0.0.1/x")
    assert cli.main(["serve"]) == cli.EXIT_CONFIG
    assert "MYCFA_DASH_SECRET_KEY is required" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("setting", "trusted"),
    [(None, ["127.0.0.1"]), ("10.40.0.0/20,10.40.16.0/20", ["10.40.0.0/20", "10.40.16.0/20"])],
)
def test_cli_serve_trusts_forwarded_headers_only_from_the_proxy_range(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, trusted: list[str]
) -> None:
    """gunicorn believes X-Forwarded-For only from MYCFA_DASH_FORWARDED_ALLOW_IPS (loopback by default),
    as gunicorn's own parser reads the line serve builds; `*` is refused."""
    from gunicorn.config import Config

    monkeypatch.setenv("MYCFA_DASH_DATABASE_URL", "postgresql://r:pw@127.0.0.1/x")
    monkeypatch.setenv("MYCFA_DASH_SECRET_KEY", "s" * 32)
    if setting is not None:
        monkeypatch.setenv("MYCFA_DASH_FORWARDED_ALLOW_IPS", setting)
    argv = cli.gunicorn_argv(load_dashboard_settings(), None, None, None)
    config = Config()
    parsed = config.parser().parse_args(argv[1:])
    config.set("forwarded_allow_ips", parsed.forwarded_allow_ips)
    assert [str(ip) for ip in config.forwarded_allow_ips] == trusted

    monkeypatch.setenv("MYCFA_DASH_FORWARDED_ALLOW_IPS", "*")
    with pytest.raises(ConfigError, match="MYCFA_DASH_FORWARDED_ALLOW_IPS is invalid"):
        load_dashboard_settings()
