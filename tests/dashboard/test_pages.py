"""Every page's callbacks through the real Dash endpoint, logged in, on seeded data: numbers and charts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from dashboard.analytics.evaluate import Regression
from devkit import callbacks
from tests.dashboard import plotted


def call(
    client: FlaskClient, deps: list[dict[str, Any]], output_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    response = client.post(
        "/_dash-update-component", json=callbacks.body(callbacks.find(deps, output_id), values)
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]  # type: ignore[no-any-return]


Call = Callable[[str, dict[str, Any]], dict[str, Any]]


@pytest.fixture
def callback_as(logged_in: Callable[[str], FlaskClient], deps: list[dict[str, Any]]) -> Callable[[str], Call]:
    """Log a user in; the answer calls a callback (its output id, its inputs) as that user."""

    def as_user(username: str) -> Call:
        client = logged_in(username)
        return lambda output_id, values: call(client, deps, output_id, values)

    return as_user


@pytest.fixture
def ann(callback_as: Callable[[str], Call]) -> Call:
    """Callbacks called as the analyst ann."""
    return callback_as("ann")


def row_data(out: dict[str, Any], output_id: str) -> list[dict[str, Any]]:
    """The rows of the AG Grid a callback put into `output_id`."""
    rows: list[dict[str, Any]] = out[output_id]["children"]["props"]["rowData"]
    return rows


def find_id(node: Any, id_: str) -> Any:
    """The children of the component with this id in a serialised layout tree (None if absent)."""
    if isinstance(node, dict):
        props = node.get("props", {})
        if props.get("id") == id_:
            return props.get("children")
        return find_id(props.get("children"), id_)
    if isinstance(node, list):
        for child in node:
            found = find_id(child, id_)
            if found is not None:
                return found
    return None


def test_company_price_callback_returns_candles_with_volume_and_overlay(ann: Call) -> None:
    """The Company price callback draws candles, volume and the chosen SMA for a real ticker."""
    out = ann(
        "company-price-graph",
        {
            "company-symbol": "MSFT",
            "company-adjusted": "adj",
            "company-overlays": ["sma_50"],
            "company-range": "1Y",
        },
    )
    traces = out["company-price-graph"]["figure"]["data"]
    assert [t["type"] for t in traces] == ["candlestick", "scatter", "bar"]
    assert 240 <= len(traces[0]["x"]) <= 270  # one year of business days
    assert out["company-export-prices"]["href"].startswith("/export/company/prices.csv?symbol=MSFT")


def test_company_oscillator_panels_share_the_price_x_axis(ann: Call) -> None:
    """Ticked oscillators get their own axes under the volume, on the price's x-axis, with TA-Lib's values."""
    import pandas as pd

    from dashboard.analytics import indicators
    from devkit import seed

    values = {
        "company-symbol": "AAPL",
        "company-adjusted": "raw",
        "company-overlays": [],
        "company-range": "1Y",
        "company-oscillators": ["macd", "rsi"],
    }
    figure = ann("company-price-graph", values)["company-price-graph"]["figure"]
    by_name = {t["name"]: t for t in figure["data"]}
    assert {t["xaxis"] for t in figure["data"]} == {"x"}
    assert by_name["RSI 14"]["yaxis"] == "y3"
    assert by_name["MACD"]["yaxis"] == "y4"
    assert figure["layout"]["yaxis3"]["title"]["text"] == "RSI (0-100)"
    assert figure["layout"]["xaxis"]["anchor"] == "y4"  # the date axis sits under the last panel
    rows = seed.price_rows("AAPL", 1)  # the seeded AAPL prices
    close = pd.Series([r[5] for r in rows], index=pd.to_datetime([r[1] for r in rows]))
    rsi = indicators.rsi(close)
    assert by_name["RSI 14"]["x"][-1] == rsi.index[-1].strftime("%Y-%m-%d")
    assert by_name["RSI 14"]["y"][-1] == pytest.approx(rsi.iloc[-1], abs=1e-6)
    assert by_name["RSI 14"]["y"][0] == pytest.approx(rsi[by_name["RSI 14"]["x"][0]], abs=1e-6)
    macd = indicators.macd(close)
    assert by_name["Histogram"]["y"][-1] == pytest.approx(macd["hist"].iloc[-1], abs=1e-6)
    bad = ann("company-price-graph", {**values, "company-oscillators": ["sma_50"]})
    assert "oscillator" in str(bad["company-price-graph"]["figure"]["layout"]["annotations"])


def test_company_adjusted_toggle_changes_prices(ann: Call) -> None:
    """Unadjusted closes are the traded ones; adjusted closes are lower earlier in history (dividends)."""
    base = {"company-symbol": "AAPL", "company-overlays": [], "company-range": "5Y"}
    adj = ann("company-price-graph", {**base, "company-adjusted": "adj"})["company-price-graph"]["figure"][
        "data"
    ][0]
    raw = ann("company-price-graph", {**base, "company-adjusted": "raw"})["company-price-graph"]["figure"][
        "data"
    ][0]
    assert adj["close"][0] < raw["close"][0]
    assert adj["close"][-1] == pytest.approx(raw["close"][-1])


def test_company_statements_annual_quarterly_ttm(ann: Call) -> None:
    """Statements come as a table and chart for annual, quarterly and TTM periods."""
    for period, bars in (("FY", 12), ("Q", 12), ("TTM", 12)):
        out = ann(
            "company-statement-table",
            {"company-symbol": "JNJ", "company-period": period, "company-kind": "income"},
        )
        grid = out["company-statement-table"]["children"]["props"]
        assert grid["rowData"][0]["field"] == "revenue"
        figure = out["company-statement-graph"]["figure"]
        assert len(figure["data"][0]["x"]) == bars
        assert figure["data"][0]["y"][-1] > 0
    ratio_traces = out["company-ratio-graph"]["figure"]["data"]
    assert {t["name"] for t in ratio_traces} >= {"Gross margin", "ROE"}


def test_company_rejects_unknown_ticker(ann: Call) -> None:
    """A ticker outside the companies table is refused with a message, never queried."""
    out = ann(
        "company-price-graph",
        {"company-symbol": "ZZZZ", "company-adjusted": "adj", "company-overlays": [], "company-range": "1Y"},
    )
    assert "not a company we hold" in str(out["company-price-graph"]["figure"]["layout"]["annotations"])


def test_valuation_dcf_and_grid(ann: Call) -> None:
    """The DCF shows a per-share value and a 5x5 WACC x growth grid; terminal growth above WACC is refused."""
    values = {"valuation-symbol": "KO", **VALUATION_INPUTS}
    out = ann("valuation-summary", values)
    assert "per share" in str(out["valuation-summary"]["children"])
    z = out["valuation-grid-graph"]["figure"]["data"][0]["z"]
    assert len(z) == 5
    assert len(z[0]) == 5
    assert z[0][4] > z[4][0]  # lower WACC and higher growth → higher value
    headline = float(find_id(out["valuation-summary"]["children"], "valuation-per-share").replace(",", ""))
    assert z[2][2] == pytest.approx(headline, abs=0.005)  # the base case is the grid's centre cell
    mid = float(find_id(out["valuation-summary"]["children"], "valuation-per-share-mid").replace(",", ""))
    assert mid > headline  # flows half a year sooner are worth more
    bad = ann(
        "valuation-summary",
        {**values, "valuation-terminal": 9.9, "valuation-rf": 0, "valuation-erp": 0},
    )
    assert "must be below WACC" in str(bad["valuation-summary"]["children"])


SCREENER_DEFAULTS: dict[str, Any] = {
    "screener-sectors": [],
    "screener-where": "",
    "screener-rank": "market_cap",
    "screener-order": "desc",
    "screener-basis": "ttm",
    "screener-score": [],
}
VALUATION_INPUTS = {
    "valuation-growth": 6,
    "valuation-years": 5,
    "valuation-terminal": 2.5,
    "valuation-rf": 4,
    "valuation-beta": 1,
    "valuation-erp": 5.5,
    "valuation-kd": 5,
    "valuation-tax": 21,
}


def test_valuation_without_prices_values_the_company(
    ann: Call, dash_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A company with no stored prices still gets a DCF value, weighted on book equity, and no upside (item 7)."""
    import math

    from dashboard.data import queries

    # The page's one price read: the last close (NaN where the symbol has none).
    monkeypatch.setattr(queries, "last_close", lambda router, symbol, as_of=None: math.nan)
    # The page caches whole answers: a PG valuation from another test must not hide the missing prices,
    # nor this answer outlive the test.
    services = dash_app.server.extensions["mycfa"]
    services.cache.clear()
    try:
        out = ann("valuation-summary", {"valuation-symbol": "PG", **VALUATION_INPUTS})
    finally:
        services.cache.clear()
    text = str(out["valuation-summary"]["children"])
    assert float(find_id(out["valuation-summary"]["children"], "valuation-per-share").replace(",", "")) > 0
    assert "No price stored: no upside." in text
    assert "on book (no price stored) equity" in text


