"""Fundamental ratios from combined FMP statements: margins, returns, liquidity, solvency, efficiency, scores.

Every function takes a frame with FMP's stable field names as columns (see `statements.combine`). Rows are
fiscal dates (a company's history) or symbols (a cross-section for the screener): the formulas are the same
column arithmetic either way. A field absent from the frame, a NaN or a zero denominator gives NaN for that
row, never an exception. Formulas and fields are listed in docs/analytics.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dashboard.analytics.errors import AnalyticsError

DEFAULT_SHARES = "weightedAverageShsOutDil"
SHARE_FIELDS = ("weightedAverageShsOutDil", "weightedAverageShsOut")
GROWTH_FIELDS = ("revenue", "operatingIncome", "netIncome", "epsDiluted", "freeCashFlow")
CAGR_YEARS = (3, 5, 10)


def field(frame: pd.DataFrame, name: str) -> pd.Series:
    """Column `name` as floats, or an all-NaN column when the frame lacks it (e.g. banks have no inventory)."""
    if name in frame.columns:
        return pd.to_numeric(frame[name], errors="coerce").astype(float)
    return pd.Series(np.nan, index=frame.index, dtype=float)


def safe_div(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den with NaN where the denominator is zero or missing (never ±inf)."""
    den = den.where(den != 0)
    return (num / den).replace([np.inf, -np.inf], np.nan)


def _balance(cur: pd.DataFrame, prev: pd.DataFrame | None, name: str) -> pd.Series:
    """A balance-sheet value: the average of this and the previous period when `prev` is given."""
    if prev is None:
        return field(cur, name)
    return (field(cur, name) + field(prev, name)) / 2


def _previous(frame: pd.DataFrame, previous: pd.DataFrame | None, average: bool) -> pd.DataFrame | None:
    if not average:
        return None
    if previous is None:
        return frame.shift(1)
    if not previous.index.equals(frame.index):
        previous = previous.reindex(frame.index)
    return previous


def tax_rate(frame: pd.DataFrame) -> pd.Series:
    """Effective tax rate: incomeTaxExpense / incomeBeforeTax; NaN when pre-tax income is not positive."""
    ebt = field(frame, "incomeBeforeTax")
    return safe_div(field(frame, "incomeTaxExpense"), ebt.where(ebt > 0))


def ratios(
    frame: pd.DataFrame,
    *,
    previous: pd.DataFrame | None = None,
    average: bool = True,
    days: float = 365.0,
    shares: str = DEFAULT_SHARES,
) -> pd.DataFrame:
    """Margins, returns, liquidity, solvency, efficiency and per-share values, one row per input row.

    Args:
        frame: combined income + balance + cash-flow fields (annual or TTM rows, or one row per symbol).
        previous: the prior period's balances for each row (cross-sections); by default the previous row.
        average: returns and turnovers on the average of opening and closing balances (FMP uses closing).
        days: days in the period for DSO/DIO/DPO (365 for annual and TTM rows, as FMP).
        shares: share count field for per-share values (diluted by default; FMP uses basic).
    """
    if shares not in SHARE_FIELDS:
        raise AnalyticsError(f"unknown share field {shares!r}; use one of {SHARE_FIELDS}")
    prev = _previous(frame, previous, average)
    revenue = field(frame, "revenue")
    cogs = field(frame, "costOfRevenue")
    op_income = field(frame, "operatingIncome")
    net_income = field(frame, "netIncome")
    ebitda = field(frame, "ebitda")
    fcf = field(frame, "freeCashFlow")
    n_shares = field(frame, shares)
    current_liabilities = field(frame, "totalCurrentLiabilities")
    equity = field(frame, "totalStockholdersEquity")
    assets_avg = _balance(frame, prev, "totalAssets")
    equity_avg = _balance(frame, prev, "totalStockholdersEquity")
    invested = (
        field(frame, "totalDebt") + field(frame, "totalEquity") - field(frame, "cashAndCashEquivalents")
    )
    if prev is not None:
        invested_prev = (
            field(prev, "totalDebt") + field(prev, "totalEquity") - field(prev, "cashAndCashEquivalents")
        )
        invested = (invested + invested_prev) / 2
    dso = safe_div(_balance(frame, prev, "netReceivables"), revenue) * days
    dio = safe_div(_balance(frame, prev, "inventory"), cogs) * days
    dpo = safe_div(_balance(frame, prev, "accountPayables"), cogs) * days
    out = {
        "gross_margin": safe_div(field(frame, "grossProfit"), revenue),
        "operating_margin": safe_div(op_income, revenue),
        "ebitda_margin": safe_div(ebitda, revenue),
        "net_margin": safe_div(net_income, revenue),
        "fcf_margin": safe_div(fcf, revenue),
        "roa": safe_div(net_income, assets_avg),
        "roe": safe_div(net_income, equity_avg),
        "roic": safe_div(op_income * (1 - tax_rate(frame)), invested.where(invested > 0)),
        "current_ratio": safe_div(field(frame, "totalCurrentAssets"), current_liabilities),
        "quick_ratio": safe_div(
            field(frame, "cashAndCashEquivalents")
            + field(frame, "shortTermInvestments").fillna(0.0)
            + field(frame, "netReceivables").fillna(0.0),
            current_liabilities,
        ),
        "cash_ratio": safe_div(field(frame, "cashAndCashEquivalents"), current_liabilities),
        "debt_to_equity": safe_div(field(frame, "totalDebt"), equity),
        "debt_to_assets": safe_div(field(frame, "totalDebt"), field(frame, "totalAssets")),
        "net_debt_to_ebitda": safe_div(field(frame, "netDebt"), ebitda),
        "interest_coverage": safe_div(op_income, field(frame, "interestExpense")),
        "asset_turnover": safe_div(revenue, assets_avg),
        "dso": dso,
        "dio": dio,
        "dpo": dpo,
        "cash_conversion_cycle": dso + dio - dpo,
        "revenue_per_share": safe_div(revenue, n_shares),
        "eps": safe_div(net_income, n_shares),
        "fcf_per_share": safe_div(fcf, n_shares),
        "book_value_per_share": safe_div(equity, n_shares),
        "effective_tax_rate": tax_rate(frame),
    }
    return pd.DataFrame(out, index=frame.index)


