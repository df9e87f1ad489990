"""One clear period basis (#27): trailing twelve months where four quarters exist, the period end shown,
old annuals flagged, "n/m" where a denominator is not positive.

The Screener, Compare and Valuation read the latest fiscal year from `screener_rows` and the trailing
twelve months from `metric_history` (basis TTM: flows of the last four quarters, balances of the latest
quarter). `clear_basis` puts one figure per metric on each row: the TTM one when the company has four
consecutive quarters ending no earlier than its last fiscal year, else the fiscal year's, and says which
(`basis`), up to when (`period_end`) and whether that is older than nine months (`stale`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from serving.company import FIGURES, RATIOS
from serving.fundamentals import safe_div
from serving.valuation import EV_FIGURES, multiples

STALE_MONTHS = 9
# The multiples `valuation.multiples` returns besides the market cap it is given.
MULTIPLES = (
    "enterprise_value",
    "enterprise_value_fmp",
    "pe",
    "ev_ebitda",
    "ev_ebitda_fmp",
    "ev_sales",
    "pb",
    "p_fcf",
)
GROWTH = ("revenue_growth", "net_income_growth", "fcf_growth", "eps_growth")
# Each figure whose sign decides whether a ratio means something, and the ratios that divide by it.
# A ratio over a known denominator that is not positive is "not meaningful" (n/m), never a number: a
# return on negative equity or a P/E on a loss reads as its opposite.
DENOMINATORS: dict[str, tuple[str, ...]] = {
    "equity": ("roe", "pb", "debt_to_equity"),
    "net_income": ("pe",),
    "ebitda": ("ev_ebitda", "ev_ebitda_fmp", "net_debt_to_ebitda"),
    "free_cash_flow": ("p_fcf",),
    "revenue": ("ev_sales",),
}
# A multiple on an enterprise value that is not positive reads as its opposite too; and for a company
# valued on its equity (bank, insurer, lender: `firm` not positive, see `firm_signs`) the enterprise value
# and every multiple on it are n/m whatever their sign (deposits and policy reserves are not financing).
EV_SIGNS: dict[str, tuple[str, ...]] = {
    "enterprise_value": ("ev_ebitda", "ev_sales"),
    "enterprise_value_fmp": ("ev_ebitda_fmp",),
    "firm": EV_FIGURES,
}
SIGNED = {**DENOMINATORS, **EV_SIGNS}
# On a screener row (latest fiscal year) the denominators' signs, from per-share or margin columns.
SIGN_COLUMNS = {
    "equity": "book_value_per_share",
    "net_income": "eps",
    "ebitda": "ebitda_margin",
    "free_cash_flow": "fcf_per_share",
    "revenue": "revenue_per_share",
}
# On a metric_history row, the figures themselves.
FIGURE_COLUMNS = {
    "equity": "total_equity",
    "net_income": "net_income",
    "ebitda": "ebitda",
    "free_cash_flow": "free_cash_flow",
    "revenue": "revenue",
}
NM = "n/m"


def statement_fields(rows: pd.DataFrame) -> pd.DataFrame:
    """metric_history's figures under their FMP names (what `valuation.multiples` reads), same index."""
    return pd.DataFrame(
        {name: rows[column] for column, name in FIGURES.items() if column in rows.columns}, index=rows.index
    )


def latest(history: pd.DataFrame) -> pd.DataFrame:
    """The last row (by fiscal_date) of each symbol of metric_history rows, indexed by symbol."""
    if history.empty:
        return history.set_index("symbol") if "symbol" in history.columns else history
    ordered = history.sort_values(["symbol", "fiscal_date"], kind="stable")
    return ordered.groupby("symbol", sort=True).tail(1).set_index("symbol")


def stale_before(reference: pd.Timestamp) -> pd.Timestamp:
    """Period ends before this are older than STALE_MONTHS at `reference` (the latest close)."""
    return pd.Timestamp(reference) - pd.DateOffset(months=STALE_MONTHS)


def firm_signs(firm: pd.Series | None, index: pd.Index) -> pd.Series:
    """The `firm` sign per row of `index`: 1 for an operating company, -1 for one valued on its equity
    (`firm` False), NaN where unknown (nothing is blanked for it)."""
    if firm is None:
        return pd.Series(np.nan, index=index)
    flags = firm.reindex(index)
    return pd.Series(
        np.where(flags.isna(), np.nan, np.where(flags.fillna(True).astype(bool), 1.0, -1.0)), index=index
    )


