"""One full run per FMP plan against the fake speaking that plan (`python -m fakefmp --plan P`), the
engine as a process: what each run ingests, its exit code, and `status` saying what the plan withheld."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import orjson
import pytest

from devkit.fingerprint import query
from devkit.runs import TEST_API_KEY, engine_env, run_engine
from engine.db import migrate
from engine.exitcodes import ExitCode
from fakefmp.plans import FREE_SYMBOLS
from fakefmp.process import FakeFMPProcess, fakefmp_running
from tests.conftest import Cluster, throwaway_database

pytestmark = pytest.mark.e2e

AS_OF = date(2026, 8, 7)
# The fake's five years before AS_OF: the engine counts its own five years back from its today, which is
# AS_OF or later, so what it stores starts here or later whatever the date.
FLOOR = "2021-08-07"
SYMBOLS = "MMM,AAPL,AMZN,BRK-B,BF-B"  # the class shares spelled as FMP spells them
RESTRICTED = "Restricted Endpoint: This endpoint is not available under your current subscription"


@pytest.fixture(scope="module")
def new_db(pg_cluster: Cluster) -> Iterator[Callable[[], str]]:
    with contextlib.ExitStack() as databases:

        def make() -> str:
            url = databases.enter_context(throwaway_database(pg_cluster, "plans")).owner_url
            asyncio.run(migrate(url))
            return url

        yield make


def plan_fake(plan: str, *extra: str) -> contextlib.AbstractContextManager[FakeFMPProcess]:
    """The fake speaking `plan` (bulk requests 0.3 s apart throttled), stopped when the block ends."""
    args = ("--symbols", "503", "--seed", "11", "--as-of", AS_OF.isoformat(), "--bulk-interval", "0.3")
    return fakefmp_running("--plan", plan, *args, *extra)


def full_run(url: str, fake: FakeFMPProcess, symbols: str = SYMBOLS) -> tuple[int, dict[str, Any], str]:
    """The run's exit code, `status --json`, and what an operator reads: `status` and the run's log.
    Neither the log nor `status` ever shows the key."""
    env = engine_env(url, fake, symbols, MYCFA_FMP_BULK_INTERVAL_S="0.4", MYCFA_HISTORY_START="2016-01-01")
    result = run_engine(env, "run", "--job", "full", timeout=600)
    status = run_engine(env, "status", "--json")
    text = run_engine(env, "status")
    assert status.returncode == 0, status.stderr
    shown = result.stdout + result.stderr + status.stdout + text.stdout
    assert TEST_API_KEY not in shown
    return result.returncode, orjson.loads(status.stdout), text.stdout + result.stderr


def stored(url: str) -> dict[str, Any]:
    periods = query(url, "SELECT DISTINCT period FROM statements ORDER BY 1")
    first_price = query(url, "SELECT min(date) FROM prices_daily")[0][0]
    return {
        "companies": sorted(r[0] for r in query(url, "SELECT symbol FROM companies WHERE in_index")),
        "with_prices": sorted(r[0] for r in query(url, "SELECT DISTINCT symbol FROM prices_daily")),
        "periods": [r[0] for r in periods],
        "first_price": first_price.isoformat() if first_price else None,
        "annual_rows_max": query(
            url,
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM statements WHERE period = 'FY'"
            " GROUP BY symbol, kind) c",
        )[0][0],
    }


def assert_shipped_universe(got: dict[str, Any], status: dict[str, Any], text: str) -> None:
    """The plan refused FMP's list: the 503 members come from the shipped file, spelled as FMP spells
    them, and the run's note and `status` say so in FMP's words."""
    assert len(got["companies"]) == 503
    assert {"BRK-B", "BF-B"} <= set(got["companies"])
    assert RESTRICTED in status["runs"][0]["notes"]["universe"]
    assert "universe: the shipped S&P 500 list" in text


def test_free_plan_run_takes_the_shipped_list_and_what_the_plan_serves(new_db: Callable[[], str]) -> None:
    """Free: the shipped universe, 5 years of prices, annual statements cut to limit=5; BF-B (not a
    free symbol) skipped in FMP's words; exit 1; status says what the plan withheld."""
    url = new_db()
    with plan_fake("free") as fake:
        code, status, text = full_run(url, fake)
        stats = fake.stats()
    assert code == ExitCode.PARTIAL_FAILURE, text
    got = stored(url)
    assert_shipped_universe(got, status, text)
    assert got["with_prices"] == ["AAPL", "AMZN", "BRK-B", "MMM"]
    assert got["periods"] == ["FY"]
    assert got["first_price"] >= FLOOR
    assert 0 < got["annual_rows_max"] <= 5
    run = status["runs"][0]
    assert run["notes"]["fmp_plan"] == "free"
    assert "quarterly statements" in run["notes"]["withheld"]["quarterly"]
    skipped = {(i["symbol"], i["state"]) for i in status["failed_items"]}
    assert skipped == {("BF-B", "skipped")}
    assert all("value set for 'symbol'" in i["error_message"] for i in status["failed_items"])
    # the log too quotes FMP: the refused symbol's line carries its words, not "HTTP 402: HTTP 402"
    refused = [line for line in text.splitlines() if '"BF-B"' in line and "402" in line]
    assert refused, text[-3000:]
    assert all("value set for 'symbol'" in line for line in refused)
    assert "HTTP 402: HTTP 402" not in text
    assert "withheld by the free plan" in text
    assert "FMP plan: free" in text
    assert "BF-B" not in FREE_SYMBOLS
    assert stats["statuses"].get("429", 0) == 0


