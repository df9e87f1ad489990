"""Valuation of banks and REITs (#27 point 4): as of a date they take that day's statements, close and
share count like any other company, and a former member (no Screener row) is valued, not a KeyError.

Its own database: the plain seed plus a second bank (BAC, made a former member before the serving
refresh, so the Screener's table has no row for it) and a REIT (PLD); statements are known from their
filing dates (`seed`), so "as of" picks what was filed by then.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest

from devkit import callbacks, seed
from tests.conftest import Cluster, Database, throwaway_database, wait_for_replica
from tests.dashboard.conftest import PASSWORD, app_on, login
from tests.dashboard.test_pages import call, find_id

SYMBOLS = (*seed.SYMBOLS, "BAC", "PLD")
FORMER = "BAC"
# Every assumption typed (beta, cost of debt and tax too), so the value depends on the statements and
# the close only.
TYPED = {f"valuation-{k}": v for k, v in callbacks.VALUATION_TYPED.items()}
KE, G = 0.04 + 1 * 0.055, 0.025
AS_OF = "2022-06-30"

Ask = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture(scope="module")
def eq_db(pg_cluster: Cluster) -> Iterator[Database]:
    with throwaway_database(pg_cluster, "equity") as db:
        seed.seed(db.owner_url, SYMBOLS)
        with psycopg.connect(db.owner_url) as conn:
            conn.execute(
                "UPDATE companies SET in_index = false, index_removed = '2024-06-24' WHERE symbol = %s",
                (FORMER,),
            )
        seed.refresh_serving(db.owner_url)
        seed.add_user(db.owner_url, "ann", PASSWORD, "analyst")
        wait_for_replica(pg_cluster)
        yield db


@pytest.fixture(scope="module")
def ask(eq_db: Database) -> Iterator[Ask]:
    """The Valuation page's callback, called as the analyst ann."""
    with app_on(eq_db) as app:
        client = app.server.test_client()
        assert login(client, "ann").status_code == 302
        deps = client.get("/_dash-dependencies").get_json()
        yield lambda values: call(client, deps, "valuation-summary", values)["valuation-summary"]["children"]


def statements_known(db: Database, symbol: str, as_of: str | None) -> dict[str, list[dict[str, Any]]]:
    """FY income, balance and cash-flow payloads and Q income payloads filed by the end of `as_of`
    (all when None), newest first."""
    with psycopg.connect(db.owner_url) as conn:
        rows = conn.execute(
            "SELECT kind, period, payload FROM statements WHERE symbol = %s"
            " AND kind IN ('income', 'balance', 'cashflow')"
            " AND (%s::date IS NULL OR first_seen < %s::date + 1) ORDER BY fiscal_date DESC",
            (symbol, as_of, as_of),
        ).fetchall()
    out: dict[str, list[dict[str, Any]]] = {}
    for kind, period, payload in rows:
        out.setdefault(f"{kind}-{'FY' if period == 'FY' else 'Q'}", []).append(
            payload if isinstance(payload, dict) else json.loads(payload)
        )
    return out


def close_on(db: Database, symbol: str, as_of: str | None) -> float:
    with psycopg.connect(db.owner_url) as conn:
        row = conn.execute(
            "SELECT close FROM prices_daily WHERE symbol = %s AND (%s::date IS NULL OR date <= %s::date)"
            " ORDER BY date DESC LIMIT 1",
            (symbol, as_of, as_of),
        ).fetchone()
    assert row is not None
    return float(row[0])


def per_share(summary: Any) -> float:
    return float(str(find_id(summary, "valuation-per-share")).replace(",", ""))


def justified_pb_value(db: Database, symbol: str, as_of: str | None) -> float:
    """(ROE - g) / (ke - g) x book value per share, by hand on the last FY filed by then: ROE on the
    average of the last two years' equity, book value over that year's diluted shares."""
    known = statements_known(db, symbol, as_of)
    income, (balance, before) = known["income-FY"][0], known["balance-FY"][:2]
    equity = balance["totalStockholdersEquity"]
    roe = income["netIncome"] / ((equity + before["totalStockholdersEquity"]) / 2)
    bvps = equity / income["weightedAverageShsOutDil"]
    return float((roe - G) / (KE - G) * bvps)


