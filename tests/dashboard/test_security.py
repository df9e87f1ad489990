"""Login required everywhere (enumerated from the url_map), cookie flags, headers, rate limit, /health."""

from __future__ import annotations

import re
from typing import Any

from tests.dashboard.conftest import PASSWORD, login

PUBLIC = {"/login", "/health"}


def _concrete(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "x.js" if m.group(1) == "path" else "x", rule)


def test_every_route_requires_login(dash_app: Any) -> None:
    """Each rule of the Flask url_map, every method, answers 401 or a redirect to /login when logged out."""
    client = dash_app.server.test_client()
    rules = [r for r in dash_app.server.url_map.iter_rules() if r.rule not in PUBLIC]
    assert {"/_dash-update-component", "/_dash-layout", "/_dash-dependencies"} <= {r.rule for r in rules}
    for rule in rules:
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(_concrete(rule.rule), method=method, json={} if method == "POST" else None)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/login"), rule.rule
            else:
                assert response.status_code == 401, (rule.rule, method, response.status_code)


def test_health_is_public_and_names_nodes(dash_app: Any) -> None:
    """GET /health answers 200 without login and says which nodes are reachable."""
    response = dash_app.server.test_client().get("/health")
    assert response.status_code == 200
    nodes = response.get_json()["nodes"]
    assert nodes["primary"]["reachable"] is True and nodes["replica1"]["reachable"] is True


def test_login_sets_safe_cookie_and_headers(dash_app: Any) -> None:
    """The session cookie is HttpOnly and SameSite=Lax; responses carry HSTS, CSP, nosniff, frame-ancestors."""
    client = dash_app.server.test_client()
    response = login(client, "ann")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert (
        "frame-ancestors 'none'" in csp
        and "'sha256-" in csp
        and "'unsafe-inline'" not in csp.split("style-src")[0]
    )
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")


def test_secure_cookie_flag_follows_setting(dash_db: Any, tmp_path: Any) -> None:
    """With MYCFA_DASH_SECURE_COOKIES on (the default) the session cookie is Secure."""
    from dashboard.app import create_app
    from tests.dashboard.conftest import make_settings

    app = create_app(make_settings(dash_db, tmp_path, secure_cookies=True))
    response = login(app.server.test_client(), "ann")
    assert "Secure" in response.headers["Set-Cookie"]
    app.server.extensions["mycfa"].router.dispose()


def test_wrong_password_then_rate_limited(dash_app: Any) -> None:
    """Wrong passwords are refused; after the per-account limit even the right one is refused (429)."""
    client = dash_app.server.test_client()
    limit = dash_app.server.extensions["mycfa"].settings.login_max_failures
    for _ in range(limit):
        assert login(client, "vic", "wrong password!").status_code == 401
    assert login(client, "vic", PASSWORD).status_code == 429
    assert login(client, "ada", PASSWORD).status_code == 302  # other accounts unaffected
    dash_app.server.extensions["mycfa"].cache.delete("login-failures:vic")


def test_login_refuses_foreign_next_and_bad_csrf(dash_app: Any) -> None:
    """`next` never leads off-site, and a login without the form's token is refused."""
    client = dash_app.server.test_client()
    page = client.get("/login?next=//evil.example/x").get_data(as_text=True)
    assert 'name="next" value="/"' in page
    assert (
        client.post(
            "/login", data={"username": "ann", "password": PASSWORD, "csrf_token": "nope"}
        ).status_code
        == 400
    )


def test_viewer_has_no_status_link_and_no_export(dash_app: Any) -> None:
    """The navbar links to Status only for admins."""
    viewer = dash_app.server.test_client()
    assert login(viewer, "vic").status_code == 302
    layout = viewer.get("/_dash-layout").get_data(as_text=True)
    assert "nav-status" not in layout
    admin = dash_app.server.test_client()
    assert login(admin, "ada").status_code == 302
    assert "nav-status" in admin.get("/_dash-layout").get_data(as_text=True)
