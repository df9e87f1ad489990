"""Provenance on Valuation and Compare in a real browser, on data the engine fetched from the fake FMP
server over HTTP (the Point in time tests' database: a full run, then a fundamentals run picking up FMP's
restatement of AAPL's latest annual revenue): a click on a figure shows its trail, checked against the
database, live and pinned to the first run; the CSVs + provenance carry the same trail. The last test
restates a quarter in the fake and adds a third run (so it runs last)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest

from devkit.fingerprint import query
from fakefmp.process import FakeFMPProcess
from tests.conftest import Cluster, Database
from tests.dashboard.test_browser import shot
from tests.dashboard.test_browser_demo import grid_data
from tests.dashboard.test_browser_history import (  # noqa: F401  (module fixtures: the database, the tab)
    SHOTS,
    _await_href,
    _csv_text,
    _restated_run,
    history_db,
    tab,
)
from tests.engine.runs.test_point_in_time import SYMBOLS, fake  # noqa: F401  (the fake, a module fixture)

pytestmark = pytest.mark.e2e
LATEST = (
    "SELECT run_id, filing_date FROM statements WHERE symbol = 'AAPL' AND kind = %s AND period = 'FY'"
    " ORDER BY fiscal_date DESC LIMIT 1"
)


def _statement(db: Database, kind: str) -> tuple[int, date]:
    """The run that stored AAPL's latest annual statement of `kind`, and its filing date."""
    run_id, filed = query(db.owner_url, LATEST, kind)[0]
    return int(run_id), filed


def _click(page: Any, key: str) -> str:
    """Click a figure's value in Valuation's table of figures; the card's text once it names the figure."""
    cell = f"#valuation-inputs-grid .ag-row[row-id='{key}'] .ag-cell[col-id='shown']"
    page.wait_for_selector(cell)
    before = page.inner_text("#valuation-provenance")
    page.click(cell)
    page.wait_for_function(
        "(([b]) => { const e = document.querySelector('#valuation-provenance');"
        " return e && e.innerText.includes('comes from') && e.innerText !== b; })",
        arg=[before],
    )
    return str(page.inner_text("#valuation-provenance"))


def _rows(page: Any, link: str) -> dict[str, dict[str, str]]:
    return {r["figure"]: r for r in csv.DictReader(io.StringIO(_csv_text(page, link)))}


def test_a_click_on_a_dcf_input_shows_the_run_filing_date_and_endpoint_it_came_from(
    tab: Any,  # noqa: F811
    history_db: tuple[Database, date, float],  # noqa: F811
) -> None:
    """AAPL's free cash flow (cash-flow statement, stored by the first run) and EBITDA (income statement,
    stored again by the second run, which picked up the restatement): each card names the run, the
    filing date and the endpoint the database holds; the close names its price item's run; a computed
    figure says it is computed and from which figures. CSV + provenance has the same runs per row."""
    db = history_db[0]
    cash_run, cash_filed = _statement(db, "cashflow")
    income_run, income_filed = _statement(db, "income")
    first, last = query(db.owner_url, "SELECT min(run_id), max(run_id) FROM runs")[0]
    assert (cash_run, income_run) == (first, last)  # the two runs differ: the check below can tell them apart
    tab.goto(tab.base_url + "/valuation?symbol=AAPL")
    text = _click(tab, "fcf")
    assert f"run #{cash_run} (full" in text, text
    assert f"Filed: {cash_filed:%Y-%m-%d}" in text
    assert "cash-flow-statement?symbol=AAPL&period=annual" in text
    shot(tab, "valuation-provenance", SHOTS)
    text = _click(tab, "ebitda")
    assert f"run #{income_run} (fundamentals" in text, text
    assert f"Filed: {income_filed:%Y-%m-%d}" in text
    assert "income-statement?symbol=AAPL&period=annual" in text
    text = _click(tab, "price")
    assert f"run #{first} (full)" in text, text
    assert "historical-price-eod/full" in text
    text = _click(tab, "per_share")
    assert "computed by this page, not fetched" in text, text
    assert "Equity value" in text
    assert "Shares" in text
    rows = _rows(tab, "#valuation-export-inputs-trail")
    assert rows["fcf"]["provenance_run_id"] == str(cash_run)
    assert rows["fcf"]["provenance_filing_date"] == f"{cash_filed:%Y-%m-%d}"
    assert rows["fcf"]["provenance_endpoint"] == "cash-flow-statement?symbol=AAPL&period=annual"
    assert rows["ebitda"]["provenance_run_id"] == str(income_run)
    assert rows["price"]["provenance_run_id"] == str(first)
    assert rows["per_share"]["provenance_figures"] == "computed"
    assert rows["per_share"]["computed_from"] == "equity_value,shares"