def dupont(
    frame: pd.DataFrame, *, previous: pd.DataFrame | None = None, average: bool = True
) -> pd.DataFrame:
    """DuPont decomposition of ROE: 3-step (margin * turnover * leverage) and 5-step (tax * interest * EBIT).

    The products equal `ratios(...)["roe"]` for the same `average` choice (up to float rounding).
    """
    prev = _previous(frame, previous, average)
    revenue = field(frame, "revenue")
    assets = _balance(frame, prev, "totalAssets")
    equity = _balance(frame, prev, "totalStockholdersEquity")
    ebt = field(frame, "incomeBeforeTax")
    ebit = field(frame, "operatingIncome")
    out = pd.DataFrame(
        {
            "net_margin": safe_div(field(frame, "netIncome"), revenue),
            "asset_turnover": safe_div(revenue, assets),
            "equity_multiplier": safe_div(assets, equity),
            "tax_burden": safe_div(field(frame, "netIncome"), ebt),
            "interest_burden": safe_div(ebt, ebit),
            "ebit_margin": safe_div(ebit, revenue),
        },
        index=frame.index,
    )
    out["roe_3step"] = out["net_margin"] * out["asset_turnover"] * out["equity_multiplier"]
    out["roe_5step"] = (
        out["tax_burden"]
        * out["interest_burden"]
        * out["ebit_margin"]
        * out["asset_turnover"]
        * out["equity_multiplier"]
    )
    return out


def altman_z(frame: pd.DataFrame, market_cap: pd.Series | float | None) -> pd.Series:
    """Altman Z-score (1968, public manufacturers): 1.2A + 1.4B + 3.3C + 0.6D + 1.0E.

    A = working capital / total assets, B = retained earnings / TA, C = EBIT (operatingIncome) / TA,
    D = market value of equity / total liabilities, E = revenue / TA. NaN without a market cap.
    """
    assets = field(frame, "totalAssets")
    if market_cap is None:
        mve = pd.Series(np.nan, index=frame.index)
    elif isinstance(market_cap, pd.Series):
        mve = pd.to_numeric(market_cap.reindex(frame.index), errors="coerce").astype(float)
    else:
        mve = pd.Series(float(market_cap), index=frame.index)
    working_capital = field(frame, "totalCurrentAssets") - field(frame, "totalCurrentLiabilities")
    return (
        1.2 * safe_div(working_capital, assets)
        + 1.4 * safe_div(field(frame, "retainedEarnings"), assets)
        + 3.3 * safe_div(field(frame, "operatingIncome"), assets)
        + 0.6 * safe_div(mve, field(frame, "totalLiabilities"))
        + 1.0 * safe_div(field(frame, "revenue"), assets)
    ).rename("altman_z")


