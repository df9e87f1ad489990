"""Session cookie flags and security headers for every response."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import flask

from dashboard.config import DashboardSettings

SESSION_LIFETIME = timedelta(hours=8)


def content_security_policy(script_hashes: list[str]) -> str:
    """A CSP Dash works under: its one inline bootstrap script is allowed by hash, nothing else inline.

    Plotly.js and Dash's renderer still need 'unsafe-eval' (function constructors) and inline
    styles (React style attributes); everything is served from our own origin.
    """
    hashes = " ".join(script_hashes)  # Dash returns them quoted: 'sha256-...'
    return (
        "default-src 'self'; "
        f"script-src 'self' 'unsafe-eval' {hashes}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def configure_cookies(server: flask.Flask, settings: DashboardSettings) -> None:
    """Secure cookies get the `__Host-` prefix: the browser then takes them only with Secure, Path=/ and
    no Domain, so no other host (a sibling subdomain) can set or shadow them."""
    prefix = "__Host-" if settings.secure_cookies else ""
    server.config.update(
        SECRET_KEY=settings.secret_key.get_secret_value(),
        SESSION_COOKIE_NAME=prefix + "mycfa_session",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        DEBUG=False,
        PROPAGATE_EXCEPTIONS=False,
    )


def install_headers(server: flask.Flask, csp_factory: Callable[[], str | None]) -> None:
    """Security headers on every response; the CSP is kept once Dash has set itself up (factory not None)."""
    built: list[str] = []

    @server.after_request
    def _headers(response: flask.Response) -> flask.Response:
        headers = response.headers
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        csp = built[0] if built else csp_factory()
        if csp is None:  # Dash not set up yet (only /login or /health so far): no inline script is served
            csp = content_security_policy([])
        elif not built:
            built.append(csp)
        headers["Content-Security-Policy"] = csp
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers.setdefault("Cache-Control", "no-store")
        return response
