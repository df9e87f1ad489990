"""Point in time in a real browser, on data the engine fetched from the fake FMP server over HTTP: a
screen on 2010-06-30 keeps a company that left the index later (Yahoo, 2017) and leaves out one that
joined later (Tesla, 2020); a restatement FMP made between two runs is in the feed with old, new and when.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import quote

import pytest

from dashboard.answer_cache import DATA_VERSION_TTL_S
from dashboard.components import formats, trails
from devkit import seed
from devkit.fingerprint import query
from devkit.runs import engine_env, run_engine
from engine.db.migrate import migrate
from fakefmp.process import FakeFMPProcess
from tests.conftest import REPO_ROOT, Cluster, Database, throwaway_database, wait_for_replica
from tests.dashboard.conftest import PASSWORD, make_settings, served
from tests.dashboard.test_browser import logged_in_tab, shot
from tests.dashboard.test_browser_demo import grid_data
from tests.dashboard.test_browser_workflows import TRACE_JS, decoded
from tests.engine.runs.test_point_in_time import SYMBOLS, fake  # noqa: F401  (the fake, a module fixture)

pytestmark = pytest.mark.e2e
SHOTS = REPO_ROOT / "artifacts" / "history"
# SYMBOLS: AAPL (a member since 1982), TSLA (joined in 2020), YHOO (left in 2017)
RESTATED_REVENUE = 123_456_789_000.0


@pytest.fixture(scope="module")
def history_db(pg_cluster: Cluster, fake: FakeFMPProcess) -> Iterator[tuple[Database, date, float]]:  # noqa: F811
    """A database after a full run of SYMBOLS (prices from 2009), then FMP restating AAPL's latest annual
    revenue and a fundamentals run picking it up; yields it with the restated fiscal date and the revenue
    as filed."""
    with throwaway_database(pg_cluster, "history") as db:
        asyncio.run(migrate(db.owner_url))
        env = engine_env(db.owner_url, fake, SYMBOLS, history_start="2009-01-01")
        result = run_engine(env, "run", "--job", "full")
        assert result.returncode == 0, result.stderr[-3000:]
        day, filed = query(
            db.owner_url,
            "SELECT fiscal_date, (payload->>'revenue')::float8 FROM statements"
            " WHERE symbol = 'AAPL' AND kind = 'income' AND period = 'FY' ORDER BY fiscal_date DESC LIMIT 1",
        )[0]
        restated = {"date": day.isoformat(), "field": "revenue", "value": RESTATED_REVENUE}
        fake.admin("restate", {"symbol": "AAPL", "dataset": "income", "period": "annual", **restated})
        result = run_engine(env, "run", "--job", "fundamentals")
        assert result.returncode == 0, result.stderr[-3000:]
        seed.add_user(db.owner_url, "ada", PASSWORD, "admin")
        wait_for_replica(pg_cluster)
        yield db, day, filed


@pytest.fixture(scope="module")
def tab(history_db: tuple[Database, date, float]) -> Iterator[Any]:
    from dashboard.app import create_app

    app = create_app(make_settings(history_db[0]))
    try:
        with served(app) as url, logged_in_tab(url) as page:
            page.base_url = url
            yield page
    finally:
        app.server.extensions["mycfa"].router.dispose()


def test_screen_on_a_past_date_keeps_later_leavers_and_leaves_out_later_joiners(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """On 2010-06-30 the screen holds AAPL and YHOO (it left in 2017: marked, still in), not TSLA (it
    joined in 2020); their figures are annual statements filed by then, and the forward returns of the
    top pick are set against all members held and the stored S&P 500's over the same year."""
    tab.goto(tab.base_url + "/history?on=2010-06-30&rank=revenue&top=1")
    rows = {row["symbol"]: row for row in grid_data(tab, "history-screen-grid")}
    assert set(rows) == {"AAPL", "YHOO"}
    assert rows["YHOO"]["left"] == "2017-09-01"
    assert rows["AAPL"]["left"] == ""
    for row in rows.values():
        assert row["filing_date"] is not None
        assert row["filing_date"] <= "2010-06-30"
        assert row["fiscal_date"] < "2010-06-30"
        assert row["price_date"] <= "2010-06-30"
        assert row["ret_1y"] is not None
    text = tab.inner_text("#history-screen-text")
    assert "1 left the index later and stay in (YHOO)" in text, text
    summary = grid_data(tab, "history-screen-summary-grid")
    assert [r["companies"] for r in summary] == [1, 2, None]
    index_1y = query(
        history_db[0].owner_url,
        "SELECT exp(sum(ln(1 + daily_return))) - 1 FROM benchmark_returns WHERE benchmark = 'sp500_cap'"
        " AND date > '2010-06-30' AND date <= '2011-06-30'",
    )[0][0]
    assert summary[2]["group"] == "S&P 500 (cap weight, stored)"
    assert summary[2]["ret_1y"] == pytest.approx(index_1y, abs=1e-4)
    best = max(rows.values(), key=lambda r: r["revenue"])
    # the grid's row data keeps 4 decimals
    assert summary[0]["ret_1y"] == pytest.approx(best["ret_1y"], abs=1e-4)
    assert summary[1]["ret_1y"] == pytest.approx(
        (rows["AAPL"]["ret_1y"] + rows["YHOO"]["ret_1y"]) / 2, abs=1e-4
    )
    shot(tab, "screen-2010-06-30", SHOTS)
    # a later date: Tesla is in, Yahoo gone
    tab.goto(tab.base_url + "/history?on=2021-06-30")
    tab.wait_for_function(
        "document.querySelector('#history-screen-text') && document.querySelector('#history-screen-text').innerText.includes('2021-06-30')"
    )
    assert {row["symbol"] for row in grid_data(tab, "history-screen-grid")} == {"AAPL", "TSLA"}


