"""DCF reproduces a published worked example to the cent; WACC, sensitivity and multiples behave."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from serving import valuation as v
from serving.errors import AnalyticsError, TerminalGrowthError
from tests.dashboard.analytics.conftest import load

# Cagiati Enterprises: CFA Institute, "Equity Asset Valuation" (Pinto, Henry, Robinson, Stowe; CFA
# Institute Investment Series, 2nd ed. 2010), reading "Free Cash Flow Valuation", example "Using the
# Constant-Growth FCFF Valuation Model". FCFF0 = CHF 700M, before-tax cost of debt 5.7%, required return on
# equity 11.8%, target weights 20% debt / 80% equity, tax rate 33.33%, FCFF growth 5% forever, debt CHF
# 2.2bn, 200M shares. Published solution: WACC = 10.2%; firm value = 700 * 1.05 / (0.102 - 0.05) =
# CHF 14,134.6M; equity = 14,134.6 - 2,200 = CHF 11,934.6M; value per share = CHF 59.67.
CAGIATI = {"base_fcf": 700e6, "net_debt": 2.2e9, "shares": 200e6}


def test_dcf_reproduces_cagiati_worked_example_to_the_cent() -> None:
    """WACC 10.2%, firm value 14,134.6M, equity 11,934.6M and CHF 59.67 a share, as published."""
    w = v.wacc(
        cost_of_equity=0.118, pre_tax_cost_of_debt=0.057, tax_rate=0.3333, equity_value=80, debt_value=20
    )
    assert round(w.value, 4) == 0.1020
    res = v.dcf(CAGIATI["base_fcf"], growth=0.05, years=0, wacc=0.102, terminal_growth=0.05,
                net_debt=CAGIATI["net_debt"], shares=CAGIATI["shares"])  # fmt: skip
    assert round(res.gordon.enterprise_value / 1e6, 1) == 14_134.6
    assert round(res.gordon.equity_value / 1e6, 1) == 11_934.6
    assert round(res.gordon.per_share, 2) == 59.67
    # With the unrounded WACC (10.20004%) the published per-share value still holds to the cent.
    unrounded = v.dcf(CAGIATI["base_fcf"], growth=0.05, years=0, wacc=w.value, terminal_growth=0.05,
                      net_debt=CAGIATI["net_debt"], shares=CAGIATI["shares"])  # fmt: skip
    assert round(unrounded.gordon.per_share, 2) == 59.67


@pytest.mark.parametrize("years", [1, 3, 5, 10])
def test_dcf_explicit_years_discounted_from_year_one(years: int) -> None:
    """Explicit years grown at g then a Gordon tail at g give the single-stage value: the base year is
    never discounted into the value (discounting from t=0 or counting FCF0 would break this identity)."""
    res = v.dcf(CAGIATI["base_fcf"], growth=0.05, years=years, wacc=0.102, terminal_growth=0.05,
                net_debt=CAGIATI["net_debt"], shares=CAGIATI["shares"])  # fmt: skip
    assert round(res.gordon.per_share, 2) == 59.67
    assert res.projection["fcf"].iloc[0] == pytest.approx(700e6 * 1.05)
    assert res.projection["discount_factor"].iloc[0] == pytest.approx(1 / 1.102)


def test_dcf_two_stage_hand_computed() -> None:
    """A two-stage DCF (10% for 3 years, then 3%) equals the sum of its discounted parts, by hand."""
    res = v.dcf(100.0, growth=[0.10, 0.10, 0.10], years=3, wacc=0.09, terminal_growth=0.03, net_debt=50.0,
                shares=10.0, price=20.0, exit_multiple=15.0)  # fmt: skip
    fcf = [110.0, 121.0, 133.1]
    pv = sum(x / 1.09**t for t, x in enumerate(fcf, start=1))
    tv = 133.1 * 1.03 / 0.06
    assert res.pv_explicit == pytest.approx(pv, rel=1e-12)
    assert res.gordon.enterprise_value == pytest.approx(pv + tv / 1.09**3, rel=1e-12)
    assert res.gordon.per_share == pytest.approx((pv + tv / 1.09**3 - 50.0) / 10.0, rel=1e-12)
    assert res.gordon.upside == pytest.approx(res.gordon.per_share / 20.0 - 1)
    assert res.exit_multiple is not None
    assert res.exit_multiple.terminal_value == pytest.approx(15.0 * 133.1)
    assert 0 < res.gordon.terminal_share < 1


@pytest.mark.parametrize("g", [0.102, 0.12])
def test_dcf_terminal_growth_at_or_above_wacc_rejected(g: float) -> None:
    """Terminal growth >= WACC raises TerminalGrowthError (an AnalyticsError) naming both rates."""
    with pytest.raises(TerminalGrowthError, match="must be below WACC"):
        v.dcf(700e6, growth=0.05, wacc=0.102, terminal_growth=g, net_debt=0.0, shares=1.0)


def test_dcf_bad_inputs_raise_analytics_error() -> None:
    """Non-finite inputs, wrong growth-path length and non-positive shares raise AnalyticsError."""
    with pytest.raises(AnalyticsError, match="finite"):
        v.dcf(float("nan"), growth=0.05, wacc=0.1, terminal_growth=0.02, net_debt=0.0, shares=1.0)
    with pytest.raises(AnalyticsError, match="rates for 5"):
        v.dcf(1.0, growth=[0.1, 0.1], years=5, wacc=0.1, terminal_growth=0.02, net_debt=0.0, shares=1.0)
    with pytest.raises(AnalyticsError, match="shares"):
        v.dcf(1.0, growth=0.1, wacc=0.1, terminal_growth=0.02, net_debt=0.0, shares=0.0)
    with pytest.raises(AnalyticsError, match="tax_rate"):
        v.wacc(cost_of_equity=0.1, pre_tax_cost_of_debt=0.05, tax_rate=1.2, equity_value=1, debt_value=1)
    with pytest.raises(AnalyticsError, match="weights"):
        v.wacc(cost_of_equity=0.1, pre_tax_cost_of_debt=0.05, tax_rate=0.2, equity_value=0, debt_value=0)


def test_capm_and_wacc_components() -> None:
    """CAPM is rf + beta * ERP; WACC uses after-tax debt cost on market-value weights."""
    ke = v.capm_cost_of_equity(0.04, 1.2, 0.05)
    assert ke == pytest.approx(0.10)
    w = v.wacc(cost_of_equity=ke, pre_tax_cost_of_debt=0.06, tax_rate=0.25, equity_value=750, debt_value=250)
    assert w.after_tax_cost_of_debt == pytest.approx(0.045)
    assert w.value == pytest.approx(0.75 * 0.10 + 0.25 * 0.045)


def test_sensitivity_grid_matches_single_dcfs_and_blanks_invalid_cells() -> None:
    """Each grid cell equals the single DCF; cells with g >= WACC are NaN instead of raising."""
    grid = v.sensitivity(700e6, growth=0.05, years=5, waccs=[0.08, 0.102], terminal_growths=[0.05, 0.09],
                         net_debt=2.2e9, shares=200e6)  # fmt: skip
    assert round(grid.loc[0.102, 0.05], 2) == 59.67
    assert np.isnan(grid.loc[0.08, 0.09])
    assert grid.loc[0.08, 0.05] > grid.loc[0.102, 0.05]  # lower discount rate, higher value


@pytest.mark.parametrize("mid_year", [False, True])
@pytest.mark.parametrize(("growth", "years"), [(0.06, 5), ([0.2, 0.1, -0.05], 3), (0.03, 0), (0.04, 15)])
def test_sensitivity_cells_equal_their_own_dcf_exactly(mid_year: bool, growth: Any, years: int) -> None:
    """Every grid cell is bit-identical to dcf() at that WACC and terminal growth (the headline cell must be
    the headline value), though the grid computes the explicit years once per WACC."""
    waccs = [0.071234 + d for d in (-0.02, -0.01, 0.0, 0.01, 0.02)]
    growths = [0.025 + d for d in (-0.01, -0.005, 0.0, 0.005, 0.01, 0.06)]
    common = dict(growth=growth, years=years, net_debt=1.234e9, shares=3.21e8, mid_year=mid_year)
    grid = v.sensitivity(5.4321e8, waccs=waccs, terminal_growths=growths, **common)
    for r in waccs:
        for g in growths:
            cell = grid.loc[r, g]
            if g >= r:
                assert np.isnan(cell)
            else:
                assert cell == v.dcf(5.4321e8, wacc=r, terminal_growth=g, **common).gordon.per_share


def test_sensitivity_still_rejects_bad_inputs() -> None:
    """Inputs dcf() refuses still raise from the grid (a WACC at or below -100%, no shares)."""
    with pytest.raises(AnalyticsError, match="WACC must be above"):
        v.sensitivity(1.0, growth=0.0, waccs=[-1.0], terminal_growths=[-2.0, -3.0], net_debt=0.0, shares=1.0)
    with pytest.raises(AnalyticsError, match="shares must be positive"):
        v.sensitivity(1.0, growth=0.0, waccs=[0.1], terminal_growths=[0.0, 0.01], net_debt=0.0, shares=0.0)


def test_multiples_reconcile_with_fmp(
    aapl: pd.DataFrame, fmp_ratios: dict[str, Any], fmp_metrics: dict[str, Any]
) -> None:
    """With FMP's market cap, P/E, P/B, P/FCF and the FMP-labelled EV and EV/EBITDA equal FMP's values."""
    mc = pd.Series(float(fmp_metrics["marketCap"]), index=aapl.index)
    m = v.multiples(aapl, mc).iloc[0]
    assert m["enterprise_value_fmp"] == pytest.approx(fmp_metrics["enterpriseValue"], rel=1e-12)
    assert m["pe"] == pytest.approx(fmp_ratios["priceToEarningsRatio"], rel=1e-12)
    assert m["ev_ebitda_fmp"] == pytest.approx(fmp_metrics["evToEBITDA"], rel=1e-12)
    assert m["enterprise_value_fmp"] / aapl["revenue"].iloc[0] == pytest.approx(fmp_metrics["evToSales"])
    assert m["pb"] == pytest.approx(fmp_ratios["priceToBookRatio"], rel=1e-12)
    assert m["p_fcf"] == pytest.approx(fmp_ratios["priceToFreeCashFlowRatio"], rel=1e-12)


def test_multiples_negative_earnings_nan_and_market_cap_asof() -> None:
    """A loss gives NaN P/E; market_cap_at uses the last close on or before each fiscal date."""
    frame = pd.DataFrame({"netIncome": [-5.0, 10.0], "netDebt": [0.0, 0.0]},
                         index=pd.to_datetime(["2023-12-31", "2024-12-31"]))  # fmt: skip
    close = pd.Series([10.0, 11.0, 12.0], index=pd.to_datetime(["2023-12-29", "2024-06-28", "2024-12-31"]))
    shares = pd.Series([100.0, 100.0], index=frame.index)
    mc = v.market_cap_at(close, shares)
    assert mc.tolist() == [1000.0, 1200.0]
    m = v.multiples(frame, mc)
    assert np.isnan(m["pe"].iloc[0])
    assert m["pe"].iloc[1] == pytest.approx(120.0)
    assert m["ev_ebitda"].isna().all()  # no ebitda field: NaN, not a KeyError


def test_versus_sector_median_and_premium() -> None:
    """A symbol's multiple is compared with its GICS sector's median; unknown symbols raise."""
    table = pd.DataFrame({"pe": [10.0, 20.0, 30.0, 50.0]}, index=["A", "B", "C", "D"])
    sectors = {"A": "Energy", "B": "Energy", "C": "Energy", "D": "Utilities"}
    out = v.versus_sector(table, sectors, "A", columns=["pe"])
    assert out.loc["pe", "sector_median"] == 20.0
    assert out.loc["pe", "premium"] == pytest.approx(-0.5)
    with pytest.raises(AnalyticsError, match="unknown symbol"):
        v.versus_sector(table, sectors, "ZZZ", columns=["pe"])
    medians = v.sector_medians(table, sectors, ["pe"])  # kept by a caller and passed in: the same answer
    pd.testing.assert_frame_equal(v.versus_sector(table, sectors, "A", columns=["pe"], medians=medians), out)
    pd.testing.assert_frame_equal(
        v.versus_sector(table, sectors, "D", columns=["pe"], medians=medians),
        v.versus_sector(table, sectors, "D", columns=["pe"]),
    )
    with pytest.raises(AnalyticsError, match="unknown columns"):
        v.sector_medians(table, sectors, ["ev_sales"])


def test_current_shares_profile_matches_fmp_market_cap(aapl: pd.DataFrame) -> None:
    """AAPL: the profile's count (marketCap / price) gives FMP's market cap; FY2024's diluted average is 3.8 % high.

    Source: tests/fixtures/fmp/stable_profile_AAPL.json (price 256.08, marketCap 3,800,327,071,200) and the
    FY2024 income statement (weightedAverageShsOutDil 15,408,095,000). Issue #14 item 2.
    """
    profile = load("stable_profile_AAPL.json")[0]
    annual = float(aapl["weightedAverageShsOutDil"].iloc[-1])
    out = v.current_shares(
        {"profile": profile["marketCap"] / profile["price"], "quarter": 15.0e9, "annual": annual}
    ).iloc[0]
    assert out["shares_source"] == "profile"
    assert out["shares"] * profile["price"] == pytest.approx(profile["marketCap"], rel=1e-12)
    assert annual * profile["price"] / profile["marketCap"] - 1 == pytest.approx(0.0383, abs=5e-4)
    fallback = v.current_shares({"profile": None, "quarter": 15.0e9, "annual": annual}).iloc[0]
    assert (fallback["shares"], fallback["shares_source"]) == (15.0e9, "quarter")
    per_symbol = v.current_shares(
        {"profile": pd.Series({"A": np.nan, "B": -1.0}), "annual": pd.Series({"A": 5.0, "B": np.nan})}
    )
    assert per_symbol.loc["A", "shares_source"] == "annual"
    assert per_symbol.loc["B", "shares_source"] is None


@pytest.mark.parametrize(
    "candidates",
    [
        {"profile": 3.0e9, "quarter": 2.0e9, "annual": 1.0e9},
        {"profile": None, "quarter": 2.0e9, "annual": 1.0e9},
        {"profile": np.nan, "quarter": -5.0, "annual": 1.0e9},
        {"profile": 0.0, "quarter": np.nan, "annual": np.nan},
        {"quarter": np.inf, "annual": 1.0},
        {"annual": 7.0},
        {},
    ],
)
def test_current_share_count_equals_current_shares(candidates: dict[str, float | None]) -> None:
    """One company's share count and source are what `current_shares` picks for a one-row frame."""
    shares, source = v.current_share_count(candidates)
    row = v.current_shares(candidates).iloc[0] if candidates else None
    if row is None or row["shares_source"] is None:
        assert np.isnan(shares)
        assert source is None
    else:
        assert (shares, source) == (row["shares"], row["shares_source"])
    with pytest.raises(AnalyticsError):
        v.current_share_count({"float": 1.0})


