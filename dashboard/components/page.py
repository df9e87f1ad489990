"""What every page shares: the failures a callback shows as a message, the symbol picker, section builders."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from dashboard.analytics.errors import AnalyticsError
from dashboard.components import states
from dashboard.components.export import export_link
from dashboard.components.inputs import InvalidInput, symbol_options
from dashboard.data.router import NoNodeAvailable, QueryFailed

# What a page callback catches and shows as an error state: bad input, no database, a failed query,
# or data the analytics cannot compute on. Anything else is a bug and reaches the error log.
FAILURES = (InvalidInput, NoNodeAvailable, QueryFailed, AnalyticsError)
UNREACHABLE = (NoNodeAvailable, QueryFailed)
UNREACHABLE_MESSAGE = "The database cannot be reached right now."
NO_COMPANIES = "No companies loaded yet: run an ingest first."


def picker_options(*, at_least: int = 1, too_few: str = NO_COMPANIES) -> list[dict[str, str]] | Component:
    """The symbol picker's options, or the state a layout shows instead (no database, too few companies)."""
    try:
        options = symbol_options()
    except UNREACHABLE:
        return states.error(UNREACHABLE_MESSAGE)
    if len(options) < at_least:
        return states.empty(too_few)
    return options


def symbol_picker(
    id_: str, options: list[dict[str, str]], value: Any, *, md: int, multi: bool = False
) -> dbc.Col:
    """The page's ticker dropdown in a grid column (one ticker, never empty; or several)."""
    return dbc.Col(dcc.Dropdown(id=id_, options=options, value=value, clearable=multi, multi=multi), md=md)


def heading(title: str, page: str, export: str, *, gap: bool = False) -> html.Div:
    """A section title with the link to its CSV export; `gap` spaces it from the section above."""
    children = [html.H5(title, className="d-inline"), export_link(page, export)]
    return html.Div(children, className="mt-3") if gap else html.Div(children)


def chart(id_: str, loading_id: str) -> dcc.Loading:
    """A chart (no Plotly logo in its mode bar) behind a loading spinner."""
    return states.loading(dcc.Graph(id=id_, config={"displaylogo": False}), loading_id)