def test_current_share_count_in_screener_and_dcf(ann: Call) -> None:
    """Market cap uses the profile's share count (AAPL: FMP's marketCap / price), and says so (item 2)."""
    base = SCREENER_DEFAULTS
    rows = row_data(ann("screener-results", base), "screener-results")
    aapl = next(r for r in rows if r["symbol"] == "AAPL")
    assert aapl["market_cap"] / aapl["price"] == pytest.approx(3_800_327_071_200 / 256.08, rel=1e-6)
    assert aapl["shares_source"] == "profile"
    ko = next(r for r in rows if r["symbol"] == "KO")
    assert ko["shares_source"] == "quarter"  # the seeded profiles of others carry no marketCap
    out = ann("valuation-summary", {"valuation-symbol": "AAPL", **VALUATION_INPUTS})
    summary = out["valuation-summary"]["children"]
    assert "FMP profile (market cap / price)" in str(find_id(summary, "valuation-shares-source"))
    assert "14,840.4 m shares" in str(summary)


def test_forecast_shows_intervals_and_holdout_error(ann: Call) -> None:
    """Revenue forecast: history, intervals and forecast traces, and a MAPE from the holdout."""
    out = ann(
        "forecast-graph",
        {
            "forecast-symbol": "PG",
            "forecast-series": "revenue",
            "forecast-frequency": "FY",
            "forecast-method": "ets",
        },
    )
    names = [t["name"] for t in out["forecast-graph"]["figure"]["data"]]
    assert names == ["history", "95% interval", "80% interval", "forecast"]
    assert "MAPE" in str(out["forecast-backtest"]["children"])


