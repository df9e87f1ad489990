"""serving.periods and serving.basis: splits found and undone, calendar years, n/m, one period basis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serving import basis, fitting, periods, valuation


def _fy(shares: list[float], revenue: list[float], eps: list[float]) -> pd.DataFrame:
    n = len(shares)
    return pd.DataFrame(
        {
            "fiscal_date": pd.date_range("2015-12-31", periods=n, freq="YE").date,
            "shares_diluted": shares,
            "revenue": revenue,
            "eps": eps,
            "eps_diluted": eps,
            "eps_reported": eps,
        }
    )


def test_a_four_for_one_split_is_undone_on_earlier_years() -> None:
    """Shares x4 with revenue up 5 %: a split; earlier per-share figures divided by 4, growth from those."""
    rows = _fy([100.0, 102.0, 408.0, 410.0], [1000.0, 1050.0, 1100.0, 1150.0], [8.0, 8.4, 2.2, 2.3])
    assert periods.split_factors(rows).tolist() == [4.0, 4.0, 1.0, 1.0]
    adjusted = periods.split_adjusted(rows)
    assert adjusted["shares_diluted"].tolist() == [400.0, 408.0, 408.0, 410.0]
    assert adjusted["eps_diluted"].tolist() == [2.0, 2.1, 2.2, 2.3]
    assert adjusted["eps_growth"].iloc[2] == pytest.approx(2.2 / 2.1 - 1)


def test_shares_issued_for_an_acquisition_are_not_a_split() -> None:
    """Shares x2 while revenue doubles too: a merger paid in shares, nothing adjusted."""
    rows = _fy([100.0, 200.0], [1000.0, 2050.0], [5.0, 5.2])
    assert periods.split_factors(rows).tolist() == [1.0, 1.0]


def test_calendar_years_take_the_quarter_nearest_december() -> None:
    """A June year end's TTM rows: December quarters stand for their calendar year, others are dropped."""
    ends = pd.to_datetime(["2022-06-30", "2022-09-30", "2022-12-31", "2023-03-31", "2023-12-31"])
    ttm = pd.DataFrame({"fiscal_date": ends.date, "revenue": [1.0, 2.0, 3.0, 4.0, 5.0]})
    out = periods.calendarised(ttm)
    assert out["calendar_year"].tolist() == [2022, 2023]
    assert out["revenue"].tolist() == [3.0, 5.0]


def test_ratios_over_a_negative_denominator_are_not_meaningful() -> None:
    """ROE and P/B on negative equity, P/E on a loss: blanked and named, the others kept."""
    frame = pd.DataFrame(
        {"roe": [0.2, -0.4], "pb": [3.0, -2.0], "pe": [15.0, -8.0], "net_margin": [0.1, 0.1]}
    )
    signs = pd.DataFrame({"equity": [10.0, -5.0], "net_income": [2.0, -1.0]})
    out = basis.blank_not_meaningful(frame, signs)
    assert np.isnan(out.loc[1, "roe"])
    assert np.isnan(out.loc[1, "pb"])
    assert np.isnan(out.loc[1, "pe"])
    assert out.loc[1, "net_margin"] == 0.1
    assert out.loc[0, "roe"] == 0.2
    assert set(out.loc[1, "not_meaningful"].split(",")) == {"roe", "pb", "pe"}
    assert out.loc[0, "not_meaningful"] == ""
    assert basis.not_meaningful(out)["roe"].tolist() == [False, True]


def test_the_basis_is_ttm_when_its_quarters_end_after_the_fiscal_year_and_old_periods_are_flagged() -> None:
    """TTM figures replace the fiscal year's only where the four quarters end no earlier; a period end more
    than nine months before the last close is flagged."""
    table = pd.DataFrame(
        {
            "fiscal_date": [pd.Timestamp("2024-06-30").date(), pd.Timestamp("2023-12-31").date()],
            "market_cap": [1000.0, 1000.0],
            "net_margin": [0.10, 0.20],
        },
        index=pd.Index(["NEW", "OLD"], name="symbol"),
    )
    ttm = pd.DataFrame(
        {"fiscal_date": [pd.Timestamp("2024-09-30").date()], "net_margin": [0.12]},
        index=pd.Index(["NEW"], name="symbol"),
    )
    out = basis.clear_basis(table, ttm, reference=pd.Timestamp("2024-12-31"))
    assert out["basis"].tolist() == ["TTM", "FY"]
    assert out["net_margin"].tolist() == [0.12, 0.20]
    assert [str(d) for d in out["period_end"]] == ["2024-09-30", "2023-12-31"]
    assert out["stale"].tolist() == [False, True]


def _statements(debt: list[float], cash: list[float]) -> pd.DataFrame:
    """Combined-statement rows (FMP names) with positive earnings, EBITDA, sales and book value."""
    n = len(debt)
    return pd.DataFrame(
        {
            "totalDebt": debt,
            "cashAndShortTermInvestments": cash,
            "netDebt": [d - c for d, c in zip(debt, cash, strict=True)],
            "ebitda": [100.0] * n,
            "revenue": [500.0] * n,
            "netIncome": [50.0] * n,
            "totalStockholdersEquity": [400.0] * n,
            "freeCashFlow": [40.0] * n,
        },
        index=pd.Index(["OP", "CASHY", "BANK"][:n], name="symbol"),
    )


