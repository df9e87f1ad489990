"""The generated universe looks like the real S&P 500, for several seeds: cross-section statistics held to
bands, and time series (growth, price levels, P/E, payouts, equity, filing dates) that make each company
look like itself over the decades."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest

from fakefmp.census import census
from fakefmp.data import Universe
from fakefmp.facts import known_facts
from fakefmp.sectors import SECTORS

SEEDS = (3, 42, 2026)
EVERY = 2  # every other constituent: 252 companies, at least 10 per sector, a few seconds each seed
AS_OF = date(2026, 8, 7)


NAMED = (
    "AAPL",
    "MSFT",
    "JPM",
    "XOM",
    "JNJ",
    "NVDA",
    "AMZN",
    "GOOGL",
    "COST",
    "WMT",
    "ORCL",
    "BRK-B",
    "V",
    "NKE",
)


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def universe(request: pytest.FixtureRequest) -> Universe:
    return Universe(seed=request.param, symbols=503, as_of=AS_OF)


@pytest.fixture(scope="module")
def stats(universe: Universe) -> dict[str, Any]:
    return census(universe, list(universe.companies)[::EVERY])


def _rows(body: bytes) -> list[dict[str, Any]]:
    return list(orjson.loads(body))


def test_market_caps_are_distributed_like_the_index(stats: dict[str, Any]) -> None:
    """A few companies above USD 1 tn, none above 6 tn (the largest real one was near 5 tn at the end of
    2025, and a known company's price moves freely from there), the median near USD 35 bn, the smallest
    near 6 bn."""
    caps = stats["market_cap_bn"]
    assert caps["max"] < 6000, stats
    assert 2 <= stats["above_1tn"] <= 12, stats
    assert 25 <= caps["median"] <= 55, caps
    assert 3 <= caps["min"] <= 12, caps
    assert stats["prices_below_1"] == 0


def test_pe_is_mostly_10_to_40_with_sector_medians_like_the_index(stats: dict[str, Any]) -> None:
    """Most P/Es fall in 10-40 and each sector's median is within -35 %/+50 % of the real sector's."""
    assert stats["pe_10_to_40_share"] >= 0.6
    for sector, median in stats["pe_median_by_sector"].items():
        assert 0.65 * SECTORS[sector].pe <= median <= 1.5 * SECTORS[sector].pe, (sector, median)


def test_volatility_beta_and_correlation_are_in_their_bands(stats: dict[str, Any]) -> None:
    """Five-year volatilities 15-45 %, betas 0.5-1.8 (5th-95th percentile), average correlation about 0.3,
    higher within a sector."""
    vol, beta, corr = stats["volatility"], stats["beta"], stats["correlation"]
    assert vol["p5"] >= 0.15, vol
    assert vol["p95"] <= 0.45, vol
    assert vol["min"] >= 0.12, vol
    assert vol["max"] <= 0.55, vol
    assert beta["p5"] >= 0.5, beta
    assert beta["p95"] <= 1.8, beta
    assert beta["min"] >= 0.35, beta
    assert beta["max"] <= 2.0, beta
    assert 0.2 <= corr["average"] <= 0.4, corr
    assert corr["same_sector"] >= corr["other_sector"] + 0.05, corr


def test_every_series_shows_the_market_crashes(stats: dict[str, Any]) -> None:
    """2008-09 and March 2020 show in (nearly) every series; 2000-02 in the typical one."""
    crash = stats["crash_drawdown"]
    assert crash["gfc"]["p10"] >= 0.25, crash
    assert crash["covid"]["p10"] >= 0.15, crash
    assert crash["dot-com"]["median"] >= 0.3, crash


def test_dividends_follow_the_sector(stats: dict[str, Any]) -> None:
    """Utilities and staples pay; many technology companies do not."""
    payers = stats["payers_by_sector"]
    assert payers["Utilities"] >= 0.8, payers
    assert payers["Consumer Defensive"] >= 0.8, payers
    assert payers["Technology"] <= 0.8, payers


def test_share_counts_drift_both_ways(stats: dict[str, Any]) -> None:
    """Over ten years most share counts move by more than 5 % (split-adjusted): buybacks and issuance."""
    drift = stats["share_drift_10y"]
    assert stats["share_count_moved_5pct"] >= 0.5
    assert drift["p10"] < -0.05, drift
    assert drift["p90"] > 0.05, drift


def test_statements_add_up_and_have_sector_shapes(stats: dict[str, Any]) -> None:
    """Identities hold exactly, quarters sum to years; banks are levered, REITs hold property; a few losses
    and a few negative equities (the companies known for them)."""
    assert stats["identity_residual"] == 0
    assert stats["quarters_vs_annual_residual"] == 0
    assert 0.01 <= stats["loss_year_share"] <= 0.1
    assert stats["negative_equity"] <= 0.05 * stats["symbols"]
    assert 7 <= stats["bank_leverage_median"] <= 14, stats
    assert stats["reit_property_share_median"] >= 0.6, stats


def test_revenue_grows_over_decades_at_sector_like_rates(stats: dict[str, Any]) -> None:
    """Revenue's 15-year growth is a few percent a year for the typical company (a tenth shrink a little,
    a tenth grow fast), and nearly every company is larger than 20 years ago."""
    series = stats["series"]
    cagr = series["revenue_cagr_15y"]
    assert -0.02 <= cagr["p10"] <= 0.03, cagr
    assert 0.03 <= cagr["median"] <= 0.08, cagr
    assert 0.08 <= cagr["p90"] <= 0.2, cagr
    assert series["revenue_grew_20y"] >= 0.85, series
    assert series["revenue_grew_15y_before"] >= 0.95, series


def test_mature_companies_grew_before_they_slowed(universe: Universe) -> None:
    """Companies that barely grow today (Exxon, Chevron, Coca-Cola, Procter & Gamble, GE...) grew from 1995
    to 2010, as the real ones did (two- to tenfold): fiscal 1995's revenue is below 80 % of fiscal 2010's."""
    for symbol in ("XOM", "CVX", "KO", "PG", "GE", "JNJ", "T", "VZ", "IBM", "PEP"):
        annual = _rows(universe.statement_body("income", symbol, "annual", 1000))
        revenue = {int(row["fiscalYear"]): row["revenue"] for row in annual}
        assert revenue[1995] < 0.8 * revenue[2010], (symbol, revenue[1995], revenue[2010])


def test_the_best_known_growth_stories_grew_several_fold(universe: Universe) -> None:
    """AAPL, MSFT, NVDA, AMZN, GOOGL and COST: the latest fiscal year's revenue is over 3x that of 15 years
    earlier, and within 25 % of the real company's latest year."""
    for symbol in ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "COST"):
        revenue = [row["revenue"] for row in _rows(universe.statement_body("income", symbol, "annual", 16))]
        assert revenue[0] > 3 * revenue[15], (symbol, revenue[0], revenue[15])
        assert 0.75 < revenue[0] / known_facts()[symbol].revenue < 1.25, (symbol, revenue[0])


