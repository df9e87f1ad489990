"""Fundamental ratios reconcile with FMP's published ratios on the recorded AAPL FY2024 samples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from serving import fundamentals as f
from serving.errors import AnalyticsError

REL = 1e-12  # same inputs, same formula: only float rounding may differ


def assert_reconciles(ours: pd.Series, fmp: dict[str, Any], pairs: dict[str, str]) -> None:
    """Each of our ratios equals the FMP field it is paired with, to float rounding."""
    for name, fmp_name in pairs.items():
        assert ours[name] == pytest.approx(fmp[fmp_name], rel=REL), name


def test_ratios_reconcile_with_fmp_ratios(aapl: pd.DataFrame, fmp_ratios: dict[str, Any]) -> None:
    """With closing balances and basic shares (FMP's choices) our ratios equal FMP's `ratios` fields."""
    ours = f.ratios(aapl, average=False, shares="weightedAverageShsOut").iloc[0]
    pairs = {
        "gross_margin": "grossProfitMargin",
        "operating_margin": "operatingProfitMargin",
        "ebitda_margin": "ebitdaMargin",
        "net_margin": "netProfitMargin",
        "current_ratio": "currentRatio",
        "cash_ratio": "cashRatio",
        "debt_to_equity": "debtToEquityRatio",
        "debt_to_assets": "debtToAssetsRatio",
        "asset_turnover": "assetTurnover",
        "revenue_per_share": "revenuePerShare",
        "eps": "netIncomePerShare",
        "fcf_per_share": "freeCashFlowPerShare",
        "book_value_per_share": "bookValuePerShare",
        "effective_tax_rate": "effectiveTaxRate",
    }
    assert_reconciles(ours, fmp_ratios, pairs)


def test_ratios_reconcile_with_fmp_key_metrics(aapl: pd.DataFrame, fmp_metrics: dict[str, Any]) -> None:
    """ROA, ROE, days ratios, CCC and net debt/EBITDA equal FMP's key-metrics on closing balances."""
    ours = f.ratios(aapl, average=False).iloc[0]
    pairs = {
        "roa": "returnOnAssets",
        "roe": "returnOnEquity",
        "dso": "daysOfSalesOutstanding",
        "dio": "daysOfInventoryOutstanding",
        "dpo": "daysOfPayablesOutstanding",
        "cash_conversion_cycle": "cashConversionCycle",
        "net_debt_to_ebitda": "netDebtToEBITDA",
    }
    assert_reconciles(ours, fmp_metrics, pairs)
    dup = f.dupont(aapl, average=False).iloc[0]
    assert dup["tax_burden"] == pytest.approx(fmp_metrics["taxBurden"], rel=REL)
    assert dup["interest_burden"] == pytest.approx(fmp_metrics["interestBurden"], rel=REL)


def test_ratios_documented_differences_from_fmp(
    aapl: pd.DataFrame, fmp_ratios: dict[str, Any], fmp_metrics: dict[str, Any]
) -> None:
    """Where we differ from FMP, the difference is exactly the documented definitional choice."""
    ours = f.ratios(aapl, average=False).iloc[0]
    row = aapl.iloc[0]
    cl = row["totalCurrentLiabilities"]
    # Quick ratio: FMP uses (current assets - inventory) / CL = 0.826; we use the stricter textbook
    # (cash + short-term investments + receivables) / CL = 0.745, leaving out "other current assets".
    assert fmp_ratios["quickRatio"] == pytest.approx(
        (row["totalCurrentAssets"] - row["inventory"]) / cl, rel=REL
    )
    assert ours["quick_ratio"] == pytest.approx(
        (row["cashAndCashEquivalents"] + row["shortTermInvestments"] + row["netReceivables"]) / cl, rel=REL
    )
    assert ours["quick_ratio"] < fmp_ratios["quickRatio"]
    # Interest coverage: FMP reports 0 when interestExpense is 0 (AAPL FY2024); a ratio over a zero
    # denominator is undefined, so ours is NaN (a 0 would rank AAPL as the worst-covered company).
    assert row["interestExpense"] == 0
    assert fmp_ratios["interestCoverageRatio"] == 0
    assert np.isnan(ours["interest_coverage"])
    # Per share: FMP divides by basic shares; our default is diluted (15,408M vs 15,344M shares).
    assert ours["eps"] == pytest.approx(row["netIncome"] / row["weightedAverageShsOutDil"], rel=REL)
    assert ours["eps"] < fmp_ratios["netIncomePerShare"]
    # ROIC: the textbook one is NOPAT / (debt + equity - cash) = 0.640; FMP's 0.443 is `roic_fmp` (below).
    nopat = row["operatingIncome"] * (1 - row["incomeTaxExpense"] / row["incomeBeforeTax"])
    invested = row["totalDebt"] + row["totalEquity"] - row["cashAndCashEquivalents"]
    assert ours["roic"] == pytest.approx(nopat / invested, rel=REL)
    assert nopat / fmp_metrics["returnOnInvestedCapital"] == pytest.approx(211_099e6, rel=1e-9)
    # Average balances need the prior year, which a one-year sample does not have: NaN, not a guess.
    assert np.isnan(f.ratios(aapl).iloc[0]["roa"])
    # FMP's operatingReturnOnAssets does average: it implies FY2023 total assets of 352,583M (Apple's 10-K).
    implied_prev_assets = (
        2 * row["operatingIncome"] / fmp_metrics["operatingReturnOnAssets"] - row["totalAssets"]
    )
    assert implied_prev_assets == pytest.approx(352_583e6, rel=1e-9)


def _two_years() -> pd.DataFrame:
    base = {
        "revenue": 100.0, "costOfRevenue": 60.0, "grossProfit": 40.0, "operatingIncome": 20.0,
        "incomeBeforeTax": 18.0, "incomeTaxExpense": 4.5, "netIncome": 13.5, "totalAssets": 200.0,
        "totalStockholdersEquity": 80.0, "totalEquity": 80.0, "totalDebt": 60.0, "cashAndCashEquivalents": 10.0,
        "totalCurrentAssets": 70.0, "totalCurrentLiabilities": 50.0, "totalLiabilities": 120.0,
        "retainedEarnings": 30.0, "longTermDebt": 50.0, "operatingCashFlow": 18.0, "weightedAverageShsOut": 10.0,
    }  # fmt: skip
    later = {**base, "revenue": 120.0, "grossProfit": 50.0, "netIncome": 16.0, "totalAssets": 220.0,
             "totalStockholdersEquity": 100.0, "totalCurrentAssets": 80.0, "longTermDebt": 45.0,
             "operatingCashFlow": 20.0, "weightedAverageShsOut": 9.5}  # fmt: skip
    return pd.DataFrame([base, later], index=pd.to_datetime(["2023-12-31", "2024-12-31"]))


def test_ratios_average_balances_use_previous_row() -> None:
    """ROA and ROE divide by the average of opening and closing balances when average=True."""
    r = f.ratios(_two_years()).iloc[1]
    assert r["roa"] == pytest.approx(16.0 / 210.0)
    assert r["roe"] == pytest.approx(16.0 / 90.0)
    assert r["asset_turnover"] == pytest.approx(120.0 / 210.0)


def test_dupont_products_equal_roe(aapl: pd.DataFrame) -> None:
    """3-step and 5-step DuPont products both equal ROE (net income / equity)."""
    d = f.dupont(_two_years()).iloc[1]
    assert d["roe_3step"] == pytest.approx(16.0 / 90.0, rel=1e-12)
    assert d["roe_5step"] == pytest.approx(16.0 / 90.0, rel=1e-12)


def test_piotroski_f_counts_nine_signals() -> None:
    """The F-score sums the nine signals; years without two earlier ones (opening assets of t-1) are NaN."""
    two = _two_years()
    three = pd.concat([two.iloc[[0]], two]).set_axis(
        pd.to_datetime(["2022-12-31", "2023-12-31", "2024-12-31"])
    )
    out = f.piotroski_f(three)
    assert out["f_score"].iloc[:2].isna().all()
    last = out.iloc[2]
    # ROA 16/200 > 13.5/200, CFO 20 > 0, CFO/TA > ROA, LTD/avg TA 45/210 < 50/200, current ratio, fewer
    # shares, margin, turnover 120/200 > 100/200 on opening assets: all 9 pass.
    assert last["f_score"] == 9
    assert last.drop("f_score").eq(1.0).all()


def test_piotroski_opening_assets_aapl_fy2024_scores_7() -> None:
    """AAPL FY2024 scores 7 with beginning-of-year assets (the paper's way), 6 on closing assets.

    Source: Piotroski (2000), Journal of Accounting Research 38, "Value investing: the use of historical
    financial statement information to separate winners from losers" (signal definitions); figures from
    Apple's Form 10-K for FY2024 (FY2024 and FY2023 columns) and FY2023 (FY2022 total assets 352,755 M; FMP's
    operatingReturnOnAssets implies the same FY2023 assets, see test_ratios_documented_differences_from_fmp).
    """
    m = 1e6
    years = pd.DataFrame(
        {
            "totalAssets": [352_755 * m, 352_583 * m, 364_980 * m],
            "netIncome": [99_803 * m, 96_995 * m, 93_736 * m],
            "operatingCashFlow": [122_151 * m, 110_543 * m, 118_254 * m],
            "longTermDebt": [98_959 * m, 95_281 * m, 85_750 * m],
            "totalCurrentAssets": [135_405 * m, 143_566 * m, 152_987 * m],
            "totalCurrentLiabilities": [153_982 * m, 145_308 * m, 176_392 * m],
            "weightedAverageShsOut": [16_215_963e3, 15_744_231e3, 15_343_783e3],
            "grossProfit": [170_782 * m, 169_148 * m, 180_683 * m],
            "revenue": [394_328 * m, 383_285 * m, 391_035 * m],
        },
        index=pd.to_datetime(["2022-09-24", "2023-09-30", "2024-09-28"]),
    )
    paper = f.piotroski_f(years).iloc[2]
    assert paper["f_score"] == 7
    assert paper["roa_improved"] == 0
    assert paper["current_ratio_up"] == 0
    assert paper["turnover_up"] == 1  # 391,035 / 352,583 = 1.109 > 383,285 / 352,755 = 1.087
    # The closing-assets variant we used before: ROA and turnover both fall, 6.
    closing_roa = (93_736 / 364_980, 96_995 / 352_583)
    closing_turn = (391_035 / 364_980, 383_285 / 352_583)
    assert closing_roa[0] < closing_roa[1]
    assert closing_turn[0] < closing_turn[1]
    assert paper["f_score"] - paper["turnover_up"] == 6
    # The same score from a cross-section (screener): latest, previous and the year before.
    rows = [years.iloc[[i]].set_axis(["AAPL"]) for i in (2, 1, 0)]
    assert f.piotroski_f(rows[0], previous=rows[1], before=rows[2])["f_score"].iloc[0] == 7


def test_altman_z_hand_computed() -> None:
    """Altman Z equals 1.2A + 1.4B + 3.3C + 0.6D + 1.0E computed by hand."""
    frame = _two_years().iloc[[1]]
    z = f.altman_z(frame, 300.0).iloc[0]
    expected = 1.2 * 30 / 220 + 1.4 * 30 / 220 + 3.3 * 20 / 220 + 0.6 * 300 / 120 + 1.0 * 120 / 220
    assert z == pytest.approx(expected, rel=1e-12)
    assert np.isnan(f.altman_z(frame, None).iloc[0])


def test_growth_yoy_and_cagr() -> None:
    """YoY and CAGR are computed over the right lag; a non-positive base gives NaN."""
    s = pd.Series([100.0, 110.0, 121.0, 133.1, -5.0, 10.0])
    assert f.yoy(s).iloc[1] == pytest.approx(0.10)
    assert f.cagr(s, 3).iloc[3] == pytest.approx(0.10)
    assert np.isnan(f.yoy(s).iloc[5])  # from a loss: undefined
    q = pd.Series(np.arange(1.0, 13.0))
    assert f.yoy(q, periods=4).iloc[4] == pytest.approx(4.0)
    g = f.growth(pd.DataFrame({"revenue": [100.0, 110.0, 121.0, 133.1]}), fields=["revenue"])
    assert g["revenue_cagr_3y"].iloc[3] == pytest.approx(0.10)


def test_ratios_bad_input_gives_nan_or_error() -> None:
    """Missing fields and zero denominators give NaN; an unknown share field raises AnalyticsError."""
    frame = pd.DataFrame({"revenue": [0.0, 50.0], "grossProfit": [10.0, np.nan]})
    r = f.ratios(frame)
    assert r["gross_margin"].isna().all()
    assert r["current_ratio"].isna().all()
    assert not np.isinf(r.to_numpy(dtype=float)).any()
    with pytest.raises(AnalyticsError, match="share field"):
        f.ratios(frame, shares="sharesOutstanding")
    with pytest.raises(AnalyticsError, match="positive number of years"):
        f.cagr(pd.Series([1.0]), 0)
    assert f.ratios(pd.DataFrame()).empty


def test_ratios_negative_equity_debt_to_equity_is_nan() -> None:
    """Negative equity gives no D/E (like the multiples), so it cannot pass "D/E < 1" as least levered (item 4)."""
    frame = _two_years().assign(totalStockholdersEquity=[80.0, -40.0])
    r = f.ratios(frame, average=False)
    assert r["debt_to_equity"].iloc[0] == pytest.approx(60.0 / 80.0)
    assert np.isnan(r["debt_to_equity"].iloc[1])


def test_ratios_pre_tax_loss_roic_is_negative() -> None:
    """A pre-tax loss gives ROIC = EBIT / invested capital (no tax), negative, so loss-makers rank worst (item 5)."""
    frame = _two_years().iloc[[1]].assign(operatingIncome=-12.0, incomeBeforeTax=-15.0, incomeTaxExpense=-1.0)
    r = f.ratios(frame, average=False).iloc[0]
    assert r["roic"] == pytest.approx(-12.0 / (60.0 + 80.0 - 10.0))
    assert np.isnan(r["effective_tax_rate"])  # the displayed tax rate stays undefined for a loss


def test_previous_period_skips_a_missing_fiscal_year() -> None:
    """With FY2023 missing, FY2024 has no previous period: no average, no F-score, no YoY (item 6)."""
    years = pd.DataFrame(
        [_two_years().iloc[0]] * 3, index=pd.to_datetime(["2021-12-31", "2022-12-31", "2024-12-31"])
    )
    years["revenue"] = [100.0, 110.0, 150.0]
    r = f.ratios(years)
    assert r["roa"].iloc[1] == pytest.approx(13.5 / 200.0)  # adjacent: averaged with 2021 (equal assets)
    assert np.isnan(r["roa"].iloc[2])  # 2022 is two years back: not an opening balance
    assert np.isnan(f.piotroski_f(years)["f_score"].iloc[2])  # no adjacent previous year
    assert f.yoy(years["revenue"]).iloc[1] == pytest.approx(0.10)
    assert np.isnan(f.yoy(years["revenue"]).iloc[2])
    assert np.isnan(f.growth(years, fields=["revenue"])["revenue_yoy"].iloc[2])
    week53 = pd.DataFrame({"revenue": [100.0, 110.0]}, index=pd.to_datetime(["2022-09-24", "2023-09-30"]))
    assert f.yoy(week53["revenue"]).iloc[1] == pytest.approx(0.10)  # a 53-week year is still adjacent


def test_roic_fmp_reproduces_fmp_key_metrics(aapl: pd.DataFrame, fmp_metrics: dict[str, Any]) -> None:
    """FMP's ROIC: NOPAT / (TA - CL + short-term debt + current leases) = 0.4431 for AAPL FY2024.

    Source: tests/fixtures/fmp/stable_key-metrics_AAPL_annual.json (returnOnInvestedCapital) with the FY2024
    balance sheet and income statement: 364,980 - 176,392 + 20,879 + 1,632 = 211,099 M.
    """
    ours = f.ratios(aapl, average=False).iloc[0]
    row = aapl.iloc[0]
    invested = (
        row["totalAssets"]
        - row["totalCurrentLiabilities"]
        + row["shortTermDebt"]
        + row["capitalLeaseObligationsCurrent"]
    )
    assert invested == 211_099e6
    assert ours["roic_fmp"] == pytest.approx(fmp_metrics["returnOnInvestedCapital"], rel=REL)
    assert ours["roic"] > ours["roic_fmp"]  # textbook: net of cash, so a smaller base


def test_altman_model_by_sector_aapl_worked_example(aapl: pd.DataFrame) -> None:
    """Z'' for non-manufacturers, Z for manufacturers, none for financials, each labelled.

    Source: Altman (2000), "Predicting financial distress of companies: revisiting the Z-score and ZETA
    models", Z'' = 6.56 X1 + 3.26 X2 + 6.72 X3 + 1.05 X4; inputs from the AAPL FY2024 fixtures:
    X1 = (152,987 - 176,392) / 364,980, X2 = -19,154 / 364,980, X3 = 123,216 / 364,980,
    X4 = 56,950 / 308,030, so Z'' = 1.871.
    """
    x1, x2, x3, x4 = (152_987 - 176_392) / 364_980, -19_154 / 364_980, 123_216 / 364_980, 56_950 / 308_030
    expected = 6.56 * x1 + 3.26 * x2 + 6.72 * x3 + 1.05 * x4
    assert expected == pytest.approx(1.871, abs=5e-4)
    assert f.altman_z_double_prime(aapl).iloc[0] == pytest.approx(expected, rel=1e-9)
    mc = 3_495_160_329_570.0
    three = pd.concat([aapl] * 3)
    three.index = pd.Index(["AAPL", "VZ", "JPM"])
    sectors = pd.Series(
        {"AAPL": "Information Technology", "VZ": "Communication Services", "JPM": "Financials"}
    )
    out = f.altman(three, mc, sectors)
    assert out.loc["AAPL", "altman_model"] == "Z (1968)"
    assert out.loc["AAPL", "altman_z"] == pytest.approx(f.altman_z(aapl, mc).iloc[0], rel=1e-12)
    assert out.loc["VZ", "altman_model"] == "Z'' (1995)"
    assert out.loc["VZ", "altman_z"] == pytest.approx(expected, rel=1e-9)
    assert pd.isna(out.loc["JPM", "altman_model"])
    assert np.isnan(out.loc["JPM", "altman_z"])