def test_ev_multiples_are_nan_on_a_negative_enterprise_value_and_for_a_bank() -> None:
    """EV/EBITDA and EV/Sales on an EV below zero (cash above market cap and debt) are NaN, not a
    negative "cheap" multiple; a bank (firm False) has no EV at all, while its P/E and P/B stay."""
    frame = _statements([100.0, 10.0, 2000.0], [50.0, 900.0, 1500.0])
    caps = pd.Series([1000.0, 500.0, 1000.0], index=frame.index)
    firm = pd.Series([True, True, False], index=frame.index)
    out = valuation.multiples(frame, caps, firm=firm)
    assert out.loc["OP", "ev_ebitda"] == pytest.approx((1000 + 100 - 50) / 100)
    assert out.loc["CASHY", "enterprise_value"] == pytest.approx(500 + 10 - 900)
    assert out.loc[["CASHY", "BANK"], ["ev_ebitda", "ev_ebitda_fmp", "ev_sales"]].isna().all().all()
    assert out.loc["BANK", ["enterprise_value", "enterprise_value_fmp"]].isna().all()
    assert out.loc["BANK", "pe"] == pytest.approx(1000 / 50)
    assert out.loc["BANK", "pb"] == pytest.approx(1000 / 400)
    # without `firm` every row is an operating company
    assert valuation.multiples(frame, caps).loc["BANK", "ev_ebitda"] == pytest.approx(
        (1000 + 2000 - 1500) / 100
    )


def test_a_banks_stored_ev_multiple_reads_not_meaningful_on_either_basis() -> None:
    """A screener row written before banks were told apart (EV/EBITDA -3.3x on a negative EV) reads
    n/m on the FY basis, and on the TTM basis the multiples recomputed for it are n/m too."""
    table = pd.DataFrame(
        {
            "fiscal_date": [pd.Timestamp("2024-12-31").date()] * 2,
            "market_cap": [1000.0, 1000.0],
            "enterprise_value": [-330.0, 1050.0],
            "enterprise_value_fmp": [-330.0, 1050.0],
            "ev_ebitda": [-3.3, 10.5],
            "ev_sales": [-0.66, 2.1],
            "pe": [20.0, 20.0],
        },
        index=pd.Index(["BANK", "OP"], name="symbol"),
    )
    firm = fitting.firm_flags(pd.Series(["Diversified Banks", "Integrated Oil & Gas"], index=table.index))
    assert firm.tolist() == [False, True]
    fy = basis.clear_basis(table, pd.DataFrame(), reference=None, firm=firm)
    assert np.isnan(fy.loc["BANK", "ev_ebitda"])
    assert {"enterprise_value", "ev_ebitda", "ev_sales"} <= set(fy.loc["BANK", "not_meaningful"].split(","))
    assert fy.loc["OP", "ev_ebitda"] == 10.5
    assert fy.loc["OP", "not_meaningful"] == ""
    assert fy.loc["BANK", "pe"] == 20.0
    assert basis.not_meaningful(fy)["ev_ebitda"].tolist() == [True, False]
    # a negative EV alone (no sub-industry known) is n/m as well
    unknown = basis.clear_basis(table, pd.DataFrame(), reference=None)
    assert unknown.loc["BANK", "not_meaningful"] == "ev_ebitda,ev_sales"
    ttm_rows = pd.DataFrame(
        {
            "fiscal_date": [pd.Timestamp("2025-03-31").date()] * 2,
            "total_debt": [2000.0, 100.0],
            "cash_and_short_term_investments": [1500.0, 50.0],
            "net_debt": [500.0, 50.0],
            "ebitda": [100.0, 100.0],
            "revenue": [500.0, 500.0],
        },
        index=table.index,
    )
    ttm = basis.clear_basis(table, ttm_rows, reference=None, firm=firm)
    assert ttm["basis"].tolist() == ["TTM", "TTM"]
    assert np.isnan(ttm.loc["BANK", "ev_ebitda"])
    assert "ev_ebitda" in ttm.loc["BANK", "not_meaningful"].split(",")
    assert ttm.loc["OP", "ev_ebitda"] == pytest.approx((1000 + 100 - 50) / 100)


def test_a_banks_history_has_no_ev_multiple_in_any_period() -> None:
    """Compare's history: every period of a bank reads n/m for EV/EBITDA, an operating company's none."""
    rows = pd.DataFrame(
        {
            "fiscal_date": pd.date_range("2021-12-31", periods=3, freq="YE").date,
            "shares_diluted": [10.0] * 3,
            "total_debt": [2000.0] * 3,
            "cash_and_short_term_investments": [500.0] * 3,
            "net_debt": [1500.0] * 3,
            "ebitda": [100.0] * 3,
            "revenue": [500.0] * 3,
            "net_income": [50.0] * 3,
            "total_equity": [400.0] * 3,
            "free_cash_flow": [40.0] * 3,
            "dividends_paid": [-10.0] * 3,
        }
    )
    closes = pd.Series([90.0, 100.0, 110.0], index=pd.to_datetime(rows["fiscal_date"]))
    bank = periods.priced(rows, closes, firm=False)
    firm = periods.priced(rows, closes)
    assert basis.not_meaningful(bank)["ev_ebitda"].all()
    assert bank["ev_ebitda"].isna().all()
    assert not basis.not_meaningful(firm)["ev_ebitda"].any()
    assert firm["ev_ebitda"].tolist() == pytest.approx(
        [(900 + 1500) / 100, (1000 + 1500) / 100, (1100 + 1500) / 100]
    )