def test_price_forecast_is_one_answer_for_both_frequencies(ann: Call, dash_app: Any) -> None:
    """The price forecast ignores the frequency (monthly closes): asked under Annual, then Quarterly, it
    is computed once and answered the same."""
    cache = dash_app.server.extensions["mycfa"].cache
    ask = {"forecast-symbol": "MSFT", "forecast-series": "price", "forecast-method": "loglinear"}
    shown = ("forecast-graph", "forecast-backtest", "forecast-table")  # the links carry the frequency
    annual = ann("forecast-graph", {**ask, "forecast-frequency": "FY"})
    kept = cache.entries_by_name()["forecast"][0]
    quarterly = ann("forecast-graph", {**ask, "forecast-frequency": "Q"})
    assert [quarterly[name] for name in shown] == [annual[name] for name in shown]
    assert cache.entries_by_name()["forecast"][0] == kept


def test_forecast_and_valuation_answers_stay_per_question(ann: Call) -> None:
    """Cached forecast and valuation answers are per inputs: asking again gives the same answer, another
    method, series, symbol or assumption its own (never the previous one)."""
    ask = {"forecast-symbol": "KO", "forecast-series": "revenue", "forecast-frequency": "FY"}
    ets = ann("forecast-graph", {**ask, "forecast-method": "ets"})
    loglinear = ann("forecast-graph", {**ask, "forecast-method": "loglinear"})
    assert ann("forecast-graph", {**ask, "forecast-method": "ets"}) == ets
    assert loglinear["forecast-graph"]["figure"] != ets["forecast-graph"]["figure"]
    assert "method=loglinear" in loglinear["forecast-export-series"]["href"]
    price = ann("forecast-graph", {**ask, "forecast-series": "price", "forecast-method": "ets"})
    assert price["forecast-graph"]["figure"] != ets["forecast-graph"]["figure"]

    def per_share(values: dict[str, Any]) -> float:
        out = ann("valuation-summary", values)["valuation-summary"]["children"]
        return float(find_id(out, "valuation-per-share").replace(",", ""))

    base = {"valuation-symbol": "KO", **VALUATION_INPUTS}
    first = per_share(base)
    assert per_share({**base, "valuation-growth": 9}) > first
    assert per_share({**base, "valuation-symbol": "XOM"}) != first
    assert per_share(base) == first


