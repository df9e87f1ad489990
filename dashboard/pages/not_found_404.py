"""The page for an address no page serves: says so, and offers the way back."""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html
from dash.development.base_component import Component

from dashboard.components.page import frame

# Dash shows the page whose module name ends in "not_found_404" for every unknown path.
dash.register_page(__name__, path="/404", name="Not found", order=99, title="Not found · MyCFATool")


def layout(**_: Any) -> Component:
    return frame(
        "Page not found",
        None,
        None,
        html.P("No page lives at this address: the link may be old or mistyped."),
        html.P(
            [
                dcc.Link("Open the Company page", href="/", id="not_found_404-home"),
                " or choose a page in the menu above.",
            ]
        ),
    )
