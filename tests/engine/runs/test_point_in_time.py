"""What point-in-time reads need, stored by runs from the fake FMP server over HTTP: the index's changes,
former members' data, the run behind each statement payload (and behind each one it replaced)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date

import pytest

from devkit.fingerprint import query
from devkit.runs import engine_env, run_engine
from engine.db import migrate
from fakefmp.membership import history
from fakefmp.process import FakeFMPProcess, fakefmp_running
from tests.conftest import Cluster, throwaway_database

pytestmark = pytest.mark.e2e
AS_OF = date(2026, 6, 30)
SYMBOLS = "AAPL,TSLA,YHOO"  # a member since 1982, one that joined in 2020, one that left in 2017


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeFMPProcess]:
    args = ("--symbols", "503", "--seed", "7", "--rate-limit", "100000", "--as-of", AS_OF.isoformat())
    with fakefmp_running(*args, "--deny-bulk") as server:
        yield server


@pytest.fixture(scope="module")
def loaded(pg_cluster: Cluster, fake: FakeFMPProcess) -> Iterator[str]:
    """A database after one full run of SYMBOLS."""
    with throwaway_database(pg_cluster, "pit") as db:
        asyncio.run(migrate(db.owner_url))
        result = run_engine(engine_env(db.owner_url, fake, SYMBOLS), "run", "--job", "full")
        assert result.returncode == 0, result.stderr[-3000:]
        yield db.owner_url


def test_run_stores_the_index_changes_and_the_former_members_spell(loaded: str) -> None:
    """Every change the fake serves is stored; Yahoo (left 2017) has a non-member row with its spell and
    its GICS sector from the profile; the spells view has Yahoo and not Tesla on 2010-06-30."""
    assert query(loaded, "SELECT count(*) FROM sp500_changes WHERE withdrawn_at IS NULL")[0][0] == len(
        history()[0]
    )
    yahoo = query(loaded, "SELECT in_index, index_removed, sector FROM companies WHERE symbol = 'YHOO'")
    assert yahoo == [(False, date(2017, 9, 1), "Communication Services")]
    members = query(
        loaded,
        "SELECT symbol FROM sp500_membership WHERE symbol = ANY(%s)"
        " AND added <= '2010-06-30' AND (removed IS NULL OR removed > '2010-06-30') ORDER BY symbol",
        SYMBOLS.split(","),
    )
    assert [r[0] for r in members] == ["AAPL", "YHOO"]


def test_former_member_gets_its_history_to_a_year_after_it_left(loaded: str) -> None:
    """Yahoo's statements and prices are stored, no price after it left (it was delisted); its price
    item asked for a window ending a year after it left."""
    kinds = query(
        loaded, "SELECT count(DISTINCT kind), max(fiscal_date) FROM statements WHERE symbol = 'YHOO'"
    )
    assert kinds[0][0] == 5
    assert kinds[0][1] <= date(2017, 9, 1)
    last = query(loaded, "SELECT max(date) FROM prices_daily WHERE symbol = 'YHOO'")[0][0]
    assert date(2017, 1, 1) <= last <= date(2017, 9, 1)
    params = query(loaded, "SELECT params FROM run_items WHERE symbol = 'YHOO' AND dataset = 'prices'")[0][0]
    assert params == {"from": "2016-01-01", "to": "2018-09-02"}


def test_former_member_is_kept_for_history_but_never_screened(loaded: str) -> None:
    """The run's serving refresh screens the index's current members only: Yahoo (left 2017) has no
    screener row and counts in no sector median, while its metric_history and month-end closes (what
    point-in-time reads use) are kept."""
    screened = query(loaded, "SELECT symbol FROM screener_rows ORDER BY symbol")
    assert [r[0] for r in screened] == ["AAPL", "TSLA"]
    medians = query(loaded, "SELECT sector, max(n) FROM sector_medians GROUP BY sector ORDER BY sector")
    sectors = query(
        loaded, "SELECT sector FROM companies WHERE symbol = ANY(%s) ORDER BY sector", ["AAPL", "TSLA"]
    )
    assert medians == [(s, 1) for (s,) in sectors]
    assert "Communication Services" not in {s for s, _ in medians}  # Yahoo's sector, no member in it
    kept = query(
        loaded,
        "SELECT (SELECT count(*) FROM metric_history WHERE symbol = 'YHOO'),"
        " (SELECT count(*) FROM month_end_closes WHERE symbol = 'YHOO')",
    )[0]
    assert kept[0] > 0
    assert kept[1] > 0


def test_restatement_keeps_the_run_of_each_payload(loaded: str, fake: FakeFMPProcess) -> None:
    """Each statement row carries the run that fetched its payload; after FMP restates AAPL's latest
    revenue, a second run replaces it: the row names the second run, the revision the first."""
    first = query(loaded, "SELECT max(run_id) FROM runs")[0][0]
    assert query(loaded, "SELECT DISTINCT run_id FROM statements") == [(first,)]
    day = query(
        loaded,
        "SELECT max(fiscal_date) FROM statements WHERE symbol = 'AAPL' AND kind = 'income' AND period = 'FY'",
    )[0][0]
    fake.admin(
        "restate",
        {
            "symbol": "AAPL",
            "dataset": "income",
            "period": "annual",
            "date": day.isoformat(),
            "field": "revenue",
            "value": 123_456_789_000,
        },
    )
    result = run_engine(engine_env(loaded, fake, SYMBOLS), "run", "--job", "fundamentals")
    assert result.returncode == 0, result.stderr[-3000:]
    second = query(loaded, "SELECT max(run_id) FROM runs")[0][0]
    row = query(
        loaded,
        "SELECT run_id, (payload->>'revenue')::float8 FROM statements"
        " WHERE symbol = 'AAPL' AND kind = 'income' AND period = 'FY' AND fiscal_date = %s",
        day,
    )
    assert row == [(second, 123_456_789_000.0)]
    revisions = query(
        loaded,
        "SELECT run_id, (payload->>'revenue')::float8 <> 123456789000 FROM statement_revisions"
        " WHERE symbol = 'AAPL' AND kind = 'income' AND period = 'FY' AND fiscal_date = %s",
        day,
    )
    assert revisions == [(first, True)]
    untouched = query(loaded, "SELECT DISTINCT run_id FROM statements WHERE symbol = 'YHOO'")
    assert untouched == [(first,)]  # a frozen former member is not fetched again
