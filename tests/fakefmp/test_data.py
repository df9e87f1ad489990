"""The fake's generated data: FMP's field names and order, accounting identities, realistic prices."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from fakefmp.data import Universe
from fakefmp.prices import HISTORY_START, first_trading_day

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fmp"
AS_OF = date(2026, 8, 7)


@pytest.fixture(scope="module")
def universe() -> Universe:
    return Universe(seed=11, symbols=503, as_of=AS_OF)


def _rows(body: bytes) -> list[dict[str, Any]]:
    return list(orjson.loads(body))


@pytest.mark.parametrize(
    ("dataset", "fixture"),
    [
        ("income", "stable_income-statement_AAPL_annual.json"),
        ("balance", "stable_balance-sheet-statement_AAPL_annual.json"),
        ("cashflow", "stable_cash-flow-statement_AAPL_annual.json"),
        ("ratios", "stable_ratios_AAPL_annual.json"),
        ("key_metrics", "stable_key-metrics_AAPL_annual.json"),
    ],
)
def test_statement_fields_match_recorded_fmp_exactly(universe: Universe, dataset: str, fixture: str) -> None:
    """Generated rows carry exactly the recorded FMP keys, in FMP's order."""
    recorded = json.loads((FIXTURES / fixture).read_text())[0]
    row = _rows(universe.statement_body(dataset, "AAPL", "annual", 1))[0]
    assert list(row) == list(recorded)


def test_profile_and_constituent_fields_match_recorded_fmp(universe: Universe) -> None:
    """Profile keys equal the recording; constituents use FMP's sector names and zero-padded CIKs."""
    recorded = json.loads((FIXTURES / "stable_profile_AAPL.json").read_text())[0]
    assert list(_rows(universe.profile_body("AAPL"))[0]) == list(recorded)
    constituents = _rows(universe.constituents_body())
    dow = json.loads((FIXTURES / "stable_dowjones-constituent.json").read_text())
    assert len(constituents) == 503
    assert list(constituents[0]) == list(dow[0])
    fmp_sectors = {"Basic Materials", "Communication Services", "Consumer Cyclical", "Consumer Defensive", "Energy",
                   "Financial Services", "Healthcare", "Industrials", "Technology", "Real Estate", "Utilities"}  # fmt: skip
    assert {row["sector"] for row in constituents} <= fmp_sectors
    apple = next(row for row in constituents if row["symbol"] == "AAPL")
    assert apple["cik"] == "0000320193"
    assert apple["sector"] == "Technology"


@pytest.mark.parametrize("period", ["annual", "quarter"])
def test_statements_obey_accounting_identities(universe: Universe, period: str) -> None:
    """Assets = liabilities + equity, GP = revenue - COGS, FCF = OCF + capex, cash walks, for every period."""
    full = [s for s in universe.companies if first_trading_day(universe.seed, s) == HISTORY_START][:3]
    for symbol in full:
        income = _rows(universe.statement_body("income", symbol, period, 1000))
        balance = _rows(universe.statement_body("balance", symbol, period, 1000))
        cashflow = _rows(universe.statement_body("cashflow", symbol, period, 1000))
        assert len(income) == len(balance) == len(cashflow) >= (20 if period == "annual" else 80)
        for i, b, c in zip(income, balance, cashflow, strict=True):
            assert i["date"] == b["date"] == c["date"]
            assert i["grossProfit"] == i["revenue"] - i["costOfRevenue"]
            assert i["operatingIncome"] == i["grossProfit"] - i["operatingExpenses"]
            assert i["incomeBeforeTax"] == i["operatingIncome"] + i["totalOtherIncomeExpensesNet"]
            assert i["netIncome"] == i["incomeBeforeTax"] - i["incomeTaxExpense"]
            assert i["ebitda"] == i["ebit"] + i["depreciationAndAmortization"]
            assert (
                b["totalAssets"]
                == b["totalLiabilities"] + b["totalEquity"]
                == b["totalLiabilitiesAndTotalEquity"]
            )
            assert b["totalAssets"] == b["totalCurrentAssets"] + b["totalNonCurrentAssets"]
            assert b["netDebt"] == b["totalDebt"] - b["cashAndCashEquivalents"]
            assert c["freeCashFlow"] == c["operatingCashFlow"] + c["capitalExpenditure"]
            assert c["netChangeInCash"] == (
                c["netCashProvidedByOperatingActivities"] + c["netCashProvidedByInvestingActivities"]
                + c["netCashProvidedByFinancingActivities"] + c["effectOfForexChangesOnCash"]
            )  # fmt: skip
            assert c["cashAtEndOfPeriod"] == c["cashAtBeginningOfPeriod"] + c["netChangeInCash"]
            assert c["cashAtEndOfPeriod"] == b["cashAndCashEquivalents"]
            assert c["netIncome"] == i["netIncome"]
        for newer, older in itertools.pairwise(cashflow):
            assert newer["date"] > older["date"]  # newest first
            assert newer["cashAtBeginningOfPeriod"] == older["cashAtEndOfPeriod"]


