"""What users read is audited with its real outcome: data callbacks (review M2), refused pages,
callbacks and exports (L1)."""

from __future__ import annotations

from typing import Any

from devkit import callbacks
from tests.conftest import Database
from tests.dashboard.conftest import audit_mark, audit_rows, login

STATEMENTS = {"company-period": "annual", "company-kind": "income", "company-asof": None}


def _rows(dash_app: Any, dash_db: Database, since: int, user: str) -> list[dict[str, Any]]:
    assert dash_app.server.extensions["mycfa"].audit.flush(10)
    return [r for r in audit_rows(dash_db, since) if r["username"] == user]


def test_viewer_statement_reads_through_callbacks_are_audited(
    dash_app: Any, dash_db: Database, logged_in: Any, deps: list[dict[str, Any]]
) -> None:
    """The review's P03: a viewer refused the statements export reads four companies' statements
    through the callback; each read is a `callback` row naming the page, the callback and the symbol."""
    viewer = logged_in("vic")
    since = audit_mark(dash_db)
    assert viewer.get("/export/company/statements.csv?symbol=AAPL").status_code == 403
    dependency = callbacks.find(deps, "company-statement-table")
    for symbol in ("AAPL", "MSFT", "JNJ", "KO"):
        body = callbacks.body(dependency, {"company-symbol": symbol, **STATEMENTS})
        assert viewer.post("/_dash-update-component", json=body).status_code == 200
    rows = [r for r in _rows(dash_app, dash_db, since, "vic") if r["kind"] == "callback"]
    assert [r["detail"]["selection"]["company-symbol"] for r in rows] == ["AAPL", "MSFT", "JNJ", "KO"]
    assert {(r["outcome"], r["role"], r["detail"]["page"]) for r in rows} == {("ok", "viewer", "company")}
    assert all("company-statement-table" in r["detail"]["callback"] for r in rows)
    assert all(r["request_id"] and r["addr"] for r in rows)


def test_analyst_on_admin_page_is_denied_not_ok(
    dash_app: Any, dash_db: Database, logged_in: Any, deps: list[dict[str, Any]]
) -> None:
    """The review's P02: an analyst opening Status, posting its callback and asking for its export is
    recorded as denied each time (no `page_view ok`), and the export answers 403; the admin's are ok."""
    since = audit_mark(dash_db)
    for user, expected in (("ann", "denied"), ("ada", "ok")):
        client = logged_in(user)
        page = client.post("/_dash-update-component", json=callbacks.page_body(deps, "/status"))
        assert page.status_code == 200
        body = callbacks.body(callbacks.find(deps, "status-nodes"), {"status-interval": 1})
        assert client.post("/_dash-update-component", json=body).status_code == 200
        export = client.get("/export/status/runs.csv")
        assert export.status_code == (403 if expected == "denied" else 200)
        rows = _rows(dash_app, dash_db, since, user)
        seen = {(r["kind"], r["outcome"]) for r in rows if r["kind"] != "login"}
        assert seen == {("page_view", expected), ("callback", expected), ("export", expected)}, rows


def test_failed_exports_are_audited_with_their_outcome(
    dash_app: Any, dash_db: Database, logged_in: Any
) -> None:
    """The review's P11: an export with bad input (400) and an unknown export (404) are recorded with
    those outcomes, beside the successful one."""
    analyst = logged_in("ann")
    since = audit_mark(dash_db)
    assert analyst.get("/export/compare/ratios.csv?symbols=NOPE1").status_code == 400
    assert analyst.get("/export/compare/nothing.csv").status_code == 404
    assert analyst.get("/export/compare/ratios.csv?symbols=AAPL,MSFT").status_code == 200
    rows = [r for r in _rows(dash_app, dash_db, since, "ann") if r["kind"] == "export"]
    assert [r["outcome"] for r in rows] == ["invalid", "not_found", "ok"]
    assert rows[0]["detail"]["reason"]


def test_page_router_and_anonymous_callbacks_are_not_double_counted(
    dash_app: Any, dash_db: Database, deps: list[dict[str, Any]]
) -> None:
    """Dash's page router is audited as the page view only; a callback refused for want of a login is
    one `denied` row, not also a callback row."""
    client = dash_app.server.test_client()
    assert login(client, "ann").status_code == 302
    since = audit_mark(dash_db)
    assert (
        client.post("/_dash-update-component", json=callbacks.page_body(deps, "/compare")).status_code == 200
    )
    rows = _rows(dash_app, dash_db, since, "ann")
    assert [(r["kind"], r["outcome"], r["detail"].get("page")) for r in rows] == [
        ("page_view", "ok", "compare")
    ]
    stranger = dash_app.server.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "127.0.0.77"
    body = callbacks.body(
        callbacks.find(deps, "company-statement-table"), {"company-symbol": "AAPL", **STATEMENTS}
    )
    assert stranger.post("/_dash-update-component", json=body).status_code == 401
    assert dash_app.server.extensions["mycfa"].audit.flush(10)
    mine = [r for r in audit_rows(dash_db, since) if r["addr"] == "127.0.0.77"]
    assert [(r["kind"], r["outcome"]) for r in mine] == [("denied", "401")]
