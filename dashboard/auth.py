"""Login and sessions: Flask-Login users from `dashboard_users`, argon2 hashes, a shared login throttle,
revocable sessions and CSRF tokens.

Everything except `/login` and `/health/*` needs a logged-in user; Dash's own routes answer 401
(JSON clients), pages redirect to the login form. What keeps a session cookie valid (logout on the
server, the account's session version, the client binding, idle and absolute timeouts) is
`dashboard/sessions.py`. Every state-changing request
(the login and logout forms, Dash callbacks) carries the session's CSRF token: a form field, or the
`X-CSRF-Token` header that `assets/csrf.js` copies from the `mycfa_csrf` cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import flask
import flask_login
import orjson
import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dashboard import audit, sessions
from dashboard.data import queries
from dashboard.data.router import NoNodeAvailable, QueryFailed
from dashboard.forwarded import throttle_key
from dashboard.services import services

ROLES = ("viewer", "analyst", "admin")
USERNAME = re.compile(r"^[a-z0-9_.@-]{3,64}$")
PUBLIC_ENDPOINTS = frozenset({"login", "health_live", "health_ready"})
CSRF_COOKIE = "mycfa_csrf"  # `__Host-mycfa_csrf` with Secure cookies (dashboard/security.py)
CSRF_HEADER = "X-CSRF-Token"
_HASHER = PasswordHasher()
# Verified when the account does not exist, so a wrong user name costs as much time as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class User(flask_login.UserMixin):
    """A logged-in analyst."""

    username: str
    role: str
    session_version: int = 1

    def get_id(self) -> str:
        return self.username

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_export(self) -> bool:
        return self.role in ("analyst", "admin")


class _Accounts:
    """Reads the account on every request (primary first), so a revocation applies at once.

    The last row seen is kept per worker and used only while no database node answers: a database
    outage does not log out the users this worker has checked. A user it never checked cannot be
    checked then, and is refused.
    """

    def __init__(self) -> None:
        self._last: dict[str, User | None] = {}
        self._lock = threading.Lock()

    def get(self, username: str, session_id: str) -> tuple[User | None, bool]:
        """The account (None: no such user) and whether this session id was logged out.

        Raises:
            NoNodeAvailable, QueryFailed: no node answers and this worker never saw the user.
        """
        try:
            row = queries.user(services().router, username, session_id)
        except (NoNodeAvailable, QueryFailed):
            with self._lock:
                if username not in self._last:
                    raise
                return self._last[username], False  # the last answer outlives an outage
        user = User(username, row["role"], int(row["session_version"])) if row else None
        with self._lock:
            self._last[username] = user
        return user, bool(row and row["logged_out"])


def current_user() -> User | None:
    user = flask_login.current_user
    return user if isinstance(user, User) else None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def authenticate(username: str, password: str) -> tuple[User | None, str]:
    """The user when the password matches, else None, with the reason (same cost either way)."""
    row = queries.user(services().router, username) if USERNAME.match(username) else None
    try:
        _HASHER.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None, "wrong password" if row else "unknown user"
    if row is None:
        return None, "unknown user"
    return User(username, row["role"], int(row["session_version"])), "ok"


def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    token = flask.session.get("csrf_token")
    if not token:
        token = secrets.token_urlsafe(32)
        flask.session["csrf_token"] = token
    return str(token)


def _csrf_ok(sent: str | None) -> bool:
    expected = flask.session.get("csrf_token")
    return bool(expected) and secrets.compare_digest(str(expected), sent or "")


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
    body = LOGIN_FORM.format(
        csrf=csrf_token(),
        next=html.escape(_safe_next(flask.request.values.get("next"))),
        error=f'<p class="error" id="login-error">{html.escape(error)}</p>' if error else "",
    )
    return flask.Response(body, status=status, mimetype="text/html")


def _typed_name(name: str | None, *, known: bool | None = None) -> dict[str, Any]:
    """How a failed login names the account in the audit: its name when such an account exists, else
    a keyed hash of what was typed (people type passwords into the user-name field: never record it).
    The same text gives the same hash, so repeated attempts still correlate."""
    if name is None:
        return {}
    if known is None:
        try:
            known = queries.user(services().router, name) is not None
        except (NoNodeAvailable, QueryFailed):
            known = False
    if known:
        return {"username": name}
    key = services().settings.secret_key.get_secret_value().encode()
    return {"name_hmac": hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:16]}


def _login_failed(reason: str, name: str | None, *, known: bool | None = None, **detail: Any) -> None:
    audit.record(
        "login", "failure", anonymous=True, reason=reason, **_typed_name(name, known=known), **detail
    )


def login_view() -> Any:
    if flask.request.method == "GET":
        return _login_page()
    form = flask.request.form
    username = form.get("username", "").strip().lower()
    name = username if USERNAME.match(username) else None
    if not _csrf_ok(form.get("csrf_token")):
        _login_failed("bad csrf token", name)
        return _login_page("Your session expired; please try again.", 400)
    if name is None:
        _login_failed("malformed user name", None)
        return _login_page("Wrong user name or password.", 401)
    addr = throttle_key(audit.current_client_address())
    throttle = services().throttle
    wait_s = throttle.begin(username, addr)
    if wait_s > 0:
        _login_failed("throttled", name, wait_s=round(wait_s, 1))
        response = _login_page("Too many failed attempts; wait a little and try again.", 429)
        response.headers["Retry-After"] = str(max(1, int(wait_s + 0.999)))
        return response
    try:
        user, reason = authenticate(username, form.get("password", ""))
    except (NoNodeAvailable, QueryFailed):
        _login_failed("database unavailable", name, known=False)
        return _login_page("The database cannot be reached; try again shortly.", 503)
    if user is None:
        _login_failed(reason, name, known=reason == "wrong password")
        return _login_page("Wrong user name or password.", 401)
    throttle.succeeded(username, addr)
    flask.session.clear()  # a fresh session on login: no fixation
    flask_login.login_user(user)
    sessions.start(user.session_version)
    csrf_token()
    audit.record("login", "success", username=user.username, role=user.role)
    return flask.redirect(_safe_next(form.get("next")))


def _end_session(everywhere: bool) -> Any:
    user = current_user()
    if not _csrf_ok(flask.request.form.get("csrf_token")):
        return flask.Response("missing or wrong CSRF token\n", status=403, mimetype="text/plain")
    if everywhere and user is not None:
        try:
            services().audit.call("dashboard_logout_everywhere", (user.username,))
        except psycopg.Error as exc:
            audit.record("session", "failure", reason=f"log out everywhere failed ({type(exc).__name__})")
            return flask.Response(
                "could not reach the database to log out everywhere; try again\n",
                status=503,
                mimetype="text/plain",
            )
        audit.record("session", "revoked", action="log out everywhere")
    if user is not None and sessions.session_id():
        try:
            sessions.log_out(user.username)
            audit.record("logout", "success")
        except psycopg.Error as exc:
            # The browser forgets the cookie anyway; a copy of it stays valid until it expires.
            audit.record("logout", "unrevoked", reason=f"database did not take it ({type(exc).__name__})")
    else:
        audit.record("logout", "success")
    flask_login.logout_user()
    flask.session.clear()
    response = flask.redirect("/login")
    response.delete_cookie(csrf_cookie_name())
    return response


def logout_view() -> Any:
    return _end_session(everywhere=False)


def logout_everywhere_view() -> Any:
    return _end_session(everywhere=True)


def csrf_cookie_name() -> str:
    return ("__Host-" if services().settings.secure_cookies else "") + CSRF_COOKIE


def _refuse(message: str, status: int) -> flask.Response:
    return flask.Response(orjson.dumps({"error": message}), status=status, mimetype="application/json")


def require_login() -> Any:
    """before_request: everything but the public endpoints needs a user; Dash callbacks a CSRF token."""
    audit.request_id()
    if flask.request.endpoint in PUBLIC_ENDPOINTS:
        return None
    path = flask.request.path
    if current_user() is not None:
        if path.startswith("/_dash-") and flask.request.method == "POST":
            if not _csrf_ok(flask.request.headers.get(CSRF_HEADER)):
                return _refuse("missing or wrong CSRF token", 403)
        return None
    if path.startswith("/_") or flask.request.method != "GET" or path.startswith("/export/"):
        return _refuse("login required", 401)
    return flask.redirect("/login?next=" + flask.request.full_path.rstrip("?"))


def _after(response: flask.Response) -> flask.Response:
    """Request id on every answer; denied requests audited; the CSRF cookie for the browser's script."""
    response.headers["X-Request-Id"] = audit.request_id()
    if (
        response.status_code in (401, 403)
        and flask.request.endpoint not in PUBLIC_ENDPOINTS
        and not flask.g.get("mycfa_audited")
    ):
        audit.record(
            "denied", str(response.status_code), method=flask.request.method, path=flask.request.path
        )
    token = flask.session.get("csrf_token")
    name = csrf_cookie_name()
    # Only once logged in (asking Flask-Login about an anonymous session would clear its remember state).
    if token and "_user_id" in flask.session and flask.request.cookies.get(name) != token:
        settings = services().settings
        # Readable by our own script (not HttpOnly), sent only to our own site; `__Host-` when Secure.
        response.set_cookie(
            name, str(token), secure=settings.secure_cookies, httponly=False, samesite="Strict", path="/"
        )
    return response


