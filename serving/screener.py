"""Screener: a per-symbol metrics table built once per data version, then filtered and ranked cheaply.

Build the table with `metrics_table` when the data changes (one vectorised pass over ~500 symbols: the
fundamentals formulas are column arithmetic, so a cross-section is computed like a single company's history);
cache it; answer each screener request with `screen`, a few boolean masks over that table.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from serving.errors import AnalyticsError
from serving.fundamentals import (
    LAG_TOLERANCE,
    YEAR_DAYS,
    altman,
    field,
    piotroski_f,
    ratios,
    safe_div,
)
from serving.valuation import multiples

Op = Literal[">", ">=", "<", "<=", "==", "!=", "between"]
_OPS: dict[str, Callable[[pd.Series, float], pd.Series]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
GROWTH_COLUMNS = {"revenue": "revenue_growth", "netIncome": "net_income_growth", "freeCashFlow": "fcf_growth"}


def cross_sections(
    long: pd.DataFrame, *, symbol_column: str = "symbol", period_days: float = YEAR_DAYS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(latest, previous) of `cross_section_history` (see there)."""
    latest, previous = cross_section_history(
        long, depth=2, symbol_column=symbol_column, period_days=period_days
    )
    return latest, previous


def cross_section_history(
    long: pd.DataFrame, *, depth: int = 3, symbol_column: str = "symbol", period_days: float = YEAR_DAYS
) -> list[pd.DataFrame]:
    """Latest and previous period per symbol from a long frame (one row per symbol and fiscal date).

    Args:
        long: rows from the store for one period type (FY, or TTM rows), a `symbol` column and either a
            DatetimeIndex or a `date` column; other columns are FMP fields.
        period_days: the spacing of consecutive periods (a year for FY rows).

    Returns:
        [latest, previous, ...] (`depth` frames), all indexed by symbol; a symbol with fewer periods, or
        whose earlier row is not the adjacent period (a fiscal year missing in between), has NaNs there.
    """
    if symbol_column not in long.columns:
        raise AnalyticsError(f"long frame lacks the {symbol_column!r} column")
    frame = long.reset_index() if "date" not in long.columns else long
    if "date" not in frame.columns:
        raise AnalyticsError("long frame needs a 'date' index or column")
    frame = frame.sort_values([symbol_column, "date"])
    grouped = frame.groupby(symbol_column, sort=True)
    frames = [grouped.nth(-1).set_index(symbol_column)]
    for back in range(2, depth + 1):
        earlier = grouped.nth(-back).set_index(symbol_column).reindex(frames[0].index)
        later = frames[-1]
        gap = (pd.to_datetime(later["date"]) - pd.to_datetime(earlier["date"])).dt.days
        # Not the adjacent period (or the later one is already missing): no data for this step back.
        distant = ~((gap - period_days).abs() <= LAG_TOLERANCE * period_days)
        if distant.any():
            earlier.loc[distant, [c for c in earlier.columns if c != "date"]] = np.nan
            earlier.loc[distant, "date"] = pd.NaT
        frames.append(earlier)
    return frames