def test_compare_two_to_ten_tickers(ann: Call) -> None:
    """Compare draws one normalised line per ticker starting at 100, and refuses a single ticker."""
    out = ann("compare-table", {"compare-symbols": ["AAPL", "XOM", "JPM"], "compare-span": "3Y"})
    lines = out["compare-price-graph"]["figure"]["data"]
    assert [t["name"] for t in lines] == ["AAPL", "XOM", "JPM"]
    assert all(t["y"][0] == pytest.approx(100.0) for t in lines)
    assert [r["symbol"] for r in row_data(out, "compare-table")] == [
        "AAPL",
        "XOM",
        "JPM",
    ]
    one = ann("compare-table", {"compare-symbols": ["AAPL"], "compare-span": "3Y"})
    assert "between 2 and 10" in str(one["compare-table"]["children"])


def test_portfolio_statistics_and_optimisation(ann: Call) -> None:
    """Portfolio: statistics table, drawdown ≤ 0, correlation diagonal 1, optimised weights summing to 1."""
    out = ann(
        "portfolio-stats",
        {"portfolio-holdings": "AAPL:0.5, KO:0.3, XOM:0.2", "portfolio-rf": 4, "portfolio-run": None},
    )
    stats = {r["statistic"]: r["value"] for r in row_data(out, "portfolio-stats")}
    assert stats["Max drawdown"] < 0
    assert stats["Annualised volatility"] > 0
    drawdown = plotted.points(out["portfolio-drawdown-graph"]["figure"]["data"][0])[1]
    assert max(drawdown) <= 0
    # The chart starts at the first common date (0 before the first return) and its low is the statistic.
    assert drawdown[0] == 0
    assert len(drawdown) == stats["Observations"] + 1
    assert min(drawdown) == pytest.approx(stats["Max drawdown"], abs=1e-4)  # the table rounds to 4 dp
    heat = out["portfolio-correlation-graph"]["figure"]["data"][0]
    assert heat["z"][0][0] == pytest.approx(1.0)
    assert (heat["zmin"], heat["zmid"], heat["zmax"]) == (-1.0, 0.0, 1.0)  # colour = sign and strength
    kinds = {r["statistic"]: r["kind"] for r in row_data(out, "portfolio-stats")}
    assert kinds["Max drawdown"] == "pct"
    assert kinds["Sharpe"] == "num2"
    assert kinds["Observations"] == "int"
    weights = row_data(out, "portfolio-weights")
    assert sum(r["min_volatility"] for r in weights) == pytest.approx(1.0, abs=1e-3)


def test_screener_filters_and_ranks(ann: Call) -> None:
    """The screener ranks by market cap and filters by sector."""
    base = SCREENER_DEFAULTS
    rows = row_data(ann("screener-results", base), "screener-results")
    caps = [r["market_cap"] for r in rows]
    assert len(rows) == 8
    assert caps == sorted(caps, reverse=True)
    energy = ann("screener-results", {**base, "screener-sectors": ["Energy"]})
    assert [r["symbol"] for r in row_data(energy, "screener-results")] == ["XOM"]


def test_screener_answers_stay_per_question(ann: Call) -> None:
    """Cached screener answers are per inputs: asking again gives the same page, a changed order, filter or
    bad input its own answer (never the previous one)."""
    base = SCREENER_DEFAULTS
    first = ann("screener-results", base)
    assert ann("screener-results", base) == first
    ascending = row_data(ann("screener-results", {**base, "screener-order": "asc"}), "screener-results")
    assert [r["symbol"] for r in ascending] == [r["symbol"] for r in row_data(first, "screener-results")][
        ::-1
    ]
    filtered = ann("screener-results", {**base, "screener-where": "market cap >= 1000000"})
    assert "0 companies" in str(filtered["screener-count"]["children"])
    bad = ann("screener-results", {**base, "screener-rank": "nope"})
    assert "rank by" in str(bad["screener-where-feedback"]["children"])
    assert row_data(ann("screener-results", base), "screener-results") == row_data(first, "screener-results")


