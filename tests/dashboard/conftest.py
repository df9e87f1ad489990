"""Dashboard fixtures: one seeded database for the whole session, users per role, an app per module."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from dashboard.config import DashboardSettings
from devkit import seed, workflow_seed
from devkit.runs import engine_env, run_engine
from engine.db.migrate import migrate
from fakefmp.process import fakefmp_running
from tests.conftest import Cluster, Database, throwaway_database, wait_for_replica

PASSWORD = "correct horse battery"
USERS = {"ada": "admin", "ann": "analyst", "vic": "viewer"}


@pytest.fixture(scope="session")
def dash_db(pg_cluster: Cluster) -> Iterator[Database]:
    """A database seeded with demo companies, prices, statements and one user per role."""
    with throwaway_database(pg_cluster, "dashboard") as db:
        seed.seed(db.owner_url)
        for user, role in USERS.items():
            seed.add_user(db.owner_url, user, PASSWORD, role)
        wait_for_replica(pg_cluster)
        yield db


@contextlib.contextmanager
def engine_filled(
    pg_cluster: Cluster, name: str, symbols: tuple[str, ...], as_of: str, **env: str
) -> Iterator[Database]:
    """A database filled by one full engine run for `symbols` against the fake FMP server (seed 42,
    503 symbols, today `as_of`), with the admin "ada"."""
    args = ("--symbols", "503", "--seed", "42", "--rate-limit", "100000", "--as-of", as_of)
    with fakefmp_running(*args) as fake, throwaway_database(pg_cluster, name) as db:
        asyncio.run(migrate(db.owner_url))
        result = run_engine(
            engine_env(db.owner_url, fake, ",".join(symbols), **env), "run", "--job", "full", timeout=600
        )
        assert result.returncode == 0, result.stderr[-3000:]
        seed.add_user(db.owner_url, "ada", PASSWORD, "admin")
        wait_for_replica(pg_cluster)
        yield db


@pytest.fixture(scope="session")
def wf_db(pg_cluster: Cluster) -> Iterator[Database]:
    """The analysts' workflow universe (devkit/workflow_seed.py) with an analyst `ann`, refreshed as an
    ingest's end does: the #27 task tests' store (test_browser_workflows.py, test_browser_portfolio.py)."""
    with throwaway_database(pg_cluster, "workflows") as db:
        workflow_seed.fill(db.owner_url)
        seed.add_user(db.owner_url, "ann", PASSWORD, "analyst")
        wait_for_replica(pg_cluster)
        yield db


def make_settings(db: Database, **overrides: Any) -> DashboardSettings:
    values: dict[str, Any] = {
        "database_url": db.reader_url,
        "replica_urls": (db.replica_reader_url,),
        "secret_key": "test-secret-key-0123456789abcdef",
        "secure_cookies": False,
        "health_ttl_s": 0.5,
        "audit_database_url": db.audit_url,
        "login_delay_base_s": 60.0,  # a throttled address waits 60 s: a slow machine cannot outwait it
    }
    values.update(overrides)
    return DashboardSettings(**values)


@pytest.fixture(scope="module")
def dash_app(dash_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from dashboard.app import create_app

    app = create_app(make_settings(dash_db))
    yield app
    app.server.extensions["mycfa"].router.dispose()


@contextlib.contextmanager
def app_on(db: Database) -> Iterator[Any]:
    """The dashboard app on `db`; its router disposed afterwards."""
    from dashboard.app import create_app

    app = create_app(make_settings(db))
    try:
        yield app
    finally:
        app.server.extensions["mycfa"].router.dispose()


@contextlib.contextmanager
def app_at(db: Database) -> Iterator[str]:
    """The dashboard on `db`, served over real HTTP (`served`)."""
    with app_on(db) as app, served(app) as url:
        yield url


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """A Dash app's Flask server over real HTTP on a free loopback port; yields its URL."""
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def base_url(dash_app: Any) -> Iterator[str]:
    """The module's app served over real HTTP on a free loopback port (browser and smoke tests)."""
    with served(dash_app) as url:
        yield url


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    """Log in through the form; on success the client sends the session's CSRF header from then on,
    as `assets/csrf.js` does in the browser. The attempt's audit row is stored before this returns,
    so an `audit_mark` taken next lies after it (the writer is asynchronous)."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token is not None
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token.group(1), "next": "/"}
    )
    csrf = client.get_cookie("mycfa_csrf")
    if response.status_code == 302 and csrf is not None:
        client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf.value
    assert client.application.extensions["mycfa"].audit.flush(30)
    return response


def operator_cli_url(db: Database, monkeypatch: pytest.MonkeyPatch, url: str | None = None) -> str:
    """The operator's login (or `url`) as `mycfa-dashboard --database-url` takes it: without the
    password, which goes to PGPASSWORD (never on the command line)."""
    parts = urlsplit(url or db.operator_url)
    monkeypatch.setenv("PGPASSWORD", unquote(parts.password or ""))
    netloc = f"{parts.username}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def run_users(db: Database, monkeypatch: pytest.MonkeyPatch, *args: str, url: str | None = None) -> int:
    """`mycfa-dashboard users ARGS` as the operator (or `url`'s login); returns the exit code."""
    from dashboard import cli

    return cli.main(["users", *args, "--database-url", operator_cli_url(db, monkeypatch, url)])


def audit_mark(db: Database) -> int:
    """Where the audit trail ends now: pass it to `audit_rows` to read what came after."""
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute("SELECT coalesce(max(seq), 0) FROM audit.events").fetchone()
    return int(row[0]) if row else 0


def audit_rows(db: Database, since: int) -> list[dict[str, Any]]:
    """The audit rows stored after `since` (read as the superuser: no application role may)."""
    with psycopg.connect(db.admin_url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            "SELECT kind, outcome, username, role, host(client_addr) AS addr, request_id, detail,"
            " inserted_by, at FROM audit.events WHERE seq > %s ORDER BY seq",
            (since,),
        ).fetchall()


def clear_throttle(db: Database) -> None:
    """Forget every counted login failure and known address (tests that fail on purpose clean up)."""
    with psycopg.connect(db.owner_url) as conn:
        conn.execute("DELETE FROM login_throttle")
        conn.execute("DELETE FROM login_account_throttle")
        conn.execute("DELETE FROM login_known_addresses")


@pytest.fixture(scope="module")
def deps(dash_app: Any) -> list[dict[str, Any]]:
    """The app's callback map (`/_dash-dependencies`), read once per module as the admin."""
    client = dash_app.server.test_client()
    login(client, "ada")
    return client.get("/_dash-dependencies").get_json()  # type: ignore[no-any-return]


@pytest.fixture
def logged_in(dash_app: Any) -> Callable[[str], FlaskClient]:
    def make(username: str) -> FlaskClient:
        client: FlaskClient = dash_app.server.test_client()
        response = login(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make
