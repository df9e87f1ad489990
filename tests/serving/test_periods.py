"""serving.periods and serving.basis: splits found and undone, calendar years, n/m, one period basis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serving import basis, periods


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
