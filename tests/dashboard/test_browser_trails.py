"""Provenance beyond the Company page, in a real browser (#29, point 3): a click on a Screener cell, a
Portfolio holding or a Forecast point shows where it came from, checked against what the database holds,
live and pinned; each page's CSV + provenance carries the same trail. The data: the point-in-time module's
(a full run of AAPL, TSLA and YHOO from the fake FMP over HTTP, then FMP restating AAPL's latest annual
revenue and a fundamentals run storing it)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest

from dashboard.components.formats import line_item
from dashboard.components.point_in_time import amount
from devkit.fingerprint import query
from tests.conftest import Database
from tests.dashboard.test_browser import shot
from tests.dashboard.test_browser_history import (  # noqa: F401  (module fixtures)
    SHOTS,
    _csv_text,
    history_db,
    tab,
)
from tests.engine.runs.test_point_in_time import fake  # noqa: F401  (the fake, a module fixture)

pytestmark = pytest.mark.e2e
CARD = "#screener-provenance-card"


def _runs(db: Database) -> tuple[int, int]:
    first, last = query(db.owner_url, "SELECT min(run_id), max(run_id) FROM runs")[0]
    return int(first), int(last)


def _filed(db: Database, symbol: str, kind: str, day: date) -> str:
    return str(
        query(
            db.owner_url,
            "SELECT filing_date FROM statements WHERE symbol = %s AND kind = %s AND period = 'FY'"
            " AND fiscal_date = %s",
            symbol,
            kind,
            day,
        )[0][0]
    )


def _card(page: Any, selector: str, card: str, wanted: str) -> str:
    """Click a cell and wait for its card to name `wanted` (a card of an earlier click may still show)."""
    page.wait_for_selector(selector)
    page.click(selector)
    page.wait_for_function(
        f"(e => e !== null && e.innerText.includes({wanted!r}))(document.querySelector('{card}'))"
    )
    return str(page.inner_text(card))


def _cell(symbol: str, column: str) -> str:
    return f"#screener-grid .ag-row[row-id='{symbol}'] .ag-cell[col-id='{column}']"


def _csv_rows(page: Any, link: str) -> dict[str, dict[str, str]]:
    return {r["symbol"]: r for r in csv.DictReader(io.StringIO(_csv_text(page, link)))}


def test_a_click_on_a_screener_figure_shows_its_inputs_statements_and_close(
    tab: Any,  # noqa: F811
    history_db: tuple[Database, date, float],  # noqa: F811
) -> None:
    """AAPL's net margin on the fiscal-year basis: net income over revenue, from the income statement the
    second run stored (FMP's restatement, listed with old -> new) with its filing date; its P/E reads the
    close too, whose fetch names the first run's price item and its endpoint. CSV + provenance carries the
    same runs per company."""
    db, day, _ = history_db
    first, last = _runs(db)
    close_day, close = query(
        db.owner_url, "SELECT date, close FROM prices_daily WHERE symbol = 'AAPL' ORDER BY date DESC LIMIT 1"
    )[0]
    tab.goto(tab.base_url + "/screener?basis=fy")
    text = _card(tab, _cell("AAPL", "net_margin"), CARD, "Net margin")
    assert f"FY to {day.isoformat()}" in text, text
    assert "Net income over revenue" in text
    assert f"run #{last} (fundamentals" in text
    assert f"filed {_filed(db, 'AAPL', 'income', day)}" in text
    assert "income-statement?symbol=AAPL&period=annual" in text
    assert "Restated" in tab.inner_text("#screener-provenance-revisions")
    shot(tab, "screener-provenance", SHOTS)
    text = _card(tab, _cell("AAPL", "pe"), CARD, "P/E")
    assert f"Close of {close_day.isoformat()}: USD {float(close):,.2f} traded" in text, text
    assert f"run #{first} (full); its AAPL prices item" in tab.inner_text("#screener-provenance-run")
    assert "historical-price-eod/full" in text
    assert "Market cap = close" in text
    rows = _csv_rows(tab, "#screener-export-results-trail")
    assert rows["AAPL"]["provenance_income_run_id"] == str(last)
    assert rows["AAPL"]["provenance_balance_run_id"] == str(first)
    assert rows["AAPL"]["provenance_income_filing_date"] == _filed(db, "AAPL", "income", day)
    assert rows["AAPL"]["provenance_income_endpoint"] == "income-statement?symbol=AAPL&period=annual"
    assert rows["AAPL"]["provenance_run_id"] == str(first)
    assert "historical-price-eod/full" in rows["AAPL"]["provenance_endpoint"]


def test_a_pinned_screen_shows_the_trail_of_its_pinned_data(
    tab: Any,  # noqa: F811
    history_db: tuple[Database, date, float],  # noqa: F811
) -> None:
    """Pinned to the first run, AAPL's net margin reads the income statement that run stored (as filed,
    before the restatement the second run stored: no revision by then), and the CSV + provenance names
    that run for it."""
    db, day, filed = history_db
    first, last = _runs(db)
    tab.goto(tab.base_url + f"/screener?basis=fy&pin={first}")
    tab.wait_for_function(
        f"(e => e && e.innerText.startsWith('Pinned to run #{first} '))(document.querySelector('#screener-pinned'))"
    )
    text = _card(tab, _cell("AAPL", "net_margin"), CARD, "Net margin")
    assert f"run #{first} (full" in text, text
    assert f"run #{last}" not in text
    assert "none: as first reported" in tab.inner_text("#screener-provenance-revisions")
    income = query(
        db.owner_url,
        "SELECT (payload->>'netIncome')::float8 FROM statements WHERE symbol = 'AAPL' AND kind = 'income'"
        " AND period = 'FY' AND fiscal_date = %s",
        day,
    )[0][0]
    assert f"Revenue (income) = {amount(filed, line_item('revenue').kind)}" in text, text
    rows = _csv_rows(tab, "#screener-export-results-trail")
    assert f"pin={first}" in tab.get_attribute("#screener-export-results-trail", "href")
    assert float(rows["AAPL"]["net_margin"]) == pytest.approx(income / filed)
    assert rows["AAPL"]["provenance_income_run_id"] == str(first)


def _window(db: Database, up_to: str | None = None) -> tuple[str, str]:
    """The first and last day both AAPL and YHOO have a close (up to a day)."""
    start, end = query(
        db.owner_url,
        "SELECT min(a.date), max(a.date) FROM prices_daily a JOIN prices_daily b USING (date)"
        " WHERE a.symbol = 'AAPL' AND b.symbol = 'YHOO' AND a.date <= coalesce(%s::date, a.date)",
        up_to,
    )[0]
    return start.isoformat(), end.isoformat()


def test_a_click_on_a_portfolio_holding_shows_its_closes_window_and_runs(
    tab: Any,  # noqa: F811
    history_db: tuple[Database, date, float],  # noqa: F811
) -> None:
    """AAPL in a half-and-half mix with YHOO: its closes from the first to the last common day, fetched by
    the first run's price item (with the endpoint), the return over them; as of 2010-06-30 the window ends
    by that day, pinned it says it ends where the run did. The closes CSV + provenance has every close
    used with its run."""
    db = history_db[0]
    first, _ = _runs(db)
    holdings = "AAPL%200.5%2C%20YHOO%200.5"
    cell = "#portfolio-weights-grid .ag-row[row-id='AAPL'] .ag-cell[col-id='chosen']"
    card = "#portfolio-provenance-card"
    tab.goto(tab.base_url + f"/portfolio?holdings={holdings}&benchmark=equal")
    start, end = _window(db)
    text = _card(tab, cell, card, "AAPL")
    assert f"Window: {start} to {end}" in text, text
    assert f"run #{first} (full)" in text
    assert "historical-price-eod/full" in text
    assert f"run #{first} (full); its AAPL prices item" in tab.inner_text("#portfolio-provenance-run")
    shot(tab, "portfolio-provenance", SHOTS)
    rows = list(csv.DictReader(io.StringIO(_csv_text(tab, "#portfolio-export-closes-trail"))))
    assert {r["symbol"] for r in rows} == {"AAPL", "YHOO"}
    assert (min(r["date"][:10] for r in rows), max(r["date"][:10] for r in rows)) == (start, end)
    assert {r["provenance_run_id"] for r in rows} == {str(first)}
    tab.goto(tab.base_url + f"/portfolio?holdings={holdings}&benchmark=equal&asof=2010-06-30")
    start, end = _window(db, "2010-06-30")
    text = _card(tab, cell, card, "up to 2010-06-30")
    assert f"Window: {start} to {end}" in text, text
    tab.goto(tab.base_url + f"/portfolio?holdings={holdings}&benchmark=equal&pin={first}")
    text = _card(tab, cell, card, f"up to the day run #{first} ended")
    assert f"run #{first} (full)" in text, text


def _click_point(page: Any, trace: int, point: int) -> None:
    """A real mouse click on one marker of the forecast chart (Plotly finds the point under the mouse)."""
    marker = (
        page.locator("#forecast-graph .scatterlayer .trace").nth(trace).locator(".points path").nth(point)
    )
    box = marker.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_a_click_on_a_forecast_point_shows_its_stored_value_or_its_model(
    tab: Any,  # noqa: F811
    history_db: tuple[Database, date, float],  # noqa: F811
) -> None:
    """AAPL's annual revenue: a click on the last history point shows that statement value's trail (the
    second run's restated payload, its filing date, the endpoint, the revision); a click on a forecast
    point says it is model output fitted on the history. The CSV + provenance carries the same per row."""
    db, day, _ = history_db
    first, last = _runs(db)
    tab.goto(tab.base_url + "/forecast?symbol=AAPL&series=revenue&frequency=FY&method=ets")
    tab.wait_for_selector("#forecast-graph .scatterlayer .trace .points path")
    history = tab.locator("#forecast-graph .scatterlayer .trace").nth(0).locator(".points path").count()
    _click_point(tab, 0, history - 1)
    tab.wait_for_function(
        "(e => e !== null && e.innerText.includes('Revenue'))(document.querySelector('#forecast-provenance-card'))"
    )
    text = tab.inner_text("#forecast-provenance-card")
    assert f"Revenue ({day.isoformat()})" in text, text
    assert f"run #{last} (fundamentals" in tab.inner_text("#forecast-provenance-run")
    assert f"Filed: {_filed(db, 'AAPL', 'income', day)}" in text
    assert "income-statement?symbol=AAPL&period=annual" in text
    assert "Restated" in tab.inner_text("#forecast-provenance-revisions")
    shot(tab, "forecast-provenance", SHOTS)
    _click_point(tab, 3, 0)
    tab.wait_for_function(
        "(e => e !== null && e.innerText.includes('model output'))(document.querySelector('#forecast-provenance-card'))"
    )
    assert f"fitted on the {history} history points" in tab.inner_text("#forecast-provenance-model")
    rows = list(csv.DictReader(io.StringIO(_csv_text(tab, "#forecast-export-series-trail"))))
    actual = [r for r in rows if r["actual"]]
    assert len(actual) == history
    latest = next(r for r in actual if r[next(iter(r))][:10] == day.isoformat())
    assert latest["provenance_run_id"] == str(last)
    assert latest["provenance_endpoint"] == "income-statement?symbol=AAPL&period=annual"
    assert latest["provenance_filing_date"] == _filed(db, "AAPL", "income", day)
    assert {r["provenance_run_id"] for r in actual if r is not latest} <= {str(first), str(last)}
    assert all(r["provenance_figures"].startswith("model output") for r in rows if not r["actual"])


def test_a_ttm_screener_figure_names_the_quarters_it_sums(
    tab: Any,  # noqa: F811
    history_db: tuple[Database, date, float],  # noqa: F811
) -> None:
    """On the trailing-twelve-months basis AAPL's net margin is "TTM to" its latest quarter: the card lists
    the four quarterly income statements summed, each with the run that fetched it and the quarterly
    endpoint, and the CSV + provenance names that quarter's payload."""
    db = history_db[0]
    quarters = query(
        db.owner_url,
        "SELECT fiscal_date, run_id, filing_date FROM statements WHERE symbol = 'AAPL' AND kind = 'income'"
        " AND period <> 'FY' ORDER BY fiscal_date DESC LIMIT 4",
    )
    latest, run, filed = quarters[0]
    tab.goto(tab.base_url + "/screener?basis=ttm")
    text = _card(tab, _cell("AAPL", "net_margin"), CARD, "Net margin")
    assert f"TTM to {latest.isoformat()}" in text, text
    for day, _, _ in quarters:
        assert f"Income, quarter ending {day.isoformat()}:" in text, text
    assert f"fetched by run #{run} (" in text
    assert "income-statement?symbol=AAPL&period=quarter" in text
    row = _csv_rows(tab, "#screener-export-results-trail")["AAPL"]
    assert (row["basis"], row["period_end"][:10]) == ("TTM", latest.isoformat())
    assert row["provenance_income_run_id"] == str(run)
    assert row["provenance_income_filing_date"] == str(filed)
    assert row["provenance_income_endpoint"] == "income-statement?symbol=AAPL&period=quarter"
