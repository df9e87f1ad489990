"""The cache prewarm: after it a company's first clicks read nothing, a broken company is skipped, a new
data version is warmed again, and `mycfa-dashboard prewarm --once` exits 0 and logs what it did."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from dashboard import prewarm
from devkit import callbacks, seed
from tests.conftest import REPO_ROOT, Cluster, Database, throwaway_database, wait_for_replica
from tests.dashboard.conftest import PASSWORD, login, make_settings

SYMBOLS = ("AAPL", "MSFT", "JNJ", "KO")
BROKEN = "JNJ"  # its quarterly statement payloads are JSON arrays, not FMP objects


@pytest.fixture(scope="module")
def warm_db(pg_cluster: Cluster) -> Iterator[Database]:
    """Four companies with profiles (one with broken statements), one without a profile, an analyst."""
    with throwaway_database(pg_cluster, "prewarm") as db:
        seed.seed(db.owner_url, SYMBOLS)
        seed.add_user(db.owner_url, "ann", PASSWORD, "analyst")
        with psycopg.connect(db.owner_url) as conn:
            conn.execute(
                "UPDATE statements SET payload = '[1, 2]'::jsonb WHERE symbol = %s AND period <> 'FY'",
                (BROKEN,),
            )
            conn.execute("INSERT INTO companies (symbol, name) VALUES ('NOPROF', 'No Profile Inc')")
        wait_for_replica(pg_cluster)
        yield db


@pytest.fixture
def make_app(warm_db: Database, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """Apps sharing one cache folder, as gunicorn's workers and the prewarm process do."""
    from dashboard.app import create_app

    built: list[Any] = []

    def make() -> Any:
        built.append(create_app(make_settings(warm_db, tmp_path / "cache")))
        return built[-1]

    yield make
    for app in built:
        app.server.extensions["mycfa"].router.dispose()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(query, symbol) of every per-company statement or price read from now on."""
    from dashboard.data import queries

    seen: list[tuple[str, str]] = []
    for name in ("statement_payloads", "prices", "month_end_closes", "company", "freshness", "restatements"):
        original = getattr(queries, name)

        def spy(router: Any, symbol: str, *args: Any, _name: str = name, _f: Any = original) -> Any:
            seen.append((_name, symbol))
            return _f(router, symbol, *args)

        monkeypatch.setattr(queries, name, spy)
    return seen


def analyst(app: Any) -> tuple[FlaskClient, list[dict[str, Any]]]:
    client: FlaskClient = app.server.test_client()
    assert login(client, "ann").status_code == 302
    return client, client.get("/_dash-dependencies").get_json()


def answer(client: FlaskClient, deps: list[dict[str, Any]], output_id: str, values: dict[str, Any]) -> str:
    response = client.post(
        "/_dash-update-component", json=callbacks.body(callbacks.find(deps, output_id), values)
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_prewarm_first_clicks_of_a_warmed_company_read_nothing(
    make_app: Callable[[], Any], reads: list[tuple[str, str]]
) -> None:
    """After a warm-up in one process, another process's first clicks on a company (each page's
    defaults, and the quarterly and TTM statements) are answered from the shared cache: not one
    statement, price or profile read for it."""
    status = prewarm.warm(make_app().server)
    assert (status.total, status.done, status.failed, status.finished) == (4, 4, 1, True)
    warmed = {symbol for _, symbol in reads}
    assert warmed == set(SYMBOLS)  # every company with a profile, not the one without
    reads.clear()
    app = make_app()
    client, deps = analyst(app)
    defaults = {"company-adjusted": "adj", "company-overlays": ["sma_50"], "company-range": "5Y"}
    price = answer(client, deps, "company-price-graph", {"company-symbol": "MSFT", **defaults})
    assert "candlestick" in price
    assert "MSFT" in answer(client, deps, "company-profile", {"company-symbol": "MSFT"})
    for period in ("FY", "Q", "TTM"):
        text = answer(
            client,
            deps,
            "company-statement-table",
            {"company-symbol": "MSFT", "company-period": period, "company-kind": "income"},
        )
        assert "company-statement-grid" in text
    assumptions = {f"valuation-{k}": v[1] for k, v in _assumptions().items()}
    assert "valuation-per-share" in answer(
        client, deps, "valuation-summary", {"valuation-symbol": "MSFT", **assumptions}
    )
    for frequency in ("FY", "Q"):
        text = answer(
            client,
            deps,
            "forecast-graph",
            {
                "forecast-symbol": "MSFT",
                "forecast-series": "revenue",
                "forecast-frequency": frequency,
                "forecast-method": "ets",
            },
        )
        assert "forecast-mape" in text
    # Another series than the default: its fit is computed now, on the warmed month-end closes.
    price_forecast = {"forecast-series": "price", "forecast-frequency": "FY", "forecast-method": "loglinear"}
    assert "forecast-graph" in answer(
        client, deps, "forecast-graph", {"forecast-symbol": "MSFT", **price_forecast}
    )
    assert [r for r in reads if r[1] == "MSFT"] == []
    # Portfolio's and Compare's per-symbol closes are warm too: not even derived from the history again.
    from dashboard.components import company_data

    with app.server.test_request_context("/"), pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            company_data, "prices", lambda symbol: pytest.fail(f"{symbol}'s closes were not warmed")
        )
        assert not company_data.adjusted_close("MSFT").empty
    # A company never warmed is read as before (the spy sees reads at all).
    answer(client, deps, "company-profile", {"company-symbol": "NOPROF"})
    assert ("company", "NOPROF") in reads


def _assumptions() -> dict[str, tuple[str, float, float, float]]:
    from dashboard.pages import valuation

    return valuation.ASSUMPTIONS


def test_prewarm_skips_a_broken_company_and_warms_the_rest(
    make_app: Callable[[], Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A company whose statements break the frames is logged with its symbol and skipped; the ones
    after it are warmed and the status records one failure."""
    app = make_app()
    with caplog.at_level(logging.INFO, logger="dashboard.prewarm"):
        status = prewarm.warm(app.server)
    skipped = [r for r in caplog.records if r.getMessage() == "prewarm skipped a symbol"]
    assert [r.fields["symbol"] for r in skipped] == [BROKEN]  # type: ignore[attr-defined]
    assert skipped[0].exc_info is not None
    assert (status.done, status.failed) == (4, 1)
    with app.server.test_request_context("/"):
        svc = app.server.extensions["mycfa"]
        kept = prewarm.read_status(svc)
        assert kept == status
        svc._local.clear()  # only what is in the shared folder counts

        def not_cached() -> Any:
            raise AssertionError("KO was not warmed")

        from dashboard.components import company_data

        ko = svc.cached("statements", ("KO", "Q", None), not_cached)  # the key company_data uses
        assert not ko["income"].empty
        assert not company_data.prices("KO").empty
    done = [r for r in caplog.records if r.getMessage() == "prewarm done"]
    assert done[0].fields["symbols"] == 4  # type: ignore[attr-defined]