def test_a_pinned_dcf_shows_the_trail_of_the_figures_its_run_held(
    tab: Any,  # noqa: F811
    history_db: tuple[Database, date, float],  # noqa: F811
) -> None:
    """Pinned to the first run, AAPL's EBITDA is the income statement as that run stored it: its card and
    its CSV row name the first run, not the second that re-stored the statement after FMP's restatement."""
    db = history_db[0]
    first, last = query(db.owner_url, "SELECT min(run_id), max(run_id) FROM runs")[0]
    tab.goto(tab.base_url + f"/valuation?symbol=AAPL&pin={first}")
    tab.wait_for_function(
        f"(e => e && e.innerText.startsWith('Pinned to run #{first} '))(document.querySelector('#valuation-pinned'))"
    )
    text = _click(tab, "ebitda")
    assert f"run #{first} (full" in text, text
    assert f"run #{last}" not in text
    assert "income-statement?symbol=AAPL&period=annual" in text
    shot(tab, "valuation-provenance-pinned", SHOTS)
    _await_href(tab, "#valuation-export-inputs-trail", f"pin={first}")
    rows = _rows(tab, "#valuation-export-inputs-trail")
    assert rows["ebitda"]["provenance_run_id"] == str(first)
    assert rows["ebitda"]["provenance_figures"] == "as the store held it"


def _table(page: Any, link: str) -> list[dict[str, str]]:
    """The rows of the CSV a link downloads, once the page holds the link and has set it."""
    page.wait_for_selector(link, state="attached")
    return list(csv.DictReader(io.StringIO(_csv_text(page, link))))