def test_enterprise_value_cfa_definition_aapl(aapl: pd.DataFrame, fmp_metrics: dict[str, Any]) -> None:
    """CFA EV = market cap + debt + preferred + minority interest - cash and short-term investments.

    Source: CFA Institute curriculum (Equity valuation: market-based valuation, EV/EBITDA), with AAPL FY2024
    from the fixtures: 3,495,160 M + 119,059 M + 0 + 0 - 65,171 M = 3,549,048 M; FMP's EV subtracts cash only
    (3,584,276 M, 1.0 % higher).
    """
    mc = pd.Series(float(fmp_metrics["marketCap"]), index=aapl.index)
    m = v.multiples(aapl, mc).iloc[0]
    assert m["enterprise_value"] == pytest.approx(3_495_160_329_570 + 119_059e6 - 65_171e6, rel=1e-12)
    assert m["ev_ebitda"] == pytest.approx(m["enterprise_value"] / 134_661e6, rel=1e-12)
    assert m["enterprise_value_fmp"] / m["enterprise_value"] - 1 == pytest.approx(0.0099, abs=1e-4)
    no_sti = aapl.drop(columns=["cashAndShortTermInvestments", "shortTermInvestments"])
    assert v.multiples(no_sti, mc).iloc[0]["enterprise_value"] == pytest.approx(
        3_495_160_329_570 + 119_059e6 - 29_943e6, rel=1e-12
    )