def init_auth(server: flask.Flask) -> None:
    manager = flask_login.LoginManager()
    manager.session_protection = None  # our own binding to the real client (`sessions.fingerprint`)
    manager.init_app(server)
    accounts = _Accounts()

    @manager.user_loader
    def _load(username: str) -> User | None:
        try:
            user, logged_out = accounts.get(username, sessions.session_id())
        except (NoNodeAvailable, QueryFailed):
            # No node answers and this worker never checked the user: the cookie's version, logout and
            # role cannot be verified, so it is refused (a login cannot succeed either until a node is back).
            audit.record("session", "refused", username=username, reason="cannot be checked (no database)")
            flask.session.clear()
            return None
        if user is None:
            return None
        reason = sessions.refusal(user.session_version, logged_out)
        if reason is not None:
            audit.record("session", "refused", username=user.username, role=user.role, reason=reason)
            flask.session.clear()
            return None
        flask.g.mycfa_user = user.username  # for the log lines of this request
        return user

    server.add_url_rule("/login", "login", login_view, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", logout_view, methods=["POST"])
    server.add_url_rule("/logout/everywhere", "logout_everywhere", logout_everywhere_view, methods=["POST"])
    # First in line, before Dash's own before_request hooks.
    server.before_request_funcs.setdefault(None, []).insert(0, require_login)
    server.after_request(_after)
