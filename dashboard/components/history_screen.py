"""The Point in time page's screen on a past date: that day's members, what was filed by then, the
forward returns of the top N against all members and the stored S&P 500, and its CSV."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from dashboard.components import (
    benchmark_data,
    formats,
)
from dashboard.components.company_data import as_of_date
from dashboard.components.export import register_export
from dashboard.components.inputs import (
    InvalidInput,
)
from dashboard.data import queries
from dashboard.services import services

# Rank a screen by (label, column, highest first?): the cheapest by P/E are the lowest positive ones.
RANKS = {
    "net_margin": ("Net margin", True),
    "roe": ("ROE", True),
    "earnings_yield": ("Earnings yield (1 / P/E)", True),
    "revenue": ("Revenue", True),
}
HORIZONS = {"ret_1m": "1M", "ret_3m": "3M", "ret_1y": "1Y"}
SCREEN_COLUMNS = {
    "added": formats.Col("Member since"),
    "left": formats.Col("Left the index"),
    "fiscal_date": formats.Col("Latest FY known"),
    "filing_date": formats.Col("Filed"),
    "known_as": formats.Col("Figures"),
    "revenue": formats.Col("Revenue (USD m)", "usd_m"),
    "net_margin": formats.Col("Net margin", "pct"),
    "roe": formats.Col("ROE", "pct"),
    "pe": formats.Col("P/E", "x"),
    "price_date": formats.Col("Close of"),
    "close": formats.Col("Close (USD)", "usd"),
    "ret_1m": formats.Col("Return 1M", "pct_signed"),
    "ret_3m": formats.Col("Return 3M", "pct_signed"),
    "ret_1y": formats.Col("Return 1Y", "pct_signed"),
}


# -- Screen as of a date ------------------------------------------------------------------------------
def screen(day: str) -> pd.DataFrame:
    """The index members on `day` this store holds, with that day's figures and forward returns."""
    svc = services()
    return svc.cache.cached("history-screen", (day,), lambda: _screen(queries.members_on(svc.router, day)))


def ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    a, b = num.astype(float), den.astype(float)
    return (a / b.where(b != 0)).replace([np.inf, -np.inf], np.nan)


def _screen(rows: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return rows
    for name in (
        "revenue",
        "net_income",
        "eps_diluted",
        "equity",
        "close",
        "adj0",
        "adj1m",
        "adj3m",
        "adj1y",
    ):
        rows[name] = pd.to_numeric(rows[name], errors="coerce").astype(float)
    out = rows[["symbol", "name", "sector"]].copy()
    out["added"] = [d.isoformat() if isinstance(d, date) else "before 1990s list" for d in rows["added"]]
    out["left"] = [d.isoformat() if isinstance(d, date) else "" for d in rows["removed"]]
    out["fiscal_date"] = [d.isoformat() if isinstance(d, date) else None for d in rows["fiscal_date"]]
    out["filing_date"] = [d.isoformat() if isinstance(d, date) else None for d in rows["filing_date"]]
    out["known_as"] = [
        {"known": "as the store knew them", "first": "as first reported"}.get(b, "none filed by then")
        if isinstance(b, str)
        else "none filed by then"
        for b in rows["basis"]
    ]
    out["revenue"] = rows["revenue"]
    out["net_margin"] = ratio(rows["net_income"], rows["revenue"])
    out["roe"] = ratio(rows["net_income"], rows["equity"])
    pe = ratio(rows["close"], rows["eps_diluted"])
    out["pe"] = pe.where(pe > 0)
    out["earnings_yield"] = 1.0 / out["pe"]
    out["price_date"] = [d.isoformat() if isinstance(d, date) else None for d in rows["price_date"]]
    out["close"] = rows["close"]
    for column, ahead in (("ret_1m", "adj1m"), ("ret_3m", "adj3m"), ("ret_1y", "adj1y")):
        out[column] = ratio(rows[ahead], rows["adj0"]) - 1.0
    out.attrs["members"] = int(rows["members"].iloc[0])
    return out


SPANS = {
    "ret_1m": pd.DateOffset(months=1),
    "ret_3m": pd.DateOffset(months=3),
    "ret_1y": pd.DateOffset(years=1),
}
INDEX_ROW = "S&P 500 (cap weight, stored)"


def screen_summary(table: pd.DataFrame, rank: str, top: int, day: str | None = None) -> pd.DataFrame:
    """Mean forward returns of the top `top` by `rank` against every member held (equal weight), and the
    stored cap-weighted S&P 500's over the same spans from `day` when the store holds it (each column's
    "vs all" is the difference from every member held)."""
    ranked = table[table[rank].notna()].sort_values(rank, ascending=not RANKS[rank][1])
    picked = ranked.head(top)
    rows = []
    for label, part in (
        (f"Top {len(picked)} by {RANKS[rank][0]}", picked),
        ("All members held (equal weight)", table),
    ):
        row: dict[str, Any] = {"group": label, "companies": len(part)}
        for column in HORIZONS:
            values = part[column].dropna()
            row[column] = float(values.mean()) if len(values) else np.nan
            row[f"n_{column}"] = len(values)
        rows.append(row)
    index = index_forward(day) if day else {}
    if index:
        rows.append({"group": INDEX_ROW, "companies": np.nan, **index})
    out = pd.DataFrame(rows)
    for column in HORIZONS:
        out[f"excess_{column}"] = out[column] - out[column].iloc[1]
    return out[["group", "companies", *HORIZONS, *(f"excess_{c}" for c in HORIZONS)]]


def index_forward(day: str) -> dict[str, float]:
    """The stored cap-weighted S&P 500's return from the close of `day` to the close on or before each
    span's end, as each member's is counted (empty when the series is not stored or starts later; NaN for a
    span the series does not reach yet)."""
    daily = benchmark_data.stored(benchmark_data.STORED["sp500"])
    start = pd.Timestamp(day)
    if daily.empty or daily.index[0] > start:
        return {}
    out = {}
    for column, span in SPANS.items():
        end = start + span
        moves = daily[(daily.index > start) & (daily.index <= end)].to_numpy(dtype=float)
        out[column] = float(np.prod(1.0 + moves) - 1.0) if daily.index[-1] >= end else np.nan
    return out


SUMMARY_SCREEN_COLUMNS = {
    "group": formats.Col("Group"),
    "companies": formats.Col("Companies", "int"),
    **{c: formats.Col(f"Mean return {h}", "pct_signed") for c, h in HORIZONS.items()},
    **{f"excess_{c}": formats.Col(f"vs all {h}", "pct_signed") for c, h in HORIZONS.items()},
}


@register_export("history", "screen")
def export_screen(args: Mapping[str, str]) -> pd.DataFrame:
    day = as_of_date(args.get("on"))
    if day is None:
        raise InvalidInput("a screen date is needed")
    return screen(day)
