"""Valuation: CAPM and WACC, a free-cash-flow DCF with Gordon and exit-multiple terminal values, multiples.

DCF conventions (docs/analytics.md): year 0 is the base year whose FCF is known; explicit years 1..N grow
from it and are discounted by (1 + WACC)^t from t = 1, so the base year itself is never part of the value;
the terminal value at N is discounted by (1 + WACC)^N; equity = enterprise value - net debt. With
`mid_year=True` each year's FCF arrives mid-year (discounted from t - 0.5) and so does every flow inside the
Gordon terminal value (from N - 0.5); an exit-multiple terminal value is a price at N and stays at N.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from serving.errors import AnalyticsError, TerminalGrowthError
from serving.fundamentals import field, safe_div

MULTIPLES = ("pe", "ev_ebitda", "ev_sales", "pb", "p_fcf", "ev_ebitda_fmp")
# What rests on the enterprise value: not meaningful for a company whose debt is its business (a bank's
# deposits, an insurer's reserves: `fitting.firm_multiples`), nor on an EV that is not positive.
EV_FIGURES = ("enterprise_value", "enterprise_value_fmp", "ev_ebitda", "ev_ebitda_fmp", "ev_sales")


def _finite(name: str, value: float) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise AnalyticsError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(out):
        raise AnalyticsError(f"{name} must be finite, got {value!r}")
    return out


def capm_cost_of_equity(risk_free: float, beta: float, equity_risk_premium: float) -> float:
    """CAPM: r_e = r_f + beta * equity risk premium."""
    return _finite("risk_free", risk_free) + _finite("beta", beta) * _finite(
        "equity_risk_premium", equity_risk_premium
    )


@dataclass(frozen=True, slots=True)
class Wacc:
    """A WACC with its inputs, so the dashboard can show and edit each one."""

    cost_of_equity: float
    pre_tax_cost_of_debt: float
    tax_rate: float
    equity_weight: float
    debt_weight: float

    @property
    def after_tax_cost_of_debt(self) -> float:
        return self.pre_tax_cost_of_debt * (1.0 - self.tax_rate)

    @property
    def value(self) -> float:
        return self.equity_weight * self.cost_of_equity + self.debt_weight * self.after_tax_cost_of_debt


def wacc(
    *,
    cost_of_equity: float,
    pre_tax_cost_of_debt: float,
    tax_rate: float,
    equity_value: float,
    debt_value: float,
) -> Wacc:
    """Weighted average cost of capital on market-value weights E/(D+E) and D/(D+E).

    Args:
        cost_of_equity: e.g. from `capm_cost_of_equity`.
        pre_tax_cost_of_debt: yield on the company's debt (interest expense / debt as a fallback).
        tax_rate: marginal or effective tax rate, in [0, 1).
        equity_value: market capitalisation (or a target weight).
        debt_value: market (or book) value of debt (or a target weight).
    """
    e, d = _finite("equity_value", equity_value), _finite("debt_value", debt_value)
    t = _finite("tax_rate", tax_rate)
    if e < 0 or d < 0 or e + d <= 0:
        raise AnalyticsError(
            f"capital weights need non-negative values with a positive sum, got E={e}, D={d}"
        )
    if not 0.0 <= t < 1.0:
        raise AnalyticsError(f"tax_rate must be in [0, 1), got {t}")
    return Wacc(
        cost_of_equity=_finite("cost_of_equity", cost_of_equity),
        pre_tax_cost_of_debt=_finite("pre_tax_cost_of_debt", pre_tax_cost_of_debt),
        tax_rate=t,
        equity_weight=e / (e + d),
        debt_weight=d / (e + d),
    )


@dataclass(frozen=True, slots=True)
class TerminalValuation:
    """One terminal-value method carried through to a value per share."""

    method: str  # "gordon" or "exit_multiple"
    terminal_value: float
    pv_terminal: float
    enterprise_value: float
    equity_value: float
    per_share: float
    upside: float | None  # per_share / price - 1 when a price was given

    @property
    def terminal_share(self) -> float:
        """Share of the enterprise value that comes from the terminal value."""
        return self.pv_terminal / self.enterprise_value if self.enterprise_value else math.nan


@dataclass(frozen=True, slots=True)
class DCFResult:
    """Projection table (year, growth, fcf, discount_factor, pv) and one valuation per terminal method."""

    projection: pd.DataFrame
    pv_explicit: float
    gordon: TerminalValuation
    exit_multiple: TerminalValuation | None
    wacc: float
    terminal_growth: float


def _growth_path(growth: float | Sequence[float], years: int) -> list[float]:
    if isinstance(growth, int | float):
        return [_finite("growth", growth)] * years
    path = [_finite("growth", g) for g in growth]
    if len(path) != years:
        raise AnalyticsError(f"growth has {len(path)} rates for {years} explicit years")
    return path


def _last_fcf(fcf0: float, growth: float | Sequence[float], years: int) -> float:
    """The FCF of explicit year N, computed as `dcf` does (the same cumulative product)."""
    if not years:
        return fcf0
    return float((fcf0 * np.cumprod([1.0 + x for x in _growth_path(growth, years)]))[-1])


def dcf(
    base_fcf: float,
    *,
    growth: float | Sequence[float],
    years: int = 5,
    wacc: float,
    terminal_growth: float,
    net_debt: float,
    shares: float,
    price: float | None = None,
    exit_multiple: float | None = None,
    exit_metric: float | None = None,
    table: bool = True,
    mid_year: bool = False,
) -> DCFResult:
    """Discounted free cash flow to the firm, two terminal values, equity value per share.

    Args:
        base_fcf: free cash flow of the base year (year 0, already happened: never discounted into the value).
        growth: one rate for every explicit year, or one rate per year.
        years: explicit forecast years N (0 gives the single-stage Gordon value FCF0 * (1 + g) / (WACC - g)).
        wacc: discount rate.
        terminal_growth: perpetual growth after year N; must be below `wacc`.
        net_debt: total debt - cash (FMP `netDebt`); equity value = EV - net_debt.
        shares: diluted shares outstanding.
        price: current price, for the upside.
        exit_multiple: terminal value = multiple * the exit metric in year N (e.g. EV/EBITDA).
        exit_metric: the base-year value of that metric (grown along the FCF path); default the FCF itself.
        table: False leaves the projection frame empty (the sensitivity grid needs only the values).
        mid_year: discount flows from the middle of each year (Gordon value = end-year value * (1 + WACC)^0.5).

    Raises:
        TerminalGrowthError: terminal_growth >= wacc.
        AnalyticsError: non-finite inputs, negative years, non-positive shares, WACC <= -100%.
    """
    fcf0 = _finite("base_fcf", base_fcf)
    r, g = _finite("wacc", wacc), _finite("terminal_growth", terminal_growth)
    if g >= r:
        raise TerminalGrowthError(
            f"terminal growth {g:.2%} must be below WACC {r:.2%}: the Gordon terminal value is undefined"
        )
    if r <= -1.0:
        raise AnalyticsError(f"WACC must be above -100%, got {r}")
    if not isinstance(years, int) or years < 0:
        raise AnalyticsError(f"years must be a non-negative integer, got {years!r}")
    n_shares = _finite("shares", shares)
    if n_shares <= 0:
        raise AnalyticsError(f"shares must be positive, got {n_shares}")
    debt = _finite("net_debt", net_debt)
    rates = _growth_path(growth, years)
    t = np.arange(1, years + 1)
    factors = np.cumprod([1.0 + x for x in rates]) if years else np.array([])
    fcf = fcf0 * factors
    shift = 0.5 if mid_year else 0.0
    discount = (1.0 + r) ** -(t.astype(float) - shift)
    pv = fcf * discount
    projection = (
        pd.DataFrame(
            {"growth": rates, "fcf": fcf, "discount_factor": discount, "pv": pv},
            index=pd.Index(t, name="year"),
        )
        if table
        else pd.DataFrame()
    )
    pv_explicit = float(pv.sum())
    last_fcf = float(fcf[-1]) if years else fcf0
    discount_n = (1.0 + r) ** -years

    def carry(method: str, tv: float, factor: float = discount_n) -> TerminalValuation:
        ev = pv_explicit + tv * factor
        equity = ev - debt
        per_share = equity / n_shares
        upside = per_share / price - 1.0 if price else None
        return TerminalValuation(method, tv, tv * factor, ev, equity, per_share, upside)

    gordon = carry("gordon", last_fcf * (1.0 + g) / (r - g), (1.0 + r) ** -(years - shift))
    exit_val = None
    if exit_multiple is not None:
        metric0 = fcf0 if exit_metric is None else _finite("exit_metric", exit_metric)
        metric_n = metric0 * (float(factors[-1]) if years else 1.0)
        exit_val = carry("exit_multiple", _finite("exit_multiple", exit_multiple) * metric_n)
    return DCFResult(projection, pv_explicit, gordon, exit_val, r, g)


def fade_path(growth: float, years: int, fade_years: int, terminal_growth: float) -> list[float]:
    """Two-stage growth: `growth` for `years`, then `fade_years` whose growth steps linearly from it
    towards `terminal_growth` (year k of the fade: g + k (g_T - g) / (fade_years + 1)), so the step into the
    Gordon perpetuity is the same size as every other; `years + fade_years` rates in all."""
    g, g_t = _finite("growth", growth), _finite("terminal_growth", terminal_growth)
    if fade_years < 0 or years < 0:
        raise AnalyticsError(f"years and fade years must not be negative, got {years} and {fade_years}")
    step = (g_t - g) / (fade_years + 1)
    return [g] * years + [g + k * step for k in range(1, fade_years + 1)]


def implied_growth(
    base_fcf: float,
    *,
    price: float,
    years: int,
    fade_years: int = 0,
    wacc: float,
    terminal_growth: float,
    net_debt: float,
    shares: float,
    low: float = -0.5,
    high: float = 1.0,
) -> float:
    """Reverse DCF: the explicit years' FCF growth at which the Gordon DCF value per share equals `price`
    (the fade, WACC and terminal growth held), found by bisection to 1e-10 on [low, high].

    Raises:
        AnalyticsError: no explicit years, a base FCF that is not positive (the value does not rise with
            growth), no positive price, or a price outside the values at `low` and `high`.
    """
    fcf0, target = _finite("base_fcf", base_fcf), _finite("price", price)
    if years < 1:
        raise AnalyticsError("a reverse DCF needs at least one explicit year")
    if fcf0 <= 0:
        raise AnalyticsError("base-year free cash flow is not positive: no growth rate prices it")
    if target <= 0:
        raise AnalyticsError("no positive price to match")

    # The ends through `dcf`, which checks every input (and raises on a terminal growth at or above WACC);
    # the ~36 bisection steps then redo only its Gordon arithmetic, operation for operation (the discount
    # factors do not depend on the growth), so each value is dcf's own to the bit (tests compare them).
    def checked(g: float) -> float:
        path = fade_path(g, years, fade_years, terminal_growth)
        return dcf(
            fcf0,
            growth=path,
            years=len(path),
            wacc=wacc,
            terminal_growth=terminal_growth,
            net_debt=net_debt,
            shares=shares,
            table=False,
        ).gordon.per_share

    lo, hi = checked(low), checked(high)
    r, g_t, debt, n_shares = float(wacc), float(terminal_growth), float(net_debt), float(shares)
    n = years + fade_years
    discount = (1.0 + r) ** -(np.arange(1, n + 1).astype(float) - 0.0)
    tail = (1.0 + r) ** -(n - 0.0)

    def value(g: float) -> float:
        fcf = fcf0 * np.cumprod([1.0 + x for x in fade_path(g, years, fade_years, terminal_growth)])
        pv_explicit = float((fcf * discount).sum())
        ev = pv_explicit + float(fcf[-1]) * (1.0 + g_t) / (r - g_t) * tail
        return float((ev - debt) / n_shares)

    if not lo <= target <= hi:
        raise AnalyticsError(
            f"the price {target:,.2f} is outside the values from {low:.0%} to {high:.0%} growth"
            f" ({lo:,.2f} to {hi:,.2f})"
        )
    a, b = low, high
    while b - a > 1e-10:
        mid = (a + b) / 2
        if value(mid) < target:
            a = mid
        else:
            b = mid
    return (a + b) / 2


def sensitivity(
    base_fcf: float,
    *,
    growth: float | Sequence[float],
    years: int = 5,
    waccs: Sequence[float],
    terminal_growths: Sequence[float],
    net_debt: float,
    shares: float,
    mid_year: bool = False,
) -> pd.DataFrame:
    """Gordon value per share over a WACC (rows) * terminal growth (columns) grid; NaN where g >= WACC."""
    if not waccs or not terminal_growths:
        raise AnalyticsError("sensitivity needs at least one WACC and one terminal growth")
    values = np.full((len(waccs), len(terminal_growths)), np.nan)
    point = functools.partial(
        dcf,
        base_fcf,
        growth=growth,
        years=years,
        net_debt=net_debt,
        shares=shares,
        table=False,
        mid_year=mid_year,
    )
    for i, r in enumerate(waccs):
        cells = [j for j, g in enumerate(terminal_growths) if g < r]
        if not cells:
            continue
        # One full DCF per WACC (it validates every input, as before); the explicit years do not depend on
        # the terminal growth, so the row's other cells only redo dcf's Gordon arithmetic, operation for
        # operation, which keeps each cell bit-identical to its own dcf() (tests compare them with ==).
        first = point(wacc=r, terminal_growth=terminal_growths[cells[0]])
        values[i, cells[0]] = first.gordon.per_share
        if len(cells) == 1:
            continue
        rate = float(r)
        factor = (1.0 + rate) ** -(years - (0.5 if mid_year else 0.0))
        last_fcf = _last_fcf(float(base_fcf), growth, years)
        debt, n_shares = float(net_debt), float(shares)
        for j in cells[1:]:
            g = _finite("terminal_growth", terminal_growths[j])
            tv = last_fcf * (1.0 + g) / (rate - g)
            values[i, j] = (first.pv_explicit + tv * factor - debt) / n_shares
    return pd.DataFrame(
        values,
        index=pd.Index(list(waccs), name="wacc", dtype=float),
        columns=pd.Index(list(terminal_growths), name="terminal_growth", dtype=float),
    )


def enterprise_value(frame: pd.DataFrame, market_cap: pd.Series) -> pd.Series:
    """CFA EV: market cap + total debt + preferred stock + minority interest - (cash + short-term investments).

    Missing preferred stock, minority interest or short-term investments count as 0; missing debt or cash
    leaves the EV unknown.
    """
    cash = field(frame, "cashAndShortTermInvestments")
    cash = cash.fillna(
        field(frame, "cashAndCashEquivalents") + field(frame, "shortTermInvestments").fillna(0.0)
    )
    return (
        market_cap
        + field(frame, "totalDebt")
        + field(frame, "preferredStock").fillna(0.0)
        + field(frame, "minorityInterest").fillna(0.0)
        - cash
    ).rename("enterprise_value")


def multiples(frame: pd.DataFrame, market_cap: pd.Series, *, firm: pd.Series | None = None) -> pd.DataFrame:
    """P/E, EV/EBITDA, EV/Sales, P/B, P/FCF per fiscal date (or per symbol).

    Args:
        frame: combined statements (annual or TTM rows); uses netIncome, totalDebt, preferredStock,
            minorityInterest, cashAndShortTermInvestments (or cash + shortTermInvestments), netDebt, ebitda,
            revenue, totalStockholdersEquity, freeCashFlow.
        market_cap: market capitalisation on each row's date (FMP key-metrics `marketCap`, or
            `market_cap_at`).
        firm: per row (same index), False where the company is valued on its equity (a bank, insurer or
            lender: `fitting.firm_multiples`); None: every row is an operating company.

    EV is the CFA curriculum's: market cap + total debt + preferred stock + minority interest - cash and
    short-term investments. FMP's EV (market cap + netDebt: only cash is subtracted) is kept beside it as
    `enterprise_value_fmp` and `ev_ebitda_fmp` (AAPL FY2024: FMP's is 1.0 % higher).
    A negative denominator (losses, negative book value) gives NaN: such a multiple does not rank; so does
    an EV that is not positive (cash above market cap and debt), and every EV_FIGURES column of a row that
    is not a firm (a bank's "debt" is largely the deposits it lends out).
    """
    mc = pd.to_numeric(market_cap.reindex(frame.index), errors="coerce").astype(float)
    ev = enterprise_value(frame, mc)
    ev_fmp = mc + field(frame, "netDebt")
    if firm is not None:
        operating = firm.reindex(frame.index).fillna(True).astype(bool)
        ev, ev_fmp = ev.where(operating), ev_fmp.where(operating)

    def positive(name: str) -> pd.Series:
        s = field(frame, name)
        return s.where(s > 0)

    return pd.DataFrame(
        {
            "market_cap": mc,
            "enterprise_value": ev,
            "enterprise_value_fmp": ev_fmp,
            "pe": safe_div(mc, positive("netIncome")),
            "ev_ebitda": safe_div(ev.where(ev > 0), positive("ebitda")),
            "ev_ebitda_fmp": safe_div(ev_fmp.where(ev_fmp > 0), positive("ebitda")),
            "ev_sales": safe_div(ev.where(ev > 0), positive("revenue")),
            "pb": safe_div(mc, positive("totalStockholdersEquity")),
            "p_fcf": safe_div(mc, positive("freeCashFlow")),
        },
        index=frame.index,
    )


# Where the current share count comes from, best first (docs/analytics.md, "Share count"). A fiscal year's
# weighted-average diluted count lags buybacks: AAPL FY2024's 15.41 bn put its market cap 3.8 % above FMP's.
SHARE_SOURCES = {
    "profile": "FMP profile (market cap / price)",
    "quarter": "latest quarter's diluted weighted average",
    "annual": "last fiscal year's diluted weighted average",
}


def current_shares(candidates: Mapping[str, pd.Series | float | None]) -> pd.DataFrame:
    """The current share count per row: the first positive candidate in SHARE_SOURCES order, and its source.

    Args:
        candidates: share counts by source key ("profile", "quarter", "annual"): Series per symbol, or
            numbers for one company. Missing, NaN or non-positive values fall through to the next source.

    Returns:
        Columns `shares` and `shares_source` (a key of SHARE_SOURCES, None where no source has a count).
    """
    unknown = [k for k in candidates if k not in SHARE_SOURCES]
    if unknown:
        raise AnalyticsError(f"unknown share sources {unknown}; use {list(SHARE_SOURCES)}")
    series = {
        k: v if isinstance(v, pd.Series) else pd.Series([np.nan if v is None else v], dtype=float)
        for k, v in candidates.items()
    }
    index = next(iter(series.values())).index if series else pd.RangeIndex(1)
    for s in series.values():
        index = index.union(s.index) if not s.index.equals(index) else index
    shares = pd.Series(np.nan, index=index, dtype=float)
    source = pd.Series(None, index=index, dtype=object)
    for key in SHARE_SOURCES:
        if key not in series:
            continue
        values = pd.to_numeric(series[key].reindex(index), errors="coerce").astype(float)
        take = shares.isna() & (values > 0)
        shares[take] = values[take]
        source[take] = key
    source = source.astype(object).where(shares.notna(), None)
    return pd.DataFrame({"shares": shares, "shares_source": source})


def current_share_count(candidates: Mapping[str, float | None]) -> tuple[float, str | None]:
    """`current_shares` for one company's numbers: (shares, source key), (NaN, None) when no source has a
    positive count. Without pandas: a Series per candidate cost a valuation ~1 ms for one number."""
    unknown = [k for k in candidates if k not in SHARE_SOURCES]
    if unknown:
        raise AnalyticsError(f"unknown share sources {unknown}; use {list(SHARE_SOURCES)}")
    for key in SHARE_SOURCES:
        value = candidates.get(key)
        if value is not None and value > 0:  # NaN is not
            return float(value), key
    return math.nan, None


def market_cap_at(close: pd.Series, shares: pd.Series) -> pd.Series:
    """Market cap on each date of `shares`: the last close on or before it * that share count."""
    if close.empty:
        raise AnalyticsError("empty price series")
    prices = pd.to_numeric(close, errors="coerce").astype(float).sort_index().dropna()
    at = prices.reindex(prices.index.union(shares.index)).ffill().reindex(shares.index)
    return (at * pd.to_numeric(shares, errors="coerce").astype(float)).rename("market_cap")


def sector_medians(
    table: pd.DataFrame, sectors: Mapping[str, str] | pd.Series, columns: Sequence[str]
) -> pd.DataFrame:
    """Median of each column per GICS sector over a per-symbol table (index symbols); NaNs ignored."""
    unknown = [c for c in columns if c not in table.columns]
    if unknown:
        raise AnalyticsError(f"unknown columns {unknown}")
    sector = pd.Series(sectors) if not isinstance(sectors, pd.Series) else sectors
    return table[list(columns)].groupby(sector.reindex(table.index).rename("sector")).median()


def versus_sector(
    table: pd.DataFrame,
    sectors: Mapping[str, str] | pd.Series,
    symbol: str,
    columns: Sequence[str] = MULTIPLES,
    *,
    medians: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One symbol's values next to its sector's median and the premium (value / median - 1).

    `medians` is `sector_medians(table, sectors, columns)` when the caller keeps it (it is the same for
    every symbol of the table).
    """
    sector = pd.Series(sectors) if not isinstance(sectors, pd.Series) else sectors
    if symbol not in table.index or symbol not in sector.index:
        raise AnalyticsError(f"unknown symbol {symbol!r}")
    by_sector = sector_medians(table, sector, columns) if medians is None else medians[list(columns)]
    medians_row = by_sector.loc[sector[symbol]]
    own = table.loc[symbol, list(columns)].astype(float)
    return pd.DataFrame(
        {"value": own, "sector_median": medians_row, "premium": safe_div(own, medians_row) - 1.0}
    )
