"""Valuation: DCF with editable assumptions, the WACC x terminal-growth grid, multiples vs the sector."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, dcc, html

from dashboard.analytics import valuation
from dashboard.analytics.errors import AnalyticsError
from dashboard.analytics.fundamentals import field
from dashboard.components import charts, company_data, states, tables, universe_data
from dashboard.components.export import export_href, export_link, register_export
from dashboard.components.inputs import InvalidInput, symbol_options, valid_number, valid_symbol
from dashboard.data.router import NoNodeAvailable, QueryFailed

dash.register_page(__name__, path="/valuation", name="Valuation", order=1, title="Valuation · MyCFATool")

FAILURES = (InvalidInput, NoNodeAvailable, QueryFailed, AnalyticsError)
# name: (label, default, low, high) — percentages are entered as percent
ASSUMPTIONS = {
    "growth": ("FCF growth, explicit years (%)", 6.0, -50.0, 100.0),
    "years": ("Explicit years", 5, 1, 15),
    "terminal": ("Terminal growth (%)", 2.5, -5.0, 10.0),
    "rf": ("Risk-free rate (%)", 4.0, 0.0, 20.0),
    "beta": ("Beta", 1.0, -1.0, 5.0),
    "erp": ("Equity risk premium (%)", 5.5, 0.0, 20.0),
    "kd": ("Pre-tax cost of debt (%)", 5.0, 0.0, 30.0),
    "tax": ("Tax rate (%)", 21.0, 0.0, 60.0),
}


def layout(symbol: str | None = None, **_: Any) -> html.Div:
    try:
        options = symbol_options()
    except (NoNodeAvailable, QueryFailed):
        return states.error("The database cannot be reached right now.")
    if not options:
        return states.empty("No companies loaded yet: run an ingest first.")
    inputs = [
        dbc.Col(
            [
                dbc.Label(label, html_for=f"valuation-{key}", className="small"),
                dbc.Input(
                    id=f"valuation-{key}",
                    type="number",
                    value=default,
                    min=low,
                    max=high,
                    step="any",
                    debounce=True,
                ),
            ],
            md=3,
        )
        for key, (label, default, low, high) in ASSUMPTIONS.items()
    ]
    return html.Div(
        [
            dbc.Row(
                dbc.Col(
                    dcc.Dropdown(
                        id="valuation-symbol",
                        options=options,
                        value=symbol or options[0]["value"],
                        clearable=False,
                    ),
                    md=4,
                ),
                className="mb-2",
            ),
            dbc.Row(inputs, className="g-2 mb-3"),
            states.loading(html.Div(id="valuation-summary"), "valuation-summary"),
            html.Div(
                [html.H5("DCF projection", className="d-inline"), export_link("valuation", "projection")]
            ),
            html.Div(id="valuation-projection"),
            html.Div(
                [
                    html.H5("Value per share: WACC x terminal growth", className="d-inline"),
                    export_link("valuation", "grid"),
                ],
                className="mt-3",
            ),
            states.loading(
                dcc.Graph(id="valuation-grid-graph", config={"displaylogo": False}), "valuation-grid"
            ),
            html.Div(
                [
                    html.H5("Multiples vs sector median", className="d-inline"),
                    export_link("valuation", "multiples"),
                ],
                className="mt-3",
            ),
            states.loading(html.Div(id="valuation-multiples"), "valuation-multiples"),
        ]
    )


def base_inputs(symbol: str) -> dict[str, float]:
    """Base-year FCF, net debt, diluted shares, total debt and the last traded close."""
    annual = company_data.combined(symbol, "FY")
    if annual.empty:
        raise AnalyticsError(f"no annual statements for {symbol}")
    last = annual.iloc[-1:]
    prices = company_data.prices(symbol)
    return {
        "fcf": float(field(last, "freeCashFlow").iloc[0]),
        "net_debt": float(field(last, "netDebt").iloc[0]),
        "debt": float(field(last, "totalDebt").iloc[0]),
        "shares": float(field(last, "weightedAverageShsOutDil").iloc[0]),
        "price": float(prices["close"].iloc[-1]) if not prices.empty else math.nan,
    }


def run_dcf(symbol: str, a: Mapping[str, float]) -> tuple[valuation.DCFResult, pd.DataFrame, valuation.Wacc]:
    base = base_inputs(symbol)
    ke = valuation.capm_cost_of_equity(a["rf"] / 100, a["beta"], a["erp"] / 100)
    w = valuation.wacc(
        cost_of_equity=ke,
        pre_tax_cost_of_debt=a["kd"] / 100,
        tax_rate=a["tax"] / 100,
        equity_value=base["price"] * base["shares"],
        debt_value=max(base["debt"], 0.0),
    )
    growth, years = a["growth"] / 100, int(a["years"])
    net_debt, shares = base["net_debt"], base["shares"]
    result = valuation.dcf(
        base["fcf"],
        growth=growth,
        years=years,
        wacc=w.value,
        terminal_growth=a["terminal"] / 100,
        net_debt=net_debt,
        shares=shares,
        price=base["price"],
    )
    waccs = [round(w.value + d, 4) for d in (-0.02, -0.01, 0.0, 0.01, 0.02)]
    growths = [round(a["terminal"] / 100 + d, 4) for d in (-0.01, -0.005, 0.0, 0.005, 0.01)]
    grid = valuation.sensitivity(
        base["fcf"],
        growth=growth,
        years=years,
        waccs=waccs,
        terminal_growths=growths,
        net_debt=net_debt,
        shares=shares,
    )
    return result, grid, w


def assumptions(values: Mapping[str, Any]) -> dict[str, float]:
    return {
        key: valid_number(values.get(key), low=spec[2], high=spec[3], name=spec[0])
        for key, spec in ASSUMPTIONS.items()
    }


def multiples_vs_sector(symbol: str) -> pd.DataFrame:
    table = universe_data.metrics()
    if table.empty:
        raise AnalyticsError("no statements loaded")
    out = valuation.versus_sector(table, table["sector"], symbol)
    out.index.name = "multiple"
    return out.reset_index()


@callback(
    Output("valuation-summary", "children"),
    Output("valuation-projection", "children"),
    Output("valuation-grid-graph", "figure"),
    Output("valuation-multiples", "children"),
    Output("valuation-export-projection", "href"),
    Output("valuation-export-grid", "href"),
    Output("valuation-export-multiples", "href"),
    Input("valuation-symbol", "value"),
    *[Input(f"valuation-{key}", "value") for key in ASSUMPTIONS],
)
def valuation_update(symbol: str | None, *values: Any) -> tuple[Any, ...]:
    try:
        symbol = valid_symbol(symbol)
        a = assumptions(dict(zip(ASSUMPTIONS, values, strict=True)))
        result, grid, w = run_dcf(symbol, a)
    except FAILURES as exc:
        return (states.error(str(exc)), None, charts.empty_figure(str(exc)), None, "#", "#", "#")
    g = result.gordon
    summary = dbc.Card(
        dbc.CardBody(
            [
                html.H4(
                    [f"{symbol}: ", html.Span(f"{g.per_share:,.2f}", id="valuation-per-share"), " per share"]
                ),
                html.P(
                    f"Upside vs last close: {g.upside:+.1%}" if g.upside is not None else "No price stored."
                ),
                html.P(
                    f"WACC {w.value:.2%} (cost of equity {w.cost_of_equity:.2%}, after-tax debt {w.after_tax_cost_of_debt:.2%}, E/V {w.equity_weight:.0%})",
                    id="valuation-wacc",
                ),
                html.P(
                    f"Enterprise value {g.enterprise_value:,.0f}; equity {g.equity_value:,.0f}; terminal value share {g.terminal_share:.0%}"
                ),
            ]
        )
    )
    projection = tables.grid("valuation-projection-grid", result.projection.reset_index(), height=240)
    heat = grid.copy()
    heat.index = [f"{v:.2%}" for v in heat.index]
    heat.columns = [f"{v:.2%}" for v in heat.columns]
    figure = charts.heatmap(
        heat, "Value per share (rows: WACC, columns: terminal growth)", fmt=",.2f", colorscale="Viridis"
    )
    try:
        multiples: Any = tables.grid("valuation-multiples-grid", multiples_vs_sector(symbol), height=240)
    except FAILURES as exc:
        multiples = states.empty(f"No sector comparison: {exc}")
    params = {"symbol": symbol, **{k: str(v) for k, v in a.items()}}
    return (
        summary,
        projection,
        figure,
        multiples,
        export_href("valuation", "projection", params),
        export_href("valuation", "grid", params),
        export_href("valuation", "multiples", {"symbol": symbol}),
    )


@register_export("valuation", "projection")
def export_projection(args: Mapping[str, str]) -> pd.DataFrame:
    return run_dcf(valid_symbol(args.get("symbol")), assumptions(args))[0].projection


@register_export("valuation", "grid")
def export_grid(args: Mapping[str, str]) -> pd.DataFrame:
    return run_dcf(valid_symbol(args.get("symbol")), assumptions(args))[1]


@register_export("valuation", "multiples")
def export_multiples(args: Mapping[str, str]) -> pd.DataFrame:
    return multiples_vs_sector(valid_symbol(args.get("symbol")))
