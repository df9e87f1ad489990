"""End to end against the fake FMP server (real HTTP on loopback) and a real Postgres, engine as a process."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import orjson
import psycopg
import pytest

from devkit.fingerprint import fingerprint, query
from devkit.runs import REPO, engine_env, run_engine
from engine.db import migrate
from engine.runs.lock import RUN_LOCK_KEY
from fakefmp.data import STATEMENT_PATHS
from fakefmp.process import FakeFMPProcess, fakefmp_running
from tests.conftest import DEVDB, Cluster, throwaway_database
from tests.engine.runs.e2e import StderrLines, start_engine, wait_until

pytestmark = pytest.mark.e2e

SYMBOLS = "MMM,AOS,ABT"  # the first constituents: a small universe keeps these tests fast
AS_OF = date(2026, 6, 30)
KILLS = 5


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeFMPProcess]:
    # Bulk endpoints denied: these tests hold the per-symbol path to its request counts (test_bulk.py
    # compares the two paths); the first run's probe finds that out, once for the database.
    args = ("--symbols", "12", "--seed", "7", "--rate-limit", "100000", "--as-of", AS_OF.isoformat())
    with fakefmp_running(*args, "--deny-bulk") as server:
        yield server


@pytest.fixture(scope="module")
def new_db(pg_cluster: Cluster) -> Iterator[Callable[[], str]]:
    """A factory of fresh migrated databases (owner URL), all dropped when the module ends."""
    with contextlib.ExitStack() as databases:

        def make() -> str:
            url = databases.enter_context(throwaway_database(pg_cluster, "e2e")).owner_url
            asyncio.run(migrate(url))
            return url

        yield make


@pytest.fixture(scope="module")
def clean(fake: FakeFMPProcess, new_db: Callable[[], str]) -> tuple[str, dict[str, tuple[int, str]]]:
    """A database loaded by one uninterrupted full run, and its fingerprint."""
    url = new_db()
    result = run_engine(engine_env(url, fake, SYMBOLS), "run", "--job", "full")
    assert result.returncode == 0, result.stderr[-3000:]
    return url, fingerprint(url)


DERIVED = ("metric_history", "statement_lines", "month_end_closes", "screener_rows", "benchmark_returns")


def test_the_benchmark_arm_without_upkeep_loads_the_same_rows_and_derives_none(
    fake: FakeFMPProcess, new_db: Callable[[], str], clean: tuple[str, dict[str, tuple[int, str]]]
) -> None:
    """`python -m devkit.without_upkeep` (the upkeep benchmark's other arm) loads exactly the rows the
    engine loads, and writes nothing to the derived tables; the engine as it ships writes all of them."""
    url = new_db()
    done = subprocess.run(
        [sys.executable, "-m", "devkit.without_upkeep", "run", "--job", "full"],
        cwd=REPO,
        env=engine_env(url, fake, SYMBOLS),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    clean_url, prints = clean
    assert fingerprint(url) == prints
    for table in DERIVED:
        assert query(url, f"SELECT count(*) FROM {table}")[0][0] == 0, table
        assert query(clean_url, f"SELECT count(*) FROM {table}")[0][0] > 0, table
    assert query(url, "SELECT count(*) FROM serving_refreshes")[0][0] == 0


def test_run_full_loads_every_dataset(clean: tuple[str, dict[str, tuple[int, str]]]) -> None:
    """One full run loads profiles, the five statement kinds annual and quarterly, and prices, all items done."""
    url, prints = clean
    symbols = SYMBOLS.split(",")
    assert query(url, "SELECT count(*) FROM companies WHERE profile IS NOT NULL")[0][0] == len(symbols)
    series = query(
        url, "SELECT symbol, kind, period = 'FY' FROM statements GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
    assert len(series) == len(symbols) * 5 * 2
    prices = query(url, "SELECT symbol, min(date), max(date), count(adj_close) FROM prices_daily GROUP BY 1")
    assert {row[0] for row in prices} == set(symbols)
    assert all(row[1] >= date(2016, 1, 1) and row[2] <= AS_OF and row[3] > 0 for row in prices)
    states = query(url, "SELECT state, count(*) FROM run_items GROUP BY 1")
    assert states == [("done", len(symbols) * 12)]
    assert prints["revisions"][0] == 0


def test_status_json_reports_the_run_with_its_metrics(
    clean: tuple[str, dict[str, tuple[int, str]]], fake: FakeFMPProcess
) -> None:
    """`status --json` shows the run, its EMF counters, and rows per dataset."""
    url, prints = clean
    result = run_engine(engine_env(url, fake, SYMBOLS), "status", "--json")
    assert result.returncode == 0, result.stderr
    status = orjson.loads(result.stdout)
    run = status["runs"][0]
    assert run["state"] == "succeeded"
    assert run["exit_code"] == 0
    assert run["metrics"]["requests"] == run["requests"] > 0
    assert status["datasets"]["prices"]["rows"] == prints["prices"][0]


def test_kill9_five_times_then_final_run_gives_the_rows_of_one_clean_run(
    clean: tuple[str, dict[str, tuple[int, str]]], fake: FakeFMPProcess, new_db: Callable[[], str]
) -> None:
    """Five `kill -9`s at random moments, then one run to the end: exactly the clean run's rows."""
    _, expected = clean
    url = new_db()
    env = engine_env(url, fake, SYMBOLS)
    # 600/min spreads a full run's ~40 requests over ~4 s, so the kills land inside runs
    slow = engine_env(url, fake, SYMBOLS, MYCFA_FMP_RATE_LIMIT="600")
    rng = random.Random(20261125)
    for _ in range(KILLS):
        process = start_engine(slow, "run", "--job", "full")
        # Kill inside the run (not during start-up, however slow the machine): once it has items going.
        deadline = time.monotonic() + 60
        while (
            process.poll() is None
            and time.monotonic() < deadline
            and not query(url, "SELECT count(*) > 0 FROM run_items WHERE state IN ('running', 'done')")
            == [(True,)]
        ):
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 2.0))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    final = run_engine(env, "run", "--job", "full")
    assert final.returncode == 0, final.stderr[-3000:]
    assert fingerprint(url) == expected
    assert query(url, "SELECT count(*) FROM runs WHERE state IN ('running', 'interrupted')") == [(0,)]
    assert query(url, "SELECT sum(resumes) > 0 FROM runs") == [(True,)]  # killed runs were resumed