def test_status_for_admin_only(callback_as: Callable[[str], Call]) -> None:
    """Admins see runs and node lag; an analyst calling the Status callback gets a refusal."""
    out = callback_as("ada")("status-runs", {"status-interval": 1})
    assert row_data(out, "status-runs")[0]["state"] == "succeeded"
    nodes = row_data(out, "status-nodes")
    assert {n["node"] for n in nodes} == {"primary", "replica1"}
    refused = callback_as("ann")("status-runs", {"status-interval": 1})
    assert "for administrators" in str(refused["status-nodes"]["children"])


def test_export_csv_by_role(logged_in: Callable[[str], FlaskClient]) -> None:
    """Analysts download CSV; viewers are refused."""
    ok = logged_in("ann").get("/export/company/prices.csv?symbol=AAPL&adjusted=adj")
    assert ok.status_code == 200
    assert ok.mimetype == "text/csv"
    assert ok.get_data(as_text=True).splitlines()[0] == "date,open,high,low,close,adj_close,volume"
    assert logged_in("vic").get("/export/company/prices.csv?symbol=AAPL").status_code == 403
    assert logged_in("ann").get("/export/company/prices.csv?symbol=../etc").status_code == 400


def test_exports_keep_raw_numbers_and_name_units(logged_in: Callable[[str], FlaskClient]) -> None:
    """CSV exports hold full-precision raw numbers (USD, fractions) with the unit in a name or a column."""
    client = logged_in("ann")
    query = "symbol=KO&growth=6&years=5&terminal=2.5&rf=4&beta=1&erp=5.5&kd=5&tax=21"
    projection = client.get(f"/export/valuation/projection.csv?{query}").get_data(as_text=True).splitlines()
    assert projection[0] == "year,fcf_growth_fraction,fcf_usd,discount_factor,pv_usd"
    year, growth, fcf, *_ = projection[1].split(",")
    assert (year, float(growth)) == ("1", 0.06)
    assert float(fcf) > 1e9
    stats = client.get("/export/portfolio/stats.csv?holdings=AAPL:0.5,KO:0.5&rf=4").get_data(as_text=True)
    lines = dict(line.split(",", 1) for line in stats.splitlines())
    assert lines["statistic"] == "value,unit"
    value, unit = lines["Max drawdown"].split(",")
    assert unit == "fraction"
    assert -1.0 < float(value) < 0.0


def _aapl_fy2023_revenue(db: Any) -> tuple[float, float]:
    """(as filed, as restated) FY2023 revenue of the seeded AAPL, read from the store."""
    import psycopg

    with psycopg.connect(db.owner_url) as conn:
        filed = conn.execute(
            "SELECT (payload->>'revenue')::float8 FROM statement_revisions"
            " WHERE symbol = 'AAPL' AND kind = 'income' AND period = 'FY' AND fiscal_date = '2023-12-31'"
        ).fetchone()
        now = conn.execute(
            "SELECT (payload->>'revenue')::float8 FROM statements"
            " WHERE symbol = 'AAPL' AND kind = 'income' AND period = 'FY' AND fiscal_date = '2023-12-31'"
        ).fetchone()
    assert filed is not None
    assert now is not None
    return float(filed[0]), float(now[0])


def test_company_as_of_shows_what_was_known_then(ann: Call, dash_db: Any) -> None:
    """As of a date: statements as first known, later ones absent, restated periods marked; latest by default."""
    filed, restated = _aapl_fy2023_revenue(dash_db)
    assert restated == pytest.approx(filed * 1.02, abs=0.01)
    base = {"company-symbol": "AAPL", "company-period": "FY", "company-kind": "income"}

    def revenue_row(as_of: str | None) -> tuple[dict[str, Any], str]:
        out = ann("company-statement-table", {**base, "company-asof": as_of})
        rows = row_data(out, "company-statement-table")
        return next(r for r in rows if r["field"] == "revenue"), str(out["company-asof-note"]["children"])

    then, note = revenue_row("2024-03-31")
    assert then["2023-12-31 (restated)"] == pytest.approx(filed)  # as filed on 2024-01-30
    assert "2024-12-31" not in then  # FY2024 was filed in 2025
    assert "As of 2024-03-31" in note
    assert "Restated after 2024-03-31" in note
    assert "2023-12-31" in note
    after, note = revenue_row("2024-07-01")
    assert after["2023-12-31"] == pytest.approx(restated)  # known restated by then: nothing to mark
    latest, note = revenue_row(None)
    assert latest["2023-12-31 (restated)"] == pytest.approx(restated)
    assert "2024-12-31" in latest
    assert "Latest figures" in note
    assert "since first reported" in note
    bad = ann("company-statement-table", {**base, "company-asof": "2999-01-01"})
    assert "as-of date" in str(bad["company-statement-table"]["children"])


