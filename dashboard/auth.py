"""Login: Flask-Login users from the `dashboard_users` table, argon2 hashes, per-account rate limit.

Everything except `/login` and `/health/*` needs a logged-in user; Dash's own routes answer 401
(JSON clients), pages redirect to the login form.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import flask
import flask_login
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dashboard.data import queries
from dashboard.data.router import NoNodeAvailable, QueryFailed
from dashboard.services import services

ROLES = ("viewer", "analyst", "admin")
USERNAME = re.compile(r"^[a-z0-9_.@-]{3,64}$")
PUBLIC_ENDPOINTS = frozenset({"login", "health_live", "health_ready"})
USER_CACHE_TTL_S = 30.0  # a removed user or changed role takes effect within this time
OUTAGE_ROLE = "viewer"  # the role of a session whose user cannot be looked up (no database node answers)
_HASHER = PasswordHasher()
# Verified when the account does not exist, so a wrong user name costs as much time as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class User(flask_login.UserMixin):
    """A logged-in analyst."""

    username: str
    role: str

    def get_id(self) -> str:
        return self.username

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_export(self) -> bool:
        return self.role in ("analyst", "admin")


class _UserCache:
    """Saves a database read on every request; entries expire so role changes apply quickly."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, User | None]] = {}
        self._lock = threading.Lock()

    def get(self, username: str) -> User | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(username)
        if entry and now - entry[0] < USER_CACHE_TTL_S:
            return entry[1]
        try:
            row = queries.user(services().router, username)
        except (NoNodeAvailable, QueryFailed):
            if entry is None:
                raise
            return entry[1]  # the last answer outlives an outage: keep the session, pages say why
        user = User(username, row["role"]) if row else None
        with self._lock:
            self._entries[username] = (now, user)
        return user


def current_user() -> User | None:
    user = flask_login.current_user
    return user if isinstance(user, User) else None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _too_many_failures(username: str) -> bool:
    settings = services().settings
    failures: list[float] = services().cache.get(f"login-failures:{username}") or []
    now = time.time()
    return len([t for t in failures if now - t < settings.login_window_s]) >= settings.login_max_failures


def _record_failure(username: str) -> None:
    settings = services().settings
    key = f"login-failures:{username}"
    now = time.time()
    failures = [t for t in (services().cache.get(key) or []) if now - t < settings.login_window_s]
    services().cache.set(key, [*failures, now], timeout=settings.login_window_s)


def authenticate(username: str, password: str) -> User | None:
    """The user when the password matches, else None (same cost either way)."""
    row = queries.user(services().router, username) if USERNAME.match(username) else None
    try:
        _HASHER.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return User(username, row["role"]) if row else None


def _safe_next(target: str | None) -> str:
    """Only local paths: never an open redirect.

    Browsers read `\\` as `/`, so `/\\evil.example` is scheme-relative too; control characters are
    dropped by some parsers before they look for the host.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


LOGIN_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MyCFATool · sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,sans-serif;background:#f4f6f8;display:flex;justify-content:center;padding-top:10vh}}
form{{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 2px 8px #0002;width:320px}}
label{{display:block;margin-top:1rem}} input{{width:100%;padding:.5rem;box-sizing:border-box}}
button{{margin-top:1.5rem;width:100%;padding:.6rem;background:#1f4e79;color:#fff;border:0;border-radius:4px}}
.error{{color:#b00020;margin-top:1rem}}
</style></head><body>
<form method="post" action="/login">
<h2>MyCFATool</h2>
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<label for="username">User name</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="login-submit" type="submit">Sign in</button>
{error}
</form></body></html>"""


def _login_page(error: str = "", status: int = 200) -> flask.Response:
    token = flask.session.get("csrf_token") or secrets.token_urlsafe(32)
    flask.session["csrf_token"] = token
    body = LOGIN_FORM.format(
        csrf=token,
        next=html.escape(_safe_next(flask.request.values.get("next"))),
        error=f'<p class="error" id="login-error">{html.escape(error)}</p>' if error else "",
    )
    return flask.Response(body, status=status, mimetype="text/html")


def login_view() -> Any:
    if flask.request.method == "GET":
        return _login_page()
    form = flask.request.form
    expected = flask.session.get("csrf_token")
    if not expected or not secrets.compare_digest(expected, form.get("csrf_token", "")):
        return _login_page("Your session expired; please try again.", 400)
    username = form.get("username", "").strip().lower()
    if not USERNAME.match(username):
        return _login_page("Wrong user name or password.", 401)
    if _too_many_failures(username):
        return _login_page("Too many attempts for this account; wait a few minutes.", 429)
    try:
        user = authenticate(username, form.get("password", ""))
    except (NoNodeAvailable, QueryFailed):
        return _login_page("The database cannot be reached; try again shortly.", 503)
    if user is None:
        _record_failure(username)
        return _login_page("Wrong user name or password.", 401)
    flask.session.clear()  # a fresh session on login: no fixation
    flask_login.login_user(user)
    return flask.redirect(_safe_next(form.get("next")))


def logout_view() -> Any:
    flask_login.logout_user()
    flask.session.clear()
    return flask.redirect("/login")


def require_login() -> Any:
    """before_request: everything but the public endpoints needs a user."""
    if flask.request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user() is not None:
        return None
    path = flask.request.path
    if path.startswith("/_") or flask.request.method != "GET" or path.startswith("/export/"):
        return flask.Response('{"error": "login required"}', status=401, mimetype="application/json")
    return flask.redirect("/login?next=" + flask.request.full_path.rstrip("?"))


def init_auth(server: flask.Flask) -> None:
    manager = flask_login.LoginManager()
    manager.session_protection = "strong"
    manager.init_app(server)
    users = _UserCache()

    @manager.user_loader
    def _load(username: str) -> User | None:
        try:
            return users.get(username)
        except (NoNodeAvailable, QueryFailed):
            # No node answers and this worker never saw the user: the signed session says who it
            # is, so keep it (least privilege) rather than bounce to a login that cannot succeed.
            # Every page then shows the outage message from its own callback.
            return User(username, OUTAGE_ROLE)

    server.add_url_rule("/login", "login", login_view, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", logout_view, methods=["GET"])
    # First in line, before Dash's own before_request hooks.
    server.before_request_funcs.setdefault(None, []).insert(0, require_login)
