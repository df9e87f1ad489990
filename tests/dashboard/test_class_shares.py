"""One spelling of class shares end to end: FMP's `BRK-B` / `BF-B` from the fake, through the engine and
its GICS file into the store, to the dashboard's pages, URLs and exports (the dotted `BRK.B` a
reader may type leads to the same company)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from devkit.fingerprint import query
from engine.db.gics import gics_by_symbol
from tests.conftest import Cluster, Database
from tests.dashboard.conftest import engine_filled, login, make_settings, served
from tests.dashboard.test_browser import logged_in_tab

pytestmark = pytest.mark.e2e
CLASS_SHARES = ("BRK-B", "BF-B")


@pytest.fixture(scope="module")
def shares_db(pg_cluster: Cluster) -> Iterator[Database]:
    """A database filled by one engine run for the two class shares, against the fake."""
    with engine_filled(
        pg_cluster, "class_shares", CLASS_SHARES, "2026-08-07", MYCFA_HISTORY_START="2024-01-01"
    ) as db:
        yield db


@pytest.fixture(scope="module")
def app(shares_db: Database) -> Iterator[Any]:
    from dashboard.app import create_app

    made = create_app(make_settings(shares_db))
    try:
        yield made
    finally:
        made.server.extensions["mycfa"].router.dispose()


def test_store_holds_fmps_spelling_with_gics_sectors(shares_db: Database) -> None:
    """Companies, prices and statements are keyed BRK-B / BF-B, classified from the GICS file."""
    rows = query(
        shares_db.owner_url,
        "SELECT symbol, sector FROM companies WHERE symbol IN ('BRK-B', 'BF-B') ORDER BY 1",
    )
    assert rows == [("BF-B", "Consumer Staples"), ("BRK-B", "Financials")]
    assert gics_by_symbol()["BRK-B"] == ("Financials", "Multi-Sector Holdings")
    for table in ("prices_daily", "statements"):
        held = {r[0] for r in query(shares_db.owner_url, f"SELECT DISTINCT symbol FROM {table}")}
        assert held == set(CLASS_SHARES), table
    assert query(shares_db.owner_url, "SELECT count(*) FROM companies WHERE position('.' in symbol) > 0") == [
        (0,)
    ]


def test_export_urls_take_either_spelling(app: Any) -> None:
    """`?symbol=BRK-B` exports Berkshire's prices; `BRK.B` and `brk-b` name the same company."""
    client = app.server.test_client()
    login(client, "ada")
    answers = {}
    for spelling in ("BRK-B", "brk-b", "BRK.B", "BF-B"):
        response = client.get(f"/export/company/prices.csv?symbol={spelling}")
        assert response.status_code == 200, spelling
        answers[spelling] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert answers["BRK-B"]
    assert answers["BRK-B"] == answers["brk-b"] == answers["BRK.B"]
    assert answers["BF-B"] != answers["BRK-B"]


def test_company_page_opens_on_a_class_share_url(app: Any) -> None:
    """The Company page at `/?symbol=BRK-B` (and `BRK.B`) shows Berkshire in a real browser."""
    with served(app) as url, logged_in_tab(url) as tab:
        for spelling in ("BRK-B", "BRK.B"):
            tab.goto(f"{url}/?symbol={spelling}")
            tab.wait_for_selector("#company-profile:has-text('Berkshire Hathaway')")
            assert tab.inner_text("#company-profile-symbol") == "BRK-B"
