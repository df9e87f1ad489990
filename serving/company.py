"""One company's statement frames (FY, Q, TTM) and its metric-history rows, from FMP payloads.

The dashboard's Company, Valuation and Forecast pages build their frames with these functions (as-of
reads), and the engine's refresh builds `metric_history` with them, so both give the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from serving.errors import AnalyticsError
from serving.fundamentals import ratios, yoy
from serving.statements import combine, statement_frame, ttm

KINDS = ("income", "balance", "cashflow")
QUARTERS = ("Q1", "Q2", "Q3", "Q4")
PERIOD_LABELS = {"FY": ("FY",), "Q": QUARTERS}
BASES = ("FY", "Q", "TTM")

# metric_history's reported figures: column -> FMP field of the combined statements.
FIGURES = {
    "revenue": "revenue",
    "gross_profit": "grossProfit",
    "operating_income": "operatingIncome",
    "ebitda": "ebitda",
    "net_income": "netIncome",
    "eps_reported": "eps",
    "eps_diluted": "epsDiluted",
    "operating_cash_flow": "operatingCashFlow",
    "free_cash_flow": "freeCashFlow",
    "dividends_paid": "commonDividendsPaid",
    "total_assets": "totalAssets",
    "total_equity": "totalStockholdersEquity",
    "total_debt": "totalDebt",
    "net_debt": "netDebt",
    "shares_diluted": "weightedAverageShsOutDil",
}
# `fundamentals.ratios`' columns, in its order (tests/serving/test_company.py checks they agree).
RATIOS = (
    "gross_margin",
    "operating_margin",
    "ebitda_margin",
    "net_margin",
    "fcf_margin",
    "roa",
    "roe",
    "roic",
    "roic_fmp",
    "current_ratio",
    "quick_ratio",
    "cash_ratio",
    "debt_to_equity",
    "debt_to_assets",
    "net_debt_to_ebitda",
    "interest_coverage",
    "asset_turnover",
    "dso",
    "dio",
    "dpo",
    "cash_conversion_cycle",
    "revenue_per_share",
    "eps",
    "fcf_per_share",
    "book_value_per_share",
    "effective_tax_rate",
)
# Year-on-year growth against the adjacent period (`fundamentals.yoy`): column -> FMP field.
GROWTH = {
    "revenue_growth": "revenue",
    "net_income_growth": "netIncome",
    "eps_growth": "epsDiluted",
    "fcf_growth": "freeCashFlow",
}
# Every FMP field the rows above are computed from (`fundamentals.ratios`' inputs and FIGURES): the
# refresh keeps only these of each payload, which changes none of the values (each column depends on
# its own inputs only) at a third of the cost. tests/serving/test_company.py holds it to the full rows.
INPUTS = frozenset(
    {
        *FIGURES.values(),
        *GROWTH.values(),
        "costOfRevenue",
        "totalCurrentLiabilities",
        "totalCurrentAssets",
        "cashAndCashEquivalents",
        "shortTermInvestments",
        "netReceivables",
        "inventory",
        "accountPayables",
        "totalEquity",
        "shortTermDebt",
        "capitalLeaseObligationsCurrent",
        "incomeTaxExpense",
        "incomeBeforeTax",
        "interestExpense",
        "weightedAverageShsOut",
        "date",
        "period",
    }
)
KEYS = ("symbol", "basis", "fiscal_date", "fiscal_year", "period", "fiscal_year_end", "known_since")
METRIC_COLUMNS = (*KEYS, *FIGURES, *RATIOS, *GROWTH)

Payloads = Mapping[str, Sequence[Mapping[str, Any]]]
Meta = tuple[int | None, str | None, datetime | None]  # fiscal year, period label, latest updated_at
NO_META: Meta = (None, None, None)


def statement_frames(payloads: Payloads, period: str) -> dict[str, pd.DataFrame]:
    """Frames per kind for period "FY" or "Q" from each kind's payloads (oldest first); empty when none."""
    labels = PERIOD_LABELS[period]
    return {
        kind: statement_frame(rows, period=labels) if rows else pd.DataFrame()
        for kind, rows in payloads.items()
    }