def test_starter_plan_run_ingests_the_shipped_universe_with_clipped_history(
    new_db: Callable[[], str],
) -> None:
    """Starter: every symbol from the shipped list, prices from the plan's 5 years, annual statements;
    exit 0; no request refused by FMP during the run (the probe learnt the plan)."""
    url = new_db()
    with plan_fake("starter") as fake:
        code, status, text = full_run(url, fake)
        stats = fake.stats()
    assert code == ExitCode.OK, text
    got = stored(url)
    assert_shipped_universe(got, status, text)
    assert got["with_prices"] == sorted(SYMBOLS.split(","))
    assert got["periods"] == ["FY"]
    assert got["first_price"] >= FLOOR
    run = status["runs"][0]
    assert run["notes"]["fmp_plan"] == "starter"
    assert set(run["notes"]["withheld"]) >= {"constituents", "quarterly", "history", "bulk"}
    assert re.search(r"prices before \d{4}-\d\d-\d\d \(the plan's 5 years", text)
    probe_refusals = 5  # constituents, 30-year history, limit, quarterly, bulk
    assert sum(stats["refusals"].values()) == probe_refusals, stats["refusals"]


@pytest.mark.parametrize("plan", ["premium", "ultimate"])
def test_premium_and_ultimate_runs_take_everything(new_db: Callable[[], str], plan: str) -> None:
    """Premium and Ultimate: FMP's list, quarterly statements, the whole history asked; Ultimate's
    profiles from profile-bulk under its throttle (never "Limit Reach")."""
    url = new_db()
    with plan_fake(plan) as fake:
        code, status, text = full_run(url, fake)
        stats = fake.stats()
    assert code == ExitCode.OK, text
    got = stored(url)
    assert got["periods"] == ["FY", "Q1", "Q2", "Q3", "Q4"]
    assert got["first_price"] < "2016-02-01"
    run = status["runs"][0]
    assert run["notes"]["fmp_plan"] == plan
    assert run["notes"]["universe"] == "FMP's sp500-constituent"
    bulk = run["metrics"].get("bulk", {})
    if plan == "ultimate":
        assert bulk == {"profile-bulk": "available"}
        assert "bulk" not in run["notes"]["withheld"]
        assert stats["paths"]["profile-bulk"] == 2 + 1  # part 0, the 400 past it, and the probe's
        assert "200 bulk limit reach" not in stats["refusals"]
    else:
        assert bulk == {}
        assert "bulk files" in run["notes"]["withheld"]["bulk"]


def test_free_plan_stops_before_the_days_requests_run_out(new_db: Callable[[], str]) -> None:
    """250 requests a day: a run of 40 free symbols (~330 requests) stops at the day's limit, less a
    reserve, with a clear message and exit 8; FMP never answered 429; the next day it resumes."""
    url = new_db()
    symbols = ",".join(sorted(FREE_SYMBOLS)[:40])
    with plan_fake("free") as fake:
        code, status, text = full_run(url, fake, symbols)
        stats = fake.stats()
    assert code == ExitCode.QUOTA, text
    assert "the plan's 250 requests a day are spent" in text
    assert stats["statuses"].get("429", 0) == 0
    assert 240 <= stats["requests"] <= 250
    run = status["runs"][0]
    assert run["state"] == "interrupted"
    assert "requests a day are spent" in run["error"]
    assert status["fmp_usage"]["requests"] == stats["requests"]