def test_valuation_tables_with_provenance_name_the_stored_rows_they_are_computed_from(
    tab: Any,  # noqa: F811
    history_db: tuple[Database, date, float],  # noqa: F811
) -> None:
    """AAPL's projection, grid and multiples CSV + provenance: every value "computed", from what; the base
    year's cash-flow statement (first run) and income statement (re-stored by the second run after FMP's
    restatement) with the run ids, filing dates and endpoints the database holds, and the close's fetch;
    the multiples the statements of their row's period. Pinned to the first run: the first run's income
    statement and the quarter it held for the share count, no later run."""
    db = history_db[0]
    cash_run, cash_filed = _statement(db, "cashflow")
    income_run, income_filed = _statement(db, "income")
    first, last = query(db.owner_url, "SELECT min(run_id), max(run_id) FROM runs")[0]
    tab.goto(tab.base_url + "/valuation?symbol=AAPL")
    projection = _table(tab, "#valuation-export-projection-trail")
    grid = _table(tab, "#valuation-export-grid-trail")
    assert (len(projection), len(grid)) == (5, 5)
    for row in projection + grid:
        assert row["provenance_figures"] == "computed"
        assert row["provenance_cashflow_run_id"] == str(cash_run)
        assert row["provenance_cashflow_filing_date"] == f"{cash_filed:%Y-%m-%d}"
        assert row["provenance_cashflow_endpoint"] == "cash-flow-statement?symbol=AAPL&period=annual"
        assert row["provenance_income_run_id"] == str(income_run)
        assert row["provenance_income_filing_date"] == f"{income_filed:%Y-%m-%d}"
        assert row["provenance_run_id"] == str(first)  # the close's price item
        assert "historical-price-eod/full" in row["provenance_endpoint"]
    assert projection[0]["provenance_computed_from"] == "fcf,wacc,growth,years,fade,terminal"
    assert grid[0]["provenance_computed_from"] == "fcf,net_debt,shares,wacc,growth,years,fade,terminal"
    multiples = {r["multiple"]: r for r in _table(tab, "#valuation-export-multiples-trail")}
    pe = multiples["pe"]
    annual = pe["basis"] == "FY"
    run_id, filed = query(
        db.owner_url,
        "SELECT run_id, filing_date FROM statements WHERE symbol = 'AAPL' AND kind = 'income'"
        " AND (period = 'FY') = %s AND fiscal_date = %s",
        annual,
        pe["period_end"],
    )[0]
    assert pe["provenance_computed_from"] == "price,shares,netIncome"
    assert pe["provenance_income_run_id"] == str(run_id)
    assert pe["provenance_income_filing_date"] == ("" if filed is None else f"{filed:%Y-%m-%d}")
    assert pe["provenance_income_endpoint"] == (
        f"income-statement?symbol=AAPL&period={'annual' if annual else 'quarter'}"
    )
    assert pe["provenance_balance_run_id"] == ""  # P/E reads no balance-sheet line
    assert multiples["pb"]["provenance_balance_run_id"] != ""

    tab.goto(tab.base_url + f"/valuation?symbol=AAPL&pin={first}")
    _await_href(tab, "#valuation-export-grid-trail", f"pin={first}")
    for row in _table(tab, "#valuation-export-grid-trail"):
        assert row["provenance_income_run_id"] == str(first)
        assert row["provenance_cashflow_run_id"] == str(first)
        assert row["provenance_shares_run_id"] == str(first)
        assert row["provenance_shares_endpoint"] == "income-statement?symbol=AAPL&period=quarter"
        assert row["provenance_shares_figures"] == "as the store held it"
        assert str(last) not in {row[c] for c in row if c.endswith("run_id")}
    _await_href(tab, "#valuation-export-multiples-trail", f"pin={first}")
    pinned = {r["multiple"]: r for r in _table(tab, "#valuation-export-multiples-trail")}
    assert pinned["pe"]["basis"] == "FY"
    assert pinned["pe"]["provenance_income_run_id"] == str(first)
    assert pinned["pe"]["provenance_income_endpoint"] == "income-statement?symbol=AAPL&period=annual"
    assert pinned["pe"]["provenance_sector_median"] == ""  # no sector median for a pinned run


def _compare_card(page: Any, symbol: str, column: str, wanted: str) -> str:
    """Click a figure of Compare's latest figures; the card's text once it names `wanted`."""
    cell = f"#compare-grid .ag-row[row-id='{symbol}'] .ag-cell[col-id='{column}']"
    page.wait_for_selector(cell)
    page.click(cell)
    page.wait_for_function(
        f"(e => e !== null && e.innerText.includes({wanted!r}))(document.querySelector('#compare-provenance'))"
    )
    return str(page.inner_text("#compare-provenance"))


def _compare_csv(page: Any) -> dict[str, dict[str, str]]:
    rows = csv.DictReader(io.StringIO(_csv_text(page, "#compare-export-ratios-trail")))
    return {r["symbol"]: r for r in rows}