def ttm_frames(quarterly: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Rolling trailing-twelve-month income and cash flow; the balance sheet of each latest quarter."""
    out: dict[str, pd.DataFrame] = {}
    for kind in ("income", "cashflow"):
        frame = quarterly.get(kind, pd.DataFrame())
        try:
            out[kind] = ttm(frame, rolling=True).dropna(how="all") if not frame.empty else frame
        except AnalyticsError:
            out[kind] = pd.DataFrame()
    out["balance"] = quarterly.get("balance", pd.DataFrame())  # balances are stocks: latest quarter
    return out


def combined(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Income, balance and cash flow side by side (the first kind holding a field wins); empty if none."""
    parts = [frames.get(k, pd.DataFrame()) for k in KINDS]
    parts = [p for p in parts if not p.empty]
    return combine(*parts) if parts else pd.DataFrame()


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    values: np.ndarray = (
        frame[name].to_numpy(dtype=float) if name in frame.columns else np.full(len(frame), np.nan)
    )
    return values


def metric_rows(
    symbol: str, payloads: Mapping[str, Payloads], meta: Mapping[tuple[str, str], Meta]
) -> pd.DataFrame:
    """A company's metric_history rows (METRIC_COLUMNS) on every basis.

    Args:
        payloads: per period group ("FY", "Q": the statements' period column), each kind's FMP rows,
            oldest first.
        meta: per ("FY" or "Q", ISO fiscal date): fiscal year, period label and the latest `updated_at` of
            that period's statements (all kinds).
    """
    fy_ends = {
        m[0]: date.fromisoformat(day)
        for (group, day), m in meta.items()
        if group == "FY" and m[0] is not None
    }
    quarter_days = sorted(day for group, day in meta if group == "Q")
    rolled: dict[str, datetime | None] = {}  # a TTM window's figures change when any of its quarters does
    for at, day in enumerate(quarter_days):
        stamps = [meta[("Q", d)][2] for d in quarter_days[max(0, at - 3) : at + 1]]
        rolled[day] = max((s for s in stamps if s is not None), default=None)
    frames = {period: statement_frames(payloads.get(period, {}), period) for period in ("FY", "Q")}
    parts = []
    for basis in BASES:
        source = frames["FY"] if basis == "FY" else frames["Q"] if basis == "Q" else ttm_frames(frames["Q"])
        frame = combined(source)
        if frame.empty:
            continue
        group = "FY" if basis == "FY" else "Q"
        days = [d.date() for d in frame.index]
        info = [meta.get((group, day.isoformat()), NO_META) for day in days]
        columns: dict[str, Any] = {
            "symbol": [symbol] * len(days),
            "basis": [basis] * len(days),
            "fiscal_date": days,
            "fiscal_year": [m[0] for m in info],
            "period": [m[1] for m in info],
            "fiscal_year_end": [fy_ends.get(m[0]) if m[0] is not None else None for m in info],
            "known_since": [
                rolled.get(day.isoformat()) if basis == "TTM" else m[2]
                for day, m in zip(days, info, strict=True)
            ],
        }
        columns.update({column: _column(frame, name) for column, name in FIGURES.items()})
        if basis == "Q":
            columns.update({column: np.full(len(days), np.nan) for column in RATIOS})
        else:
            # FY: as the Company page's ratio history (balances averaged with the previous row); TTM on
            # closing balances (the previous row is only a quarter earlier).
            values = ratios(frame, average=basis == "FY")
            columns.update({column: values[column].to_numpy(dtype=float) for column in RATIOS})
        for column, name in GROWTH.items():
            series = pd.Series(_column(frame, name), index=frame.index)
            columns[column] = yoy(series, periods=1 if basis == "FY" else 4).to_numpy(dtype=float)
        parts.append(pd.DataFrame(columns))
    if not parts:
        return pd.DataFrame(columns=list(METRIC_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(METRIC_COLUMNS)]
