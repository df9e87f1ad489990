"""The Compare page's controls and its empty panels, which the page's callbacks fill."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.components import (
    catalogue,
    company_data,
    history_data,
    pins,
    point_in_time,
    states,
    tables,
)
from dashboard.components.compare_history import OVERLAYS
from dashboard.components.compare_latest import GRID, SCALES, SPANS
from dashboard.components.export import export_link
from dashboard.components.inputs import group, radio_column
from dashboard.components.page import chart, heading, symbol_picker
from dashboard.components.picker import Picker
from dashboard.components.urlstate import Read


def controls(state: Read, data: Picker, chosen: list[str]) -> list[Any]:
    """Tickers, metric, periods, years and overlays, figures, as-of and pin; then the history, the latest
    figures and the normalised prices with their range and scale."""
    return [
        dbc.Row(
            [
                symbol_picker("compare-symbols", data, chosen, md=7, multi=True, label="Companies (2 to 10)"),
                dbc.Col(
                    [
                        dbc.Label(
                            "Or type or paste tickers", html_for="compare-paste", className="small mb-0"
                        ),
                        dbc.Input(id="compare-paste", placeholder="AAPL MSFT", debounce=True),
                    ],
                    md=3,
                ),
                dbc.Col(
                    html.Div(id="compare-tickers-feedback", className="small text-danger", role="status"),
                    md=2,
                ),
            ],
            className="mb-2 align-items-end",
        ),
        dbc.Row(
            [
                dbc.Col(
                    [
                        dbc.Label("Metric", html_for="compare-metric", className="small mb-0"),
                        dcc.Dropdown(
                            id="compare-metric",
                            options=catalogue.options(catalogue.HISTORY_KEYS),
                            value=state["metric"],
                            clearable=False,
                        ),
                    ],
                    md=4,
                ),
                radio_column("compare-basis", history_data.BASES, state["basis"], md=3, label="Periods"),
                dbc.Col(
                    [
                        dbc.Label("Years (1 to 30)", html_for="compare-years", className="small mb-0"),
                        dbc.Input(
                            id="compare-years",
                            type="number",
                            value=state["years"],
                            min=1,
                            max=30,
                            step=1,
                            debounce=True,
                        ),
                        html.Div(id="compare-years-feedback", className="small text-danger", role="status"),
                    ],
                    md=2,
                ),
                dbc.Col(
                    group(
                        "Overlays",
                        dbc.Checklist(
                            id="compare-overlay",
                            options=[{"label": v, "value": k} for k, v in OVERLAYS.items()],
                            value=state["overlay"],
                        ),
                    ),
                    md=3,
                ),
            ],
            className="mb-2 g-2",
        ),
        dbc.Row(
            [
                radio_column(
                    "compare-figures",
                    point_in_time.FIGURES,
                    state["figures"],
                    md=4,
                    label="Statement figures",
                ),
                company_data.as_of_picker("compare-asof", md=3, value=state["asof"]),
                pins.control("compare", state["pin"], md=4),
            ],
            className="mb-2 g-2 align-items-end",
        ),
        html.Div(id="compare-pinned", className="small text-muted mb-1"),
        html.Div(id="compare-staleness"),
        html.Div(
            [
                *heading("History", "compare", "history").children,
                export_link("compare", "history-trail", "CSV + provenance"),
            ]
        ),
        chart("compare-history-graph", "compare-history"),
        states.loading(html.Div(id="compare-history-table"), "compare-history-table"),
        html.Div(
            [
                *heading(
                    "Latest figures (trailing 12 months where four quarters exist)", "compare", "ratios"
                ).children,
                export_link("compare", "ratios-trail", "CSV + provenance"),
            ],
            className="mt-3",
        ),
        states.loading(html.Div(tables.placeholder(GRID), id="compare-table"), "compare-table"),
        html.Div(id="compare-provenance", className="mt-2"),
        html.Div(
            [
                html.H2("Normalised price (start = 100, adjusted)", className="h5 d-inline"),
                export_link("compare", "prices"),
            ],
            className="mt-3",
        ),
        dbc.Row(
            [
                radio_column("compare-span", {k: k for k in SPANS}, state["span"], md=4, label="Price range"),
                radio_column("compare-scale", SCALES, state["scale"], md=3, label="Price scale"),
            ]
        ),
        chart("compare-price-graph", "compare-price"),
    ]
