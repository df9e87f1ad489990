"""What a session cookie must still be worth on each request: the rules, apart from login itself.

The cookie is Flask's signed client-side session. At login it gets a random id, the account's session
version, the client it is bound to and its login and last-seen times. It is refused when
- its id was logged out (`dashboard_revoked_sessions`, written by `dashboard_logout_session`),
- the account's version moved on (password or role change, removal, "log out everywhere"),
- another client presents it (a different address, as the audit sees it, or browser),
- it went unused for `MYCFA_DASH_IDLE_TIMEOUT_S`, or it is older than SESSION_LIFETIME.
The last-seen time is rewritten at most once a minute, so most answers carry no new cookie.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import flask

from dashboard import audit
from dashboard.security import SESSION_LIFETIME
from dashboard.services import services

SEEN_EVERY_S = 60.0  # how stale the last-seen time may get before the cookie is rewritten


def fingerprint() -> str:
    """The client a session is bound to: its address as the audit sees it (the hop our proxies wrote,
    not the leftmost `X-Forwarded-For` entry that Flask-Login's own binding reads) and its browser."""
    agent = flask.request.headers.get("User-Agent", "")
    return hashlib.sha256(f"{audit.current_client_address()}|{agent}".encode()).hexdigest()[:32]


def session_id() -> str:
    return str(flask.session.get("sid", ""))


def start(session_version: int) -> None:
    """Fill a fresh session for a user who just proved their password."""
    now = time.time()
    flask.session["sid"] = secrets.token_urlsafe(24)
    flask.session["session_version"] = session_version
    flask.session["bound_to"] = fingerprint()
    flask.session["login_at"] = now
    flask.session["seen_at"] = now


def refusal(session_version: int, logged_out: bool) -> str | None:
    """Why the current session may not go on (None: it may, and its last-seen time is kept fresh)."""
    now = time.time()
    if logged_out:
        return "logged out"
    if flask.session.get("session_version") != session_version:
        return "revoked"
    if flask.session.get("bound_to") != fingerprint():
        return "another client"
    if now - float(flask.session.get("login_at") or 0) > SESSION_LIFETIME.total_seconds():
        return "expired"
    seen = float(flask.session.get("seen_at") or 0)
    if now - seen > services().settings.idle_timeout_s:
        return "idle"
    if now - seen > SEEN_EVERY_S:
        flask.session["seen_at"] = now
    return None


def log_out(username: str) -> None:
    """List this session's id as logged out, for as long as it could otherwise live.

    Raises:
        psycopg.Error: the audit database did not take it.
    """
    services().audit.call(
        "dashboard_logout_session", (username, session_id(), SESSION_LIFETIME.total_seconds())
    )
