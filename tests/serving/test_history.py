"""serving.history computes many companies at once exactly as the pages compute each one alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from devkit import factories
from serving import company, fundamentals, history

STAMP = datetime(2025, 1, 1, tzinfo=UTC)


def _grouped(payloads: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """A company's payloads split by the statements' period column, as the refresh reads them."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {"FY": {}, "Q": {}}
    for kind, rows in payloads.items():
        for row in rows:
            out["FY" if row["period"] == "FY" else "Q"].setdefault(kind, []).append(row)
    return out


def _universe() -> dict[str, dict[str, dict[str, list[dict[str, Any]]]]]:
    """Companies whose statements differ in the ways that change per-company frames."""
    plain = factories.statement_payloads("PLAIN", years=8, seed=1)
    # The income statement carries `inventory` for this one: it wins over the balance sheet's, for it only.
    odd = factories.statement_payloads("ODD", years=8, seed=2)
    for row in odd["income"]:
        row["inventory"] = 7.0
    # A missing fiscal year (no previous period across it), a missing quarter (TTM windows with a gap),
    # fields absent from some rows, a null, and a company with too few quarters of cash flow for a TTM.
    gappy = factories.statement_payloads("GAPPY", years=8, seed=3)
    gappy["income"] = [r for r in gappy["income"] if r["fiscalYear"] != "1998"]
    gappy["balance"] = [
        r for r in gappy["balance"] if not (r["fiscalYear"] == "2000" and r["period"] == "Q2")
    ]
    gappy["balance"][5].pop("totalDebt")
    gappy["income"][3]["revenue"] = None
    short = factories.statement_payloads("SHORT", years=2, seed=4)
    short["cashflow"] = [r for r in short["cashflow"] if r["period"] == "FY" or r["period"] in ("Q1", "Q2")]
    return {s: _grouped(p) for s, p in (("PLAIN", plain), ("ODD", odd), ("GAPPY", gappy), ("SHORT", short))}


def _meta(universe: dict[str, Any]) -> dict[tuple[str, str, str], tuple[int, str, datetime]]:
    return {
        (symbol, group, row["date"]): (int(row["fiscalYear"]), row["period"], STAMP)
        for symbol, groups in universe.items()
        for group, kinds in groups.items()
        for rows in kinds.values()
        for row in rows
    }


def _alone(groups: dict[str, Any], basis: str) -> pd.DataFrame:
    """The pages' per-company frame of one basis."""
    if basis == "TTM":
        return company.combined(company.ttm_frames(company.statement_frames(groups["Q"], "Q")))
    return company.combined(company.statement_frames(groups[basis], basis))


@pytest.mark.parametrize("basis", company.BASES)
def test_metric_frame_equals_each_company_alone(basis: str) -> None:
    """Figures, ratios and growth of every company equal the per-company computation: exactly for FY and
    Q (what the pages show), to 1e-12 for TTM (sums of four quarters in another order)."""
    universe = _universe()
    rows = history.metric_frame(universe, _meta(universe))
    assert list(rows.columns) == list(company.METRIC_COLUMNS)
    exact = basis != "TTM"
    for symbol, groups in universe.items():
        frame = _alone(groups, basis)
        got = rows[(rows["symbol"] == symbol) & (rows["basis"] == basis)]
        assert [d.isoformat() for d in got["fiscal_date"]] == [d.date().isoformat() for d in frame.index]
        expected: dict[str, np.ndarray] = {
            column: frame[name].to_numpy(dtype=float) if name in frame else np.full(len(frame), np.nan)
            for column, name in company.FIGURES.items()
        }
        if basis != "Q":
            values = fundamentals.ratios(frame, average=basis == "FY")
            expected.update({column: values[column].to_numpy(dtype=float) for column in company.RATIOS})
        for column, name in company.GROWTH.items():
            series = frame[name] if name in frame else pd.Series(np.nan, index=frame.index)
            expected[column] = fundamentals.yoy(series, periods=1 if basis == "FY" else 4).to_numpy(
                dtype=float
            )
        expected.update(_dupont(groups, basis, frame.index))
        for column, want in expected.items():
            have = got[column].to_numpy(dtype=float)
            if exact:
                np.testing.assert_array_equal(have, want, err_msg=f"{symbol} {column}")
            else:
                np.testing.assert_allclose(have, want, rtol=1e-12, atol=0, err_msg=f"{symbol} {column}")
    assert rows.loc[rows["symbol"] == "ODD", "dio"].notna().any()


def _dupont(groups: dict[str, Any], basis: str, index: pd.Index) -> dict[str, np.ndarray]:
    """The Company page's DuPont factors on FY rows (income statement and balance sheet combined, joined
    to the ratio table's dates); none on the other bases."""
    if basis != "FY":
        return {column: np.full(len(index), np.nan) for column in company.DUPONT}
    frames = company.statement_frames({k: groups["FY"].get(k, []) for k in company.DUPONT_KINDS}, "FY")
    factors = fundamentals.dupont(company.combined(frames))[list(company.DUPONT)].reindex(index)
    return {column: factors[column].to_numpy(dtype=float) for column in company.DUPONT}


def test_dupont_factors_come_from_the_income_statement_and_balance_sheet_only() -> None:
    """A company whose income statements carry no net income: the ratios take the cash flow statement's,
    DuPont's tax burden (net income / pre-tax income) is not computed from it, as on the Company page."""
    universe = _universe()
    for row in universe["PLAIN"]["FY"]["income"]:
        row.pop("netIncome")
    rows = history.metric_frame(universe, _meta(universe))
    plain = rows[(rows["symbol"] == "PLAIN") & (rows["basis"] == "FY")]
    assert plain["net_margin"].notna().any()
    assert plain["tax_burden"].isna().all()
    assert plain["ebit_margin"].notna().any()
    index = pd.DatetimeIndex(pd.to_datetime(plain["fiscal_date"]))
    want = _dupont(universe["PLAIN"], "FY", index)
    for column in company.DUPONT:
        np.testing.assert_array_equal(plain[column].to_numpy(dtype=float), want[column], err_msg=column)


def test_metric_frame_of_nothing_is_empty_with_the_columns() -> None:
    rows = history.metric_frame({}, {})
    assert rows.empty
    assert list(rows.columns) == list(company.METRIC_COLUMNS)