def test_former_member_bank_is_valued_on_its_statements_not_a_key_error(ask: Ask, eq_db: Database) -> None:
    """BAC left the index, so the Screener's table has no row for it: it is still valued on its own
    statements and last close (the justified P/B), as the page values any company it holds."""
    summary = ask({"valuation-symbol": FORMER, **TYPED})
    assert "No firm DCF" in str(find_id(summary, "valuation-model"))
    assert per_share(summary) == pytest.approx(justified_pb_value(eq_db, FORMER, None), rel=1e-3)
    assert f"Last close USD {close_on(eq_db, FORMER, None):,.2f}" in str(summary)


@pytest.mark.parametrize("symbol", ["JPM", FORMER])
def test_bank_as_of_a_date_takes_that_days_statements_and_close(
    ask: Ask, eq_db: Database, symbol: str
) -> None:
    """A bank as of a date: the justified P/B on the last fiscal year filed by then, priced at that day's
    close (was: today's Screener row whatever the date)."""
    then = ask({"valuation-symbol": symbol, "valuation-asof": AS_OF, **TYPED})
    assert per_share(then) == pytest.approx(justified_pb_value(eq_db, symbol, AS_OF), rel=1e-3)
    assert f"Last close USD {close_on(eq_db, symbol, AS_OF):,.2f}" in str(then)
    assert AS_OF in str(find_id(then, "valuation-equity-model"))
    now = ask({"valuation-symbol": symbol, **TYPED})
    assert per_share(now) != per_share(then)


def test_reit_as_of_a_date_discounts_that_years_dividend(ask: Ask, eq_db: Database) -> None:
    """A REIT as of a date: the dividend discount model on the last fiscal year's dividends filed by then
    over the latest quarter's diluted shares then, priced at that day's close."""
    then = ask({"valuation-symbol": "PLD", "valuation-asof": AS_OF, **TYPED})
    known = statements_known(eq_db, "PLD", AS_OF)
    dps = -known["cashflow-FY"][0]["commonDividendsPaid"] / known["income-Q"][0]["weightedAverageShsOutDil"]
    assert dps > 0
    assert per_share(then) == pytest.approx(dps * (1 + G) / (KE - G), rel=1e-3)
    assert f"Last close USD {close_on(eq_db, 'PLD', AS_OF):,.2f}" in str(then)


def test_blank_beta_as_of_a_date_is_the_weekly_regression_on_the_sp500(ask: Ask, eq_db: Database) -> None:
    """#27 point 4: as of a date (today's profile beta would be hindsight) a blank beta takes the OLS slope
    of the company's weekly returns on the stored S&P 500's over the two years to that day, worked out
    here by hand: daily returns of the adjusted closes and the index joined on their dates, compounded
    over Friday-ending weeks, numpy's polyfit."""
    with psycopg.connect(eq_db.owner_url) as conn:
        closes = conn.execute(
            "SELECT date, coalesce(adj_close, close) FROM prices_daily WHERE symbol = 'KO' AND date <= %s"
            " ORDER BY date",
            (AS_OF,),
        ).fetchall()
        index: dict[Any, Any] = dict(
            conn.execute(
                "SELECT date, daily_return FROM benchmark_returns WHERE benchmark = 'sp500_cap'"
            ).fetchall()
        )
    last = pd.Timestamp(closes[-1][0])
    kept = [
        (pd.Timestamp(d), float(c)) for d, c in closes if pd.Timestamp(d) >= last - pd.DateOffset(years=2)
    ]
    rows = [
        (day, close / before - 1, float(index[day.date()]))
        for (_, before), (day, close) in itertools.pairwise(kept)
        if day.date() in index
    ]
    frame = pd.DataFrame(rows, columns=["day", "r", "b"]).set_index("day")
    weeks = (1 + frame).groupby(frame.index.to_period("W-FRI")).prod() - 1
    beta = np.polyfit(weeks["b"], weeks["r"], 1)[0]
    r2 = np.corrcoef(weeks["b"], weeks["r"])[0, 1] ** 2
    summary = ask({"valuation-symbol": "KO", "valuation-asof": AS_OF, **TYPED, "valuation-beta": None})
    own = str(find_id(summary, "valuation-own"))
    assert f"Beta {beta:.2f} (regression on the S&P 500: {len(weeks)} weekly returns to {last.date()}" in own
    assert f"R² {r2:.2f}" in own
    assert f"cost of equity {0.04 + beta * 0.055:.2%}" in str(summary)
