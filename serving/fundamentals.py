"""Fundamental ratios from combined FMP statements: margins, returns, liquidity, solvency, efficiency, scores.

Every function takes a frame with FMP's stable field names as columns (see `statements.combine`). Rows are
fiscal dates (a company's history) or symbols (a cross-section for the screener): the formulas are the same
column arithmetic either way. A field absent from the frame, a NaN or a zero denominator gives NaN for that
row, never an exception. Formulas and fields are listed in docs/analytics.md.

The arithmetic runs on NumPy arrays of the frame's columns (same operations in the same order as the
pandas expressions they replace, so the same floats): a company page computes a few hundred ratios and
pandas' per-operation overhead (index alignment, result construction) was most of their cost.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from serving.errors import AnalyticsError

DEFAULT_SHARES = "weightedAverageShsOutDil"
SHARE_FIELDS = ("weightedAverageShsOutDil", "weightedAverageShsOut")
GROWTH_FIELDS = ("revenue", "operatingIncome", "netIncome", "epsDiluted", "freeCashFlow")
CAGR_YEARS = (3, 5, 10)
# Fiscal dates of consecutive periods: 52/53-week years end 364 or 371 days apart, quarters 13 or 14 weeks.
YEAR_DAYS = 365.25
QUARTER_DAYS = YEAR_DAYS / 4
# A row counts as `k` periods back when its date is within this share of one period of k periods back.
LAG_TOLERANCE = 0.2


def field(frame: pd.DataFrame, name: str) -> pd.Series:
    """Column `name` as floats, or an all-NaN column when the frame lacks it (e.g. banks have no inventory)."""
    if name in frame.columns:
        column = frame[name]
        if column.dtype == np.float64:
            return column  # pandas copy-on-write: callers cannot change the frame through it
        return pd.to_numeric(column, errors="coerce").astype(float)
    return pd.Series(np.nan, index=frame.index, dtype=float)


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    """`field` as a float array (NaN when missing)."""
    if name in frame.columns:
        column = frame[name]
        if column.dtype != np.float64:
            column = pd.to_numeric(column, errors="coerce").astype(float)
        values: np.ndarray = column.to_numpy()
        return values
    return np.full(len(frame), np.nan)


def _div(num: np.ndarray | float, den: np.ndarray) -> np.ndarray:
    """num / den with NaN where the denominator is zero or missing, and NaN instead of ±inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(num / np.where(den != 0, den, np.nan), dtype=float)
    out[np.isinf(out)] = np.nan
    return out


def _pos(values: np.ndarray) -> np.ndarray:
    """`values.where(values > 0)`: NaN where not positive."""
    return np.where(values > 0, values, np.nan)


def _fill0(values: np.ndarray) -> np.ndarray:
    """`fillna(0.0)`: NaN to zero, ±inf untouched (unlike np.nan_to_num)."""
    return np.where(np.isnan(values), 0.0, values)


