"""Dashboard logs (JSON lines with request id and user, MYCFA_LOG_LEVEL) and its EMF metrics."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from dashboard.config import load_dashboard_settings
from dashboard.logs import callback_page, configure_logging
from dashboard.metrics import NAMESPACE, DashboardMetrics
from devkit import callbacks
from tests.dashboard.conftest import clear_throttle, login


def test_log_level_comes_from_mycfa_log_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """MYCFA_LOG_LEVEL (no MYCFA_DASH_ prefix, shared with the engine) sets the dashboard's level."""
    monkeypatch.setenv("MYCFA_DASH_DATABASE_URL", "postgresql://r:x@127.0.0.1/db")
    monkeypatch.setenv("MYCFA_DASH_SECRET_KEY", "0123456789abcdef0123")
    monkeypatch.setenv("MYCFA_LOG_LEVEL", "error")
    assert load_dashboard_settings().log_level == "ERROR"
    monkeypatch.delenv("MYCFA_LOG_LEVEL")
    assert load_dashboard_settings().log_level == "INFO"


def test_request_lines_are_json_with_request_id_and_user(logged_in: Any) -> None:
    """Each request logs one JSON line naming the request id (as sent back in X-Request-Id) and the
    user; at ERROR level the same request logs nothing."""
    client = logged_in("ann")
    stream = io.StringIO()
    configure_logging("INFO", stream)
    response = client.get("/_dash-layout")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == response.headers["X-Request-Id"]]
    assert mine
    assert mine[-1]["user"] == "ann"
    assert mine[-1]["path"] == "/_dash-layout"
    assert mine[-1]["status"] == 200
    quiet = io.StringIO()
    configure_logging("ERROR", quiet)
    client.get("/_dash-layout")
    assert quiet.getvalue() == ""
    configure_logging("INFO")


def test_callback_page_names_the_page_of_the_first_output() -> None:
    """The page dimension is the output id's prefix; Dash's pages router counts as `pages`."""
    assert callback_page({"output": "company-price-graph.figure"}) == "company"
    assert callback_page({"output": "..compare-table.rowData...compare-x.href.."}) == "compare"
    assert callback_page({"output": ".._pages_content.children..._pages_store.data.."}) == "pages"
    assert callback_page(None) == "unknown"


def test_emf_metrics_count_sessions_logins_and_callback_latency(dash_app: Any, dash_db: Any) -> None:
    """After logins (one failed) and callbacks, the flushed EMF documents declare the namespace and
    carry active sessions, logins, failures and per-page latency values."""
    services = dash_app.server.extensions["mycfa"]
    stream = io.StringIO()
    metrics = DashboardMetrics(stream=stream)
    services.metrics = metrics
    client = dash_app.server.test_client()
    assert login(client, "ann", "wrong password!").status_code == 401
    assert login(client, "ann").status_code == 302
    deps = client.get("/_dash-dependencies").get_json()
    body = callbacks.body(callbacks.find(deps, "company-profile"), {"company-symbol": "AAPL"})
    for _ in range(3):
        assert client.post("/_dash-update-component", json=body).status_code == 200
    docs = metrics.flush()
    written = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert all(doc in written for doc in docs)  # (other apps' workers may flush into the same log)
    totals = docs[0]
    declared = totals["_aws"]["CloudWatchMetrics"][0]
    assert declared["Namespace"] == NAMESPACE
    assert declared["Dimensions"] == [[]]
    assert totals["ActiveSessions"] == 1
    assert totals["Logins"] == 1
    assert totals["LoginFailures"] == 1
    assert totals["AuditUnstored"] == 0
    company = next(doc for doc in docs[1:] if doc["Page"] == "company")
    assert company["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Page"]]
    assert len(company["CallbackLatency"]) == 3
    assert all(v > 0 for v in company["CallbackLatency"])
    assert company["LocalP50Ms"] <= company["LocalP95Ms"]
    assert metrics.flush()[0]["Logins"] == 0  # counters restart after each flush
    clear_throttle(dash_db)