def test_prices_sit_at_real_stock_levels(stats: dict[str, Any], universe: Universe) -> None:
    """The median price is USD 100-200 or near it, very few are above USD 1,500; the named companies trade
    within a factor of two of the real stock's price at the end of 2025."""
    price = stats["series"]["price"]
    assert 80 <= price["median"] <= 250, price
    assert price["above_1500"] <= 0.03 * stats["symbols"], price
    assert price["max"] < 10_000, price
    for symbol in NAMED:
        quoted = _rows(universe.profile_body(symbol))[0]["price"]
        assert 0.5 < quoted / known_facts()[symbol].price < 2, (symbol, quoted)


def test_named_companies_stay_near_their_real_price_a_year_on(universe: Universe) -> None:
    """On the demo's date, a year after the real end-2025 prices, the named companies trade within
    0.6x-1.7x of them: their own news starts from nil there, so no price drifts back from a stale one."""
    later = Universe(seed=universe.seed, symbols=503, as_of=date(2026, 12, 7))
    for symbol in (*NAMED, "MA", "T", "KO", "INTC"):
        quoted = _rows(later.profile_body(symbol))[0]["price"]
        assert 0.6 < quoted / known_facts()[symbol].price < 1.7, (symbol, quoted)


def test_prices_follow_earnings_through_history(stats: dict[str, Any]) -> None:
    """Year by year, P/E stays where real ones do: a median near 20, nearly always between 5 and 60."""
    pe = stats["series"]["pe_history"]
    assert 12 <= pe["median"] <= 32, pe
    assert pe["in_5_to_60"] >= 0.8, pe