def test_annual_flows_are_the_sum_of_their_quarters(universe: Universe) -> None:
    """A fiscal year's revenue equals its four quarters' revenue."""
    annual = _rows(universe.statement_body("income", "MSFT", "annual", 3))
    quarters = _rows(universe.statement_body("income", "MSFT", "quarter", 1000))
    for year in annual:
        parts = [q["revenue"] for q in quarters if q["fiscalYear"] == year["fiscalYear"]]
        assert len(parts) == 4
        assert sum(parts) == year["revenue"]


def test_ratios_and_key_metrics_follow_from_the_statements(universe: Universe) -> None:
    """Margins, current ratio and EV are computed from the same period's statements."""
    income = _rows(universe.statement_body("income", "KO", "annual", 5))
    balance = _rows(universe.statement_body("balance", "KO", "annual", 5))
    ratios = _rows(universe.statement_body("ratios", "KO", "annual", 5))
    metrics = _rows(universe.statement_body("key_metrics", "KO", "annual", 5))
    for i, b, r, m in zip(income, balance, ratios, metrics, strict=True):
        assert r["grossProfitMargin"] == pytest.approx(i["grossProfit"] / i["revenue"])
        assert r["currentRatio"] == pytest.approx(b["totalCurrentAssets"] / b["totalCurrentLiabilities"])
        assert m["enterpriseValue"] == m["marketCap"] + b["totalDebt"] - b["cashAndCashEquivalents"]
        assert r["priceToSalesRatio"] == pytest.approx(m["marketCap"] / i["revenue"])


def test_prices_span_30_years_with_consistent_ohlc(universe: Universe) -> None:
    """Daily business-day prices from 1990, high ≥ max(open, close), low ≤ min, newest first."""
    body, count = universe.price_body("KO", adjusted=False, start="1990-01-01", end="2005-12-31", cap=5000)
    rows = _rows(body)
    assert count == len(rows) > 3500
    assert rows[0]["date"] > rows[-1]["date"]
    for row in rows:
        assert date.fromisoformat(row["date"]).weekday() < 5
        assert row["high"] >= max(row["open"], row["close"])
        assert row["low"] <= min(row["open"], row["close"])
        assert row["volume"] > 0
    series = universe.prices("KO")
    assert series.dates[0] < "1990-02-01" or series.dates[0] > "1990-12-31"
    assert sum(1 for d in series.dates if d <= AS_OF.isoformat()) > 30 * 250 or series.dates[0] > "1991"


def test_price_cap_drops_the_oldest_rows(universe: Universe) -> None:
    """A request for more than the cap returns the newest `cap` rows."""
    body, count = universe.price_body("KO", adjusted=False, start=None, end=None, cap=5000)
    rows = _rows(body)
    assert count == 5000
    series = universe.prices("KO")
    visible = [d for d in series.dates if d <= AS_OF.isoformat()]
    assert rows[0]["date"] == visible[-1]
    assert rows[-1]["date"] == visible[-5000]


def test_dividend_adjusted_prices_reflect_dividends(universe: Universe) -> None:
    """Before an ex-date the adjusted close is below the close by the dividend factor; after the last, equal."""
    payer = next(s for s in ("KO", "JNJ", "PG", "XOM", "MMM", "AAPL") if universe.prices(s).dividends)
    full = {
        r["date"]: r
        for r in _rows(
            universe.price_body(payer, adjusted=False, start="2000-01-01", end="2000-12-31", cap=5000)[0]
        )
    }
    adj = {
        r["date"]: r
        for r in _rows(
            universe.price_body(payer, adjusted=True, start="2000-01-01", end="2000-12-31", cap=5000)[0]
        )
    }
    assert full.keys() == adj.keys()
    assert all(adj[d]["adjClose"] < full[d]["close"] for d in full)
    assert all(adj[d]["adjHigh"] >= adj[d]["adjLow"] for d in adj)


