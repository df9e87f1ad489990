"""Which valuation model fits a company (#27, review V3): a firm DCF for operating companies; for banks,
insurers and lenders the justified price-to-book from ROE; for REITs a dividend discount model.

A firm DCF subtracts net debt from enterprise value. For a bank the "debt" is largely deposits and
borrowing that fund its loans: they are its raw material, not financing, and its free cash flow is not
defined the same way. Insurers' float and REITs' property debt bend the same arithmetic. Those
companies are valued on equity: the justified P/B = (ROE - g) / (ke - g) (the residual-income model in
steady state), or the Gordon dividend discount model D1 / (ke - g).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from serving.errors import AnalyticsError

# GICS sub-industry words that mark a company whose balance sheet is its business.
BOOK_VALUE_WORDS = ("Bank", "Insurance", "Consumer Finance", "Mortgage", "Reinsurance")
DIVIDEND_WORDS = ("REIT",)
# Service firms among Financials, valued like operating companies: their debt is financing.
OPERATING_WORDS = ("Insurance Brokers", "Transaction & Payment", "Financial Exchanges", "Data")


@dataclass(frozen=True, slots=True)
class Model:
    """The model that fits: "dcf", "pb_roe" or "ddm", and why (shown on the page)."""

    kind: str
    reason: str


def model_for(sub_industry: object) -> Model:
    """The valuation model for a company of this GICS sub-industry. A missing one (None, or NaN as pandas
    reads an empty cell; companies outside the index have none) counts as an operating company."""
    text = sub_industry if isinstance(sub_industry, str) else ""
    if any(word in text for word in OPERATING_WORDS):
        return Model("dcf", "")
    if any(word in text for word in DIVIDEND_WORDS):
        return Model(
            "ddm",
            f"{text}: a REIT pays out most of its earnings and its debt finances the properties it holds,"
            " so a firm DCF on free cash flow misstates it; valued with the dividend discount model",
        )
    if any(word in text for word in BOOK_VALUE_WORDS):
        return Model(
            "pb_roe",
            f"{text}: a firm DCF would subtract deposits and policy reserves as if they were debt;"
            " valued on book equity with the justified P/B from ROE",
        )
    return Model("dcf", "")


def firm_multiples(sub_industry: object) -> bool:
    """Whether enterprise value and the multiples on it (EV/EBITDA, EV/Sales) mean something for a company
    of this GICS sub-industry: not for those valued on book equity (banks, insurers, lenders), whose
    deposits and policy reserves would count as debt. REITs keep them (EV/EBITDA is their usual multiple)."""
    return model_for(sub_industry).kind != "pb_roe"


def firm_flags(sub_industries: pd.Series) -> pd.Series:
    """`firm_multiples` of each value (same index); a missing sub-industry counts as an operating company.

    Asked once per distinct sub-industry (~130 of them): per company it cost ~80 ms at 5,000 symbols."""
    values = sub_industries.tolist()
    known = {v: firm_multiples(v) for v in set(v for v in values if isinstance(v, str))}
    return pd.Series(
        [known[v] if isinstance(v, str) else True for v in values], index=sub_industries.index, dtype=bool
    )


def justified_pb(roe: float, cost_of_equity: float, growth: float) -> float:
    """(ROE - g) / (ke - g): the P/B at which a company earning `roe` for ever is fairly priced.

    Raises:
        AnalyticsError: a figure not finite, or g >= ke.
    """
    for name, value in (("ROE", roe), ("cost of equity", cost_of_equity), ("growth", growth)):
        if not math.isfinite(value):
            raise AnalyticsError(f"{name} is not known")
    if growth >= cost_of_equity:
        raise AnalyticsError("terminal growth must be below the cost of equity")
    return (roe - growth) / (cost_of_equity - growth)


def gordon_ddm(dividend_per_share: float, cost_of_equity: float, growth: float) -> float:
    """D0 x (1 + g) / (ke - g): the value of a share whose dividend grows at g for ever.

    Raises:
        AnalyticsError: no positive dividend, or g >= ke.
    """
    if not (math.isfinite(dividend_per_share) and dividend_per_share > 0):
        raise AnalyticsError(
            "no dividend paid in the last fiscal year: a dividend discount model has nothing to discount"
        )
    if growth >= cost_of_equity:
        raise AnalyticsError("terminal growth must be below the cost of equity")
    return dividend_per_share * (1 + growth) / (cost_of_equity - growth)
