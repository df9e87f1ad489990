"""One company's statement frames (FY, Q, TTM), and metric_history's columns (serving/history.py fills them).

The dashboard's Company, Valuation and Forecast pages build their frames with these functions; the
engine's refresh computes the same figures for many companies at once (serving/history.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from serving.errors import AnalyticsError
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
    # The CFA enterprise value's other claims and cash (schema/180): multiples on any basis.
    "cash_and_equivalents": "cashAndCashEquivalents",
    "short_term_investments": "shortTermInvestments",
    "cash_and_short_term_investments": "cashAndShortTermInvestments",
    "preferred_stock": "preferredStock",
    "minority_interest": "minorityInterest",
    # The Valuation page's cost of debt: interest expense / total debt (schema/198).
    "interest_expense": "interestExpense",
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
# DuPont's factors the Company page's ratio table adds (`fundamentals.dupont` of the income statement and
# balance sheet combined; its net margin and asset turnover are RATIOS already): FY rows only (schema/102).
DUPONT = ("ebit_margin", "tax_burden", "interest_burden", "equity_multiplier")
DUPONT_KINDS = ("income", "balance")
KEYS = ("symbol", "basis", "fiscal_date", "fiscal_year", "period", "fiscal_year_end", "known_since")
METRIC_COLUMNS = (*KEYS, *FIGURES, *RATIOS, *GROWTH, *DUPONT)

Payloads = Mapping[str, Sequence[Mapping[str, Any]]]


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