def test_dcf_mid_year_convention_hand_computed() -> None:
    """Mid-year: FCF_t discounted from t - 0.5, the Gordon value from N - 0.5, exit multiple still from N.

    Source: Koller, Goedhart and Wessels, "Valuation: Measuring and Managing the Value of Companies"
    (McKinsey), mid-year adjustment: the end-year value times (1 + WACC)^0.5. Worked example: FCF0 100,
    5 % growth for 3 years, WACC 10 %, terminal growth 2 %, net debt 50, 10 shares.
    """
    r, g = 0.10, 0.02
    fcf = [100 * 1.05**t for t in (1, 2, 3)]
    pv = sum(x / (1 + r) ** (t - 0.5) for t, x in zip((1, 2, 3), fcf, strict=True))
    tv = fcf[-1] * (1 + g) / (r - g)
    expected = (pv + tv / (1 + r) ** 2.5 - 50) / 10
    kwargs = dict(growth=0.05, years=3, wacc=r, terminal_growth=g, net_debt=50.0, shares=10.0)
    mid = v.dcf(100.0, mid_year=True, exit_multiple=12.0, **kwargs)  # type: ignore[arg-type]
    end = v.dcf(100.0, exit_multiple=12.0, **kwargs)  # type: ignore[arg-type]
    assert mid.gordon.per_share == pytest.approx(expected, rel=1e-12)
    assert mid.gordon.enterprise_value == pytest.approx(
        end.gordon.enterprise_value * (1 + r) ** 0.5, rel=1e-12
    )
    assert mid.projection["discount_factor"].tolist() == pytest.approx([1.1**-0.5, 1.1**-1.5, 1.1**-2.5])
    assert mid.exit_multiple is not None
    assert end.exit_multiple is not None
    assert mid.exit_multiple.pv_terminal == pytest.approx(end.exit_multiple.pv_terminal, rel=1e-12)
    grid = v.sensitivity(100.0, growth=0.05, years=3, waccs=[r], terminal_growths=[g], net_debt=50.0,
                         shares=10.0, mid_year=True)  # fmt: skip
    assert grid.iloc[0, 0] == pytest.approx(expected, rel=1e-12)