def test_a_click_on_a_compare_figure_shows_the_statement_and_close_it_came_from(
    tab: Any,  # noqa: F811
    history_db: tuple[Database, date, float],  # noqa: F811
) -> None:
    """AAPL's net margin in Compare's latest figures names the income statement of the row's period (TTM:
    the quarter it ends on; else the fiscal year) with the run, filing date and endpoint the database
    holds for it; its P/E names the close's fetch; CSV + provenance carries the same runs per company."""
    db = history_db[0]
    first = query(db.owner_url, "SELECT min(run_id) FROM runs")[0][0]
    tab.goto(tab.base_url + "/compare?symbols=AAPL,TSLA")
    tab.wait_for_selector("#compare-grid .ag-row[row-id='AAPL']")
    row = next(r for r in grid_data(tab, "compare-grid") if r["symbol"] == "AAPL")
    annual = not str(row["basis_shown"]).startswith("TTM")
    run_id, filed = query(
        db.owner_url,
        "SELECT run_id, filing_date FROM statements WHERE symbol = 'AAPL' AND kind = 'income'"
        " AND (period = 'FY') = %s AND fiscal_date = %s",
        annual,
        str(row["period_end"])[:10],
    )[0]
    endpoint = f"income-statement?symbol=AAPL&period={'annual' if annual else 'quarter'}"
    text = _compare_card(tab, "AAPL", "net_margin", "Net margin")
    assert f"fetched by run #{run_id} (" in text, text
    assert endpoint in text
    if filed is not None:
        assert f"filed {filed:%Y-%m-%d}" in text
    shot(tab, "compare-provenance", SHOTS)
    text = _compare_card(tab, "AAPL", "pe", "P/E")
    assert f"run #{first} (full); its AAPL prices item" in text, text
    assert "historical-price-eod/full" in text
    # The history (net margin, fiscal years) CSV + provenance: the latest year's income statement is the
    # one the second run stored after FMP's restatement, its balance sheet the first run's.
    history = list(csv.DictReader(io.StringIO(_csv_text(tab, "#compare-export-history-trail"))))
    latest = max((r for r in history if r["symbol"] == "AAPL"), key=lambda r: r["period_end"])
    income_run, income_filed = _statement(db, "income")
    assert latest["provenance_income_run_id"] == str(income_run)
    assert latest["provenance_income_filing_date"] == f"{income_filed:%Y-%m-%d}"
    assert latest["provenance_balance_run_id"] == str(first)
    assert latest["provenance_income_endpoint"] == "income-statement?symbol=AAPL&period=annual"
    rows = _compare_csv(tab)
    assert rows["AAPL"]["provenance_income_run_id"] == str(run_id)
    assert rows["AAPL"]["provenance_income_endpoint"] == endpoint
    assert rows["AAPL"]["provenance_run_id"] == str(first)


def test_a_pinned_compare_shows_the_trail_of_its_pinned_data(
    tab: Any,  # noqa: F811
    history_db: tuple[Database, date, float],  # noqa: F811
    fake: FakeFMPProcess,  # noqa: F811
    pg_cluster: Cluster,
) -> None:
    """FMP restates the net income of the quarter AAPL's TTM row ends on and a fundamentals run stores it:
    live, the net margin's card and CSV + provenance row name that run; pinned to the first run, the
    first run's payload, and no later run."""
    db = history_db[0]
    first = query(db.owner_url, "SELECT min(run_id) FROM runs")[0][0]
    tab.goto(tab.base_url + "/compare?symbols=AAPL,TSLA")
    tab.wait_for_selector("#compare-grid .ag-row[row-id='AAPL']")
    row = next(r for r in grid_data(tab, "compare-grid") if r["symbol"] == "AAPL")
    assert str(row["basis_shown"]).startswith("TTM"), row  # the quarters: the restatement below is one
    day = str(row["period_end"])[:10]
    _restated_run(fake, db, pg_cluster, date.fromisoformat(day), "netIncome", 1_234_567_000.0, "quarter")
    latest = query(db.owner_url, "SELECT max(run_id) FROM runs")[0][0]
    held = query(
        db.owner_url,
        "SELECT run_id FROM statements WHERE symbol = 'AAPL' AND kind = 'income' AND period <> 'FY'"
        " AND fiscal_date = %s",
        day,
    )[0][0]
    assert held == latest
    tab.goto(tab.base_url + "/compare?symbols=AAPL,TSLA")
    text = _compare_card(tab, "AAPL", "net_margin", "Net margin")
    assert f"quarter ending {day}: as the store held it" in text, text
    assert f"fetched by run #{latest} (fundamentals" in text
    assert _compare_csv(tab)["AAPL"]["provenance_income_run_id"] == str(latest)
    tab.goto(tab.base_url + f"/compare?symbols=AAPL,TSLA&pin={first}")
    tab.wait_for_function(
        f"(e => e && e.innerText.startsWith('Pinned to run #{first} '))(document.querySelector('#compare-pinned'))"
    )
    text = _compare_card(tab, "AAPL", "net_margin", "Net margin")
    assert f"quarter ending {day}: as the store held it" in text, text
    assert f"fetched by run #{first} (full" in text
    assert f"run #{latest}" not in text
    shot(tab, "compare-provenance-pinned", SHOTS)
    _await_href(tab, "#compare-export-ratios-trail", f"pin={first}")
    assert _compare_csv(tab)["AAPL"]["provenance_income_run_id"] == str(first)
