"""Audit trail (rows and JSON lines), the mycfa_audit role's limits, revocable sessions, CSRF on callbacks."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard import audit_store
from devkit import callbacks
from tests.conftest import Database
from tests.dashboard.conftest import PASSWORD, audit_mark, audit_rows, clear_throttle, login, run_users


@pytest.fixture
def audit_lines() -> Iterator[io.StringIO]:
    """The audit JSON lines written while the test runs."""
    stream = io.StringIO()
    audit_store.audit_logger(stream)
    yield stream
    audit_store.audit_logger(io.StringIO())


def _page_view(client: Any, path: str) -> Any:
    deps = client.get("/_dash-dependencies").get_json()
    return client.post("/_dash-update-component", json=callbacks.page_body(deps, path))


def test_each_event_kind_lands_in_table_and_json(
    dash_app: Any, dash_db: Database, audit_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Login failure and success, page view, export, denied request, logout and a user change each
    become a row and a JSON line with user, role, client address, request id and outcome."""
    store = dash_app.server.extensions["mycfa"].audit
    since = audit_mark(dash_db)
    client = dash_app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.7"
    assert login(client, "ann", "wrong password!").status_code == 401
    assert login(client, "ann").status_code == 302
    assert _page_view(client, "/compare").status_code == 200
    export = client.get("/export/compare/ratios.csv?symbols=AAPL,MSFT")
    assert export.status_code == 200, export.get_data(as_text=True)
    viewer = dash_app.server.test_client()
    assert login(viewer, "vic").status_code == 302
    assert viewer.get("/export/compare/ratios.csv?symbols=AAPL,MSFT").status_code == 403
    token = client.get_cookie("mycfa_csrf").value
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))
    assert run_users(dash_db, monkeypatch, "add", "audra", "--role", "viewer", "--password-stdin") == 0
    assert run_users(dash_db, monkeypatch, "set-role", "audra", "analyst") == 0
    assert store.flush(10)
    rows = audit_rows(dash_db, since)
    seen = {(r["kind"], r["outcome"], r["username"]) for r in rows}
    assert {
        ("login", "failure", "ann"),
        ("login", "success", "ann"),
        ("page_view", "ok", "ann"),
        ("export", "ok", "ann"),
        ("export", "denied", "vic"),  # one row with its real outcome, no generic `denied` beside it
        ("logout", "success", "ann"),
        ("user_admin", "ok", "audra"),
    } <= seen
    failure = next(r for r in rows if r["kind"] == "login" and r["outcome"] == "failure")
    assert failure["detail"]["reason"] == "wrong password"
    assert failure["addr"] == "127.0.0.7"
    export_row = next(r for r in rows if r["kind"] == "export")
    assert export_row["role"] == "analyst"
    assert export_row["detail"]["rows"] > 0
    assert export_row["request_id"]
    changes = [r["detail"] for r in rows if r["kind"] == "user_admin"]
    assert changes[-1]["old_role"] == "viewer"
    assert changes[-1]["new_role"] == "analyst"
    assert changes[-1]["actor"]
    lines = [json.loads(line) for line in audit_lines.getvalue().splitlines()]
    assert {(line["audit"], line["outcome"], line["user"]) for line in lines} >= seen - {
        ("user_admin", "ok", "audra")
    }
    assert any(line["audit"] == "page_view" and line["page"] == "compare" for line in lines)
    assert store.unstored == 0
    clear_throttle(dash_db)


def test_audit_database_down_keeps_serving_and_counts(
    dash_db: Database, tmp_path: Any, audit_lines: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """With the audit database unreachable, logins and pages still work, the JSON lines still go out,
    and the rows that could not be stored are counted, and said when the store closes."""
    from dashboard.app import create_app
    from tests.dashboard.conftest import make_settings

    dead = "postgresql://mycfa_audit:x@127.0.0.1:9/mycfa"
    app = create_app(make_settings(dash_db, audit_database_url=dead, connect_timeout_s=1))
    client = app.server.test_client()
    assert login(client, "ann").status_code == 302
    assert _page_view(client, "/compare").status_code == 200
    store = app.server.extensions["mycfa"].audit
    assert store.flush(10)
    assert store.unstored >= 2
    assert store.stored == 0
    assert '"audit":"page_view"' in audit_lines.getvalue().replace(" ", "")
    with caplog.at_level("ERROR", logger=audit_store.__name__):
        store.close(1)
    assert f"{store.unstored} audit events not stored by this process" in caplog.text
    app.server.extensions["mycfa"].router.dispose()


def test_callback_without_csrf_token_is_refused(logged_in: Any) -> None:
    """A Dash callback POST without the session's token (or with another) answers 403; with it, 200."""
    client = logged_in("ann")
    deps = client.get("/_dash-dependencies").get_json()
    body = callbacks.body(
        callbacks.find(deps, "company-price-graph"),
        {"company-symbol": "AAPL", "company-adjusted": "adj", "company-overlays": [], "company-range": "1Y"},
    )
    assert client.post("/_dash-update-component", json=body).status_code == 200
    good = client.environ_base.pop("HTTP_X_CSRF_TOKEN")
    assert client.post("/_dash-update-component", json=body).status_code == 403
    assert (
        client.post("/_dash-update-component", json=body, headers={"X-CSRF-Token": "forged"}).status_code
        == 403
    )
    assert (
        client.post("/_dash-update-component", json=body, headers={"X-CSRF-Token": good}).status_code == 200
    )


def test_logout_is_a_post_with_token(logged_in: Any) -> None:
    """GET /logout does not log out; a POST without the token is refused; with it the session ends."""
    client = logged_in("ann")
    client.get("/logout")  # only Dash's page shell answers a GET there
    assert client.get("/_dash-layout").status_code == 200
    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/_dash-layout").status_code == 200
    token = client.get_cookie("mycfa_csrf").value
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/_dash-layout").status_code == 401


def _saved_cookie_client(dash_app: Any, username: str) -> tuple[Any, Any]:
    """A logged-in client and a second client holding a copy of its session cookie."""
    client = dash_app.server.test_client()
    assert login(client, username).status_code == 302
    copy = dash_app.server.test_client()
    copy.set_cookie("mycfa_session", client.get_cookie("mycfa_session").value)
    assert copy.get("/_dash-layout").status_code == 200
    return client, copy


def test_saved_cookie_refused_after_role_change_password_change_and_logout_everywhere(
    dash_app: Any, dash_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cookie saved before a role change, a password change or "log out everywhere" is refused
    at its next request; a fresh login works."""
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert run_users(dash_db, monkeypatch, "add", "sam", "--role", "viewer", "--password-stdin") == 0

    _, saved = _saved_cookie_client(dash_app, "sam")
    assert run_users(dash_db, monkeypatch, "set-role", "sam", "analyst") == 0
    assert saved.get("/_dash-layout").status_code == 401

    _, saved = _saved_cookie_client(dash_app, "sam")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert run_users(dash_db, monkeypatch, "add", "sam", "--role", "analyst", "--password-stdin") == 0
    assert saved.get("/_dash-layout").status_code == 401

    client, saved = _saved_cookie_client(dash_app, "sam")
    token = client.get_cookie("mycfa_csrf").value
    assert client.post("/logout/everywhere", data={"csrf_token": token}).status_code == 302
    assert saved.get("/_dash-layout").status_code == 401
    assert login(dash_app.server.test_client(), "sam").status_code == 302

    assert run_users(dash_db, monkeypatch, "remove", "sam") == 0
    assert saved.get("/_dash-layout").status_code == 401