def test_dividend_after_as_of_adjusts_earlier_prices_only_once_visible() -> None:
    """Moving "today" past an ex-date D multiplies every earlier adjusted price by (1 - d/c), later ones not."""
    universe = Universe(seed=7, symbols=12, as_of=date(2026, 6, 30))
    symbol = next(
        s for s in universe.companies if any(d > "2026-06-30" for d in universe.prices(s).dividends)
    )
    series = universe.prices(symbol)
    ex_date = min(d for d in series.dividends if d > "2026-06-30")
    dividend = series.dividends[ex_date]
    previous_close = float(series.close[series.dates.index(ex_date) - 1])

    def adjusted(end: str | None = None) -> dict[str, dict[str, Any]]:
        body = universe.price_body(symbol, adjusted=True, start="2026-01-01", end=end, cap=5000)[0]
        return {r["date"]: r for r in _rows(body)}

    before = adjusted()
    full = {
        r["date"]: r
        for r in _rows(universe.price_body(symbol, adjusted=False, start="2026-06-01", end=None, cap=5000)[0])
    }
    assert before["2026-06-30"]["adjClose"] == full["2026-06-30"]["close"]  # no visible ex-date after it
    universe.set_as_of(date.fromisoformat(ex_date))
    after = adjusted()
    ratio = 1 - dividend / previous_close
    assert before.keys() < after.keys()
    for day, row in before.items():
        for name in ("adjOpen", "adjHigh", "adjLow", "adjClose"):
            assert after[day][name] == pytest.approx(row[name] * ratio, abs=1e-4)
    assert after[ex_date]["adjClose"] == universe.prices(symbol).close[series.dates.index(ex_date)]
    assert adjusted(end="2026-06-30") == {d: r for d, r in after.items() if d <= "2026-06-30"}


def test_as_of_hides_later_prices_and_filings_and_restate_changes_one_value() -> None:
    """Moving "today" forward reveals new days; a restatement changes exactly the named value."""
    universe = Universe(seed=11, symbols=5, as_of=date(2026, 6, 1))
    before, _ = universe.price_body("MMM", adjusted=False, start="2026-05-01", end=None, cap=5000)
    assert max(r["date"] for r in _rows(before)) <= "2026-06-01"
    universe.set_as_of(date(2026, 6, 10))
    after = _rows(universe.price_body("MMM", adjusted=False, start="2026-05-01", end=None, cap=5000)[0])
    assert len(after) == len(_rows(before)) + 7  # June 2-5 and 8-10
    latest = _rows(universe.statement_body("income", "MMM", "annual", 1))[0]
    universe.restate("MMM", "income", "annual", latest["date"], "revenue", 123)
    restated = _rows(universe.statement_body("income", "MMM", "annual", 1))[0]
    assert restated["revenue"] == 123
    assert {k for k in latest if latest[k] != restated[k]} == {"revenue"}


def test_unknown_symbol_is_an_empty_array(universe: Universe) -> None:
    """FMP answers `[]` for a symbol it does not know."""
    assert universe.profile_body("NOPE") == b"[]"
    assert universe.statement_body("income", "NOPE", "annual", 5) == b"[]"
    assert universe.price_body("NOPE", adjusted=False, start=None, end=None, cap=5000) == (b"[]", 0)


def test_split_divides_earlier_prices_of_both_endpoints_once_visible() -> None:
    """Before a split's ex-date both endpoints show the traded price; once "today" passes it, every earlier
    open/high/low/close is divided by the ratio and the volume multiplied, as FMP's split adjustment."""
    universe = Universe(seed=5, symbols=60, as_of=date(2026, 8, 7))
    symbol, day, ratio = next(
        (s, d, r)
        for s in universe.companies
        for d, r in universe.prices(s).splits.items()
        if d > "2015-01-01"
    )
    series = universe.prices(symbol)
    index = series.dates.index(day)
    before, start = series.dates[index - 1], series.dates[index - 5]

    def full_and_adjusted() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        full = _rows(universe.price_body(symbol, adjusted=False, start=start, end=day, cap=5000)[0])
        adj = _rows(universe.price_body(symbol, adjusted=True, start=start, end=day, cap=5000)[0])
        return {r["date"]: r for r in full}, {r["date"]: r for r in adj}

    universe.set_as_of(date.fromisoformat(day))
    full, adj = full_and_adjusted()
    traded = float(series.close[index - 1])
    assert full[before]["close"] == pytest.approx(traded / ratio, abs=1e-4)
    assert full[before]["volume"] == pytest.approx(int(series.volume[index - 1]) * ratio, abs=1)
    assert full[day]["close"] == float(series.close[index])  # the split day itself trades split
    assert adj[before]["adjClose"] <= full[before]["close"] + 1e-4
    universe.set_as_of(date.fromisoformat(before))
    full, adj = full_and_adjusted()
    assert full[before]["close"] == traded
    assert day not in full
    assert series.close[index] / (traded / ratio) == pytest.approx(
        1.0, abs=0.25
    )  # no jump in the adjusted series


