"""The Point in time page's controls and its empty panels, which the page's callbacks fill."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html
from dash.development.base_component import Component

from dashboard.components import (
    formats,
    states,
)
from dashboard.components.company_data import EARLIEST_AS_OF
from dashboard.components.history_screen import RANKS
from dashboard.components.inputs import (
    radio_column,
)
from dashboard.components.page import frame, heading
from dashboard.components.urlstate import Read, UrlState


def page(url: UrlState, state: Read, choices: pd.DataFrame) -> Component:
    """The whole page for the link's `state`; `choices`: the feed's filter choices."""
    symbols = sorted(set(choices.get("symbol", [])))
    sectors = sorted({str(s) for s in choices.get("sector", []) if isinstance(s, str)})
    items = sorted(set(choices.get("field", [])))
    return frame(
        "Point in time",
        url,
        state,
        html.P(
            "What this store alone keeps: every restated figure with when it changed, a screen on a past "
            "date with that day's index members and only the statements filed by then, and the values "
            "withheld as implausible.",
            className="small text-muted",
        ),
        heading("Restatements, newest first", "history", "restatements"),
        dbc.Row(
            [
                _dropdown("history-symbol", "Company", symbols, state["symbol"], md=2),
                _dropdown("history-sector", "Sector", sectors, state["sector"], md=3),
                _dropdown(
                    "history-item",
                    "Line item",
                    items,
                    state["item"],
                    md=3,
                    labels={i: formats.label(i) for i in items},
                ),
                _number_input("history-min", "Smallest change (%)", state["min"], high=1000, step=0.1),
            ],
            className="mb-2 align-items-end",
        ),
        html.Div(id="history-feed-note", className="small text-muted mb-1"),
        states.loading(html.Div(id="history-feed"), "history-feed"),
        heading("Restatements per company", "history", "summary", gap=True),
        dbc.Row(
            _date_column(
                "history-summary-asof",
                "Counted back from (empty: the latest close)",
                state["asof"],
                "latest close",
                4,
            ),
            className="mb-2 align-items-end",
        ),
        html.Div(id="history-summary-note", className="small text-muted mb-1"),
        states.loading(html.Div(id="history-summary"), "history-summary"),
        heading("Screen as of a date (no survivorship bias)", "history", "screen", gap=True),
        dbc.Row(
            [
                _date_column("history-on", "Screen date", state["on"], "pick a date", 3),
                radio_column(
                    "history-rank", {k: v[0] for k, v in RANKS.items()}, state["rank"], md=6, label="Rank by"
                ),
                _number_input("history-top", "Top", state["top"], low=1, high=100, step=1),
            ],
            className="mb-2 align-items-end",
        ),
        html.Div(id="history-screen-note", className="small mb-1"),
        states.loading(html.Div(id="history-screen-summary"), "history-screen-summary"),
        states.loading(html.Div(id="history-screen"), "history-screen"),
        heading("Values withheld as implausible", "history", "withheld", gap=True),
        states.loading(html.Div(id="history-withheld"), "history-withheld"),
        heading("Data quality: coverage of the index's current members", "history", "coverage", gap=True),
        states.loading(html.Div(id="history-coverage"), "history-coverage"),
        html.H2("Restatements per week (as the store saw them)", className="h5 mt-3"),
        states.loading(html.Div(id="history-weeks"), "history-weeks"),
    )


def _number_input(
    id_: str, label: str, value: Any, *, low: float = 0, high: float, step: float, md: int = 2
) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(label, html_for=id_, className="small mb-0"),
            dbc.Input(id=id_, type="number", min=low, max=high, step=step, value=value),
        ],
        md=md,
    )


def _date_column(id_: str, label: str, value: str | None, placeholder: str, md: int) -> dbc.Col:
    """A labelled, clearable date field (1990 to today)."""
    return dbc.Col(
        [
            dbc.Label(label, html_for=id_, className="small me-1"),
            dcc.DatePickerSingle(
                id=id_,
                date=value,
                display_format="YYYY-MM-DD",
                placeholder=placeholder,
                clearable=True,
                min_date_allowed=EARLIEST_AS_OF.isoformat(),
                max_date_allowed=date.today().isoformat(),
            ),
        ],
        md=md,
    )


def _dropdown(
    id_: str, label: str, values: list[str], value: Any, *, md: int, labels: Mapping[str, str] | None = None
) -> dbc.Col:
    names = labels or {}
    return dbc.Col(
        [
            dbc.Label(label, html_for=id_, className="small mb-0"),
            dcc.Dropdown(
                id=id_,
                options=[{"label": names.get(v, v), "value": v} for v in values],
                value=value or None,
                clearable=True,
                placeholder="all",
            ),
        ],
        md=md,
    )