def safe_div_arrays(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """`safe_div` on float arrays (its fast path's arithmetic, without building Series)."""
    return _div(num, den)


def safe_div(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den with NaN where the denominator is zero or missing (never ±inf)."""
    if (
        isinstance(num, pd.Series)
        and isinstance(den, pd.Series)
        and num.dtype == np.float64
        and den.dtype == np.float64
        and num.index.equals(den.index)
    ):
        # Same index: no alignment needed; the name rule is pandas' (kept only when both agree).
        name = num.name if num.name == den.name else None
        return pd.Series(_div(num.to_numpy(), den.to_numpy()), index=num.index, name=name)
    den = den.where(den != 0)
    return (num / den).replace([np.inf, -np.inf], np.nan)


def _balance(cur: pd.DataFrame, prev: pd.DataFrame | None, name: str) -> np.ndarray:
    """A balance-sheet value: the average of this and the previous period when `prev` is given."""
    if prev is None:
        return _col(cur, name)
    mean: np.ndarray = (_col(cur, name) + _col(prev, name)) / 2
    return mean


def day_numbers(index: pd.DatetimeIndex) -> np.ndarray:
    """Dates as float days since the epoch, whatever the index's resolution (s, ms, us or ns)."""
    nanoseconds: np.ndarray = np.asarray(index.as_unit("ns").asi8, dtype=np.float64)
    return nanoseconds / 86_400e9


def period_days(index: pd.Index) -> float | None:
    """The period of a dated history in days (a year, a quarter, else the shortest spacing); None if undated.

    The shortest spacing, not the median: missing periods only lengthen gaps, so it survives several of them.
    """
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        return None
    gaps = np.diff(day_numbers(index))
    gaps = gaps[gaps > 0]
    if not gaps.size:
        return None
    step = float(gaps.min())
    if 300 <= step <= 430:
        return YEAR_DAYS
    if 80 <= step <= 100:
        return QUARTER_DAYS
    return step


def adjacent(index: pd.Index, periods: int = 1, *, days: float | None = None) -> np.ndarray:
    """For each row, whether the row `periods` back is that many periods earlier by date (no gap between).

    A missing fiscal year must not turn "previous period" into the year before it. Rows of an undated index
    (symbols in a cross-section) are all adjacent; a row with nothing `periods` back is not.
    """
    n = len(index)
    ok = np.zeros(n, dtype=bool)
    if periods <= 0 or periods >= n:
        ok[:] = periods == 0
        return ok
    step = days if days is not None else period_days(index)
    if step is None or not isinstance(index, pd.DatetimeIndex):
        ok[periods:] = True
        return ok
    days_at = day_numbers(index)
    gap = days_at[periods:] - days_at[:-periods]
    ok[periods:] = np.abs(gap - periods * step) <= LAG_TOLERANCE * step
    return ok


def previous_period(frame: pd.DataFrame) -> pd.DataFrame:
    """The previous row of each row, all-NaN where that row is not the adjacent period (see `adjacent`)."""
    prev = frame.shift(1)
    gap = ~adjacent(frame.index)
    if gap.any():
        # In numpy: `prev.iloc[gap] = nan` set a wide frame a column at a time (~60 ms a company).
        values = prev.to_numpy(dtype=float, copy=True)
        values[gap] = np.nan
        prev = pd.DataFrame(values, index=prev.index, columns=prev.columns)
    return prev


def _previous(frame: pd.DataFrame, previous: pd.DataFrame | None, average: bool) -> pd.DataFrame | None:
    if not average:
        return None
    if previous is None:
        return previous_period(frame)
    if not previous.index.equals(frame.index):
        previous = previous.reindex(frame.index)
    return previous


def _tax_rate(frame: pd.DataFrame) -> np.ndarray:
    return _div(_col(frame, "incomeTaxExpense"), _pos(_col(frame, "incomeBeforeTax")))


def _nopat_tax_rate(frame: pd.DataFrame) -> np.ndarray:
    """Tax rate for NOPAT: the effective rate, 0 for a pre-tax loss (no tax is paid; NOPAT = EBIT < 0 then)."""
    pre_tax = _col(frame, "incomeBeforeTax")
    return np.where(pre_tax <= 0, 0.0, _tax_rate(frame))


def tax_rate(frame: pd.DataFrame) -> pd.Series:
    """Effective tax rate: incomeTaxExpense / incomeBeforeTax; NaN when pre-tax income is not positive."""
    return pd.Series(_tax_rate(frame), index=frame.index)


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
    col = functools.partial(_col, frame)
    revenue = col("revenue")
    cogs = col("costOfRevenue")
    op_income = col("operatingIncome")
    net_income = col("netIncome")
    ebitda = col("ebitda")
    fcf = col("freeCashFlow")
    n_shares = col(shares)
    current_liabilities = col("totalCurrentLiabilities")
    equity = col("totalStockholdersEquity")
    cash = col("cashAndCashEquivalents")
    debt = col("totalDebt")
    assets_avg = _balance(frame, prev, "totalAssets")
    equity_avg = _balance(frame, prev, "totalStockholdersEquity")
    invested = debt + col("totalEquity") - cash
    if prev is not None:
        invested_prev = (
            _col(prev, "totalDebt") + _col(prev, "totalEquity") - _col(prev, "cashAndCashEquivalents")
        )
        invested = (invested + invested_prev) / 2
    # FMP's ROIC denominator, on closing balances: total assets - current liabilities + short-term debt +
    # current capital lease obligations (AAPL FY2024: 211,099 M, reproducing FMP's 0.4431).
    invested_fmp = (
        col("totalAssets")
        - current_liabilities
        + _fill0(col("shortTermDebt"))
        + _fill0(col("capitalLeaseObligationsCurrent"))
    )
    nopat = op_income * (1 - _nopat_tax_rate(frame))
    dso = _div(_balance(frame, prev, "netReceivables"), revenue) * days
    dio = _div(_balance(frame, prev, "inventory"), cogs) * days
    dpo = _div(_balance(frame, prev, "accountPayables"), cogs) * days
    tax = _tax_rate(frame)
    out = {
        "gross_margin": _div(col("grossProfit"), revenue),
        "operating_margin": _div(op_income, revenue),
        "ebitda_margin": _div(ebitda, revenue),
        "net_margin": _div(net_income, revenue),
        "fcf_margin": _div(fcf, revenue),
        "roa": _div(net_income, assets_avg),
        "roe": _div(net_income, equity_avg),
        "roic": _div(nopat, _pos(invested)),
        "roic_fmp": _div(nopat, _pos(invested_fmp)),
        "current_ratio": _div(col("totalCurrentAssets"), current_liabilities),
        "quick_ratio": _div(
            cash + _fill0(col("shortTermInvestments")) + _fill0(col("netReceivables")),
            current_liabilities,
        ),
        "cash_ratio": _div(cash, current_liabilities),
        # Negative equity: NaN, as the multiples do; D/E < 1 must not pass a company with a deficit.
        "debt_to_equity": _div(debt, _pos(equity)),
        "debt_to_assets": _div(debt, col("totalAssets")),
        "net_debt_to_ebitda": _div(col("netDebt"), ebitda),
        "interest_coverage": _div(op_income, col("interestExpense")),
        "asset_turnover": _div(revenue, assets_avg),
        "dso": dso,
        "dio": dio,
        "dpo": dpo,
        "cash_conversion_cycle": dso + dio - dpo,
        "revenue_per_share": _div(revenue, n_shares),
        "eps": _div(net_income, n_shares),
        "fcf_per_share": _div(fcf, n_shares),
        "book_value_per_share": _div(equity, n_shares),
        "effective_tax_rate": tax,
    }
    return pd.DataFrame(out, index=frame.index)


def dupont(
    frame: pd.DataFrame, *, previous: pd.DataFrame | None = None, average: bool = True
) -> pd.DataFrame:
    """DuPont decomposition of ROE: 3-step (margin * turnover * leverage) and 5-step (tax * interest * EBIT).

    The products equal `ratios(...)["roe"]` for the same `average` choice (up to float rounding).
    """
    prev = _previous(frame, previous, average)
    revenue = _col(frame, "revenue")
    assets = _balance(frame, prev, "totalAssets")
    equity = _balance(frame, prev, "totalStockholdersEquity")
    ebt = _col(frame, "incomeBeforeTax")
    ebit = _col(frame, "operatingIncome")
    out = {
        "net_margin": _div(_col(frame, "netIncome"), revenue),
        "asset_turnover": _div(revenue, assets),
        "equity_multiplier": _div(assets, equity),
        "tax_burden": _div(_col(frame, "netIncome"), ebt),
        "interest_burden": _div(ebt, ebit),
        "ebit_margin": _div(ebit, revenue),
    }
    out["roe_3step"] = out["net_margin"] * out["asset_turnover"] * out["equity_multiplier"]
    out["roe_5step"] = (
        out["tax_burden"]
        * out["interest_burden"]
        * out["ebit_margin"]
        * out["asset_turnover"]
        * out["equity_multiplier"]
    )
    return pd.DataFrame(out, index=frame.index)


def altman_z(frame: pd.DataFrame, market_cap: pd.Series | float | None) -> pd.Series:
    """Altman Z-score (1968, public manufacturers): 1.2A + 1.4B + 3.3C + 0.6D + 1.0E.

    A = working capital / total assets, B = retained earnings / TA, C = EBIT (operatingIncome) / TA,
    D = market value of equity / total liabilities, E = revenue / TA. NaN without a market cap.
    """
    assets = _col(frame, "totalAssets")
    if market_cap is None:
        mve = np.full(len(frame), np.nan)
    elif isinstance(market_cap, pd.Series):
        mve = pd.to_numeric(market_cap.reindex(frame.index), errors="coerce").astype(float).to_numpy()
    else:
        mve = np.full(len(frame), float(market_cap))
    working_capital = _col(frame, "totalCurrentAssets") - _col(frame, "totalCurrentLiabilities")
    z = (
        1.2 * _div(working_capital, assets)
        + 1.4 * _div(_col(frame, "retainedEarnings"), assets)
        + 3.3 * _div(_col(frame, "operatingIncome"), assets)
        + 0.6 * _div(mve, _col(frame, "totalLiabilities"))
        + 1.0 * _div(_col(frame, "revenue"), assets)
    )
    return pd.Series(z, index=frame.index, name="altman_z")


# Altman (2000), "Predicting financial distress of companies: revisiting the Z-score and ZETA models":
# Z (1968) was fitted on public manufacturers; Z'' (Altman, Hartzell & Peck 1995) drops sales / assets and uses
# book equity, for non-manufacturers. Neither applies to banks and insurers (their balance sheet is the
# business), so financials get no score. GICS sectors whose companies mostly make goods use Z.
MANUFACTURING_SECTORS = frozenset(
    {
        "Materials",
        "Industrials",
        "Energy",
        "Consumer Discretionary",
        "Consumer Staples",
        "Health Care",
        "Information Technology",
    }
)
NO_Z_SECTORS = frozenset({"Financials"})
Z_1968, Z_1995 = "Z (1968)", "Z'' (1995)"  # the labels in `altman_model`


def altman_z_double_prime(frame: pd.DataFrame) -> pd.Series:
    """Altman Z'' (1995): 6.56A + 3.26B + 6.72C + 1.05D with D = book equity / total liabilities.

    A, B, C as in `altman_z`; no sales term (asset turnover varies by industry) and no market value.
    Zones: above 2.60 safe, 1.10 to 2.60 grey, below 1.10 distress.
    """
    assets = _col(frame, "totalAssets")
    working_capital = _col(frame, "totalCurrentAssets") - _col(frame, "totalCurrentLiabilities")
    z = (
        6.56 * _div(working_capital, assets)
        + 3.26 * _div(_col(frame, "retainedEarnings"), assets)
        + 6.72 * _div(_col(frame, "operatingIncome"), assets)
        + 1.05 * _div(_col(frame, "totalStockholdersEquity"), _col(frame, "totalLiabilities"))
    )
    return pd.Series(z, index=frame.index, name="altman_z2")


def altman(
    frame: pd.DataFrame, market_cap: pd.Series | float | None, sectors: pd.Series | str | None
) -> pd.DataFrame:
    """The Altman score that fits each row's sector: `altman_z` and `altman_model` (Z_1968, Z_1995 or None).

    Manufacturing sectors get Z (1968), financials none, every other sector (and an unknown one) Z''.
    """
    sector = (
        sectors.reindex(frame.index)
        if isinstance(sectors, pd.Series)
        else pd.Series(sectors, index=frame.index, dtype=object)
    )
    manufacturer = sector.isin(MANUFACTURING_SECTORS).to_numpy()
    financial = sector.isin(NO_Z_SECTORS).to_numpy()
    z = np.where(
        manufacturer, altman_z(frame, market_cap).to_numpy(), altman_z_double_prime(frame).to_numpy()
    )
    model = np.where(manufacturer, Z_1968, Z_1995).astype(object)
    z[financial] = np.nan
    model[financial] = None
    return pd.DataFrame({"altman_z": z, "altman_model": model}, index=frame.index)


def piotroski_f(
    frame: pd.DataFrame, *, previous: pd.DataFrame | None = None, before: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Piotroski F-score: nine pass/fail signals against the previous period, and their sum.

    As in Piotroski (2000), "Value investing: the use of historical financial statement information to
    separate winners from losers", ROA and CFO are scaled by beginning-of-year total assets, leverage is
    long-term debt over average total assets and asset turnover is sales over beginning-of-year assets. So the
    previous year's signals need the year before it: `before` (t-2) for cross-sections, the row two periods
    back for histories. Signals (1 = pass): ROA > 0, CFO > 0, ROA up, CFO > ROA (accruals), leverage down,
    current ratio up, no more weighted basic shares, gross margin up, asset turnover up. The score is NaN when
    any signal cannot be decided (no previous period, missing field): a partial score would be compared with
    full ones in the screener.
    """
    if previous is None:
        prev = previous_period(frame)
        early = previous_period(prev)
    else:
        prev = previous.reindex(frame.index)
        early = (
            before.reindex(frame.index)
            if before is not None
            else pd.DataFrame(index=frame.index, columns=["totalAssets"], dtype=float)
        )

    def parts(f: pd.DataFrame, opening: pd.DataFrame) -> dict[str, np.ndarray]:
        start_assets = _pos(_col(opening, "totalAssets"))
        average_assets = (_col(f, "totalAssets") + _col(opening, "totalAssets")) / 2
        return {
            "roa": _div(_col(f, "netIncome"), start_assets),
            "cfo": _div(_col(f, "operatingCashFlow"), start_assets),
            "leverage": _div(_col(f, "longTermDebt"), average_assets),
            "current": _div(_col(f, "totalCurrentAssets"), _col(f, "totalCurrentLiabilities")),
            "shares": _col(f, "weightedAverageShsOut"),
            "gross": _div(_col(f, "grossProfit"), _col(f, "revenue")),
            "turnover": _div(_col(f, "revenue"), start_assets),
        }

    c, p = parts(frame, prev), parts(prev, early)
    zero = np.zeros(len(frame))
    comparisons = {
        "roa_positive": (c["roa"], zero, np.greater),
        "cfo_positive": (_col(frame, "operatingCashFlow"), zero, np.greater),
        "roa_improved": (c["roa"], p["roa"], np.greater),
        "accruals": (c["cfo"], c["roa"], np.greater),
        "leverage_down": (c["leverage"], p["leverage"], np.less),
        "current_ratio_up": (c["current"], p["current"], np.greater),
        "no_dilution": (c["shares"], p["shares"], np.less_equal),
        "gross_margin_up": (c["gross"], p["gross"], np.greater),
        "turnover_up": (c["turnover"], p["turnover"], np.greater),
    }
    out: dict[str, np.ndarray] = {}
    for name, (left, right, op) in comparisons.items():
        known = ~np.isnan(left) & ~np.isnan(right)
        out[name] = np.where(known, op(left, right).astype(float), np.nan)
    signals = np.column_stack(list(out.values()))
    # The score only when all nine signals are decided (a partial sum would rank with full ones).
    out["f_score"] = np.where(np.isnan(signals).any(axis=1), np.nan, signals.sum(axis=1))
    return pd.DataFrame(out, index=frame.index)


def _shift(values: np.ndarray, periods: int) -> np.ndarray:
    """`Series.shift(periods)` on an array: NaN where no row lies `periods` back (or ahead, if negative)."""
    out = np.full(len(values), np.nan)
    if periods == 0:
        out[:] = values
    elif periods > 0:
        out[periods:] = values[:-periods]
    else:
        out[:periods] = values[-periods:]
    return out


def _lagged(s: np.ndarray, periods: int, index: pd.Index | None, days: float | None) -> np.ndarray:
    """`_shift(s, periods)`, NaN where the row `periods` back is not that many periods earlier by date."""
    base = _shift(s, periods)
    if index is not None:
        base[~adjacent(index, periods, days=days)] = np.nan
    return base


def _yoy(s: np.ndarray, periods: int, index: pd.Index | None = None, days: float | None = None) -> np.ndarray:
    base = _lagged(s, periods, index, days)
    # A negative base makes the ratio meaningless (loss to profit is not "-300% growth").
    return _div(s - base, _pos(base))


def _cagr(
    s: np.ndarray, years: int, periods_per_year: int, index: pd.Index | None = None, days: float | None = None
) -> np.ndarray:
    ratio = _div(_pos(s), _pos(_lagged(s, years * periods_per_year, index, days)))
    return ratio ** (1.0 / years) - 1.0


def _numeric(series: pd.Series) -> pd.Series:
    return series if series.dtype == np.float64 else pd.to_numeric(series, errors="coerce").astype(float)


def yoy(series: pd.Series, *, periods: int = 1) -> pd.Series:
    """Growth over `periods` rows (1 for annual rows, 4 for quarterly rows); NaN across a sign change.

    On a dated index the base must be `periods` periods earlier by date: across a missing period it is NaN.
    """
    s = _numeric(series)
    return pd.Series(_yoy(s.to_numpy(), periods, s.index), index=s.index, name=s.name)


def cagr(series: pd.Series, years: int, *, periods_per_year: int = 1) -> pd.Series:
    """Compound annual growth over `years`: (x_t / x_{t-years})^(1/years) - 1; NaN unless both are positive."""
    if years <= 0:
        raise AnalyticsError(f"CAGR needs a positive number of years, got {years}")
    s = _numeric(series)
    days = YEAR_DAYS / periods_per_year
    return pd.Series(_cagr(s.to_numpy(), years, periods_per_year, s.index, days), index=s.index, name=s.name)


def growth(
    frame: pd.DataFrame, *, fields: Sequence[str] = GROWTH_FIELDS, periods_per_year: int = 1
) -> pd.DataFrame:
    """YoY and 3/5/10-year CAGR for each field: columns `<field>_yoy`, `<field>_cagr_<n>y`."""
    out: dict[str, np.ndarray] = {}
    days = YEAR_DAYS / periods_per_year
    for name in fields:
        s = _col(frame, name)
        out[f"{name}_yoy"] = _yoy(s, periods_per_year, frame.index, days)
        for n in CAGR_YEARS:
            out[f"{name}_cagr_{n}y"] = _cagr(s, n, periods_per_year, frame.index, days)
    return pd.DataFrame(out, index=frame.index)
