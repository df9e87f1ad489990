"""The demo's data in a real browser: the engine ingests the fake FMP universe, the pages show plausible numbers.

Screenshots of the Company, Screener, Portfolio and Valuation pages go to artifacts/demo/.
"""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT, Cluster, Database
from tests.dashboard.conftest import engine_filled, make_settings, served
from tests.dashboard.test_browser import logged_in_tab, shot, traces

pytestmark = pytest.mark.e2e
SHOTS = REPO_ROOT / "artifacts" / "demo"
# the names the old fake got most wrong (Newmont at USD 1.65 tn, Federal Realty at USD 0.83, ...),
# with a mega cap, a bank, a REIT, a utility and staples around them
DEMO = ("AAPL", "MSFT", "NVDA", "JPM", "JNJ", "XOM", "KO", "NEE", "O", "NEM", "FRT", "GPN")
AS_OF = "2026-08-07"
SLOW_MS = 120_000  # the portfolio's optimisations take seconds on a loaded 2-core machine


@pytest.fixture(scope="module")
def demo_db(pg_cluster: Cluster) -> Iterator[Database]:
    """A database filled by one full engine run against the fake FMP server (seed 42) for DEMO."""
    with engine_filled(pg_cluster, "demo", DEMO, AS_OF) as db:
        yield db


@pytest.fixture(scope="module")
def tab(demo_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from dashboard.app import create_app

    app = create_app(make_settings(demo_db))
    try:
        with served(app) as url, logged_in_tab(url) as page:
            page.base_url = url
            yield page
    finally:
        app.server.extensions["mycfa"].router.dispose()


def grid_data(page: Any, grid_id: str) -> list[dict[str, Any]]:
    """The grid's row data as sent (raw numbers, not the formatted cells)."""
    page.wait_for_selector(f"#{grid_id} .ag-row")
    return page.evaluate(  # type: ignore[no-any-return]
        f"""() => {{
          const out = [];
          dash_ag_grid.getApi('{grid_id}').forEachNode(node => out.push(node.data));
          return out;
        }}"""
    )


def test_demo_screener_shows_index_like_caps_and_multiples(tab: Any) -> None:
    """No market cap above USD 5 tn or below 1 bn, no price below USD 1, P/Es around 10-40, ROE within reason."""
    tab.goto(tab.base_url + "/screener")
    tab.wait_for_function(
        f"document.querySelector('#screener-count') && document.querySelector('#screener-count').innerText === '{len(DEMO)} companies'"
    )
    rows = grid_data(tab, "screener-grid")
    assert {row["symbol"] for row in rows} == set(DEMO)
    for row in rows:
        assert 1e9 < row["market_cap"] < 5e12, row
        assert row["price"] >= 1, row
        assert row["roe"] is None or -2 < row["roe"] < 2, row
    caps = sorted(row["market_cap"] for row in rows)
    assert caps[-1] > 5e11  # the mega caps are there
    pes = [row["pe"] for row in rows if row["pe"] is not None and row["pe"] > 0]
    assert len(pes) >= 8, pes
    assert 10 <= statistics.median(pes) <= 40, pes
    shot(tab, "screener", SHOTS)


def test_demo_portfolio_has_correlated_names_and_a_spread_frontier(tab: Any) -> None:
    """AAPL, MSFT and JNJ correlate (not 0.00); the minimum-volatility portfolio holds more than one name."""
    tab.goto(tab.base_url + "/portfolio")
    tab.wait_for_selector("#portfolio-stats-grid .ag-row", timeout=SLOW_MS)
    tab.wait_for_function(
        "document.querySelector('#portfolio-correlation-graph .js-plotly-plot') && document.querySelector('#portfolio-correlation-graph .js-plotly-plot').data.length > 0"
    )
    z = tab.evaluate("document.querySelector('#portfolio-correlation-graph .js-plotly-plot').data[0].z")
    off_diagonal = [z[i][j] for i in range(len(z)) for j in range(len(z)) if i != j]
    assert all(0.1 < value < 0.9 for value in off_diagonal), z
    weights = grid_data(tab, "portfolio-weights-grid")
    assert sum(1 for row in weights if row["min_volatility"] > 0.05) >= 2, weights
    assert traces(tab, "portfolio-frontier-graph")[0]["n"] > 2
    shot(tab, "portfolio", SHOTS)


def test_demo_company_and_valuation_pages_show_plausible_numbers(tab: Any) -> None:
    """The company page draws prices above USD 1 for a split stock; valuation per share is positive and bounded."""
    tab.goto(tab.base_url + "/?symbol=NVDA")
    first = traces(tab, "company-price-graph")
    assert [t["type"] for t in first] == ["candlestick", "scatter", "bar"]
    tab.wait_for_selector("#company-statement-grid .ag-row")
    shot(tab, "company", SHOTS)
    tab.goto(tab.base_url + "/valuation?symbol=KO")
    tab.wait_for_selector("#valuation-per-share")
    value = float(tab.inner_text("#valuation-per-share").replace(",", ""))
    assert 1 < value < 5000, value
    shot(tab, "valuation", SHOTS)
    assert Path(SHOTS, "company.png").exists()
    assert tab.csp_errors == []


@pytest.mark.parametrize(("kind", "period"), [("income", "FY"), ("balance", "Q")])
def test_demo_statements_csv_holds_the_numbers_of_the_view_shown(tab: Any, kind: str, period: str) -> None:
    """In each view of the Company statement table (Values, YoY %, Common size %) its CSV holds the
    table's numbers for every line and period: the stored values, or the view's fractions with a `view`
    and a `unit` column naming them (the grid rounds to 4 decimals)."""
    named = {"yoy": "YoY change: over the same period a year before"}
    named["common"] = "Common size: share of " + ("total assets" if kind == "balance" else "revenue")
    for view in ("values", "yoy", "common"):
        tab.goto(f"{tab.base_url}/?symbol=KO&kind={kind}&period={period}&view={view}")
        rows = grid_data(tab, "company-statement-grid")
        link = "#company-export-statements"
        tab.wait_for_function(f"document.querySelector('{link}').getAttribute('href') !== '#'")
        response = tab.context.request.get(tab.base_url + tab.get_attribute(link, "href"))
        assert response.status == 200, response.text()
        csv = pd.read_csv(io.StringIO(response.text()), index_col=0)
        csv.index = [str(d)[:10] for d in csv.index]
        if view == "values":
            assert "view" not in csv.columns  # as before: the stored figures, each line in its own unit
        else:
            assert set(csv["view"]) == {named[view]}, view
            assert set(csv["unit"]) == {"fraction"}, view
            assert list(csv.columns[2:]) == [row["field"] for row in rows], view
        dates = [c for c in rows[0] if c[:1].isdigit()]
        assert sorted(csv.index) == sorted(d[:10] for d in dates), view
        compared = 0
        for row in rows:
            for date in dates:
                shown, held = row[date], csv.at[date[:10], row["field"]]
                if shown is None:
                    assert held is None or math.isnan(held), (view, row["field"], date, held)
                    continue
                assert held == pytest.approx(shown, abs=5.1e-5), (view, row["field"], date)
                compared += 1
        assert compared > 10 * len(dates), (view, compared)