def test_prewarm_loop_warms_again_when_the_data_version_changes(
    make_app: Callable[[], Any], warm_db: Database, pg_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop warms once, warms again after an ingest run changes the data version, and not again
    while it stays the same."""
    import dashboard.services

    monkeypatch.setattr(dashboard.services, "DATA_VERSION_TTL_S", 0.0)  # ask the database every time
    app = make_app()
    versions: list[str] = []
    real_warm = prewarm.warm

    def counted(server: Any) -> prewarm.Status:
        status = real_warm(server)
        versions.append(status.version)
        return status

    naps: list[float] = []

    def nap(seconds: float) -> None:
        """After the first round an ingest starts; later rounds see nothing new."""
        naps.append(seconds)
        if len(naps) == 1:
            _new_run(warm_db, pg_cluster)

    monkeypatch.setattr(prewarm, "warm", counted)
    prewarm.loop(app.server, rounds=range(3), sleep=nap)
    assert naps == [prewarm.POLL_S] * 3
    assert len(versions) == 2
    assert versions[0] != versions[1]
    with app.server.test_request_context("/"):
        svc = app.server.extensions["mycfa"]
        assert prewarm.read_status(svc).version == svc.data_version() == versions[1]  # type: ignore[union-attr]


def _new_run(db: Database, cluster: Cluster) -> None:
    """An ingest starting: a new data version, on the replica too (the pages read there first)."""
    with psycopg.connect(db.owner_url) as conn:
        conn.execute("INSERT INTO runs (job, state) VALUES ('full', 'running')")
    wait_for_replica(cluster)


def test_prewarm_first_click_inputs_match_the_callback_map(make_app: Callable[[], Any]) -> None:
    """Each callback the prewarm calls takes the inputs it passes, in that order (the Dash callback
    map, as a browser posts them), and every one has a default in its page's layout."""
    app = make_app()
    _, deps = analyst(app)
    with app.server.test_request_context("/"):
        values = prewarm.defaults("MSFT")
        for callback, ids in prewarm.first_click():
            dependency = _dependency_of(deps, ids[0], len(ids), callback.__name__)
            assert tuple(i["id"] for i in dependency["inputs"]) == ids
    assert values["company-adjusted"] == "adj"
    assert values["company-overlays"] == ["sma_50"]
    assert values["valuation-asof"] is None
    assert values["forecast-method"] == "ets"


def _dependency_of(deps: list[dict[str, Any]], first: str, count: int, name: str) -> dict[str, Any]:
    found = [d for d in deps if d["inputs"] and d["inputs"][0]["id"] == first and len(d["inputs"]) == count]
    assert len(found) == 1, (name, [d["output"] for d in found])
    return found[0]


def prewarm_once(database_url: str, cache: Path) -> subprocess.CompletedProcess[str]:
    """`mycfa-dashboard prewarm --once` in its own process, logging at INFO."""
    env = {
        **os.environ,
        "MYCFA_DASH_DATABASE_URL": database_url,
        "MYCFA_DASH_SECRET_KEY": "test-secret-key-0123456789abcdef",
        "MYCFA_DASH_CACHE_DIR": str(cache),
        "MYCFA_DASH_CONNECT_TIMEOUT_S": "1",
        "MYCFA_LOG_LEVEL": "INFO",
    }
    return subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "prewarm", "--once"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_prewarm_once_exits_7_without_a_database(tmp_path: Path) -> None:
    """With no database node answering, `prewarm --once` says so and exits 7 (as `users` does)."""
    result = prewarm_once("postgresql://mycfa_reader:x@127.0.0.1:9/mycfa", tmp_path / "cache")
    assert result.returncode == 7
    assert "prewarm failed" in result.stderr


def test_cli_prewarm_once_exits_0_and_logs_done(warm_db: Database, tmp_path: Path) -> None:
    """`mycfa-dashboard prewarm --once` warms every company, exits 0 and logs start and done as JSON."""
    result = prewarm_once(warm_db.reader_url, tmp_path / "cache")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    by_msg = {line["msg"]: line for line in lines if line["logger"] == "dashboard.prewarm"}
    assert by_msg["prewarm start"]["symbols"] == 4
    done = by_msg["prewarm done"]
    assert (done["symbols"], done["done"], done["failed"]) == (4, 4, 1)
    assert done["seconds"] > 0
    assert done["cpu_seconds"] > 0


@pytest.mark.e2e
def test_serve_runs_the_prewarm_at_low_priority_and_stops_it_with_gunicorn(
    warm_db: Database, tmp_path: Path
) -> None:
    """`serve` starts one prewarm child 10 steps nicer than itself; /health/ready shows it done for
    today's data version; stopping gunicorn (SIGTERM to it alone) stops the child too."""
    import psutil

    from devkit.net import free_port
    from tests.dashboard.test_gunicorn import SERVE, _get, _wait_live

    port = free_port()
    env = {
        **os.environ,
        "MYCFA_DASH_DATABASE_URL": warm_db.reader_url,
        "MYCFA_DASH_SECRET_KEY": "test-secret-key-0123456789abcdef",
        "MYCFA_DASH_SECURE_COOKIES": "false",
        "MYCFA_DASH_CACHE_DIR": str(tmp_path / "cache"),
    }
    server = subprocess.Popen(
        [SERVE, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_live(port)
        deadline = time.monotonic() + 120
        body: dict[str, Any] = {}
        while time.monotonic() < deadline and not body.get("finished"):
            status, text = _get(port, "/health/ready")
            assert status == 200
            body = json.loads(text)["prewarm"]
            time.sleep(0.5)
        assert body == {
            "enabled": True,
            "done": 4,
            "total": 4,
            "failed": 1,
            "finished": True,
            "seconds": body["seconds"],
            "current": True,
        }
        arbiter = psutil.Process(server.pid)
        warmers = [c for c in arbiter.children() if "prewarm" in c.cmdline()]
        assert len(warmers) == 1
        assert warmers[0].nice() == min(19, arbiter.nice() + prewarm.NICE)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        warmers[0].wait(timeout=15)  # gone with gunicorn (psutil raises TimeoutExpired otherwise)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_prewarm_loop_outlives_a_database_outage(
    warm_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With no database node answering, each round logs that it waits and the loop goes on (serve's
    child must not die with the database); `--once` would exit 7 instead."""
    from dashboard.app import create_app

    dead = "postgresql://mycfa_reader:x@127.0.0.1:9/mycfa"  # port 9 (discard): nothing listens there
    app = create_app(
        make_settings(warm_db, tmp_path, database_url=dead, replica_urls=(dead,), connect_timeout_s=1)
    )
    with caplog.at_level(logging.WARNING, logger="dashboard.prewarm"):
        prewarm.loop(app.server, rounds=range(2), sleep=lambda _: None)
    waits = [r for r in caplog.records if r.getMessage() == "prewarm waits for the database"]
    assert len(waits) == 2
    with app.server.test_request_context("/"):
        assert prewarm.read_status(app.server.extensions["mycfa"]) is None
    app.server.extensions["mycfa"].router.dispose()


def test_cache_sweep_deletes_only_expired_entries(make_app: Callable[[], Any], tmp_path: Path) -> None:
    """Entries past their lifetime go; live ones, entries kept until replaced (the prewarm status) and
    files still being written stay; the pages' cache keeps no counter file of its own."""
    from dashboard.services import CACHELIB_WRITING_SUFFIX, sweep_expired

    app = make_app()
    cache = app.server.extensions["mycfa"].cache
    folder = tmp_path / "cache"
    cache.set("old", 1, timeout=1)
    cache.set("live", 2, timeout=900)
    cache.set("kept", 3, timeout=0)
    writing = folder / f"tmpabc{CACHELIB_WRITING_SUFFIX}"
    writing.write_bytes(b"\x01\x00\x00\x00partial")  # expired-looking, but a write in flight
    assert len(list(folder.iterdir())) == 4  # three entries and the temporary file: no counter file
    assert sweep_expired(folder, now=time.time() + 60) == 1
    assert cache.get("old") is None
    assert (cache.get("live"), cache.get("kept")) == (2, 3)
    assert writing.exists()
    assert sweep_expired(folder, now=time.time() + 10_000) == 1  # later, "live" has expired too
    assert cache.get("kept") == 3


def test_a_process_writing_to_the_cache_sweeps_it_every_few_minutes(
    make_app: Callable[[], Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever runs the app (gunicorn alone, `serve`, the prewarm), a cache write once SWEEP_S has
    passed deletes expired entries in a thread of its own; before that, nothing is swept."""
    import threading

    import dashboard.services

    app = make_app()
    svc = app.server.extensions["mycfa"]
    svc.cache.set("expired", 1, timeout=1)
    time.sleep(2.1)  # cachelib stores whole seconds

    def write(key: str) -> None:
        with app.server.test_request_context("/"):
            svc.cached("sweep-test", (key,), lambda: key)
        for thread in threading.enumerate():
            if thread.name == "cache-sweep":
                thread.join(timeout=30)

    folder = tmp_path / "cache"
    write("a")  # the app was just built: not due yet
    assert svc.cache.get("expired") is None
    assert len(list(folder.iterdir())) == 2  # expired, but its file is still there beside "a"
    monkeypatch.setattr(dashboard.services, "SWEEP_S", 0.0)
    write("b")
    assert len(list(folder.iterdir())) == 2  # the expired file gone, "a" and "b" kept
    with app.server.test_request_context("/"):
        assert [svc.cached("sweep-test", (k,), lambda: "recomputed") for k in "ab"] == ["a", "b"]