def test_second_run_exits_locked_and_sigterm_stops_resumably(
    fake: FakeFMPProcess, new_db: Callable[[], str]
) -> None:
    """A second run exits at once with the lock code; SIGTERM stops the first cleanly; the next run resumes it.

    The fake holds every statement answer until the test has sent SIGTERM and the engine has said it
    is stopping, so "the first run is still in progress" is arranged, not raced for: on an empty store
    `fundamentals` plans more statement items than the 8 that can be in flight.
    """
    url = new_db()
    env = engine_env(url, fake, SYMBOLS)
    fake.hold(*STATEMENT_PATHS)
    try:
        first = start_engine(env, "run", "--job", "fundamentals")
        stderr = StderrLines(first)
        wait_until(lambda: fake.stats()["held"] >= 1, first, "no statement request reached the fake")
        second = run_engine(env, "run", "--job", "prices", timeout=60)
        assert second.returncode == 5, second.stderr[-3000:]
        assert "another run holds the lock" in second.stderr

        first.send_signal(signal.SIGTERM)
        wait_until(lambda: stderr.has("finishing items in flight"), first, "SIGTERM was not acknowledged")
    finally:
        fake.release()
    assert first.wait(timeout=120) == 6, stderr.tail()
    [(run_id, state, pending)] = query(
        url,
        "SELECT r.run_id, r.state, count(*) FILTER (WHERE i.state = 'pending') FROM runs r"
        " JOIN run_items i USING (run_id) WHERE r.job = 'fundamentals' GROUP BY 1, 2",
    )
    assert state == "interrupted"
    assert pending > 0
    resumed = run_engine(env, "run", "--job", "fundamentals")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert query(url, "SELECT state, resumes FROM runs WHERE run_id = %s", run_id) == [("succeeded", 1)]