def test_restatement_feed_shows_what_changed_when_aapl_restated(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """The feed, filtered to AAPL from the link, has the restated revenue: old as filed, new as FMP
    restated it, the change, and the runs that fetched each."""
    _, day, filed = history_db
    tab.goto(tab.base_url + "/history?symbol=AAPL")
    rows = [r for r in grid_data(tab, "history-feed-grid") if r["item"] == "Revenue"]
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row["symbol"], row["statement"], row["period"], row["fiscal_date"]) == (
        "AAPL",
        "Income",
        "FY",
        day.isoformat(),
    )
    assert row["old_value"] == pytest.approx(filed)
    assert row["new_value"] == pytest.approx(RESTATED_REVENUE)
    assert row["change"] == pytest.approx(RESTATED_REVENUE / filed - 1, abs=1e-4)
    assert row["new_run_id"] == row["old_run_id"] + 1
    summary = {r["symbol"]: r for r in grid_data(tab, "history-summary-grid")}
    assert summary["AAPL"]["largest_change_5y"] == pytest.approx(RESTATED_REVENUE / filed - 1, abs=1e-4)
    assert summary["AAPL"]["restatements_1y"] == 1
    assert tab.inner_text("#history-summary-anchor").startswith("Counted back from the latest close, ")
    exported = {
        r["symbol"]: r for r in csv.DictReader(io.StringIO(_csv_text(tab, "#history-export-summary")))
    }
    assert (exported["AAPL"]["restatements_1y"], exported["AAPL"]["restatements_5y"]) == ("1", "1")
    shot(tab, "restatements-AAPL", SHOTS)
    assert tab.csp_errors == []