def test_valuation_as_of_uses_statements_and_price_known_then(ann: Call) -> None:
    """The DCF as of a date takes that day's latest annual statement, the close on or before it, no profile."""
    from devkit import seed

    values = {"valuation-symbol": "AAPL", **VALUATION_INPUTS}
    latest = ann("valuation-summary", values)["valuation-summary"]["children"]
    then = ann("valuation-summary", {**values, "valuation-asof": "2024-03-31"})["valuation-summary"][
        "children"
    ]
    closes = {r[1].isoformat(): r[5] for r in seed.price_rows("AAPL", 1)}
    last_close = closes[max(d for d in closes if d <= "2024-03-31")]
    assert f"Last close USD {last_close:,.2f}" in str(then)
    assert "known on 2024-03-31" in str(find_id(then, "valuation-base-year"))
    assert "latest quarter" in str(find_id(then, "valuation-shares-source"))  # not today's profile
    assert find_id(then, "valuation-per-share") != find_id(latest, "valuation-per-share")


def _seeded(symbol: str) -> tuple[float, list[dict[str, Any]]]:
    """The seed's last close and income statements (oldest first) of `symbol`, as `devkit.seed` made them."""
    import json

    from devkit import seed

    number = seed.SYMBOLS.index(symbol) + 1
    close = max(seed.price_rows(symbol, number), key=lambda r: r[1])[5]
    income = [json.loads(r[7]) for r in seed.statement_rows(symbol, number) if r[1] == "income"]
    return float(close), sorted(income, key=lambda p: p["date"])


def test_valuation_multiples_on_ttm_with_period_end_and_peer_count(ann: Call) -> None:
    """Review V6 and #27 point 5: the multiples are on the trailing twelve months (market cap over the last
    four quarters' net income), the period end is named, and the sector median says how many companies
    it covers (KO's Consumer Staples: KO and PG)."""
    out = ann("valuation-multiples", {"valuation-symbol": "KO", **VALUATION_INPUTS})
    children = out["valuation-multiples"]["children"]
    note = str(find_id(children, "valuation-multiples-basis"))
    assert "trailing twelve months to 2024-12-31" in note
    grid = next(
        c for c in children["props"]["children"] if c["props"].get("id") == "valuation-multiples-grid"
    )
    rows = {r["key"]: r for r in grid["props"]["rowData"]}
    close, income = _seeded("KO")
    quarters = [p for p in income if p["period"] != "FY"][-4:]
    cap = close * quarters[-1]["weightedAverageShsOutDil"]  # KO's seeded profile has no market cap
    assert rows["pe"]["value"] == pytest.approx(cap / sum(q["netIncome"] for q in quarters), abs=1e-4)
    assert rows["pe"]["companies"] == 2
    pg_close, pg_income = _seeded("PG")
    pg_quarters = [p for p in pg_income if p["period"] != "FY"][-4:]
    pg_pe = pg_close * pg_quarters[-1]["weightedAverageShsOutDil"] / sum(q["netIncome"] for q in pg_quarters)
    assert rows["pe"]["sector_median"] == pytest.approx(
        (cap / sum(q["netIncome"] for q in quarters) + pg_pe) / 2, abs=1e-4
    )