def test_a_run_killed_mid_item_is_reclaimed_by_the_next_run_of_another_job(
    fake: FakeFMPProcess, new_db: Callable[[], str]
) -> None:
    """kill -9 while items are `running` (the fake holds their answers): the next run, of another job,
    takes the lock the dead process held, closes the dead run and leaves none of its items `running`.

    Only cash-flow answers are held: the plan probe asks for income statements, so a held request is
    an item's, and that item is marked `running` before it asks."""
    url = new_db()
    env = engine_env(url, fake, SYMBOLS)
    fake.hold("cash-flow-statement")
    try:
        killed = start_engine(env, "run", "--job", "fundamentals")
        wait_until(lambda: fake.stats()["held"] >= 1, killed, "no statement request reached the fake")
        wait_until(
            lambda: query(url, "SELECT count(*) > 0 FROM run_items WHERE state = 'running'") == [(True,)],
            killed,
            "no item was marked running",
        )
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=30)
    finally:
        fake.release()
    [(run_id,)] = query(url, "SELECT run_id FROM runs WHERE job = 'fundamentals' AND state = 'running'")
    nxt = run_engine(env, "run", "--job", "prices")
    assert nxt.returncode == 0, nxt.stderr[-3000:]
    assert query(url, "SELECT state, finished_at IS NOT NULL FROM runs WHERE run_id = %s", run_id) == [
        ("abandoned", True)
    ]
    assert query(url, "SELECT count(*) FROM run_items WHERE state = 'running'") == [(0,)]
    assert query(url, "SELECT count(*) FROM runs WHERE state IN ('running', 'interrupted')") == [(0,)]


def test_faults_at_30_percent_give_a_complete_database_or_failures_with_reasons(
    clean: tuple[str, dict[str, tuple[int, str]]], fake: FakeFMPProcess, new_db: Callable[[], str]
) -> None:
    """With 30% of answers faulty, the run retries: complete data (exit 0) or failed items with reasons (exit 1)."""
    _, expected = clean
    url = new_db()
    fake.configure(fault_rate=0.3, stall_s=0.3)
    try:
        result = run_engine(engine_env(url, fake, SYMBOLS), "run", "--job", "full", timeout=300)
    finally:
        fake.configure(fault_rate=0.0)
    failed = query(
        url, "SELECT error_class, error_message FROM run_items WHERE state IN ('failed', 'skipped')"
    )
    if result.returncode == 0:
        assert not failed
        assert fingerprint(url) == expected
    else:
        assert result.returncode == 1, result.stderr[-3000:]
        assert failed
        assert all(cls and message for cls, message in failed)
    assert "e2e-canary-key" not in result.stdout + result.stderr + repr(failed)


def test_prices_run_after_new_data_asks_only_for_new_dates(
    clean: tuple[str, dict[str, tuple[int, str]]], fake: FakeFMPProcess
) -> None:
    """A week later (no ex-dividend date between) a `prices` run sends one window per endpoint and symbol."""
    url, _ = clean
    before = dict(query(url, "SELECT symbol, max(date) FROM prices_daily GROUP BY 1"))
    fake.set_as_of((AS_OF + timedelta(days=7)).isoformat())
    try:
        sent_before = fake.stats()["requests"]
        result = run_engine(engine_env(url, fake, SYMBOLS), "run", "--job", "prices")
        sent = fake.stats()["requests"] - sent_before
    finally:
        fake.set_as_of(AS_OF.isoformat())
    assert result.returncode == 0, result.stderr[-3000:]
    symbols = SYMBOLS.split(",")
    # the constituent list, the index's changes, then full + adjusted per symbol: the probe stored by
    # the first run knows the plan has no bulk files, so no eod-bulk request finds that out again
    assert sent == 2 + 2 * len(symbols)
    items = query(
        url,
        "SELECT symbol, params, requests FROM run_items"
        " WHERE run_id = (SELECT max(run_id) FROM runs) ORDER BY symbol",
    )
    for symbol, params, requests in items:
        assert params == {"from": (before[symbol] - timedelta(days=7)).isoformat()}  # no re-adjustment
        assert requests == 2
    after = dict(query(url, "SELECT symbol, max(date) FROM prices_daily GROUP BY 1"))
    assert all(after[s] > before[s] for s in symbols)