def clear_basis(
    table: pd.DataFrame, ttm: pd.DataFrame, *, reference: pd.Timestamp | None, firm: pd.Series | None = None
) -> pd.DataFrame:
    """The screener table with each company's figures on one clear basis.

    Args:
        table: screener rows (latest fiscal year) indexed by symbol, with `fiscal_date` and `market_cap`.
        ttm: each symbol's latest TTM metric_history row (`latest`), indexed by symbol.
        reference: the day ages are measured from (the latest close; None: nothing is flagged).
        firm: per symbol, False for a company valued on its equity (`fitting.firm_flags`): its EV and EV
            multiples are n/m on either basis. None: no company is taken for one.

    Returns:
        The table with ratios, growth, multiples and yields taken from the TTM row where one exists ending
        no earlier than the fiscal year, and the columns `basis` ("TTM", "FY" or None), `period_end` and
        `stale` (the period ended more than STALE_MONTHS before `reference`). Ratios over a denominator
        that is not positive are NaN (see `not_meaningful`), and so are multiples on an enterprise value
        that is not positive or of a company that is not a firm. The F-score and Altman Z stay annual.
    """
    out = table.copy()
    rows = ttm.reindex(out.index)
    fy_end = (
        pd.to_datetime(out["fiscal_date"]) if "fiscal_date" in out else pd.Series(pd.NaT, index=out.index)
    )
    ttm_end = (
        pd.to_datetime(rows["fiscal_date"]) if "fiscal_date" in rows else pd.Series(pd.NaT, index=out.index)
    )
    use = (ttm_end.notna() & (fy_end.isna() | (ttm_end >= fy_end))).to_numpy()
    for column in (*RATIOS, *GROWTH):
        if column in out.columns and column in rows.columns:
            out[column] = np.where(use, rows[column].to_numpy(dtype=float), out[column].to_numpy(dtype=float))
    cap = pd.to_numeric(out["market_cap"], errors="coerce").astype(float)
    priced = multiples(
        statement_fields(rows), cap, firm=firm.reindex(out.index) if firm is not None else None
    )
    for column in MULTIPLES:
        if column in out.columns:
            out[column] = np.where(
                use, priced[column].to_numpy(dtype=float), out[column].to_numpy(dtype=float)
            )
    positive_cap = cap.where(cap > 0)
    yields = {
        "fcf_yield": safe_div(_col(rows, "free_cash_flow"), positive_cap),
        "dividend_yield": safe_div(-_col(rows, "dividends_paid"), positive_cap),
    }
    for column, values in yields.items():
        before = out[column] if column in out.columns else pd.Series(np.nan, index=out.index)
        out[column] = np.where(use, values.to_numpy(dtype=float), before.to_numpy(dtype=float))
    end = ttm_end.where(use, fy_end)
    labels = ["TTM" if ttm else "FY" if fy else None for ttm, fy in zip(use, fy_end.notna(), strict=True)]
    out["basis"] = pd.Series(labels, index=out.index, dtype=object)
    out["period_end"] = end.dt.date.astype(object).where(end.notna(), None)
    out["stale"] = (end < stale_before(reference)).to_numpy() if reference is not None else False
    signs = row_signs(out, firm)
    for name, column in FIGURE_COLUMNS.items():
        if column in rows.columns:
            signs[name] = np.where(use, rows[column].to_numpy(dtype=float), signs.get(name, np.nan))
    return blank_not_meaningful(out, signs)


def row_signs(table: pd.DataFrame, firm: pd.Series | None = None) -> pd.DataFrame:
    """The signs `blank_not_meaningful` reads, from a screener table's own columns (SIGN_COLUMNS for the
    denominators, the enterprise values) and `firm` (see `firm_signs`)."""
    signs = pd.DataFrame(
        {name: table[column] for name, column in SIGN_COLUMNS.items() if column in table}, index=table.index
    )
    for name in ("enterprise_value", "enterprise_value_fmp"):
        if name in table.columns:
            signs[name] = table[name]
    signs["firm"] = firm_signs(firm, table.index)
    return signs


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name].astype(float) if name in frame.columns else pd.Series(np.nan, index=frame.index)


def blank_not_meaningful(frame: pd.DataFrame, signs: pd.DataFrame) -> pd.DataFrame:
    """`frame` with each ratio over a known, not positive denominator (signs: one column per name of
    SIGNED) set to NaN, and a text column `not_meaningful` naming those ratios per row."""
    out = frame.copy()
    named = [""] * len(out)
    for name, ratios in SIGNED.items():
        if name not in signs.columns:
            continue
        sign = pd.to_numeric(signs[name], errors="coerce").astype(float)
        bad = (sign.notna() & ~(sign > 0)).to_numpy()
        rows = np.flatnonzero(bad)
        if not rows.size:
            continue
        for ratio in ratios:
            if ratio not in out.columns:
                continue
            if out[ratio].dtype == np.float64:  # on the array: .loc per column cost ~1 ms each
                values = out[ratio].to_numpy(copy=True)
                values[rows] = np.nan
                out[ratio] = values
            else:
                out.loc[bad, ratio] = np.nan
            for at in rows:
                named[at] += ratio + ","
    # A ratio made n/m by two figures (a bank's EV/EBITDA on a negative EV) is named once.
    out["not_meaningful"] = [",".join(dict.fromkeys(n.rstrip(",").split(","))) if n else "" for n in named]
    return out


def not_meaningful(frame: pd.DataFrame) -> Mapping[str, pd.Series]:
    """Per ratio, the rows where it is n/m (from the `not_meaningful` column `blank_not_meaningful` adds)."""
    if "not_meaningful" not in frame.columns:
        return {}
    # Split once into sets (a pandas map per ratio cost ~0.2 ms each, ~15 of them per call).
    names = [set(text.split(",")) for text in frame["not_meaningful"].fillna("").astype(str)]
    return {
        ratio: pd.Series(
            [ratio in row for row in names], index=frame.index, dtype=bool, name="not_meaningful"
        )
        for ratio in dict.fromkeys(r for ratios in SIGNED.values() for r in ratios)
        if ratio in frame.columns
    }
