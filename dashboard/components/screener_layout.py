"""The Screener's controls and its empty panels, which the page's callbacks fill."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from dashboard.components import catalogue, pins, point_in_time, states
from dashboard.components.export import export_link
from dashboard.components.inputs import group, members, radio_column
from dashboard.components.page import UNREACHABLE, UNREACHABLE_MESSAGE, frame
from dashboard.components.screener_screen import BASES, KEYS, PRESETS, SCORE
from dashboard.components.urlstate import UrlState


def page(url: UrlState, query: dict[str, Any]) -> Component:
    """The whole page for the link's `query`."""
    try:
        sectors = sorted(s for s in members()["sector"].dropna().unique())
    except UNREACHABLE:
        return states.error(UNREACHABLE_MESSAGE)
    state = url.read(query)
    unknown = [s for s in state["sectors"] if s not in sectors]
    if unknown:
        state.notes.append(f"sectors: ignored {', '.join(repr(u) for u in unknown[:5])}.")
    rank_options = [{"label": "Multi-factor score", "value": SCORE}, *catalogue.options(KEYS)]
    scored = [k for k in KEYS if catalogue.BY_KEY[k].better != 0]
    return frame(
        "Screener",
        url,
        state,
        dbc.Row(
            [
                _dropdown(
                    "screener-preset",
                    "Start from a preset",
                    [{"label": name, "value": key} for key, (name, _, _) in PRESETS.items()],
                    None,
                    md=4,
                    placeholder="choose a preset screen",
                ),
                _dropdown(
                    "screener-sectors",
                    "Sectors",
                    sectors,
                    [s for s in state["sectors"] if s in sectors],
                    md=8,
                    multi=True,
                    placeholder="all sectors",
                ),
            ],
            className="mb-2",
        ),
        html.Div(
            [
                dbc.Label(
                    "Conditions, all must hold (values in the units shown: 15 means 15 %)",
                    html_for="screener-where",
                ),
                dbc.Input(
                    id="screener-where",
                    value=state["where"],
                    debounce=True,
                    placeholder="market cap >= 100; P/E <= 20; ROE >= 15",
                ),
                html.Div(id="screener-where-feedback", className="small mt-1", role="status"),
            ],
            className="mb-2",
        ),
        dbc.Row(
            [
                _dropdown(
                    "screener-add-metric",
                    "Add a condition on",
                    catalogue.options(KEYS),
                    None,
                    md=5,
                    placeholder="metric",
                ),
                dbc.Col(
                    group(
                        "Operator",
                        dbc.RadioItems(
                            id="screener-add-op",
                            options=[{"label": "≥", "value": ">="}, {"label": "≤", "value": "<="}],
                            value=">=",
                            inline=True,
                        ),
                    ),
                    md=2,
                ),
                dbc.Col(
                    [
                        dbc.Label("Value", html_for="screener-add-value", className="small mb-0"),
                        dbc.Input(
                            id="screener-add-value", type="text", placeholder="e.g. 15", debounce=False
                        ),
                    ],
                    md=2,
                ),
                dbc.Col(dbc.Button("Add", id="screener-add", color="secondary", className="mt-3"), md=1),
                dbc.Col(
                    html.Div(id="screener-add-feedback", className="small text-danger", role="status"), md=2
                ),
            ],
            className="mb-2 g-2 align-items-end",
        ),
        html.Div(id="screener-chips", className="mb-2"),
        dbc.Row(
            [
                _dropdown("screener-rank", "Rank by", rank_options, state["rank"], md=4),
                dbc.Col(
                    group(
                        "Order",
                        dbc.RadioItems(
                            id="screener-order",
                            options=[
                                {"label": "high first", "value": "desc"},
                                {"label": "low first", "value": "asc"},
                            ],
                            value=state["order"],
                            inline=True,
                        ),
                    ),
                    md=2,
                ),
                _dropdown(
                    "screener-score",
                    "Score on (empty: the conditions' metrics)",
                    catalogue.options(tuple(scored)),
                    state["score"],
                    md=4,
                    multi=True,
                    placeholder="the conditions' metrics",
                ),
                dbc.Col(
                    group(
                        "Figures on",
                        dbc.RadioItems(
                            id="screener-basis",
                            options=[{"label": text, "value": key} for key, text in BASES.items()],
                            value=state["basis"],
                        ),
                    ),
                    md=2,
                ),
            ],
            className="mb-2 g-2",
        ),
        dbc.Row(
            [
                radio_column(
                    "screener-figures",
                    point_in_time.FIGURES,
                    state["figures"],
                    md=6,
                    label="Statement figures",
                ),
                pins.control("screener", state["pin"], md=4),
            ],
            className="mb-2 align-items-end",
        ),
        html.Div(id="screener-pinned", className="small text-muted mb-1"),
        html.H2(
            [
                html.Span(id="screener-count", className="me-2"),
                export_link("screener", "results"),
                export_link("screener", "results-trail", "CSV + provenance"),
            ],
            className="h5",
        ),
        html.P(
            "Click a figure for where it came from: its formula, inputs, statements and close.",
            className="small text-muted mb-1",
        ),
        states.loading(html.Div(id="screener-results"), "screener-results"),
        html.Div(id="screener-provenance", className="mt-2"),
    )


def _dropdown(
    id_: str, label: str, options: Any, value: Any, *, md: int, multi: bool = False, placeholder: str = ""
) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(label, html_for=id_, className="small mb-0"),
            dcc.Dropdown(
                id=id_,
                options=options,
                value=value,
                multi=multi,
                placeholder=placeholder,
                clearable=multi or value is None,
            ),
        ],
        md=md,
    )