def test_valuation_multiples_as_of_a_date(ann: Call) -> None:
    """As of a date the multiples are the fiscal year known then at that day's close, and no sector
    median is offered (the universe's multiples then are not computed)."""
    values = {"valuation-symbol": "KO", "valuation-asof": "2024-03-31", **VALUATION_INPUTS}
    out = ann("valuation-multiples", values)
    children = out["valuation-multiples"]["children"]
    assert "fiscal year to 2023-12-31, as known on 2024-03-31" in str(
        find_id(children, "valuation-multiples-basis")
    )
    grid = next(
        c for c in children["props"]["children"] if c["props"].get("id") == "valuation-multiples-grid"
    )
    assert "sector_median" not in {d["field"] for d in grid["props"]["columnDefs"]}
    import re

    summary = str(out["valuation-summary"]["children"])
    close = float(re.findall(r"Last close USD ([0-9,.]+);", summary)[0].replace(",", ""))
    shares = float(re.findall(r"over ([0-9,.]+) m shares", summary)[0].replace(",", "")) * 1e6
    _, income = _seeded("KO")
    fy2023 = next(p for p in income if p["period"] == "FY" and p["date"] == "2023-12-31")
    pe = next(r for r in grid["props"]["rowData"] if r["key"] == "pe")["value"]
    assert pe == pytest.approx(close * shares / fy2023["netIncome"], rel=1e-3)  # shares shown to 0.1 m


def _base(**changes: Any) -> dict[str, Any]:
    """A DCF base as `valuation.base_inputs` returns it: USD 2 bn of interest on 50 bn of debt, 21.3 %."""
    return {
        "as_of": None,
        "base_date": "2024-12-31",
        "interest_expense": 2e9,
        "debt": 50e9,
        "tax_rate": 0.213,
        "beta": 1.27,
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "want", "why"),
    [
        ({}, {"beta": 1.27, "kd": 4.0, "tax": 21.3}, {"beta": "FMP profile", "kd": "interest expense"}),
        ({"interest_expense": 0.0}, {"kd": 5.0}, {"kd": "no interest expense reported"}),
        ({"debt": 0.0}, {"kd": 5.0}, {"kd": "no debt"}),
        ({"interest_expense": 20e9}, {"kd": 5.0}, {"kd": "interest / debt 40.0 % is outside 0 to 30"}),
        ({"tax_rate": float("nan")}, {"tax": 21.0}, {"tax": "pre-tax loss"}),
        ({"tax_rate": 0.75}, {"tax": 21.0}, {"tax": "effective rate 75.0 % is outside 0 to 60"}),
        ({"beta": float("nan")}, {"beta": 1.0}, {"beta": "the profile has none"}),
        ({"beta": 9.0}, {"beta": 1.0}, {"beta": "market beta"}),
        (
            {"beta": float("nan"), "as_of": "2024-03-31"},
            {"beta": 1.0},
            {"beta": "today's profile is not used"},
        ),
        (
            {
                "beta": float("nan"),
                "as_of": "2024-03-31",
                "regression": (Regression(0.87, 0.41, 104), "2024-03-29"),
            },
            {"beta": 0.87},
            {"beta": "regression on the S&P 500: 104 weekly returns to 2024-03-29, R² 0.41"},
        ),
    ],
)
def test_blank_beta_cost_of_debt_and_tax_take_the_company_figures(
    dash_app: Any, changes: dict[str, Any], want: dict[str, float], why: dict[str, str]
) -> None:
    """Review V2: cost of debt = interest expense / total debt (2 / 50 = 4 %), tax = the effective rate,
    beta = the profile's; each falls back to the field's default with the reason when it is not usable."""
    from dashboard.pages import valuation

    own = valuation.own_figures(_base(**changes))
    for key, value in want.items():
        assert own[key][0] == pytest.approx(value)
    for key, text in why.items():
        assert text in own[key][1]
    values, sources = valuation.resolved({"beta": 0.8, "rf": 4.0}, _base(**changes))
    assert (values["beta"], sources["beta"]) == (0.8, "typed")  # a typed field wins
    assert values["kd"] == pytest.approx(own["kd"][0])