def test_prices_run_after_a_new_dividend_readjusts_the_whole_history(
    fake: FakeFMPProcess, new_db: Callable[[], str]
) -> None:
    """New ex-dividend dates rewrite earlier adjusted closes: the next `prices` run refetches those
    symbols' histories, notes it in the ledger, and the store ends equal to a fresh load."""
    later = date(2026, 8, 3)  # AOS goes ex-dividend on 07-09 and ABT on 07-30 (seed 7); MMM not until 08-05
    url = new_db()
    env = engine_env(url, fake, SYMBOLS)
    assert run_engine(env, "run", "--job", "prices").returncode == 0
    old = dict(query(url, "SELECT symbol, adj_close FROM prices_daily WHERE date = '2020-01-02'"))
    first = dict(query(url, "SELECT symbol, min(date) FROM prices_daily GROUP BY 1"))
    reference = new_db()
    fake.set_as_of(later.isoformat())
    try:
        sent_before = fake.stats()["requests"]
        result = run_engine(env, "run", "--job", "prices")
        sent = fake.stats()["requests"] - sent_before
        fresh = run_engine(engine_env(reference, fake, SYMBOLS), "run", "--job", "prices")
    finally:
        fake.set_as_of(AS_OF.isoformat())
    assert result.returncode == 0, result.stderr[-3000:]
    assert fresh.returncode == 0, result.stderr[-3000:]
    assert fingerprint(url)["prices"] == fingerprint(reference)["prices"]
    new = dict(query(url, "SELECT symbol, adj_close FROM prices_daily WHERE date = '2020-01-02'"))
    assert new["MMM"] == old["MMM"]
    assert new["AOS"] < old["AOS"]
    assert new["ABT"] < old["ABT"]
    items = {
        symbol: (params, requests)
        for symbol, params, requests in query(
            url,
            "SELECT symbol, params, requests FROM run_items WHERE run_id = (SELECT max(run_id) FROM runs)",
        )
    }
    assert "readjusted" not in items["MMM"][0]
    assert items["MMM"][1] == 2
    for symbol in ("AOS", "ABT"):
        params, requests = items[symbol]
        assert params["readjusted"]["from"] == first[symbol].isoformat()
        assert params["readjusted"]["reason"].startswith("adj_close changed on 6 stored date(s)")
        assert requests == 4  # the window (2 endpoints), then the 10-year history (1 window each)
    assert sent == 2 + 4 + 4 + 2  # constituents and changes, AOS, ABT, MMM (the stored probe: no bulk files)
    [(metrics,)] = query(url, "SELECT metrics FROM runs WHERE run_id = (SELECT max(run_id) FROM runs)")
    assert metrics["price_readjustments"] == 2
    logged = [orjson.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert sorted(e["symbol"] for e in logged if e.get("event") == "prices_readjusted") == ["ABT", "AOS"]


def test_lock_taken_during_a_database_blip_exits_7_with_the_reason(
    fake: FakeFMPProcess, new_db: Callable[[], str]
) -> None:
    """The lock connection is killed and another session takes the lock: the run stops with exit 7 and says why."""
    url = new_db()
    process = start_engine(engine_env(url, fake, SYMBOLS, MYCFA_FMP_RATE_LIMIT="300"), "run", "--job", "full")
    holders: list[tuple[object, ...]] = []
    deadline = time.monotonic() + 60
    while not holders and time.monotonic() < deadline and process.poll() is None:
        holders = query(  # pg_locks spans the cluster: only this test's database
            url,
            "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()",
        )
        time.sleep(0.1)
    assert holders, "the run never took the lock"
    with psycopg.connect(url, autocommit=True) as other:
        # what a second run would do if it got in while the first one's connection was down
        other.execute("SELECT pg_terminate_backend(%s), pg_advisory_lock(%s)", (holders[0][0], RUN_LOCK_KEY))
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 7, stderr[-3000:]
    assert "run lock lost: another run took the lock while the database connection was down" in stderr
    assert query(url, "SELECT exit_code, error FROM runs") == [
        (7, "run lock lost: another run took the lock while the database connection was down")
    ]


def restart_primary_when_loading(url: str, process: subprocess.Popen[str], down_s: float) -> None:
    """Once the run has items done, restart the session's primary (`pg_ctl stop -m fast`, down `down_s`)."""
    deadline = time.monotonic() + 60
    while not query(url, "SELECT count(*) > 0 FROM run_items WHERE state = 'done'") == [(True,)]:
        assert time.monotonic() < deadline, "the run never got going"
        assert process.poll() is None, "the run ended before any item was done"
        time.sleep(0.05)
    restart = subprocess.run(
        [sys.executable, str(DEVDB), "restart", "primary", "--down", str(down_s)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert restart.returncode == 0, restart.stderr


def test_primary_restart_mid_run_is_ridden_out(
    clean: tuple[str, dict[str, tuple[int, str]]], fake: FakeFMPProcess, new_db: Callable[[], str]
) -> None:
    """The primary restarts mid-run (down 4 s): ledger and load writes are retried, exit 0, the clean run's rows."""
    _, expected = clean
    url = new_db()
    # 120/min paces the run's ~40 requests over ~20 s: the restart lands well inside it
    process = start_engine(engine_env(url, fake, SYMBOLS, MYCFA_FMP_RATE_LIMIT="120"), "run", "--job", "full")
    restart_primary_when_loading(url, process, 4.0)
    _, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stderr[-3000:]
    events = [orjson.loads(line).get("event") for line in stderr.splitlines() if line.startswith("{")]
    assert "store_retry" in events  # the outage was met by the run's writes ...
    assert "lock_reacquired" in events  # ... and by its lock, and ridden out
    assert fingerprint(url) == expected
    assert query(url, "SELECT state, exit_code, resumes FROM runs") == [("succeeded", 0, 0)]
    assert query(url, "SELECT DISTINCT state FROM run_items") == [("done",)]


def test_primary_down_past_the_outage_bound_exits_7_with_the_reason(
    clean: tuple[str, dict[str, tuple[int, str]]], fake: FakeFMPProcess, new_db: Callable[[], str]
) -> None:
    """Down 8 s with MYCFA_DB_OUTAGE_S=2: the run exits 7 and logs why; the next run resumes to the clean rows."""
    _, expected = clean
    url = new_db()
    env = engine_env(url, fake, SYMBOLS, MYCFA_FMP_RATE_LIMIT="200", MYCFA_DB_OUTAGE_S="2")
    process = start_engine(env, "run", "--job", "full")
    restart_primary_when_loading(url, process, 8.0)
    _, stderr = process.communicate(timeout=180)
    assert process.returncode == 7, stderr[-3000:]
    logged = [orjson.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    final = logged[-1]["msg"]
    assert final.startswith("database error:"), stderr[-3000:]
    assert "(the bound, MYCFA_DB_OUTAGE_S, is 2s)" in stderr or "no database connection for 2s" in stderr
    resumed = run_engine(engine_env(url, fake, SYMBOLS), "run", "--job", "full")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert fingerprint(url) == expected
    assert query(url, "SELECT state, resumes FROM runs") == [("succeeded", 1)]
