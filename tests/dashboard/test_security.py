"""Login required everywhere (enumerated from the url_map), cookie flags, headers, rate limit, /health/*."""

from __future__ import annotations

import re
from typing import Any

from tests.dashboard.conftest import PASSWORD, clear_throttle, login

PUBLIC = {"/login", "/health/live", "/health/ready"}


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


def test_health_is_public_and_shows_nodes_only_to_admins(dash_app: Any) -> None:
    """/health/live and /health/ready answer 200 without login; node names and lag only for an admin."""
    anonymous = dash_app.server.test_client()
    assert anonymous.get("/health/live").status_code == 200
    ready = anonymous.get("/health/ready")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "serving": {}}  # the engine never refreshed this store
    analyst = dash_app.server.test_client()
    assert login(analyst, "ann").status_code == 302
    assert "nodes" not in analyst.get("/health/ready").get_json()
    admin = dash_app.server.test_client()
    assert login(admin, "ada").status_code == 302
    nodes = admin.get("/health/ready").get_json()["nodes"]
    assert nodes["primary"]["reachable"] is True
    assert nodes["replica1"]["reachable"] is True


def test_health_ready_is_503_when_no_node_answers(dash_db: Any, tmp_path: Any) -> None:
    """With every database node unreachable /health/ready answers 503 while /health/live stays 200."""
    from dashboard.app import create_app
    from tests.dashboard.conftest import make_settings

    dead = "postgresql://mycfa_reader:x@127.0.0.1:9/mycfa"  # port 9 (discard): nothing listens there
    app = create_app(make_settings(dash_db, database_url=dead, replica_urls=(dead,), connect_timeout_s=1))
    client = app.server.test_client()
    assert client.get("/health/live").status_code == 200
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "unavailable", "serving": {}}
    app.server.extensions["mycfa"].router.dispose()


def test_login_sets_safe_cookie_and_headers(dash_app: Any) -> None:
    """The session cookie is HttpOnly and SameSite=Lax; responses carry HSTS, CSP, nosniff, frame-ancestors."""
    client = dash_app.server.test_client()
    response = login(client, "ann")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    cookies = response.headers.getlist("Set-Cookie")
    cookie = next(c for c in cookies if c.startswith("mycfa_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    csrf = next(c for c in cookies if c.startswith("mycfa_csrf="))  # read by our script: not HttpOnly
    assert "HttpOnly" not in csrf
    assert "SameSite=Strict" in csrf
    page = client.get("/")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'sha256-" in csp
    assert "'unsafe-inline'" not in csp.split("style-src")[0]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")


def test_secure_cookie_flag_follows_setting(dash_db: Any, tmp_path: Any) -> None:
    """With MYCFA_DASH_SECURE_COOKIES on (the default) the session cookie is Secure."""
    from dashboard.app import create_app
    from tests.dashboard.conftest import make_settings

    app = create_app(make_settings(dash_db, secure_cookies=True))
    response = login(app.server.test_client(), "ann")
    assert all("Secure" in cookie for cookie in response.headers.getlist("Set-Cookie"))
    app.server.extensions["mycfa"].router.dispose()


def test_wrong_password_then_throttled_for_that_address_only(dash_app: Any, dash_db: Any) -> None:
    """Past the free failures the same address waits (429 + Retry-After), even with the right password;
    the owner from another address, and other accounts, get in."""
    client = dash_app.server.test_client()
    limit = dash_app.server.extensions["mycfa"].settings.login_max_failures
    for _ in range(limit):
        assert login(client, "vic", "wrong password!").status_code == 401
    throttled = login(client, "vic", PASSWORD)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert login(client, "ada", PASSWORD).status_code == 302  # other accounts unaffected
    owner = dash_app.server.test_client()
    owner.environ_base["REMOTE_ADDR"] = "127.0.0.9"
    assert login(owner, "vic", PASSWORD).status_code == 302  # the owner, elsewhere, is not held up
    clear_throttle(dash_db)


def test_login_refuses_foreign_next_and_bad_csrf(dash_app: Any) -> None:
    """`next` never leads off-site (scheme-relative, backslash, absolute forms), and a login without
    the form's token is refused."""
    client = dash_app.server.test_client()
    for target in (
        "//evil.example/x",
        "/\\evil.example",
        "/\\/evil.example",
        "https://evil.example/",
        "/%0a/x\t",
    ):
        page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
        assert 'name="next" value="/"' in page, target
    page = client.get("/login", query_string={"next": "/company?symbol=AAPL"}).get_data(as_text=True)
    assert 'name="next" value="/company?symbol=AAPL"' in page
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