def test_fade_path_steps_evenly_to_the_terminal_growth() -> None:
    """10 % for 2 years, then a 3-year fade to 2 %: steps of (2 - 10) / 4 = -2 points, by hand."""
    assert v.fade_path(0.10, 2, 3, 0.02) == pytest.approx([0.10, 0.10, 0.08, 0.06, 0.04], abs=1e-15)
    assert v.fade_path(0.10, 3, 0, 0.02) == [0.10, 0.10, 0.10]  # no fade: one stage
    with pytest.raises(AnalyticsError):
        v.fade_path(0.10, 3, -1, 0.02)


def test_exit_multiple_on_ebitda_grown_with_fcf_by_hand() -> None:
    """Exit TV = 12x EBITDA0 x 1.1^2, discounted two years; equity = EV - net debt, per share."""
    res = v.dcf(100.0, growth=[0.10, 0.10], years=2, wacc=0.09, terminal_growth=0.03, net_debt=50.0,
                shares=10.0, exit_multiple=12.0, exit_metric=180.0)  # fmt: skip
    assert res.exit_multiple is not None
    pv = 110.0 / 1.09 + 121.0 / 1.09**2
    tv = 12.0 * 180.0 * 1.21
    assert res.exit_multiple.per_share == pytest.approx((pv + tv / 1.09**2 - 50.0) / 10.0, rel=1e-12)


