"""The audit store under abuse and at exit (review M4), and no start without it (L10)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard.audit_store import AuditEvent, AuditStore
from dashboard.config import ConfigError
from tests.conftest import Database
from tests.dashboard.conftest import audit_mark, audit_rows, make_settings


def test_anonymous_flood_writes_small_rows_and_one_summary(dash_app: Any, dash_db: Database) -> None:
    """The review's P10: 200 anonymous callback posts to a 3,000-character path write a few rows with
    the path cut short (and its hash), then one summary row counting the rest, not 200 rows of 3 KB."""
    since = audit_mark(dash_db)
    client = dash_app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.66"
    path = "/_dash-update-component/" + "ab" * 1500
    for _ in range(200):
        assert client.post(path, json={}).status_code == 401
    assert dash_app.server.extensions["mycfa"].audit.flush(10)
    rows = [r for r in audit_rows(dash_db, since) if r["addr"] == "127.0.0.66"]
    single = [r for r in rows if "count" not in r["detail"]]
    [summary] = [r for r in rows if "count" in r["detail"]]
    assert 1 <= len(single) <= 10
    assert all(len(r["detail"]["path"]) <= 200 and len(r["detail"]["path_sha256"]) == 64 for r in single)
    assert summary["kind"] == "denied"
    assert summary["detail"]["count"] == 200 - len(single)
    assert sum(len(str(r["detail"])) for r in rows) < 20 * 1024


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A Postgres URL whose server accepts the TCP connection and never answers (a stuck primary)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield f"postgresql://mycfa_audit:x@127.0.0.1:{listener.getsockname()[1]}/mycfa"
    listener.close()


def test_anonymous_events_cannot_push_genuine_ones_out(
    silent_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    """While the writer is stuck, anonymous events may fill only half the queue: the other half stays
    for logins, exports and denials of known users, and every event turned away is counted."""
    store = AuditStore(silent_server, connect_timeout_s=60, queue_size=20)
    store.put(AuditEvent("login", "success", username="ann"))
    deadline = time.monotonic() + 30
    while store.busy == 0 and time.monotonic() < deadline:  # the writer took it and is stuck connecting
        time.sleep(0.01)
    assert store.busy == 1
    for _ in range(30):
        store.put(AuditEvent("denied", "401", client_addr="10.9.9.9"), anonymous=True)
    for _ in range(15):
        store.put(AuditEvent("export", "ok", username="ann"))
    assert store.queued == 20
    assert store.unstored == 20 + 5
    with caplog.at_level("ERROR", logger="dashboard.audit_store"):
        store.close(0)  # the writer is still stuck: nothing more is stored, all of it is said
    assert "46 audit events not stored by this process (21 still queued at exit)" in caplog.text


def test_flush_waits_for_the_event_the_writer_holds(
    dash_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`flush` (and the drain at exit) returns only once an event the writer has already taken off the
    queue is stored: a writer descheduled between taking it and writing it, as on a loaded machine,
    is waited for, not mistaken for an idle one."""
    store = AuditStore(dash_db.audit_url)
    taken = threading.Event()
    take = store._queue.get

    def take_then_stall(*args: Any, **kwargs: Any) -> AuditEvent:
        event = take(*args, **kwargs)
        taken.set()
        time.sleep(1.0)  # the event is off the queue, not yet stored
        return event

    monkeypatch.setattr(store._queue, "get", take_then_stall)
    since = audit_mark(dash_db)
    store.put(AuditEvent("page_view", "ok", username="ann", detail={"held": True}))
    assert taken.wait(30)
    assert store.flush(60)
    assert store.stored == 1
    assert [row["detail"] for row in audit_rows(dash_db, since)] == [{"held": True}]


EXITING = """
import sys
from dashboard.audit_store import AuditEvent, AuditStore
store = AuditStore(sys.argv[1], connect_timeout_s=2)
for n in range(int(sys.argv[2])):
    store.put(AuditEvent("page_view", "ok", username="ann", detail={"n": n}))
sys.exit(0)  # as a gunicorn worker leaves on SIGTERM, max-requests or scale-in
"""


def test_queued_events_are_stored_before_the_process_exits(dash_db: Database) -> None:
    """The review's exitloss: 2,000 events queued, then the process exits: all 2,000 are stored."""
    since = audit_mark(dash_db)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(EXITING), dash_db.audit_url, "2000"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(audit_rows(dash_db, since)) == 2000


def test_events_not_stored_by_exit_are_counted_and_said(silent_server: str) -> None:
    """With the database stuck the exit waits a bounded time, then says how many events were not
    stored (never silent)."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(EXITING), silent_server, "50"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert time.monotonic() - started < 60
    assert "50 audit events not stored" in result.stderr, result.stderr


def test_start_without_audit_database_refused_unless_said(
    dash_db: Database, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Without MYCFA_DASH_AUDIT_DATABASE_URL the app refuses to start, naming it; with
    MYCFA_DASH_AUDIT_OPTIONAL=true it starts and says loudly that the trail has no rows."""
    from dashboard.app import create_app

    with pytest.raises(ConfigError, match="MYCFA_DASH_AUDIT_DATABASE_URL"):
        create_app(make_settings(dash_db, audit_database_url=None))
    with caplog.at_level("CRITICAL"):
        app = create_app(make_settings(dash_db, audit_database_url=None, audit_optional=True))
    assert any("audit" in r.getMessage() and r.levelname == "CRITICAL" for r in caplog.records)
    app.server.extensions["mycfa"].router.dispose()


def test_serve_without_audit_database_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], clean_env: Any
) -> None:
    """`mycfa-dashboard serve` stops before forking workers when the audit database is not set."""
    from dashboard import cli

    monkeypatch.setenv("MYCFA_DASH_DATABASE_URL", "postgresql://r:pw@127.0.0.1/x")
    monkeypatch.setenv("MYCFA_DASH_SECRET_KEY", "s" * 32)
    assert cli.main(["serve"]) == cli.EXIT_CONFIG
    assert "MYCFA_DASH_AUDIT_DATABASE_URL" in capsys.readouterr().err
