"""Compare: 2-10 tickers side by side: latest ratios, growth and normalised price."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, callback, html
from dash.development.base_component import Component

from dashboard.components import charts, company_data, states, tables, universe_data, urlstate
from dashboard.components.export import export_href, register_export
from dashboard.components.inputs import radio_column, valid_choice, valid_symbols
from dashboard.components.page import (
    FAILURES,
    chart,
    frame,
    heading,
    picker_data,
    register_picker,
    symbol_picker,
)
from dashboard.components.picker import Picker
from dashboard.services import services

dash.register_page(__name__, path="/compare", name="Compare", order=3, title="Compare · MyCFATool")

COLUMNS = [
    *universe_data.LEADING_COLUMNS,
    "gross_margin",
    "operating_margin",
    "net_margin",
    "roe",
    "roic",
    "debt_to_equity",
    "current_ratio",
    "revenue_growth",
    "net_income_growth",
    "fcf_growth",
]
SPANS = {"1Y": 365, "3Y": 3 * 365, "5Y": 5 * 365, "10Y": 10 * 365}


URL = urlstate.page_state(
    "/compare",
    "compare",
    urlstate.Param("symbols", "compare-symbols", kind="symbols", label="tickers"),
    urlstate.Param("span", "compare-span", default="5Y", choices=tuple(SPANS), label="range"),
)
register_picker("compare-symbols")


def layout(**query: Any) -> Component:
    data = picker_data(at_least=2, too_few="Comparing needs at least two companies loaded.")
    if not isinstance(data, Picker):
        return data
    state = URL.read(query)
    chosen = state["symbols"] or data.defaults(3)
    return frame(
        "Compare",
        URL,
        state,
        dbc.Row(
            [
                symbol_picker("compare-symbols", data, chosen, md=8, multi=True, label="Companies (2 to 10)"),
                radio_column("compare-span", {k: k for k in SPANS}, state["span"], md=4, label="Price range"),
            ],
            className="mb-2 align-items-end",
        ),
        html.Div(id="compare-staleness"),
        heading("Latest annual ratios and growth", "compare", "ratios"),
        states.loading(html.Div(id="compare-table"), "compare-table"),
        heading("Normalised price (start = 100, adjusted)", "compare", "prices", gap=True),
        chart("compare-price-graph", "compare-price"),
    )


def ratio_table(symbols: list[str]) -> pd.DataFrame:
    table = services().cache.cached("compare-columns", (), _compared_columns)
    if table.empty:
        return pd.DataFrame()
    present = [s for s in symbols if s in table.index]
    return table.take(table.index.get_indexer(present)).reset_index()


def _compared_columns() -> pd.DataFrame:
    """The screener table's columns Compare shows, every symbol: cut once per data version, so a request
    takes its rows from 18 columns, not ~60 (`loc` with rows and columns cost ~1 ms, this ~0.5)."""
    table = universe_data.metrics()
    return table if table.empty else table[[c for c in COLUMNS if c in table.columns]]


def normalised(symbols: list[str], span: str) -> pd.DataFrame:
    """Adjusted closes in the span, rebased to 100 at each symbol's first price (empty: no prices).

    Not cached itself: it is a cut of the per-symbol cached closes (~2 ms), and the view that shows it is
    cached whole, so a cache entry of its own was one more file written per new choice.
    """
    shown = company_data.adjusted_closes(symbols, days=SPANS[span])
    if shown.empty:
        return pd.DataFrame()
    # Each column over its first price (NaN for a column without one), as `shown / shown.bfill().iloc[0]`
    # divides, on the array: pandas' bfill and aligned division cost ~0.5 ms.
    values = shown.to_numpy()
    first = values[np.argmax(~np.isnan(values), axis=0), np.arange(values.shape[1])]
    return pd.DataFrame(values / first * 100.0, index=shown.index, columns=shown.columns.rename(None))


@callback(
    Output("compare-table", "children"),
    Output("compare-price-graph", "figure"),
    Output("compare-staleness", "children"),
    Output("compare-export-ratios", "href"),
    Output("compare-export-prices", "href"),
    Input("compare-symbols", "value"),
    Input("compare-span", "value"),
)
def compare_update(symbols: list[str] | None, span: str) -> tuple[Any, Any, Any, str, str]:
    try:
        chosen = valid_symbols(symbols or [], minimum=2, maximum=10)
        span = valid_choice(span, tuple(SPANS), name="range")
        grid, figure = services().cache.cached(
            "compare-view", (tuple(chosen), span), lambda: compare_view(chosen, span)
        )
    except FAILURES as exc:  # one message, in the table's place
        return states.error(str(exc)), charts.blank_figure(), states.staleness(), "#", "#"
    params = {"symbols": ",".join(chosen), "span": span}
    return (
        grid,
        figure,
        states.staleness(),
        export_href("compare", "ratios", params),
        export_href("compare", "prices", params),
    )


def compare_view(chosen: list[str], span: str) -> tuple[Any, Any]:
    """The table and chart for one choice (cached whole: pure given the data version)."""
    table = ratio_table(chosen)
    prices = normalised(chosen, span)
    grid = (
        tables.grid("compare-grid", table)
        if not table.empty
        else states.empty("No annual statements for these tickers.")
    )
    figure = (
        charts.lines(
            prices,
            f"Dividend-adjusted close, rebased to 100 on {prices.index[0]:%Y-%m-%d}",
            yaxis="Index (start = 100)",
        )
        if not prices.empty
        else charts.empty_figure("No prices for these tickers.")
    )
    return grid, figure


@register_export("compare", "ratios")
def export_ratios(args: Mapping[str, str]) -> pd.DataFrame:
    return ratio_table(valid_symbols(args.get("symbols", "").split(","), minimum=2, maximum=10))


@register_export("compare", "prices")
def export_prices(args: Mapping[str, str]) -> pd.DataFrame:
    symbols = valid_symbols(args.get("symbols", "").split(","), minimum=2, maximum=10)
    return normalised(symbols, valid_choice(args.get("span"), tuple(SPANS), name="range"))
