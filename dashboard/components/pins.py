"""Frozen views: a run number in a page's link (`?pin=N`) holds the page to what the store held when run
N ended, with the view's other inputs; each page that can be pinned shows the same control and says so.

The control is a number field `<page>-pin` and a button `<page>-pin-button` ("Pin this view": the newest
finished run). `register(page)` wires the button; pages validate the field with
`point_in_time.pinned_run` and read their data with it (docs/dashboard.md, "Frozen views").
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback

from dashboard.components import point_in_time, urlstate
from dashboard.components.page import FAILURES
from dashboard.data import queries
from dashboard.services import services


def param(page: str) -> urlstate.Param:
    """The link's `pin` parameter of a page."""
    return urlstate.Param("pin", f"{page}-pin", kind="number", low=1, high=2**53, label="pinned run")


def control(page: str, value: Any, *, md: int = 3) -> dbc.Col:
    """The field with the pinned run (empty: live) and "Pin this view"."""
    return dbc.Col(
        [
            dbc.Label("Pinned to run (empty: live)", html_for=f"{page}-pin", className="small mb-0"),
            dbc.InputGroup(
                [
                    dbc.Input(id=f"{page}-pin", type="number", min=1, step=1, value=value),
                    dbc.Button("Pin this view", id=f"{page}-pin-button", color="secondary", outline=True),
                ],
                size="sm",
            ),
        ],
        md=md,
    )


def register(page: str) -> None:
    """ "Pin this view" writes the newest finished run into the field (and so into the link)."""

    @callback(
        Output(f"{page}-pin", "value"),
        Input(f"{page}-pin-button", "n_clicks"),
        prevent_initial_call=True,
    )
    def pin_view(_: Any) -> Any:
        try:
            return queries.latest_run(services().router)
        except FAILURES:
            return dash.no_update


def sentence(pin: int, what: str) -> str:
    """ "Pinned to run #N (ended ... UTC): <what>; what later runs fetched or restated is not shown." """
    ended = pd.Timestamp(point_in_time.pinned_at(pin))
    return (
        f"Pinned to run #{pin} (ended {ended:%Y-%m-%d %H:%M} UTC): {what}; what later runs fetched or"
        " restated is not shown."
    )


def last_day(as_of: str | None, pin: int | None) -> str | None:
    """The last day whose closes a view may use: the as-of date, the day the pinned run ended, the earlier
    of the two (None: live)."""
    ended = None if pin is None else pd.Timestamp(point_in_time.pinned_at(pin)).date().isoformat()
    days = [d for d in (as_of, ended) if d]
    return min(days) if days else None
