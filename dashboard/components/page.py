"""What every page shares: its frame (one h1, link notes, URL state), failures, the ticker picker, sections."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html
from dash.development.base_component import Component

from dashboard.analytics.errors import AnalyticsError
from dashboard.components import states
from dashboard.components.export import export_link
from dashboard.components.inputs import InvalidInput
from dashboard.components.picker import Picker, picker
from dashboard.components.urlstate import Read, UrlState
from dashboard.data.router import NoNodeAvailable, QueryFailed

# What a page callback catches and shows as an error state: bad input, no database, a failed query,
# or data the analytics cannot compute on. Anything else is a bug and reaches the error log.
FAILURES = (InvalidInput, NoNodeAvailable, QueryFailed, AnalyticsError)
UNREACHABLE = (NoNodeAvailable, QueryFailed)
UNREACHABLE_MESSAGE = "The database cannot be reached right now."
NO_COMPANIES = "No companies loaded yet: run an ingest first."


def frame(title: str, url: UrlState | None, state: Read | None, *children: Any) -> html.Div:
    """A page: its one h1, what its link could not honour (one note), its URL state, then its body."""
    notes = state.notes if state is not None else []
    return html.Div(
        [
            html.H1(title, className="h4 mb-2"),
            dbc.Alert(
                [html.B("This link: "), " ".join(notes)],
                color="warning",
                className="py-2 small",
                id="page-link-notes",
            )
            if notes
            else None,
            url.store() if url is not None else None,
            *children,
        ]
    )


def picker_data(*, at_least: int = 1, too_few: str = NO_COMPANIES) -> Picker | Component:
    """The ticker picker's data, or the state a layout shows instead (no database, too few companies)."""
    try:
        data = picker()
    except UNREACHABLE:
        return states.error(UNREACHABLE_MESSAGE)
    if len(data.options) < max(at_least, 1):
        return states.empty(too_few)
    return data


def choose_symbol(state: Read, data: Picker, name: str = "symbol") -> str:
    """The link's ticker, else the analyst's last one in this tab, else the default (one with data)."""
    chosen = state.values.get(name)
    if chosen:
        return str(chosen)
    last = state.context.get("symbol")
    known = {o["value"] for o in data.options}
    if isinstance(last, str) and last in known:
        return last
    return data.default or str(data.options[0]["value"])


def symbol_picker(
    id_: str, data: Picker, value: Any, *, md: int, multi: bool = False, label: str = "Company"
) -> dbc.Col:
    """The page's labelled ticker dropdown in a grid column (one ticker, never empty; or several).

    Typing ranks the options (`register_picker`); the full list rides along in a store.
    """
    return dbc.Col(
        [
            dbc.Label(label, html_for=id_, className="small mb-0"),
            dcc.Dropdown(
                id=id_,
                options=data.options,
                value=value,
                clearable=multi,
                multi=multi,
                search_order="original",
                maxHeight=320,
            ),
            dcc.Store(id=f"{id_}-options", data=data.options),
        ],
        md=md,
    )


def register_picker(id_: str) -> None:
    """The picker's ranking as the analyst types (clientside: `assets/picker.js`); once per page module."""
    clientside_callback(
        ClientsideFunction(namespace="mycfa", function_name="rankOptions"),
        Output(id_, "options"),
        Input(id_, "search_value"),
        State(f"{id_}-options", "data"),
        State(id_, "value"),
        prevent_initial_call=True,
    )


def heading(title: str, page: str, export: str, *, gap: bool = False) -> html.Div:
    """A section title (h2) with the link to its CSV export; `gap` spaces it from the section above."""
    children = [html.H2(title, className="h5 d-inline"), export_link(page, export)]
    return html.Div(children, className="mt-3") if gap else html.Div(children)


def chart(id_: str, loading_id: str) -> dcc.Loading:
    """A chart (no Plotly logo in its mode bar) behind a loading spinner."""
    return states.loading(dcc.Graph(id=id_, config={"displaylogo": False}), loading_id)
