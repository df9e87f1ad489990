"""A company's metric history as Compare and Valuation show it (#27): aligned by year, calendarised,
split-adjusted per share, and priced at each period end.

Input is metric_history rows (serving/company.py METRIC_COLUMNS) of one symbol and one basis, oldest
first. Three ways to put companies with different fiscal years side by side:
- FY: each company's fiscal years, by FMP's `fiscal_year` (AAPL's FY2024 ended 2024-09-28, MSFT's
  2024-06-30): the year end is shown beside each value;
- TTM: every quarter's trailing twelve months, by period end;
- CAL (calendarised): per calendar year, the trailing twelve months of the quarter ending nearest
  31 December (within CALENDAR_WINDOW_DAYS), so a June and a December year end compare like for like.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from serving.basis import FIGURE_COLUMNS, blank_not_meaningful, firm_signs, statement_fields
from serving.fundamentals import safe_div, yoy
from serving.valuation import multiples

CALENDAR_WINDOW_DAYS = 46  # a quarter ending 15 Nov .. 15 Feb stands for the calendar year
# Ratios a stock split can be (n-for-1 and 3-for-2), and their reverse splits.
SPLIT_RATIOS = (1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0)
SPLIT_TOLERANCE = 0.06  # a share-count jump within 6 % of a split ratio
PER_SHARE = (
    "eps",
    "eps_diluted",
    "eps_reported",
    "revenue_per_share",
    "fcf_per_share",
    "book_value_per_share",
)
# The per-share ratios of `fundamentals.ratios`: each figure over the diluted share count.
PER_SHARE_OF = {
    "eps": "net_income",
    "revenue_per_share": "revenue",
    "fcf_per_share": "free_cash_flow",
    "book_value_per_share": "total_equity",
}


def calendarised(ttm: pd.DataFrame) -> pd.DataFrame:
    """One symbol's TTM rows reduced to one per calendar year (the quarter ending nearest 31 December,
    within CALENDAR_WINDOW_DAYS), with a `calendar_year` column; years without such a quarter are absent."""
    if ttm.empty:
        return ttm.assign(calendar_year=pd.Series(dtype="int64"))
    ends = pd.to_datetime(ttm["fiscal_date"])
    # The calendar year a period end stands for: December's own year, January/February's the one before.
    year = ends.dt.year - (ends.dt.month <= 2).astype(int)
    distance = (ends - pd.to_datetime(year.astype(str) + "-12-31")).dt.days.abs()
    frame = ttm.assign(calendar_year=year.to_numpy(), _distance=distance.to_numpy())
    frame = frame[frame["_distance"] <= CALENDAR_WINDOW_DAYS]
    best = frame.sort_values(["calendar_year", "_distance"], kind="stable").groupby("calendar_year").head(1)
    return best.drop(columns="_distance").sort_values("fiscal_date").reset_index(drop=True)


def split_factors(rows: pd.DataFrame) -> pd.Series:
    """Per row, how many of today's shares one share of that period is (1.0 without a later split).

    A split shows in the reported diluted share count as a jump between adjacent periods by a split ratio
    (SPLIT_RATIOS, within SPLIT_TOLERANCE) while revenue moves by much less; a merger paid in shares
    brings revenue with it and is not taken for one. Detected on FY or TTM rows (a quarter's revenue is
    too seasonal to tell).
    """
    shares = pd.to_numeric(rows.get("shares_diluted"), errors="coerce").astype(float).to_numpy()
    revenue = pd.to_numeric(rows.get("revenue"), errors="coerce").astype(float).to_numpy()
    ratios = np.ones(len(rows))
    for i in range(1, len(rows)):
        ratio = _split_ratio(shares[i - 1], shares[i], revenue[i - 1], revenue[i])
        if ratio is not None:
            ratios[i] = ratio
    # A row's factor: the product of every split after it.
    after = np.cumprod(ratios[::-1])[::-1]
    factors = np.append(after[1:], 1.0)
    return pd.Series(factors, index=rows.index, name="split_factor")


def _split_ratio(before: float, after: float, revenue_before: float, revenue_after: float) -> float | None:
    if not (before > 0 and after > 0):
        return None
    jump = after / before
    size = abs(np.log(jump))
    if size < np.log(1.4):
        return None
    target = min((r if jump > 1 else 1 / r for r in SPLIT_RATIOS), key=lambda r: abs(np.log(jump / r)))
    if abs(jump / target - 1) > SPLIT_TOLERANCE:
        return None
    if revenue_before > 0 and revenue_after > 0 and abs(np.log(revenue_after / revenue_before)) > size / 2:
        return None  # revenue moved with the shares: an acquisition, not a split
    return float(target)


def split_adjusted(rows: pd.DataFrame, *, quarters: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-share figures and share counts on today's share basis, and EPS growth from those.

    Args:
        rows: one symbol's FY rows, or its TTM rows (then with `quarters`), oldest first.
        quarters: the symbol's Q rows, oldest first, for TTM rows: splits are found quarter on quarter, and
            each TTM row's averaged share count and summed EPS are rebuilt from its four adjusted quarters
            (a TTM window across a split averages two share bases).
    """
    out = rows.copy()
    if quarters is None:
        factor = split_factors(rows).to_numpy()
        out["shares_diluted"] = rows["shares_diluted"].astype(float) * factor
        for column in PER_SHARE:
            if column in out.columns:
                out[column] = out[column].astype(float) / factor
        periods = 1
    else:
        q = quarters.reset_index(drop=True)
        q_factor = split_factors(q).to_numpy()
        window = {
            "shares_diluted": pd.Series(q["shares_diluted"].astype(float) * q_factor).rolling(4).mean(),
            "eps_diluted": pd.Series(q["eps_diluted"].astype(float) / q_factor).rolling(4).sum(),
            "eps_reported": pd.Series(q["eps_reported"].astype(float) / q_factor).rolling(4).sum(),
            "factor": pd.Series(q_factor),
        }
        by_end = pd.DataFrame(window).set_axis(pd.to_datetime(q["fiscal_date"]).to_numpy())
        at = by_end.reindex(pd.to_datetime(rows["fiscal_date"]).to_numpy())
        factor = at["factor"].to_numpy()
        for column in ("shares_diluted", "eps_diluted", "eps_reported"):
            out[column] = at[column].to_numpy()
        shares = out["shares_diluted"].astype(float).where(out["shares_diluted"] > 0)
        for column, figure in PER_SHARE_OF.items():
            out[column] = (rows[figure].astype(float) / shares).to_numpy()
        periods = 4
    out["split_factor"] = factor
    if len(out):
        dated = pd.Series(out["eps_diluted"].to_numpy(dtype=float), index=pd.to_datetime(out["fiscal_date"]))
        out["eps_growth"] = yoy(dated, periods=periods).to_numpy()
    return out


