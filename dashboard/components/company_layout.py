"""The Company page's controls and its empty panels, which the page's callbacks fill."""

from __future__ import annotations

from datetime import date

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from dashboard.components import (
    bars,
    company_data,
    pins,
    states,
    tables,
)
from dashboard.components.company_price import (
    BASES,
    OSCILLATOR_CHOICES,
    OVERLAY_CHOICES,
    SCALES,
    SPANS,
    no_close,
)
from dashboard.components.company_statements import (
    FIGURES,
    KINDS,
    PERIODS,
    RATIO_GRID,
    STATEMENT_GRID,
    VIEWS_SHOWN,
)
from dashboard.components.export import export_link
from dashboard.components.inputs import (
    check_column,
    group,
    radio_column,
)
from dashboard.components.page import (
    chart,
    frame,
    heading,
    symbol_picker,
)
from dashboard.components.picker import Picker
from dashboard.components.urlstate import Read, UrlState


def page(url: UrlState, state: Read, data: Picker, chosen: str | None) -> Component:
    """The whole page for the link's `state` with `chosen` in the ticker picker."""
    controls = dbc.Row(
        [
            symbol_picker("company-symbol", data, chosen, md=4),
            radio_column("company-range", SPANS, state["range"], md=5, label="Range"),
            dbc.Col(
                group(
                    "Custom range (from, to)",
                    dcc.DatePickerRange(
                        id="company-dates",
                        start_date=state["from"],
                        end_date=state["to"],
                        display_format="YYYY-MM-DD",
                        start_date_placeholder_text="from",
                        end_date_placeholder_text="to",
                        clearable=True,
                        min_date_allowed=company_data.EARLIEST_AS_OF.isoformat(),
                        max_date_allowed=date.today().isoformat(),
                    ),
                ),
                md=3,
            ),
            radio_column("company-adjusted", BASES, state["basis"], md=3, label="Prices"),
            radio_column("company-scale", SCALES, state["scale"], md=2, label="Scale"),
            radio_column("company-bars", bars.SIZES, state["bars"], md=3, label="Bars"),
            check_column("company-overlays", OVERLAY_CHOICES, state["overlays"], md=4, label="Overlays"),
            check_column(
                "company-oscillators",
                OSCILLATOR_CHOICES,
                state["osc"],
                md=12,
                label="Oscillators (panels under the volume)",
            ),
        ],
        className="mb-2 g-2 align-items-end",
    )
    return frame(
        "Company",
        url,
        state,
        html.Div(id="company-staleness"),
        controls,
        dbc.Row(
            [
                dbc.Col(states.loading(html.Div(id="company-profile"), "company-profile"), md=3),
                dbc.Col(
                    [
                        html.Div(
                            [
                                *heading("Price", "company", "prices").children,
                                export_link("company", "prices-trail", "CSV + provenance"),
                            ]
                        ),
                        html.Div(no_close(), id="company-price-header", className="mycfa-price-header"),
                        html.Div(id="company-price-withheld"),
                        chart("company-price-graph", "company-price"),
                        html.Div(id="company-price-provenance", className="mt-2"),
                    ],
                    md=9,
                ),
            ]
        ),
        html.Hr(),
        dbc.Row(
            [
                radio_column("company-period", PERIODS, state["period"], md=2, label="Period"),
                radio_column("company-kind", KINDS, state["kind"], md=3, label="Statement"),
                radio_column("company-view", VIEWS_SHOWN, state["view"], md=3, label="Show"),
                radio_column("company-figures", FIGURES, state["figures"], md=4, label="Figures"),
                company_data.as_of_picker("company-asof", md=3, value=state["asof"]),
                pins.control("company", state["pin"]),
                dbc.Col(
                    [
                        export_link("company", "statements"),
                        export_link("company", "trail", "CSV + provenance"),
                    ],
                    md=3,
                ),
            ],
            className="mb-2 g-2 align-items-end",
        ),
        html.Div(id="company-asof-note", className="small text-muted mb-1"),
        states.loading(
            html.Div(tables.placeholder(STATEMENT_GRID), id="company-statement-table"),
            "company-statement-table",
        ),
        html.Div(id="company-provenance", className="mt-2"),
        html.Div(id="company-restatements", className="mt-2"),
        html.Div(id="company-statement-withheld", className="mt-3"),
        states.loading(
            dcc.Graph(id="company-statement-graph", config={"displaylogo": False}, className="mt-3"),
            "company-statement-graph",
        ),
        html.Div(
            [
                *heading("Ratio history (annual)", "company", "ratios").children,
                export_link("company", "ratios-trail", "CSV + provenance"),
                html.Span(id="company-ratio-withheld"),
            ],
            className="mt-3",
        ),
        chart("company-ratio-graph", "company-ratio-graph"),
        html.Div(tables.placeholder(RATIO_GRID), id="company-ratio-table", className="mt-2"),
        html.Div(id="company-ratio-provenance", className="mt-2"),
        heading("Freshness", "company", "freshness", gap=True),
        html.Div(id="company-freshness"),
    )