def test_valuation_blank_fields_take_the_company_figures(ann: Call) -> None:
    """Blank beta, cost of debt and tax fields: the WACC uses the profile's beta (the seed's 1.109), the
    default cost of debt (the seed's interest expense is FMP's 0 for Apple) and the effective tax rate of
    the last fiscal year (income tax / pre-tax income of the seed's FY2024), and the summary says so."""
    values = {"valuation-symbol": "KO", **VALUATION_INPUTS, "valuation-beta": "", "valuation-kd": None}
    out = ann("valuation-summary", {**values, "valuation-tax": " "})
    own = str(find_id(out["valuation-summary"]["children"], "valuation-own"))
    _, income = _seeded("KO")
    fy = [p for p in income if p["period"] == "FY"][-1]
    tax = fy["incomeTaxExpense"] / fy["incomeBeforeTax"] * 100
    assert "Beta 1.11 (FMP profile)" in own
    assert "pre-tax cost of debt 5.00 % (default: no interest expense reported" in own
    assert f"tax rate {tax:.2f} % (effective rate" in own
    assert f"cost of equity {4 + 1.109 * 5.5:.2f}%" in str(out["valuation-summary"]["children"])
    assert out["valuation-beta"]["placeholder"] == "1.11"
    assert out["valuation-tax"]["invalid"] is False


def test_valuation_exit_multiple_and_reverse_dcf(ann: Call) -> None:
    """A typed exit EV/EBITDA of 10x: the exit value per share is (PV of the projection + 10 x the base
    year's EBITDA grown with FCF, discounted N years, - net debt) / shares, from the page's own projection
    and the seed's FY2024; the reverse DCF names the growth the last close implies."""
    import re

    values = {"valuation-symbol": "KO", **VALUATION_INPUTS, "valuation-exit": 10}
    out = ann("valuation-summary", values)
    summary = out["valuation-summary"]["children"]
    exit_text = str(find_id(summary, "valuation-exit-value"))
    assert "10.0x EV/EBITDA (typed)" in exit_text
    projection = out["valuation-projection"]["children"]["props"]["rowData"]
    _, income = _seeded("KO")
    ebitda = [p for p in income if p["period"] == "FY"][-1]["ebitda"]
    last = projection[-1]
    grown = ebitda * float(np.prod([1 + r["growth"] for r in projection]))
    text = str(summary)
    amount, unit = re.findall(r"Less net debt USD ([0-9.,-]+) (tn|bn|m)", text)[0]
    net_debt = float(amount.replace(",", "")) * {"tn": 1e12, "bn": 1e9, "m": 1e6}[unit]
    shares = float(re.findall(r"over ([0-9,.]+) m shares", text)[0].replace(",", "")) * 1e6
    pv = sum(r["pv"] for r in projection)
    want = (pv + 10 * grown * last["discount_factor"] - net_debt) / shares
    got = float(find_id(summary, "valuation-per-share-exit").replace(",", ""))
    assert got == pytest.approx(want, rel=2e-3)  # net debt and shares as shown, to 0.1 bn and 0.1 m
    assert re.search(r"implies FCF growth of", str(find_id(summary, "valuation-implied")))


def test_valuation_grid_marks_the_base_cell_and_centres_on_the_close(ann: Call) -> None:
    """Review V5: the WACC x terminal-growth grid outlines its centre cell (the base case, equal to the
    headline value) and labels it "base"; its colours are centred on the last close (red below, blue
    above), so a cell's colour says whether that case is above or below the price."""
    import re

    out = ann("valuation-summary", {"valuation-symbol": "KO", **VALUATION_INPUTS})
    figure = out["valuation-grid-graph"]["figure"]
    heat, layout = figure["data"][0], figure["layout"]
    close = float(
        re.findall(r"Last close USD ([0-9,.]+);", str(out["valuation-summary"]))[0].replace(",", "")
    )
    assert heat["zmid"] == pytest.approx(close, abs=0.005)
    assert heat["colorscale"][0][1] == "#b2182b"  # below the close: red
    assert heat["colorscale"][-1][1] == "#2166ac"  # above: blue
    (box,) = layout["shapes"]
    assert (box["x0"], box["x1"], box["y0"], box["y1"]) == (1.5, 2.5, 1.5, 2.5)  # the centre of 5 x 5
    (label,) = layout["annotations"]
    assert label["text"] == "base"
    assert (label["x"], label["y"]) == (heat["x"][2], heat["y"][2])
    headline = float(find_id(out["valuation-summary"]["children"], "valuation-per-share").replace(",", ""))
    assert heat["z"][2][2] == pytest.approx(headline, abs=0.005)