def metrics_table(
    latest: pd.DataFrame,
    previous: pd.DataFrame | None,
    *,
    market_cap: pd.Series,
    sectors: Mapping[str, str] | pd.Series,
    extra: pd.DataFrame | None = None,
    before: pd.DataFrame | None = None,
    firm: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per symbol: sector, ratios, multiples, scores and growth (the screener's precomputed table).

    Args:
        latest: combined statement fields per symbol (latest FY or TTM), indexed by symbol.
        previous: the period before, same index (for averages, growth and the F-score); None skips them.
        market_cap: current market capitalisation per symbol.
        sectors: GICS sector per symbol (from the constituent list).
        extra: more per-symbol columns to carry (e.g. price statistics), joined on symbol.
        before: the period before `previous` (its opening assets, for the F-score's prior-year signals).
        firm: per symbol, False for a company valued on its equity (`fitting.firm_flags`): no EV multiples.
    """
    if latest.empty:
        raise AnalyticsError("no symbols to screen")
    mc = pd.to_numeric(pd.Series(market_cap), errors="coerce").astype(float).reindex(latest.index)
    sector = (sectors if isinstance(sectors, pd.Series) else pd.Series(sectors, dtype=object)).reindex(
        latest.index
    )
    parts = [
        sector.rename("sector").to_frame(),
        ratios(latest, previous=previous, average=previous is not None),
        multiples(latest, mc, firm=firm),
        altman(latest, mc, sector),
    ]
    if previous is not None:
        parts.append(piotroski_f(latest, previous=previous, before=before)[["f_score"]])
        prev = previous.reindex(latest.index)
        growth = {
            name: safe_div(field(latest, f) - field(prev, f), field(prev, f).where(field(prev, f) > 0))
            for f, name in GROWTH_COLUMNS.items()
        }
        parts.append(pd.DataFrame(growth, index=latest.index))
    if extra is not None:
        parts.append(extra.reindex(latest.index))
    table = pd.concat(parts, axis=1)
    table.index.name = "symbol"
    return table


@dataclass(frozen=True, slots=True)
class Filter:
    """One screening condition, e.g. Filter("pe", "<", 20) or Filter("roe", "between", (0.1, 0.5))."""

    column: str
    op: Op
    value: float | tuple[float, float]


def _mask(table: pd.DataFrame, flt: Filter) -> pd.Series:
    if flt.column not in table.columns:
        raise AnalyticsError(f"unknown screener column {flt.column!r}")
    col = table[flt.column]
    if flt.op == "between":
        if not isinstance(flt.value, tuple) or len(flt.value) != 2:
            raise AnalyticsError(f"'between' needs a (low, high) pair for {flt.column!r}")
        low, high = flt.value
        return col.between(low, high)
    if flt.op not in _OPS:
        raise AnalyticsError(f"unknown operator {flt.op!r}")
    if isinstance(flt.value, tuple):
        raise AnalyticsError(f"operator {flt.op!r} needs a single value for {flt.column!r}")
    # NaN compares False: a symbol without the metric never passes a filter on it.
    return _OPS[flt.op](col, flt.value).fillna(False).astype(bool)


def screen(
    table: pd.DataFrame,
    *,
    filters: Sequence[Filter] = (),
    sectors: Sequence[str] | None = None,
    sort_by: str | None = None,
    ascending: bool = False,
    limit: int | None = None,
) -> pd.DataFrame:
    """Rows of `table` passing every filter and in one of `sectors`, sorted (NaNs last) and truncated."""
    mask = pd.Series(True, index=table.index)
    for flt in filters:
        mask &= _mask(table, flt)
    if sectors is not None:
        if "sector" not in table.columns:
            raise AnalyticsError("table has no 'sector' column")
        mask &= table["sector"].isin(list(sectors))
    out = table[mask]
    if sort_by is not None:
        if sort_by not in table.columns:
            raise AnalyticsError(f"unknown sort column {sort_by!r}")
        out = out.sort_values(sort_by, ascending=ascending, na_position="last", kind="stable")
    if limit is not None:
        if limit < 0:
            raise AnalyticsError("limit must be non-negative")
        out = out.head(limit)
    return out


def score(table: pd.DataFrame, weights: Mapping[str, float], *, within_sector: bool = False) -> pd.Series:
    """Composite rank: weighted mean of percentile ranks (weight < 0 means lower is better, e.g. P/E).

    A symbol missing a metric is ranked on the others (its weight is left out of its mean).
    """
    unknown = [c for c in weights if c not in table.columns]
    if unknown:
        raise AnalyticsError(f"unknown screener columns {unknown}")
    if not weights:
        raise AnalyticsError("score needs at least one weighted column")
    if within_sector and "sector" not in table.columns:
        raise AnalyticsError("table has no 'sector' column")
    ranks = {}
    for col, weight in weights.items():
        values = table[col].astype(float)
        # Lower is better for a negative weight: rank descending so the smallest value gets the top rank.
        grouped = values.groupby(table["sector"]) if within_sector else values
        ranks[col] = grouped.rank(pct=True, ascending=weight > 0) * abs(weight)
    weighted = pd.DataFrame(ranks, index=table.index)
    present = pd.DataFrame({c: table[c].notna() * abs(w) for c, w in weights.items()}, index=table.index)
    total = present.sum(axis=1)
    return (weighted.sum(axis=1, min_count=1) / total.where(total > 0)).rename("score")
