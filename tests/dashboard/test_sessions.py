"""Sessions end on the server: logout revokes the cookie (review M1), idle and absolute timeouts and
`__Host-` cookies (L4), no unverifiable cookie accepted while no database node answers (L9)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from dashboard.data.router import NoNodeAvailable
from tests.conftest import Database
from tests.dashboard.conftest import audit_mark, audit_rows, login, make_settings


def _session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("mycfa_session")
    assert cookie is not None, "logged in"
    return cookie.value


def _saved_copy(dash_app: Any, client: FlaskClient) -> FlaskClient:
    copy: FlaskClient = dash_app.server.test_client()
    copy.set_cookie("mycfa_session", _session_cookie(client))
    return copy


def _rewrite_session(dash_app: Any, client: FlaskClient, **changes: Any) -> None:
    """Re-sign the client's session cookie with some fields changed (as if time had passed)."""
    server = dash_app.server
    serializer = server.session_interface.get_signing_serializer(server)
    session = serializer.loads(_session_cookie(client))
    session.update(changes)
    client.set_cookie("mycfa_session", serializer.dumps(session))


def test_saved_cookie_refused_after_logout(dash_app: Any, dash_db: Database) -> None:
    """The review's P04: a cookie saved before `POST /logout` reads nothing afterwards (layout, callbacks,
    exports), while the same user's other session stays logged in; the refusal is audited."""
    client = dash_app.server.test_client()
    assert login(client, "ann").status_code == 302
    other = dash_app.server.test_client()
    assert login(other, "ann").status_code == 302
    saved = _saved_copy(dash_app, client)
    assert saved.get("/_dash-layout").status_code == 200
    since = audit_mark(dash_db)
    token = client.get_cookie("mycfa_csrf").value
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert saved.get("/_dash-layout").status_code == 401
    assert saved.get("/export/compare/ratios.csv?symbols=AAPL,MSFT").status_code == 401
    assert other.get("/_dash-layout").status_code == 200  # logging out here is not "everywhere"
    assert dash_app.server.extensions["mycfa"].audit.flush(10)
    refused = [r for r in audit_rows(dash_db, since) if r["kind"] == "session" and r["outcome"] == "refused"]
    assert refused
    assert refused[0]["detail"]["reason"] == "logged out"


def test_idle_session_expires_and_activity_keeps_it(dash_app: Any) -> None:
    """A session unused for longer than MYCFA_DASH_IDLE_TIMEOUT_S (30 min) is refused; one used within
    it is kept and its last-seen time moves on; past the absolute lifetime (8 h) it is refused anyway."""
    settings = dash_app.server.extensions["mycfa"].settings
    assert settings.idle_timeout_s == 30 * 60
    client = dash_app.server.test_client()
    assert login(client, "ann").status_code == 302
    now = time.time()
    _rewrite_session(dash_app, client, seen_at=now - settings.idle_timeout_s + 60)
    assert client.get("/_dash-layout").status_code == 200
    serializer = dash_app.server.session_interface.get_signing_serializer(dash_app.server)
    assert serializer.loads(client.get_cookie("mycfa_session").value)["seen_at"] >= now - 1
    _rewrite_session(dash_app, client, seen_at=now - settings.idle_timeout_s - 60)
    assert client.get("/_dash-layout").status_code == 401
    client = dash_app.server.test_client()
    assert login(client, "ann").status_code == 302
    _rewrite_session(dash_app, client, login_at=now - 8 * 3600 - 60, seen_at=now)
    assert client.get("/_dash-layout").status_code == 401


def test_secure_cookies_carry_the_host_prefix(dash_db: Database, tmp_path: Any) -> None:
    """With Secure cookies (production) the session and CSRF cookies are `__Host-` cookies: Secure,
    Path=/, no Domain, so no sibling host can set or shadow them; the session then works under them."""
    from dashboard.app import create_app

    app = create_app(make_settings(dash_db, secure_cookies=True))
    client = app.server.test_client()
    page = client.get("/login", base_url="https://localhost")
    token = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login",
        data={"username": "ann", "password": "correct horse battery", "csrf_token": token, "next": "/"},
        base_url="https://localhost",
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    names = sorted(cookie.split("=", 1)[0] for cookie in cookies)
    assert names == ["__Host-mycfa_csrf", "__Host-mycfa_session"]
    for cookie in cookies:
        assert "Secure" in cookie
        assert "Path=/" in cookie
        assert "Domain=" not in cookie
    csrf = client.get_cookie("__Host-mycfa_csrf", domain="localhost")
    assert csrf is not None
    layout = client.get("/_dash-layout", base_url="https://localhost")
    assert layout.status_code == 200
    app.server.extensions["mycfa"].router.dispose()


def test_unverifiable_cookie_refused_when_no_node_answers(
    dash_app: Any, dash_db: Database, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no database node answering, a cookie whose user this worker never checked (another worker
    of the same app logged it in) is refused, not accepted as a viewer; a user this worker checked
    before keeps the session (docs: outages)."""
    from dashboard.app import create_app

    other_worker = create_app(make_settings(dash_db))
    known = other_worker.server.test_client()
    assert login(known, "ann").status_code == 302
    assert known.get("/_dash-layout").status_code == 200  # ann is now in this worker's account cache
    stranger = dash_app.server.test_client()
    assert login(stranger, "ada").status_code == 302  # logged in by the module's app, not other_worker
    replay = other_worker.server.test_client()
    replay.set_cookie("mycfa_session", stranger.get_cookie("mycfa_session").value)

    def down(*_: Any, **__: Any) -> Any:
        raise NoNodeAvailable("no database node answers")

    monkeypatch.setattr(other_worker.server.extensions["mycfa"].router, "read", down)
    assert replay.get("/_dash-layout").status_code == 401
    assert known.get("/_dash-layout").status_code == 200
    other_worker.server.extensions["mycfa"].router.dispose()
