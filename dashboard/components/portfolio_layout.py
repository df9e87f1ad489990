"""The Portfolio page's controls and its empty panels, which the page's callbacks fill."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from dashboard.components import company_data, pins, portfolio_inputs, states, tables
from dashboard.components.export import export_link
from dashboard.components.inputs import group
from dashboard.components.page import heading
from dashboard.components.portfolio_analysis import OPTIMISERS
from dashboard.components.portfolio_inputs import BENCHMARKS, WINDOW_CHOICES
from dashboard.components.portfolio_views import WEIGHTS_GRID
from dashboard.components.urlstate import Read

HOLDINGS_LABEL = (
    "Holdings (paste from Excel, or TICKER weight; 50% or 0.5; no weights: equal weight; up to 100)"
)


def date_field(label: str, id_: str, value: str | None) -> list[Component]:
    """A date input with its (screen-reader) label: one of the custom window's two ends."""
    return [
        dbc.Label(label, html_for=id_, className="visually-hidden"),
        dbc.Input(id=id_, type="date", value=value, debounce=True, size="sm"),
    ]


def number_field(label: str, id_: str, value: Any, low: float, high: float, **label_args: Any) -> list[Any]:
    """A labelled number input bounded to [low, high]."""
    return [
        dbc.Label(label, html_for=id_, **label_args),
        dbc.Input(id=id_, type="number", value=value, min=low, max=high, step="any", debounce=True),
    ]


def inputs(state: Read, holdings_text: str) -> list[Component]:
    """Holdings, rates and bounds, window and benchmark, then the as-of date and the pin."""
    cap_low, cap_high = portfolio_inputs.CAP_RANGE
    holdings_col = dbc.Col(
        [
            dbc.Label(HOLDINGS_LABEL, html_for="portfolio-holdings"),
            dbc.Textarea(id="portfolio-holdings", value=holdings_text, debounce=True, rows=3),
            html.Div(id="portfolio-holdings-feedback", className="small", role="status"),
        ],
        md=12,
        lg=5,
    )
    shorts = dbc.Checklist(
        id="portfolio-shorts",
        options=[{"label": "allow short positions (optimisers: -cap to cap)", "value": "shorts"}],
        value=state["shorts"],
        className="mt-2 small",
    )
    bounds_col = dbc.Col(
        [
            *number_field("Risk-free rate (%)", "portfolio-rf", state["rf"], 0, 20),
            *number_field(
                "Max weight per holding (%)",
                "portfolio-cap",
                state["cap"],
                cap_low,
                cap_high,
                className="mt-2",
            ),
            html.Div(id="portfolio-cap-feedback", className="small", role="status"),
            shorts,
        ],
        md=4,
        lg=2,
    )
    window_col = dbc.Col(
        [
            group(
                "Window",
                dbc.RadioItems(
                    id="portfolio-window-choice",
                    options=[{"label": k, "value": k} for k in WINDOW_CHOICES],
                    value=state["window"],
                    inline=True,
                ),
            ),
            group(
                "Custom window (from, to)",
                html.Div(
                    [
                        *date_field("Window start", "portfolio-from", state["from"]),
                        *date_field("Window end", "portfolio-to", state["to"]),
                    ],
                    className="d-flex gap-1",
                ),
            ),
            html.Div(id="portfolio-dates-feedback", className="small", role="status"),
            group(
                "Benchmark",
                dbc.RadioItems(
                    id="portfolio-benchmark",
                    options=[{"label": v, "value": k} for k, v in BENCHMARKS.items()],
                    value=state["benchmark"],
                ),
            ),
        ],
        md=5,
        lg=3,
    )
    run = dbc.Col(dbc.Button("Analyse", id="portfolio-run", color="primary", className="mt-4"), md=3, lg=2)
    return [
        dbc.Row([holdings_col, bounds_col, window_col, run], className="mb-3"),
        dbc.Row(
            [
                company_data.as_of_picker("portfolio-asof", md=4, value=state["asof"]),
                pins.control("portfolio", state["pin"], md=4),
            ],
            className="mb-2 g-2 align-items-end",
        ),
    ]


def panels() -> list[Component]:
    """The answer's panels, empty until the analysis fills them."""
    apply = html.Div(
        [
            dbc.Button(
                f"Apply {label.lower() if key != 'hrp' else label} weights",
                id={"type": "portfolio-apply", "index": key},
                size="sm",
                color="secondary",
                outline=True,
                className="me-2 mb-2",
            )
            for key, label in OPTIMISERS.items()
        ]
    )
    return [
        html.Div(id="portfolio-pinned", className="small text-muted mb-1"),
        html.Div(id="portfolio-note"),
        heading("What happened next (forward returns from the as-of date)", "portfolio", "forward"),
        html.Div(id="portfolio-forward"),
        heading("Chosen mix beside the optimised portfolios", "portfolio", "compare"),
        apply,
        states.loading(html.Div(id="portfolio-compare"), "portfolio-compare"),
        dbc.Row(
            [
                dbc.Col(
                    [
                        heading("Statistics of the chosen mix", "portfolio", "stats", gap=True),
                        states.loading(html.Div(id="portfolio-stats"), "portfolio-stats"),
                    ],
                    lg=5,
                ),
                dbc.Col(
                    [
                        heading("Growth of 10,000", "portfolio", "growth", gap=True),
                        states.loading(dcc.Graph(id="portfolio-growth-graph"), "portfolio-growth"),
                    ],
                    lg=7,
                ),
            ],
            className="mb-3",
        ),
        dbc.Row(
            [
                dbc.Col(
                    [
                        heading("Correlation", "portfolio", "correlation"),
                        dcc.Graph(id="portfolio-correlation-graph", config={"displaylogo": False}),
                    ],
                    lg=5,
                ),
                dbc.Col(
                    [
                        heading("Efficient frontier", "portfolio", "frontier"),
                        dcc.Graph(id="portfolio-frontier-graph", config={"displaylogo": False}),
                    ],
                    lg=7,
                ),
            ]
        ),
        heading("Drawdown of the chosen mix", "portfolio", "drawdown"),
        states.loading(dcc.Graph(id="portfolio-drawdown-graph"), "portfolio-drawdown"),
        heading("Optimised weights", "portfolio", "weights"),
        # the grid's id on the page before the first answer builds it (`portfolio_provenance` reads its clicks)
        html.Div(tables.placeholder(WEIGHTS_GRID), id="portfolio-weights"),
        html.P(
            [
                "Click a holding for where its closes come from: the window, the runs that fetched them. ",
                export_link("portfolio", "closes-trail", "Closes CSV + provenance"),
            ],
            className="small text-muted mt-1 mb-1",
        ),
        html.Div(id="portfolio-provenance", className="mt-2"),
        dcc.Store(id="portfolio-optimised"),
    ]
