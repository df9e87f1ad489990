"""Display units: one vocabulary for table cells (AG Grid formatter kinds), chart axes and card text.

Only what is shown is formatted; the numbers behind it (row data, CSV exports) stay raw and full precision.
A table column gets a *kind*; `assets/formatters.js` turns (value, kind) into text in the browser, so
sorting and filtering still work on the numbers.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True, slots=True)
class Kind:
    """A formatter kind: the unit a cell is shown in and the unit of the raw number behind it (a `pct`
    cell holds 0.0937 and shows "9.37 %"; a `usd_m` cell holds USD and shows millions)."""

    unit: str  # header unit suffix of the shown value
    d3: str  # hover/axis d3 format of the shown value
    scale: float  # shown value = raw value * scale
    raw_unit: str  # unit of the raw number, as CSV exports name it


KINDS: dict[str, Kind] = {
    "usd_m": Kind("USD m", ",.1f", 1e-6, "USD"),
    "usd_bn": Kind("USD bn", ",.2f", 1e-9, "USD"),
    "usd": Kind("USD", ",.2f", 1.0, "USD"),
    "pct": Kind("%", ".1%", 1.0, "fraction"),
    "pct2": Kind("%", ".2%", 1.0, "fraction"),
    "pct_signed": Kind("%", "+.1%", 1.0, "fraction"),
    "x": Kind("x", ",.1f", 1.0, "x"),
    "num2": Kind("", ",.2f", 1.0, "ratio"),
    "num3": Kind("", ",.3f", 1.0, "ratio"),
    "int": Kind("", ",.0f", 1.0, ""),
    "shares_m": Kind("m shares", ",.1f", 1e-6, "shares"),
    "text": Kind("", "", 1.0, ""),
}


@dataclass(frozen=True, slots=True)
class Col:
    """How a column is shown: its header (with the unit) and its formatter kind."""

    header: str
    kind: str = "text"


# Metric columns shared by the Compare, Screener and Valuation pages.
METRICS: dict[str, Col] = {
    "symbol": Col("Ticker"),
    "name": Col("Company"),
    "sector": Col("Sector"),
    "price": Col("Price (USD)", "usd"),
    "market_cap": Col("Market cap (USD bn)", "usd_bn"),
    "shares_source": Col("Share count from"),
    "pe": Col("P/E", "x"),
    "ev_ebitda": Col("EV/EBITDA (CFA EV)", "x"),
    "ev_ebitda_fmp": Col("EV/EBITDA (FMP EV: less cash only)", "x"),
    "ev_sales": Col("EV/Sales (CFA EV)", "x"),
    "pb": Col("P/B", "x"),
    "p_fcf": Col("P/FCF", "x"),
    "gross_margin": Col("Gross margin", "pct"),
    "operating_margin": Col("Operating margin", "pct"),
    "ebitda_margin": Col("EBITDA margin", "pct"),
    "net_margin": Col("Net margin", "pct"),
    "fcf_margin": Col("FCF margin", "pct"),
    "roe": Col("ROE", "pct"),
    "roa": Col("ROA", "pct"),
    "roic": Col("ROIC (textbook)", "pct"),
    "roic_fmp": Col("ROIC (FMP definition)", "pct"),
    "debt_to_equity": Col("Debt/equity", "x"),
    "current_ratio": Col("Current ratio", "num2"),
    "revenue_growth": Col("Revenue growth (y/y)", "pct"),
    "net_income_growth": Col("Net income growth (y/y)", "pct"),
    "fcf_growth": Col("FCF growth (y/y)", "pct"),
    "f_score": Col("Piotroski F", "int"),
    "altman_z": Col("Altman Z (Z or Z'')", "num2"),
    "altman_model": Col("Altman model"),
}

# Statement line items: label and unit kind (money in USD m, per-share in USD, shares in millions).
LINE_ITEMS: dict[str, Col] = {
    "revenue": Col("Revenue", "usd_m"),
    "grossProfit": Col("Gross profit", "usd_m"),
    "operatingIncome": Col("Operating income", "usd_m"),
    "ebitda": Col("EBITDA", "usd_m"),
    "netIncome": Col("Net income", "usd_m"),
    "eps": Col("EPS (basic)", "usd"),
    "epsDiluted": Col("EPS (diluted)", "usd"),
    "weightedAverageShsOutDil": Col("Diluted shares", "shares_m"),
    "totalAssets": Col("Total assets", "usd_m"),
    "totalCurrentAssets": Col("Current assets", "usd_m"),
    "cashAndCashEquivalents": Col("Cash and equivalents", "usd_m"),
    "totalLiabilities": Col("Total liabilities", "usd_m"),
    "totalDebt": Col("Total debt", "usd_m"),
    "netDebt": Col("Net debt", "usd_m"),
    "totalStockholdersEquity": Col("Shareholders' equity", "usd_m"),
    "operatingCashFlow": Col("Operating cash flow", "usd_m"),
    "capitalExpenditure": Col("Capital expenditure", "usd_m"),
    "freeCashFlow": Col("Free cash flow", "usd_m"),
    "commonDividendsPaid": Col("Dividends paid", "usd_m"),
    "commonStockRepurchased": Col("Share repurchases", "usd_m"),
}


@functools.lru_cache(maxsize=8192)
def label(name: str) -> str:
    """A readable name for a metric or line item: the vocabulary's, else `snake_case` or FMP's
    `camelCase` → `Snake case` / `Camel case`.

    Kept per name (bounded): a quarterly statement grid asks it for ~140 date columns a request, and
    the regular expressions cost more than the rest of its column specs."""
    known = METRICS.get(name) or LINE_ITEMS.get(name)
    if known is not None:
        return known.header
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.replace("_", " ")).strip()
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in text.split())
    return text[:1].upper() + text[1:]


def line_item(name: str) -> Col:
    """A statement line's label and unit: the vocabulary's, else per-share for EPS, millions of shares
    for share counts, USD m for every other amount (FMP's statement fields)."""
    known = LINE_ITEMS.get(name) or METRICS.get(name)
    if known is not None:
        return known
    lowered = name.lower()
    if "_" in name or name in PCT_RATIOS or name in RATIO_LABELS:  # a ratio analytics computes, not FMP's
        kind = (
            "pct"
            if "margin" in lowered or name in PCT_RATIOS
            else "usd"
            if lowered.endswith("per_share") or lowered == "eps"
            else "num2"
        )
        return Col(RATIO_LABELS.get(name, label(name)), kind)
    kind = "usd" if lowered.startswith("eps") else "shares_m" if "shsout" in lowered else "usd_m"
    return Col(label(name), kind)


PCT_RATIOS = frozenset(
    {"roa", "roe", "roic", "roic_fmp", "effective_tax_rate", "tax_burden", "interest_burden"}
)
RATIO_LABELS = {
    "dso": "Days sales outstanding (DSO, days)",
    "dio": "Days inventory outstanding (DIO, days)",
    "dpo": "Days payables outstanding (DPO, days)",
    "cash_conversion_cycle": "Cash conversion cycle (days)",
    "net_debt_to_ebitda": "Net debt / EBITDA",
    "interest_coverage": "Interest coverage (EBIT / interest)",
    "eps": "EPS (net income / diluted shares)",
    "ebit_margin": "EBIT margin",
}


def unit(kind: str) -> str:
    return KINDS.get(kind, KINDS["text"]).unit


def raw_unit(kind: str) -> str:
    """The unit of the number a `kind` column holds (what its CSV carries), not the one it is shown in."""
    return KINDS.get(kind, KINDS["text"]).raw_unit


def grid_formatter(kind: str) -> dict[str, str]:
    """An AG Grid valueFormatter for one kind (see assets/formatters.js)."""
    return {"function": f"mycfaFormat(params.value, '{kind}')"}


def row_formatter(kind_field: str) -> dict[str, str]:
    """An AG Grid valueFormatter that takes the kind from a field of the row (tables with one unit per row)."""
    return {"function": f"mycfaFormat(params.value, params.data.{kind_field})"}


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def money(value: Any, *, currency: str = "USD") -> str:
    """Large amounts: `USD 1.34 tn`, `USD 287.3 bn`, `USD 723.4 m`; small ones with 2 decimals."""
    number = _finite(value)
    if number is None:
        return "n/a"
    size = abs(number)
    for threshold, suffix, digits in ((1e12, "tn", 2), (1e9, "bn", 1), (1e6, "m", 1)):
        if size >= threshold:
            return f"{currency} {number / threshold:,.{digits}f} {suffix}"
    return f"{currency} {number:,.2f}"


def pct(value: Any, *, digits: int = 1, signed: bool = False) -> str:
    number = _finite(value)
    if number is None:
        return "n/a"
    return f"{number:+.{digits}%}" if signed else f"{number:.{digits}%}"


def scale_for(values: Any) -> tuple[float, str]:
    """Divisor and unit for a money axis: USD bn when the largest value reaches 10 bn, else USD m."""
    finite = [abs(v) for v in values if _finite(v) is not None]
    top = max(finite, default=0.0)
    return (1e9, "USD bn") if top >= 1e10 else (1e6, "USD m")


def iso_dates(index: pd.Index) -> list[str]:
    """Dates as YYYY-MM-DD in their own time zone (as `strftime` writes them), converted in numpy: a
    per-element strftime cost ~10 ms for ten years of days."""
    dates = pd.DatetimeIndex(index)
    if dates.tz is not None:
        dates = dates.tz_localize(None)
    days = dates.to_numpy(dtype="datetime64[D]")
    known = _known_days(days)
    if known is not None:
        return known
    text: list[str] = np.datetime_as_string(days, unit="D").tolist()
    return text


# Days whose text is kept once per process (~36,500 strings, ~2.5 MB): 1960 to 2059 covers the stored
# prices (from 1990), statements and forecasts; a date outside it (or NaT) takes numpy's conversion.
KNOWN_DAYS = (np.datetime64("1960-01-01", "D"), np.datetime64("2060-01-01", "D"))


@functools.cache
def _day_texts() -> np.ndarray:
    days = np.arange(*KNOWN_DAYS, dtype="datetime64[D]")
    return np.array(np.datetime_as_string(days, unit="D").tolist(), dtype=object)


def _known_days(days: np.ndarray) -> list[str] | None:
    """The texts of `days` looked up in the kept table, or None when one falls outside it.

    np.datetime_as_string costs ~0.3 us a date, ~3 ms for a chart of 36 years of days (Portfolio's
    drawdown, Company's MAX range); picking the same strings from the table, ~0.2 ms.
    """
    if not len(days):
        return []
    offsets = (days - KNOWN_DAYS[0]).astype(np.int64)  # NaT becomes the smallest int64: outside
    if offsets.min() < 0 or offsets.max() >= (KNOWN_DAYS[1] - KNOWN_DAYS[0]).astype(np.int64):
        return None
    text: list[str] = _day_texts()[offsets].tolist()
    return text