def test_named_companies_have_their_real_fiscal_year_and_exchange(universe: Universe) -> None:
    """Fiscal years end in the real company's month (Apple in September, Microsoft in June, Walmart in
    January...) and the profile names the real primary exchange."""
    expected = {
        "AAPL": (9, "NASDAQ"), "MSFT": (6, "NASDAQ"), "NVDA": (1, "NASDAQ"), "AMZN": (12, "NASDAQ"),
        "GOOGL": (12, "NASDAQ"), "COST": (8, "NASDAQ"), "WMT": (1, "NASDAQ"), "ORCL": (5, "NYSE"),
        "JPM": (12, "NYSE"), "XOM": (12, "NYSE"), "JNJ": (12, "NYSE"), "BRK-B": (12, "NYSE"), "V": (9, "NYSE"),
        "NKE": (5, "NYSE"),
    }  # fmt: skip
    for symbol, (month, exchange) in expected.items():
        annual = _rows(universe.statement_body("income", symbol, "annual", 1000))
        assert {int(row["date"][5:7]) for row in annual} == {month}, symbol
        assert _rows(universe.profile_body(symbol))[0]["exchange"] == exchange, symbol


def test_equity_is_positive_except_the_documented_list(stats: dict[str, Any], universe: Universe) -> None:
    """Only companies known for negative equity (data/company_facts.csv) have it; the named others have
    positive equity in every year."""
    documented = {s for s, facts in known_facts().items() if facts.negative_equity}
    assert set(stats["series"]["negative_equity_symbols"]) <= documented, stats["series"]
    for symbol in ("AAPL", "MSFT", "JPM", "XOM", "JNJ", "KO"):
        balance = _rows(universe.statement_body("balance", symbol, "annual", 1000))
        assert min(row["totalStockholdersEquity"] for row in balance) > 0, symbol


def test_payouts_are_covered_by_free_cash_flow(stats: dict[str, Any], universe: Universe) -> None:
    """Over five years, dividends plus buybacks stay within 120 % of free cash flow for most companies
    (the typical one pays out about two thirds), Microsoft's among them."""
    payout = stats["series"]["payout_5y"]
    assert payout["covered"] >= 0.8, payout
    assert 0.3 <= payout["median"] <= 1.0, payout
    flows = _rows(universe.statement_body("cashflow", "MSFT", "annual", 5))
    paid = -sum(row["commonDividendsPaid"] + row["commonStockRepurchased"] for row in flows)
    assert paid <= 1.2 * sum(row["freeCashFlow"] for row in flows)


def test_share_counts_never_jump_and_filings_follow_period_ends(stats: dict[str, Any]) -> None:
    """Quarter to quarter no share count moves by 10 % (per-share figures are on the latest filing's
    basis, so splits leave no jump); every period is filed 30-90 days after it ends, accepted that day."""
    series = stats["series"]
    assert series["max_share_jump"] < 0.1, series
    assert 30 <= series["filing_lag_days"]["min"] <= series["filing_lag_days"]["max"] <= 90, series
    assert series["accepted_not_filing_day"] == 0


def test_census_is_deterministic_for_a_seed() -> None:
    """The same seed gives the same universe (here: the same statistics of a small slice)."""
    first = census(Universe(seed=5, symbols=503, as_of=AS_OF), ["AAPL", "JPM", "O", "XOM", "KO", "NVDA"])
    again = census(Universe(seed=5, symbols=503, as_of=AS_OF), ["AAPL", "JPM", "O", "XOM", "KO", "NVDA"])
    assert first == again