def test_the_feed_filters_by_sector_line_item_and_size_of_change(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """The feed's sector, line item and smallest change filters (from the link, and its CSV): AAPL's
    restated revenue is in its own sector, under "revenue", and at a smallest change just under its own;
    another sector, another line or a smallest change just over it leaves it out."""
    db, _, filed = history_db
    sector = query(db.owner_url, "SELECT sector FROM companies WHERE symbol = 'AAPL'")[0][0]
    other = query(
        db.owner_url, "SELECT min(sector) FROM companies WHERE sector IS NOT NULL AND sector <> %s", sector
    )[0][0]
    size = abs(RESTATED_REVENUE / filed - 1) * 100
    below, above = f"{max(size - 1, 0):.1f}", f"{size + 1:.1f}"
    tab.goto(tab.base_url + f"/history?sector={quote(sector)}&item=revenue&min={below}")
    rows = grid_data(tab, "history-feed-grid")
    assert [(r["symbol"], r["item"]) for r in rows] == [("AAPL", "Revenue")]

    def symbols(**filters: str) -> list[str]:
        link = (
            tab.base_url
            + "/export/history/restatements.csv?"
            + "&".join(f"{k}={quote(v)}" for k, v in filters.items())
        )
        response = tab.context.request.get(link)
        assert response.status == 200, response.text()
        return [r["symbol"] for r in csv.DictReader(io.StringIO(response.text()))]

    assert symbols(sector=sector, item="revenue", min=below) == ["AAPL"]
    response = tab.context.request.get(
        tab.base_url + "/export/history/restatements.csv?symbol=AAPL&item=revenue"
    )
    (row,) = list(csv.DictReader(io.StringIO(response.text())))
    assert row["unit"] == "USD"  # the values are USD, not the grid's USD m
    assert [float(row["old_value"]), float(row["new_value"])] == pytest.approx([filed, RESTATED_REVENUE])
    assert float(row["change_fraction"]) == pytest.approx(RESTATED_REVENUE / filed - 1)  # a fraction, not %
    assert symbols(sector=other) == []
    assert symbols(item="netIncome", symbol="AAPL") == []
    assert symbols(symbol="AAPL", min=above) == []


def test_screener_filters_on_restatements_and_shows_their_direction(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """The Screener's restatement fields: "restatements 5Y >= 1" and a largest change of -1 % or less keep
    AAPL alone (the one company FMP restated, its revenue down), with its count and its signed change as
    columns; a condition on an upward restatement finds nobody."""
    db = history_db[0]
    largest = query(
        db.owner_url,
        "SELECT change FROM statement_changes WHERE symbol = 'AAPL' AND NOT per_share_only"
        " ORDER BY abs(change) DESC NULLS LAST LIMIT 1",
    )[0][0]
    assert largest < 0
    count = "(e => e && e.innerText.startsWith('{}'))(document.querySelector('#screener-count'))"
    where = "restatements 5y >= 1; largest restatement 5y <= -1"
    tab.goto(tab.base_url + "/screener?basis=fy&where=" + quote(where))
    tab.wait_for_function(count.format("1 company"))
    rows = grid_data(tab, "screener-grid")
    assert [r["symbol"] for r in rows] == ["AAPL"]
    assert rows[0]["restatements_5y"] == 1
    assert rows[0]["restatement_change_5y"] == pytest.approx(largest, abs=1e-4)  # the grid keeps 4 decimals
    headers = tab.inner_text("#screener-grid .ag-header")
    assert "Restatements 5Y" in headers, headers
    assert "Largest restatement 5Y (%)" in headers, headers
    shot(tab, "screener-restatements", SHOTS)
    tab.goto(tab.base_url + "/screener?basis=fy&where=" + quote("largest restatement 5y >= 1"))
    tab.wait_for_function(count.format("0 companies"))


def _await_cell(tab: Any, grid: str, key: str, value: str, field: str, expected: float) -> None:
    """Wait until the grid's row whose `key` is `value` holds `expected` (to 0.1 %) in `field`."""
    tab.wait_for_function(
        f"""() => {{ try {{ let v = null;
            dash_ag_grid.getApi('{grid}').forEachNode(n => {{ if (n.data['{key}'] === '{value}') v = n.data['{field}']; }});
            return v !== null && Math.abs(v - ({expected})) <= Math.abs({expected}) * 1e-3;
        }} catch (e) {{ return false; }} }}"""
    )


def test_screener_and_compare_toggle_to_figures_as_first_reported(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """ "As first reported" on the Screener and on Compare: AAPL's latest annual revenue as filed, not as
    FMP restated it (the Screener's net margin on it, Compare's revenue history); the link keeps the
    toggle and toggling back shows the restated figures again."""
    db, day, filed = history_db
    year, net_income = query(
        db.owner_url,
        "SELECT fiscal_year, (payload->>'netIncome')::float8 FROM statements WHERE symbol = 'AAPL'"
        " AND kind = 'income' AND period = 'FY' AND fiscal_date = %s",
        day,
    )[0]
    where = quote("restatements 5y >= 1; net margin >= -1000")
    tab.goto(tab.base_url + f"/screener?basis=fy&where={where}")
    _await_cell(tab, "screener-grid", "symbol", "AAPL", "net_margin", net_income / RESTATED_REVENUE)
    tab.check("#screener-figures input[value='first']")
    tab.wait_for_function("window.location.search.includes('figures=first')")
    _await_cell(tab, "screener-grid", "symbol", "AAPL", "net_margin", net_income / filed)
    shot(tab, "screener-first-reported", SHOTS)
    tab.goto(tab.base_url + "/compare?symbols=AAPL,TSLA&metric=revenue&basis=FY&figures=first")
    _await_cell(tab, "compare-history-grid", "company", "AAPL", f"FY{year}", filed)
    shot(tab, "compare-first-reported", SHOTS)
    tab.check("#compare-figures input[value='restated']")
    _await_cell(tab, "compare-history-grid", "company", "AAPL", f"FY{year}", RESTATED_REVENUE)
    tab.wait_for_function("!window.location.search.includes('figures=')")


def test_company_page_marks_the_restated_cell_and_toggles_to_as_first_reported(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """The restated revenue cell is marked, its hover says old -> new and when; the panel under the table
    lists it; "As first reported" shows the revenue as filed, and the link keeps the toggle."""
    _, day, filed = history_db
    tab.goto(tab.base_url + "/?symbol=AAPL")
    tab.wait_for_selector("#company-statement-grid .mycfa-restated-cell")
    marked = tab.locator("#company-statement-grid .mycfa-restated-cell")
    assert marked.count() == 1
    marked.first.hover()
    tip = tab.wait_for_selector(".ag-tooltip")
    assert "Restated" in tip.inner_text()
    assert "→" in tip.inner_text()
    rows = grid_data(tab, "company-restatements-grid")
    assert [(r["fiscal_date"], r["item"]) for r in rows] == [(day.isoformat(), "Revenue")]
    assert rows[0]["new_value"] == pytest.approx(RESTATED_REVENUE)
    revenue = next(r for r in grid_data(tab, "company-statement-grid") if r["field"] == "revenue")
    column = next(c for c in revenue if c.startswith(day.isoformat()))
    assert revenue[column] == pytest.approx(RESTATED_REVENUE)
    shot(tab, "company-restated", SHOTS)
    tab.check("input[value='first']")
    tab.wait_for_function(
        "document.querySelector('#company-asof-text').innerText.startsWith('As first reported')"
    )
    tab.wait_for_function("window.location.search.includes('figures=first')")
    first = next(r for r in grid_data(tab, "company-statement-grid") if r["field"] == "revenue")
    assert first[column] == pytest.approx(filed)


def test_as_of_before_the_store_began_falls_back_to_what_was_filed(tab: Any) -> None:
    """As of 2010-06-30 the store knew nothing of AAPL (its history starts with the runs): the table shows
    the annual statements filed by then, as first reported, and says so with their filing dates."""
    tab.goto(tab.base_url + "/?symbol=AAPL&asof=2010-06-30")
    tab.wait_for_function(
        "document.querySelector('#company-asof-text') && document.querySelector('#company-asof-text').innerText.includes('as first reported')"
    )
    text = tab.inner_text("#company-asof-text")
    assert "held none of AAPL's income statements then" in text, text
    assert "filed" in text
    rows = grid_data(tab, "company-statement-grid")
    dates = [c[:10] for c in rows[0] if c[:1].isdigit()]
    assert dates
    assert max(dates) < "2010-06-30"


def test_a_click_on_a_figure_shows_where_it_came_from(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """Clicking the restated revenue cell opens its trail: the run that fetched it (the second), the
    endpoint, the filing date, and its revision old -> new; CSV + provenance has the same trail per
    period, and pinned to the first run that run's payload and run."""
    db = history_db[0]
    runs = query(db.owner_url, "SELECT max(run_id) FROM runs")[0][0]
    tab.goto(tab.base_url + "/?symbol=AAPL")
    tab.wait_for_selector("#company-statement-grid .mycfa-restated-cell")
    tab.locator("#company-statement-grid .mycfa-restated-cell").first.click()
    card = tab.wait_for_selector("#company-provenance-card")
    text = card.inner_text()
    assert f"run #{runs} (fundamentals" in text, text
    assert "income-statement?symbol=AAPL&period=annual" in text
    assert "Filed:" in text
    revisions = tab.inner_text("#company-provenance-revisions")
    assert "Restated" in revisions
    assert "→" in revisions
    shot(tab, "company-provenance", SHOTS)
    # CSV + provenance: the same trail per period; pinned to the first run, that run's payload.
    day, filed = history_db[1], history_db[2]
    row = _csv_row(tab, "#company-export-trail", day)
    assert float(row["revenue"]) == pytest.approx(RESTATED_REVENUE)
    assert (row["provenance_run_id"], row["provenance_figures"]) == (str(runs), "as the store held it")
    assert row["provenance_endpoint"] == "income-statement?symbol=AAPL&period=annual"
    assert row["provenance_filing_date"]
    first = query(db.owner_url, "SELECT min(run_id) FROM runs")[0][0]
    tab.goto(tab.base_url + f"/?symbol=AAPL&pin={first}")
    _await_href(tab, "#company-export-trail", f"pin={first}")
    row = _csv_row(tab, "#company-export-trail", day)
    assert float(row["revenue"]) == pytest.approx(filed)
    assert row["provenance_run_id"] == str(first)


def test_a_click_on_a_ratio_or_a_close_shows_its_inputs_and_their_runs(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """AAPL's latest net margin: net income over revenue, from the income statement the second run stored
    (FMP's restatement, whose revision is listed); its ROE also reads the balance sheets the first run
    fetched, averaged with the year before. The last close names the first run's price item and its
    endpoints. The CSVs + provenance carry the same runs per row."""
    db, day, _ = history_db
    first, last = query(db.owner_url, "SELECT min(run_id), max(run_id) FROM runs")[0]
    tab.goto(tab.base_url + "/?symbol=AAPL")
    cell = "#company-ratio-grid .ag-row[row-id='{}'] .ag-cell[col-id='" + day.isoformat() + "']"
    tab.wait_for_selector(cell.format("net_margin"))
    tab.click(cell.format("net_margin"))
    text = tab.wait_for_selector("#company-ratio-provenance-card").inner_text()
    assert "Net income over revenue" in text, text
    assert f"run #{last} (fundamentals" in text
    assert "income-statement?symbol=AAPL&period=annual" in text
    assert "Restated" in tab.inner_text("#company-ratio-provenance-revisions")
    tab.click(cell.format("roe"))
    tab.wait_for_function(
        "document.querySelector('#company-ratio-provenance-card').innerText.includes('ROE')"
    )
    text = tab.inner_text("#company-ratio-provenance-card")
    assert "average of" in text, text
    assert f"run #{first} (full" in text  # the balance sheets
    assert "balance-sheet-statement?symbol=AAPL&period=annual" in text
    shot(tab, "company-ratio-provenance", SHOTS)
    tab.click("#company-last-close")
    text = tab.wait_for_selector("#company-price-provenance-card").inner_text()
    assert f"run #{first} (full)" in text, text
    assert "historical-price-eod/full" in text
    assert "symbol=AAPL" in text
    ratios = _csv_row(tab, "#company-export-ratios-trail", day)
    assert ratios["provenance_income_run_id"] == str(last)
    assert ratios["provenance_balance_run_id"] == str(first)
    assert ratios["provenance_income_figures"] == "as the store held it"
    assert ratios["provenance_income_filing_date"]
    closes = list(csv.DictReader(io.StringIO(_csv_text(tab, "#company-export-prices-trail"))))
    assert closes
    assert {r["provenance_run_id"] for r in closes} == {str(first)}
    assert "historical-price-eod/full" in closes[-1]["provenance_endpoint"]


def test_the_price_and_freshness_csvs_hold_the_view_as_of_its_date_and_its_pin(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """As of 2010-06-30 the prices CSV ends by that day and the freshness CSV says what the store held
    then (closes up to it, no statement yet); pinned to the first run, the income statement's last change
    is the first run's, before the restatement the live CSV shows. An unknown run is refused."""
    db = history_db[0]
    first = query(db.owner_url, "SELECT min(run_id) FROM runs")[0][0]
    tab.goto(tab.base_url + "/?symbol=AAPL&asof=2010-06-30")
    _await_href(tab, "#company-export-prices", "as_of=2010-06-30")
    closes = list(csv.DictReader(io.StringIO(_csv_text(tab, "#company-export-prices"))))
    assert closes
    assert max(r["date"][:10] for r in closes) <= "2010-06-30"
    _await_href(tab, "#company-export-freshness", "as_of=2010-06-30")
    then = {r["dataset"]: r for r in csv.DictReader(io.StringIO(_csv_text(tab, "#company-export-freshness")))}
    assert set(then) == {"prices"}
    assert then["prices"]["latest"] <= "2010-06-30"
    assert int(then["prices"]["rows"]) == len(closes)
    tab.goto(tab.base_url + "/?symbol=AAPL")
    _await_href(tab, "#company-export-freshness", "symbol=AAPL")
    live = {r["dataset"]: r for r in csv.DictReader(io.StringIO(_csv_text(tab, "#company-export-freshness")))}
    tab.goto(tab.base_url + f"/?symbol=AAPL&pin={first}")
    _await_href(tab, "#company-export-freshness", f"pin={first}")
    pinned = {
        r["dataset"]: r for r in csv.DictReader(io.StringIO(_csv_text(tab, "#company-export-freshness")))
    }
    assert pinned["income annual"]["latest"] == live["income annual"]["latest"]
    assert pinned["income annual"]["changed"] < live["income annual"]["changed"]  # restated by the 2nd run
    assert pinned["balance annual"] == live["balance annual"]
    refused = tab.context.request.get(tab.base_url + "/export/company/prices.csv?symbol=AAPL&pin=999999")
    assert refused.status == 400
    assert "not in the run ledger" in refused.text()


def test_a_pinned_link_still_shows_the_numbers_from_before_a_later_restatement(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """A link pinned to the first run shows AAPL's revenue as that run stored it, although the second run
    stored FMP's restatement, and says it is pinned; "Pin this view" pins the newest run into the link."""
    db, day, filed = history_db
    first, last = query(db.owner_url, "SELECT min(run_id), max(run_id) FROM runs")[0]
    tab.goto(tab.base_url + f"/?symbol=AAPL&pin={first}")
    tab.wait_for_function(
        "document.querySelector('#company-asof-text') && document.querySelector('#company-asof-text').innerText.startsWith('Pinned')"
    )
    assert f"Pinned to run #{first}" in tab.inner_text("#company-asof-text")
    revenue = next(r for r in grid_data(tab, "company-statement-grid") if r["field"] == "revenue")
    column = next(c for c in revenue if c.startswith(day.isoformat()))
    assert revenue[column] == pytest.approx(filed)
    assert tab.locator("#company-statement-grid .mycfa-restated-cell").count() == 0  # not known then
    assert column == day.isoformat()  # nor marked "(restated)" in its header
    # Its CSVs hold the pinned figures too: the revenue as filed, the net margin on it.
    pinned_csv = {name: _csv_row(tab, f"#company-export-{name}", day) for name in ("statements", "ratios")}
    assert float(pinned_csv["statements"]["revenue"]) == pytest.approx(filed)
    shot(tab, "company-pinned", SHOTS)
    tab.goto(tab.base_url + "/?symbol=AAPL")
    tab.wait_for_selector("#company-statement-grid .ag-row")
    tab.click("#company-pin-button")
    tab.wait_for_function(f"window.location.search.includes('pin={last}')")
    tab.wait_for_function(
        "document.querySelector('#company-asof-text').innerText.startsWith('Pinned to run')"
    )
    pinned = next(r for r in grid_data(tab, "company-statement-grid") if r["field"] == "revenue")
    assert pinned[f"{column} (restated)"] == pytest.approx(RESTATED_REVENUE)  # restated by run `last`
    restated_csv = _csv_row(tab, "#company-export-ratios", day)
    net_income = float(pinned_csv["statements"]["netIncome"])
    assert float(pinned_csv["ratios"]["net_margin"]) == pytest.approx(net_income / filed)
    assert float(restated_csv["net_margin"]) == pytest.approx(net_income / RESTATED_REVENUE)


def test_a_pinned_or_dated_compare_link_shows_the_figures_held_then(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """Compare pinned to the first run says so and shows AAPL's revenue as filed (history grid and CSV),
    though the second run stored FMP's restatement, which the live view and a link pinned to the second
    run show. As of 2010-06-30 it shows only the years filed by then, and closes up to that day."""
    db, day, filed = history_db
    first, last = query(db.owner_url, "SELECT min(run_id), max(run_id) FROM runs")[0]
    year = query(
        db.owner_url,
        "SELECT fiscal_year FROM statements WHERE symbol = 'AAPL' AND kind = 'income' AND period = 'FY'"
        " AND fiscal_date = %s",
        day,
    )[0][0]
    link = tab.base_url + "/compare?symbols=AAPL,TSLA&metric=revenue&basis=FY"
    for pin, revenue in ((first, filed), (last, RESTATED_REVENUE), (None, RESTATED_REVENUE)):
        tab.goto(link + (f"&pin={pin}" if pin else ""))
        _await_cell(tab, "compare-history-grid", "company", "AAPL", f"FY{year}", revenue)
        if pin is None:
            assert tab.locator("#compare-pinned-text").count() == 0
            continue
        tab.wait_for_function(
            f"(e => e && e.innerText.startsWith('Pinned to run #{pin} '))(document.querySelector('#compare-pinned-text'))"
        )
        _await_href(tab, "#compare-export-history", f"pin={pin}")
        rows = list(csv.DictReader(io.StringIO(_csv_text(tab, "#compare-export-history"))))
        row = next(r for r in rows if r["symbol"] == "AAPL" and r["period"] == f"FY{year}")
        assert float(row["value"]) == pytest.approx(revenue)
        _await_href(tab, "#compare-export-ratios", f"pin={pin}")
        if pin == first:
            shot(tab, "compare-pinned", SHOTS)
    tab.goto(link + "&asof=2010-06-30")
    tab.wait_for_function(
        "(e => e && e.innerText.startsWith('As of 2010-06-30'))(document.querySelector('#compare-pinned-text'))"
    )
    note = tab.inner_text("#compare-pinned-text")
    assert "The store held none of AAPL" in note, note  # its history starts with the runs, years later
    tab.wait_for_selector("#compare-history-grid .ag-row")
    aapl = next(r for r in grid_data(tab, "compare-history-grid") if r["company"] == "AAPL")
    years = [int(c[2:]) for c in aapl if c.startswith("FY") and aapl[c] is not None]
    assert years
    assert max(years) <= 2010
    _await_href(tab, "#compare-export-prices", "as_of=2010-06-30")
    closes = list(csv.DictReader(io.StringIO(_csv_text(tab, "#compare-export-prices"))))
    assert closes
    assert max(next(iter(r.values()))[:10] for r in closes) <= "2010-06-30"


def _csv_row(tab: Any, link: str, day: date) -> dict[str, str]:
    """The row of fiscal date `day` of the CSV a link of the page downloads (after its href is set)."""
    rows = list(csv.DictReader(io.StringIO(_csv_text(tab, link))))
    return next(r for r in rows if next(iter(r.values()))[:10] == day.isoformat())


def test_data_quality_counts_coverage_and_restatements_per_week(tab: Any) -> None:
    """The three companies fetched have prices and statements; the other members have none and count as
    uncovered; the week of the restatement has its one restated line."""
    tab.goto(tab.base_url + "/history")
    coverage = {r["dataset"]: r for r in grid_data(tab, "history-coverage-grid")}
    assert coverage["prices"]["companies"] == 2  # AAPL and TSLA: YHOO is no longer a member
    assert coverage["income annual"]["companies"] == 2
    assert coverage["prices"]["members"] > 400
    weeks = grid_data(tab, "history-weeks-grid")
    assert sum(w["lines"] for w in weeks) >= 1


def test_a_pinned_dcf_says_so_and_holds_the_figures_of_its_run(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """Valuation pinned to the first run says so, takes its base year as that run held it, and prices
    EV/Sales on the revenue as filed; pinned to the second, on FMP's restated revenue (same EV)."""
    db, _, filed = history_db
    first, last = query(db.owner_url, "SELECT min(run_id), max(run_id) FROM runs")[0]
    ev_sales = {}
    for run in (first, last):
        tab.goto(tab.base_url + f"/valuation?symbol=AAPL&pin={run}")
        tab.wait_for_function(
            f"(e => e && e.innerText.startsWith('Pinned to run #{run} '))(document.querySelector('#valuation-pinned'))"
        )
        tab.wait_for_selector("#valuation-per-share")
        assert f"held by run #{run}" in tab.inner_text("#valuation-base-year")
        rows = {r["key"]: r for r in grid_data(tab, "valuation-multiples-grid")}
        ev_sales[run] = float(rows["ev_sales"]["value"])
    shot(tab, "valuation-pinned", SHOTS)
    assert ev_sales[first] / ev_sales[last] == pytest.approx(RESTATED_REVENUE / filed, rel=1e-3)


def test_a_portfolio_as_of_a_past_date_and_what_it_returned_next(
    tab: Any, history_db: tuple[Database, date, float]
) -> None:
    """AAPL and Yahoo (which left the index in 2017) held half and half on 2010-06-30: the analysis uses
    the closes up to that day only, and the forward returns 1M/3M/1Y are the buy-and-hold returns from
    that day's closes (checked against the stored prices), beside the benchmark; pinned, it says so."""
    db = history_db[0]

    def close(symbol: str, day: str) -> float:
        return float(
            query(
                db.owner_url,
                "SELECT coalesce(adj_close, close) FROM prices_daily WHERE symbol = %s AND date <= %s"
                " ORDER BY date DESC LIMIT 1",
                symbol,
                date.fromisoformat(day),
            )[0][0]
        )

    expected = {
        horizon: 0.5 * (close("AAPL", end) / close("AAPL", "2010-06-30") - 1)
        + 0.5 * (close("YHOO", end) / close("YHOO", "2010-06-30") - 1)
        for horizon, end in (("1M", "2010-07-30"), ("3M", "2010-09-30"), ("1Y", "2011-06-30"))
    }
    holdings = quote("AAPL 0.5, YHOO 0.5")
    tab.goto(tab.base_url + f"/portfolio?holdings={holdings}&benchmark=equal&asof=2010-06-30")
    _await_cell(tab, "portfolio-forward-grid", "mix", "Chosen mix (buy and hold)", "1Y", expected["1Y"])
    rows = {r["mix"]: r for r in grid_data(tab, "portfolio-forward-grid")}
    for horizon, value in expected.items():
        assert rows["Chosen mix (buy and hold)"][horizon] == pytest.approx(value, abs=1e-4), horizon
    bench = rows["Benchmark"]
    assert rows["Chosen - benchmark"]["1Y"] == pytest.approx(expected["1Y"] - bench["1Y"], abs=2e-4)
    growth = tab.evaluate(
        f"({TRACE_JS})(document.querySelector('#portfolio-growth-graph .js-plotly-plot').data[0])"
    )
    growth_end = str(decoded(growth)["x"][-1])[:10]
    assert growth_end <= "2010-06-30", growth_end
    shot(tab, "portfolio-as-of", SHOTS)
    first = query(db.owner_url, "SELECT min(run_id) FROM runs")[0][0]
    tab.goto(tab.base_url + f"/portfolio?holdings={holdings}&pin={first}")
    tab.wait_for_function(
        f"(e => e && e.innerText.startsWith('Pinned to run #{first} '))(document.querySelector('#portfolio-pinned'))"
    )


def test_a_pinned_screen_keeps_its_rows_after_a_later_run_restates(
    tab: Any,
    history_db: tuple[Database, date, float],
    fake: FakeFMPProcess,  # noqa: F811
    pg_cluster: Cluster,
) -> None:
    """A screen pinned to the newest run says so and lists the same rows (and CSV) after FMP restates
    AAPL's revenue again and a third run stores it, while the live screen changes: AAPL's net margin on
    the second run's revenue passes "net margin >= 50 %", on the third's it does not. Pinned to the
    first run (revenue as filed) AAPL never passed. It adds a run: after the tests of the second run's data."""
    db, day, filed = history_db
    last = query(db.owner_url, "SELECT max(run_id) FROM runs")[0][0]
    first = query(db.owner_url, "SELECT min(run_id) FROM runs")[0][0]
    net_income = query(
        db.owner_url,
        "SELECT (payload->>'netIncome')::float8 FROM statements WHERE symbol = 'AAPL' AND kind = 'income'"
        " AND period = 'FY' AND fiscal_date = %s",
        day,
    )[0][0]
    assert net_income / filed < 0.5 <= net_income / RESTATED_REVENUE
    assert net_income / (10 * RESTATED_REVENUE) < 0.5
    where = quote("net margin >= 50")
    count = "(e => e && e.innerText.startsWith('{}'))(document.querySelector('#screener-count'))"
    tab.goto(tab.base_url + f"/screener?basis=fy&where={where}&pin={last}")
    tab.wait_for_function(count.format("1 company"))
    before = grid_data(tab, "screener-grid")
    assert [r["symbol"] for r in before] == ["AAPL"]
    assert tab.inner_text("#screener-pinned").startswith(f"Pinned to run #{last} (ended ")
    csv_before = _csv_text(tab, "#screener-export-results")
    assert "pin=" in tab.get_attribute("#screener-export-results", "href")
    shot(tab, "screener-pinned", SHOTS)
    tab.goto(tab.base_url + f"/screener?basis=fy&where={where}&pin={first}")
    tab.wait_for_function(count.format("0 companies"))

    _restated_run(fake, db, pg_cluster, day, "revenue", 10 * RESTATED_REVENUE)
    assert query(db.owner_url, "SELECT max(run_id) FROM runs")[0][0] > last

    tab.goto(tab.base_url + f"/screener?basis=fy&where={where}")
    tab.wait_for_function(count.format("0 companies"))  # live: the third run's revenue
    tab.goto(tab.base_url + f"/screener?basis=fy&where={where}&pin={last}")
    tab.wait_for_function(count.format("1 company"))
    assert grid_data(tab, "screener-grid") == before
    assert _csv_text(tab, "#screener-export-results") == csv_before


def _restated_run(
    fake: FakeFMPProcess,  # noqa: F811
    db: Database,
    pg_cluster: Cluster,
    day: date,
    field: str,
    value: Any,
    period: str = "annual",
) -> None:
    """FMP restates one line of AAPL's income statement of `day` (`period` "annual" or "quarter"); a
    fundamentals run fetches it.

    A worker trusts the data version it read for DATA_VERSION_TTL_S: a page loaded before the run may
    still be served from its answer cache until then (a fast run ends inside that window), so this waits
    that long after the run."""
    restated = {"symbol": "AAPL", "dataset": "income", "period": period, "date": day.isoformat()}
    fake.admin("restate", {**restated, "field": field, "value": value})
    env = engine_env(db.owner_url, fake, SYMBOLS, history_start="2009-01-01")
    result = run_engine(env, "run", "--job", "fundamentals")
    assert result.returncode == 0, result.stderr[-3000:]
    wait_for_replica(pg_cluster)
    time.sleep(DATA_VERSION_TTL_S + 0.5)


def _await_href(tab: Any, link: str, text: str) -> None:
    """Wait until the page has set a link's href to one holding `text`."""
    tab.wait_for_function(f"(e => e !== null && e.href.includes('{text}'))(document.querySelector('{link}'))")


def _csv_text(tab: Any, link: str) -> str:
    """The CSV a link of the page downloads, once the page has set its href."""
    tab.wait_for_function(f"document.querySelector('{link}').getAttribute('href') !== '#'")
    href = tab.get_attribute(link, "href")
    response = tab.context.request.get(href if href.startswith("http") else tab.base_url + href)
    assert response.status == 200, response.text()
    return str(response.text())


def test_a_withheld_value_has_its_badge_its_rule_and_its_place_on_the_data_quality_page(
    tab: Any,
    history_db: tuple[Database, date, float],
    fake: FakeFMPProcess,  # noqa: F811
    pg_cluster: Cluster,
) -> None:
    """FMP sends text for AAPL's latest annual operating income: the run withholds that row (the stored
    one stays); the Company page's badge says "1 value withheld as implausible" with the raw value and the
    rule on hover, the line's cell of that period is marked and says the same on hover, so does that
    year's operating income bar of the statement chart and the ratio chart's points reading it (each
    chart with its own badge), the provenance cards of that period's figure and of its operating margin
    name it, and the Point in time page counts it under its rule. Last in the module: it adds a run."""
    db, day, _ = history_db
    _restated_run(fake, db, pg_cluster, day, "operatingIncome", "n/a")
    withheld = query(
        db.owner_url, "SELECT rule, field, raw_value, day FROM withheld_values WHERE symbol = 'AAPL'"
    )
    assert withheld == [("text where a number belongs", "operatingIncome", "n/a", day.isoformat())]
    rule, field, raw, _ = withheld[0]
    sent = f"{field} = {raw} ({rule})"

    tab.goto(tab.base_url + "/?symbol=AAPL")
    badge = tab.wait_for_selector("#company-withheld-badge")
    assert badge.inner_text() == "1 value withheld as implausible"
    hover = badge.get_attribute("title") or ""
    assert f"{field} = {raw}: {rule}" in hover, hover
    marked = tab.locator("#company-statement-grid .mycfa-withheld-cell")
    assert marked.count() == 1
    assert tab.locator(f"#company-statement-grid .ag-row[row-id='{field}'] .mycfa-withheld-cell").count() == 1
    marked.first.hover()
    tip = tab.wait_for_selector(".ag-tooltip")
    assert f"Withheld: FMP sent {sent}" in tip.inner_text()
    _charts_mark_the_withheld_value(tab, f"FY{day.year}", f"{field} = {raw}: {rule}", f"FMP sent {sent}")
    tab.click("#company-statement-grid .mycfa-restated-cell")  # the period's restated revenue
    text = tab.wait_for_selector("#company-provenance-card").inner_text()
    assert f"Withheld in this period: {sent[:-1]}" in text, text
    ratio = f"#company-ratio-grid .ag-row[row-id='operating_margin'] .ag-cell[col-id='{day.isoformat()}']"
    tab.click(ratio)
    text = tab.wait_for_selector("#company-ratio-provenance-card").inner_text()
    assert f"Withheld in these periods: {sent[:-1]}" in text, text
    shot(tab, "company-withheld", SHOTS)
    tab.goto(tab.base_url + "/history?symbol=AAPL")
    rules = {r["rule"]: r for r in grid_data(tab, "history-withheld-rules")}
    assert rules[rule]["rows"] >= 1
    rows = grid_data(tab, "history-withheld-grid")
    assert [(r["symbol"], r["field"], r["raw_value"]) for r in rows] == [("AAPL", field, raw)]


def _charts_mark_the_withheld_value(tab: Any, year: str, detail: str, sent: str) -> None:
    """The statement chart's operating income bar of `year` is hatched and hovers what FMP sent; the ratio
    chart rings exactly the ratios reading operating income that year (trails.RATIO_INPUTS), and a ring
    hovers the same; each chart's badge counts one value with its detail on hover."""
    for badge in ("#company-statement-withheld-badge", "#company-ratio-withheld-badge"):
        element = tab.wait_for_selector(badge)
        assert element.inner_text() == "1 value withheld as implausible"
        assert detail in (element.get_attribute("title") or "")
    figure = "document.querySelector('#company-{} .js-plotly-plot')"
    bars = tab.evaluate(f"() => {figure.format('statement-graph')}.data")
    income = next(t for t in bars if t["name"] == "Operating income")
    at = income["x"].index(year)
    assert [i for i, shape in enumerate(income["marker"]["pattern"]["shape"]) if shape] == [at]
    assert sent in income["customdata"][at]
    assert not any(t.get("customdata") for t in bars if t["name"] != "Operating income")
    lines = tab.evaluate(f"() => {figure.format('ratio-graph')}.data")
    ring = lines[-1]
    reading = {formats.label(r) for r, ins in trails.RATIO_INPUTS.items() if "operatingIncome" in ins[0]}
    plotted = {t["name"] for t in lines[:-1]}
    assert ring["name"] == "withheld as implausible"
    assert ring["x"] == [year] * len(plotted & reading), ring
    assert {text.split(",")[0] for text in ring["text"]} == plotted & reading
    _hover(tab, tab.locator("#company-ratio-graph .scatterlayer .trace").last.locator(".point").first)
    tab.wait_for_function(
        f"(e => e && e.textContent.includes({sent!r}))(document.querySelector('#company-ratio-graph .hoverlayer'))"
    )
    bar = tab.locator("#company-statement-graph .barlayer .trace").nth(bars.index(income))
    _hover(tab, bar.locator(".point").nth(at))
    tab.wait_for_function(
        f"(e => e && e.textContent.includes({sent!r}))"
        "(document.querySelector('#company-statement-graph .hoverlayer'))"
    )


def _hover(tab: Any, point: Any) -> None:
    """Move the mouse onto a plotted point (plotly listens on the layer above it, so the mouse moves to
    the point's centre rather than hovering the element), scrolled into view first."""
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    tab.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