def piotroski_f(frame: pd.DataFrame, *, previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """Piotroski F-score: nine pass/fail signals against the previous period, and their sum.

    Signals (1 = pass): ROA > 0, CFO > 0, ROA up, CFO > net income, long-term debt / assets down, current
    ratio up, no more weighted basic shares, gross margin up, asset turnover up. ROA and turnover use
    closing assets (Piotroski used opening assets; closing keeps a two-period cross-section sufficient).
    The score is NaN when any signal cannot be decided (no previous period, missing field): a partial
    score would be compared with full ones in the screener.
    """
    prev = frame.shift(1) if previous is None else previous.reindex(frame.index)

    def parts(f: pd.DataFrame) -> dict[str, pd.Series]:
        assets = field(f, "totalAssets")
        return {
            "roa": safe_div(field(f, "netIncome"), assets),
            "cfo": field(f, "operatingCashFlow"),
            "leverage": safe_div(field(f, "longTermDebt"), assets),
            "current": safe_div(field(f, "totalCurrentAssets"), field(f, "totalCurrentLiabilities")),
            "shares": field(f, "weightedAverageShsOut"),
            "gross": safe_div(field(f, "grossProfit"), field(f, "revenue")),
            "turnover": safe_div(field(f, "revenue"), assets),
        }

    c, p = parts(frame), parts(prev)
    comparisons = {
        "roa_positive": (c["roa"], 0.0, np.greater),
        "cfo_positive": (c["cfo"], 0.0, np.greater),
        "roa_improved": (c["roa"], p["roa"], np.greater),
        "accruals": (c["cfo"], field(frame, "netIncome"), np.greater),
        "leverage_down": (c["leverage"], p["leverage"], np.less),
        "current_ratio_up": (c["current"], p["current"], np.greater),
        "no_dilution": (c["shares"], p["shares"], np.less_equal),
        "gross_margin_up": (c["gross"], p["gross"], np.greater),
        "turnover_up": (c["turnover"], p["turnover"], np.greater),
    }
    out = pd.DataFrame(index=frame.index)
    for name, (left, right, op) in comparisons.items():
        right_s = right if isinstance(right, pd.Series) else pd.Series(right, index=frame.index)
        known = left.notna() & right_s.notna()
        out[name] = pd.Series(np.where(known, op(left, right_s).astype(float), np.nan), index=frame.index)
    out["f_score"] = out.sum(axis=1, min_count=len(comparisons)).where(out.notna().all(axis=1))
    return out


def yoy(series: pd.Series, *, periods: int = 1) -> pd.Series:
    """Growth over `periods` rows (1 for annual rows, 4 for quarterly rows); NaN across a sign change."""
    s = pd.to_numeric(series, errors="coerce").astype(float)
    base = s.shift(periods)
    # A negative base makes the ratio meaningless (loss to profit is not "-300% growth").
    return safe_div(s - base, base.where(base > 0))


def cagr(series: pd.Series, years: int, *, periods_per_year: int = 1) -> pd.Series:
    """Compound annual growth over `years`: (x_t / x_{t-years})^(1/years) - 1; NaN unless both are positive."""
    if years <= 0:
        raise AnalyticsError(f"CAGR needs a positive number of years, got {years}")
    s = pd.to_numeric(series, errors="coerce").astype(float)
    base = s.shift(years * periods_per_year)
    ratio = safe_div(s.where(s > 0), base.where(base > 0))
    return ratio ** (1.0 / years) - 1.0


def growth(
    frame: pd.DataFrame, *, fields: Sequence[str] = GROWTH_FIELDS, periods_per_year: int = 1
) -> pd.DataFrame:
    """YoY and 3/5/10-year CAGR for each field: columns `<field>_yoy`, `<field>_cagr_<n>y`."""
    out: dict[str, pd.Series] = {}
    for name in fields:
        s = field(frame, name)
        out[f"{name}_yoy"] = yoy(s, periods=periods_per_year)
        for n in CAGR_YEARS:
            out[f"{name}_cagr_{n}y"] = cagr(s, n, periods_per_year=periods_per_year)
    return pd.DataFrame(out, index=frame.index)