def priced(rows: pd.DataFrame, closes: pd.Series, *, firm: bool = True) -> pd.DataFrame:
    """Multiples at each period end: market cap = the close on or before the period end x the diluted
    share count on the same share basis (split-adjusted rows, `split_adjusted`: FMP's closes are on
    today's basis), the CFA enterprise value from the period's balances.

    Args:
        rows: one symbol's split-adjusted rows (metric_history columns), oldest first.
        closes: the symbol's daily closes (traded, split-adjusted) indexed by date, ascending.
        firm: False for a company valued on its equity (`fitting.firm_multiples`): its EV and EV
            multiples are n/m in every period.
    """
    out = rows.copy()
    ends = pd.DatetimeIndex(pd.to_datetime(rows["fiscal_date"]))
    if closes.empty:
        close = np.full(len(rows), np.nan)
    else:
        at = closes.index.searchsorted(ends, side="right") - 1
        close = np.where(at >= 0, closes.to_numpy(dtype=float)[np.clip(at, 0, None)], np.nan)
    out["close"] = close
    cap = pd.Series(close * out["shares_diluted"].astype(float).to_numpy(), index=rows.index)
    fields = statement_fields(rows)
    flags = pd.Series(firm, index=rows.index, dtype=bool)
    values = multiples(fields, cap, firm=flags)
    for column in values.columns:
        out[column] = values[column].to_numpy()
    positive = cap.where(cap > 0)
    out["fcf_yield"] = safe_div(rows["free_cash_flow"].astype(float), positive).to_numpy()
    out["dividend_yield"] = safe_div(-rows["dividends_paid"].astype(float), positive).to_numpy()
    signs = pd.DataFrame({name: rows[column] for name, column in FIGURE_COLUMNS.items()}, index=rows.index)
    for name in ("enterprise_value", "enterprise_value_fmp"):
        signs[name] = values[name]
    signs["firm"] = firm_signs(flags, rows.index)
    return blank_not_meaningful(out, signs)


def last_years(rows: pd.DataFrame, years: int, *, year_column: str | None) -> pd.DataFrame:
    """The rows of the last `years` years: by `year_column` (fiscal or calendar year), else by period end
    (TTM rows ending within `years` years of the latest)."""
    if rows.empty:
        return rows
    if year_column is not None:
        return rows[rows[year_column] > rows[year_column].max() - years]
    ends = pd.to_datetime(rows["fiscal_date"])
    return rows[ends > ends.max() - pd.DateOffset(years=years)]