def test_a_filing_after_a_split_restates_every_periods_share_counts() -> None:
    """Until the company's first filing after a split, its statements keep the old share basis; from that
    filing on, every period's share counts (and EPS) are on the new basis, as 10-Ks restate their
    comparatives: the counts never jump from one quarter to the next."""
    universe = Universe(seed=5, symbols=60, as_of=AS_OF)
    symbol, day, ratio = next(
        (s, d, r)
        for s in universe.companies
        for d, r in universe.prices(s).splits.items()
        if "2012" < d < "2025"
    )
    filed = sorted(e.filing for e in universe.fundamentals(symbol)[("income", "quarter")] if e.filing > day)[
        0
    ]

    def shares(on: str) -> dict[str, int]:
        universe.set_as_of(date.fromisoformat(on))
        rows = _rows(universe.statement_body("income", symbol, "quarter", 1000))
        return {row["date"]: row["weightedAverageShsOut"] for row in rows}

    old_basis = shares((date.fromisoformat(filed) - timedelta(days=1)).isoformat())
    new_basis = shares(filed)
    assert set(old_basis) < set(new_basis)
    for end, count in old_basis.items():
        assert new_basis[end] == pytest.approx(count * ratio, rel=1e-6, abs=2), end
    counts = [new_basis[end] for end in sorted(new_basis)]
    assert max(abs(b / a - 1) for a, b in itertools.pairwise(counts)) < 0.1


def test_a_write_down_costs_net_income_not_cash_or_running_costs(universe: Universe) -> None:
    """A quarter's impairment (a non-operating loss of half a quarter's revenue or more) lowers net income,
    leaves SG&A and the operating margin as usual and is added back among the non-cash items, so operating
    cash flow and free cash flow do not fall with it."""
    seen = 0
    for symbol in list(universe.companies)[:40]:
        income = _rows(universe.statement_body("income", symbol, "quarter", 1000))
        cashflow = _rows(universe.statement_body("cashflow", symbol, "quarter", 1000))
        sga_share = sorted(i["sellingGeneralAndAdministrativeExpenses"] / i["revenue"] for i in income)
        usual = sga_share[len(sga_share) // 2]
        for i, c in zip(income, cashflow, strict=True):
            loss = -i["nonOperatingIncomeExcludingInterest"]
            if loss < 0.4 * i["revenue"]:
                continue
            seen += 1
            assert i["netIncome"] < i["operatingIncome"] - 0.3 * i["revenue"], (symbol, i["date"])
            assert i["sellingGeneralAndAdministrativeExpenses"] > 0.5 * usual * i["revenue"], (
                symbol,
                i["date"],
            )
            assert abs(c["otherNonCashItems"] - loss) < 0.05 * i["revenue"], (symbol, i["date"])
            assert c["operatingCashFlow"] > i["netIncome"] + 0.8 * loss, (symbol, i["date"])
    assert seen >= 3


@pytest.mark.parametrize(("first", "second"), [("GOOGL", "GOOG"), ("FOXA", "FOX"), ("NWSA", "NWS")])
def test_share_classes_are_one_company(universe: Universe, first: str, second: str) -> None:
    """Two share classes of one company (one CIK) file the same statements, trade at the same price, report
    the company's one market cap and list on one exchange with one fiscal year."""
    one, two = _rows(universe.profile_body(first))[0], _rows(universe.profile_body(second))[0]
    assert one["cik"] == two["cik"]
    for key in ("price", "marketCap", "exchange", "beta"):
        assert one[key] == two[key], key
    for dataset in ("income", "balance", "cashflow"):
        mine = _rows(universe.statement_body(dataset, first, "quarter", 1000))
        theirs = _rows(universe.statement_body(dataset, second, "quarter", 1000))
        assert len(mine) == len(theirs) > 20
        for row, other in zip(mine, theirs, strict=True):
            assert {k: v for k, v in row.items() if k != "symbol"} == {
                k: v for k, v in other.items() if k != "symbol"
            }
    prices = [
        [
            row["close"]
            for row in _rows(
                universe.price_body(s, adjusted=False, start="2024-01-01", end=None, cap=1000)[0]
            )
        ]
        for s in (first, second)
    ]
    assert prices[0] == prices[1]
    assert len(prices[0]) > 400