def test_implied_growth_one_year_closed_form() -> None:
    """One explicit year: value = FCF0 (1 + g) [1 + (1 + gT) / (r - gT)] / (1 + r) - D, over S, so the
    growth that prices it at P is (P S + D)(1 + r) / (FCF0 [1 + (1 + gT) / (r - gT)]) - 1."""
    fcf0, r, gt, debt, shares, price = 100.0, 0.09, 0.03, 50.0, 10.0, 190.0
    want = (price * shares + debt) * (1 + r) / (fcf0 * (1 + (1 + gt) / (r - gt))) - 1
    got = v.implied_growth(
        fcf0, price=price, years=1, wacc=r, terminal_growth=gt, net_debt=debt, shares=shares
    )
    assert got == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("fade", [0, 4])
def test_implied_growth_gives_back_the_growth_that_made_the_price(fade: int) -> None:
    """Price a company at 7 % growth (with a fade or without), then ask which growth that price implies."""
    path = v.fade_path(0.07, 5, fade, 0.025)
    fcf, debt, shares = CAGIATI["base_fcf"], CAGIATI["net_debt"], CAGIATI["shares"]
    price = v.dcf(fcf, growth=path, years=len(path), wacc=0.095, terminal_growth=0.025, net_debt=debt,
                  shares=shares).gordon.per_share  # fmt: skip
    got = v.implied_growth(fcf, price=price, years=5, fade_years=fade, wacc=0.095, terminal_growth=0.025,
                           net_debt=debt, shares=shares)  # fmt: skip
    assert got == pytest.approx(0.07, abs=1e-8)


