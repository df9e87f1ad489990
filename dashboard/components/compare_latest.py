"""Compare's latest figures and normalised prices: the table on one clear basis, the adjusted closes
rebased to 100 beside the S&P 500, and the two built together for one choice."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dashboard.components import benchmark_data, charts, company_data, pins, states, tables, universe_data
from dashboard.components.screener_grid import results_grid, with_labels
from dashboard.services import services

COLUMNS = [
    "symbol",
    "name",
    "basis_shown",
    "period_end",
    "price",
    "market_cap",
    "pe",
    "ev_ebitda",
    "operating_margin",
    "net_margin",
    "roe",
    "roic",
    "debt_to_equity",
    "revenue_growth",
    "eps_growth",
    "fcf_yield",
    "dividend_yield",
]
# Abbreviated headers (the full ones lead each header's tooltip): at 1440 px every column up to EPS
# growth fits without scrolling the grid sideways (review finding P2).
SHORT_HEADERS = {
    "price": "Price",
    "market_cap": "Cap (bn)",
    "ev_ebitda": "EV/\u200bEBITDA",  # a narrow header breaks after the slash, not inside EBITDA
    "operating_margin": "Op. margin",
    "roic": "ROIC",
    "debt_to_equity": "D/E",
    "revenue_growth": "Rev. growth",
    "eps_growth": "EPS growth",
    "fcf_yield": "FCF yield",
    "dividend_yield": "Div. yield",
}
GRID = "compare-grid"  # its clicks open a figure's trail (`compare_provenance` on the page)
SPANS = {"1Y": 365, "3Y": 3 * 365, "5Y": 5 * 365, "10Y": 10 * 365}
SCALES = {"linear": "Linear", "log": "Log"}


def ratio_table(
    symbols: list[str], figures: str = "restated", pin: int | None = None, as_of: str | None = None
) -> pd.DataFrame:
    def build() -> pd.DataFrame:
        table = universe_data.on_basis("ttm", figures, pin, as_of)
        return with_labels(table) if not table.empty else table

    # Labelled once per data version (shared: only read): labelling the universe's table per request
    # cost more than the rest of the rows' work.
    labelled = services().cache.cached("compare-labelled", (figures, pin, as_of), build)
    if labelled.empty:
        return pd.DataFrame()
    present = [s for s in symbols if s in labelled.index]
    rows = labelled.take(labelled.index.get_indexer(present)).reset_index()
    return rows[[c for c in [*COLUMNS, "not_meaningful"] if c in rows.columns]]


def normalised(symbols: list[str], span: str, last: str | None = None) -> pd.DataFrame:
    """Adjusted closes in the span (ending on `last` when given: an as-of date or a pinned run's day),
    rebased to 100 at each symbol's first price, and the stored cap-weighted S&P 500 rebased to 100 on the
    same first day where it is stored (empty: no prices)."""
    if last is None:
        shown = company_data.adjusted_closes(symbols, days=SPANS[span])
    else:
        shown = company_data.adjusted_closes(symbols).loc[: pd.Timestamp(last)]
        if not shown.empty:
            shown = shown[shown.index >= shown.index[-1] - pd.Timedelta(days=SPANS[span])]
    if shown.empty:
        return pd.DataFrame()
    values = shown.to_numpy()
    first = values[np.argmax(~np.isnan(values), axis=0), np.arange(values.shape[1])]
    rebased = pd.DataFrame(values / first * 100.0, index=shown.index, columns=shown.columns.rename(None))
    index = benchmark_data.rebased("sp500", pd.DatetimeIndex(rebased.index))  # P5: the market beside them
    return rebased if index.empty else rebased.assign(**{str(index.name): index})


def compare_snapshot(
    chosen: list[str],
    span: str,
    scale: str,
    figures: str = "restated",
    pin: int | None = None,
    as_of: str | None = None,
) -> tuple[Any, Any]:
    """The latest figures' grid and the price chart for one choice (cached whole): pinned or as of a date,
    the figures then and the closes up to that day."""
    table = ratio_table(chosen, figures, pin, as_of)
    prices = normalised(chosen, span, pins.last_day(as_of, pin))
    grid = (
        _clickable(results_grid(table, id_=GRID, short=SHORT_HEADERS))
        if not table.empty
        else [states.empty("No statements for these tickers."), tables.placeholder(GRID)]
    )
    if prices.empty:
        return grid, charts.empty_figure("No prices for these tickers.")
    figure = charts.lines(
        prices,
        f"Dividend-adjusted close, rebased to 100 on {prices.index[0]:%Y-%m-%d}",
        yaxis="Index (start = 100)",
    )
    if scale == "log":
        figure["layout"]["yaxis"]["type"] = "log"
    return grid, figure


def _clickable(grid: Any) -> Any:
    grid.getRowId = "params.data.symbol"  # a click names its company (`compare_provenance`)
    return grid
