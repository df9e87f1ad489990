"""The Screener's results grid: who, the basis and period end, every filtered and ranked metric, the
score; tickers link to their Company page; "n/m" where a ratio's denominator is not positive."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_ag_grid as dag
import pandas as pd

from dashboard.components import catalogue, formats, tables
from dashboard.components.formats import Col
from serving.basis import NM, not_meaningful

LEADING = ("symbol", "name", "sector", "basis_shown", "period_end", "price", "market_cap")
# Shown when no condition names them: the columns a first look at a company wants.
DEFAULT_METRICS = ("pe", "ev_ebitda", "roe", "net_margin", "revenue_growth", "dividend_yield")
EXTRA_COLUMNS = {
    "symbol": Col("Ticker"),
    "basis_shown": Col("Basis"),
    "period_end": Col("Period end"),
    "score": Col("Score (0-1, higher is better)", "num3"),
    "shares_source": formats.METRICS["shares_source"],
}
HEIGHT = 760  # ~20 rows visible, then the grid scrolls; 50 rows a page
ROW_HEIGHT = 34  # px: the theme's 42 px rows showed 16 in HEIGHT (measured at 1440 px)


def shown_columns(
    conditions: Sequence[str], rank: str, scored: Sequence[str], *, has_score: bool
) -> list[str]:
    """The grid's columns: who and when, each condition's metric, the rank and score metrics, the score."""
    chosen = [*conditions, *scored]
    metrics = list(dict.fromkeys([*(chosen or DEFAULT_METRICS), *([rank] if rank != "score" else [])]))
    return [
        *LEADING,
        *[m for m in metrics if m not in LEADING],
        *(["score"] if has_score else []),
        "shares_source",  # where the market cap's share count comes from, after the metrics
        "stale",
        "basis",
        "not_meaningful",
    ]


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """`basis_shown`: the basis, and whether its period ended more than nine months before the last close."""
    out = frame.copy()
    if "basis" in out.columns:
        stale = out["stale"].fillna(False).astype(bool) if "stale" in out.columns else False
        out["basis_shown"] = [
            None if b is None else f"{b} (over 9 months old)" if s else str(b)
            for b, s in zip(
                out["basis"], stale if not isinstance(stale, bool) else [stale] * len(out), strict=True
            )
        ]
    return out


def with_nm(frame: pd.DataFrame) -> pd.DataFrame:
    """Each n/m cell as the text "n/m" (the number behind it means its opposite), for the grid and CSV."""
    out = frame.copy()
    if "not_meaningful" in frame.columns and not any(
        isinstance(text, str) and text for text in frame["not_meaningful"].tolist()
    ):  # no row names an n/m ratio (most of Compare's): no mask to build (~0.3 ms of Series)
        return out
    for column, mask in not_meaningful(frame).items():
        if mask.any():
            out[column] = out[column].astype(object).where(~mask.to_numpy(), NM)
    return out


def results_grid(
    result: pd.DataFrame, id_: str = "screener-grid", short: Mapping[str, str] | None = None
) -> dag.AgGrid:
    """The results: every row (the count's), in the rank's order; no column filters or header sorting,
    so what the grid shows is what the count says and the CSV holds. `short` abbreviates headers (by
    field) so more columns fit a window; the full header then leads the header's tooltip."""
    shown = with_nm(with_labels(result))
    columns = {name: catalogue.column(name) for name in shown.columns if name in catalogue.BY_KEY}
    columns.update({k: v for k, v in EXTRA_COLUMNS.items()})
    hidden = [c for c in ("stale", "basis", "not_meaningful") if c in shown.columns]
    first = [c for c in LEADING if c in shown.columns]
    ordered = shown[first + [c for c in shown.columns if c not in hidden and c not in first] + hidden]
    grid = tables.grid(id_, ordered, height=HEIGHT, columns=columns, hidden=hidden)
    defs: list[dict[str, Any]] = grid.columnDefs
    for spec in defs:
        if spec["field"] == "symbol":
            spec["cellRenderer"] = "TickerLink"
        if spec["field"] in columns and columns[spec["field"]].kind != "text":
            spec["type"] = "numericColumn"
            spec["valueFormatter"] = formats.grid_formatter(columns[spec["field"]].kind)
        if short and spec["field"] in short:
            full = spec["headerName"]
            spec["headerName"] = short[spec["field"]]
            spec["headerTooltip"] = f"{full}: {spec['headerTooltip']}" if "headerTooltip" in spec else full
    grid.columnDefs = defs
    if short:
        grid.className = f"{grid.className} mycfa-compact"
        grid.defaultColDef = {**grid.defaultColDef, "wrapHeaderText": True, "autoHeaderHeight": True}
        grid.columnSizeOptions = {"skipHeader": True}  # the cells set the widths; headers wrap to them
    grid.defaultColDef = {**grid.defaultColDef, "filter": False, "sortable": False}
    grid.dashGridOptions = {**grid.dashGridOptions, "rowHeight": ROW_HEIGHT}
    return grid