def _implied_through_dcf(fcf0: float, price: float, years: int, fade: int, **terms: Any) -> float:
    """The reverse DCF as it was written first: the same bisection, every step a whole `dcf` call."""

    def value(g: float) -> float:
        path = v.fade_path(g, years, fade, terms["terminal_growth"])
        return v.dcf(fcf0, growth=path, years=len(path), table=False, **terms).gordon.per_share

    a, b = -0.5, 1.0
    while b - a > 1e-10:
        mid = (a + b) / 2
        a, b = (mid, b) if value(mid) < price else (a, mid)
    return (a + b) / 2


@pytest.mark.parametrize(("fade", "price"), [(0, 150.0), (3, 150.0), (5, 420.0), (0, 61.3)])
def test_implied_growth_equals_the_bisection_through_dcf(fade: int, price: float) -> None:
    """Each bisection step redoes dcf's Gordon arithmetic instead of calling it: the growth found is the
    same float as when every step was a whole dcf()."""
    terms = {"wacc": 0.087, "terminal_growth": 0.023, "net_debt": 1_250.0, "shares": 97.0}
    got = v.implied_growth(310.0, price=price, years=5, fade_years=fade, **terms)
    assert got == _implied_through_dcf(310.0, price, 5, fade, **terms)


def test_implied_growth_refuses_what_no_growth_explains() -> None:
    with pytest.raises(AnalyticsError, match="not positive"):
        v.implied_growth(-5.0, price=10.0, years=5, wacc=0.09, terminal_growth=0.02, net_debt=0.0, shares=1.0)
    with pytest.raises(AnalyticsError, match="outside the values"):
        v.implied_growth(1.0, price=1e9, years=5, wacc=0.09, terminal_growth=0.02, net_debt=0.0, shares=1.0)
