"""Valuation: DCF with editable assumptions, the WACC x terminal-growth grid, multiples vs the sector.

The page registers itself, reads its link and wires its callbacks and CSV links; the assumptions are
`components/valuation_inputs.py`, the figures read from the store `valuation_base.py`, the DCF
`valuation_dcf.py`, the multiples `valuation_multiples.py`, the answer's cards and grids
`valuation_views.py` and the CSVs `valuation_exports.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html
from dash.development.base_component import Component

from dashboard.components import (
    charts,
    company_data,
    pins,
    point_in_time,
    states,
    tables,
    urlstate,
    valuation_trails,
)
from dashboard.components.export import export_href, export_link, register_trail_links
from dashboard.components.inputs import bounded_text, valid_symbol
from dashboard.components.page import (
    FAILURES,
    chart,
    choose_symbol,
    frame,
    heading,
    picker_data,
    register_picker,
    symbol_picker,
)
from dashboard.components.picker import Picker
from dashboard.components.valuation_base import base_inputs as base_inputs
from dashboard.components.valuation_exports import PROJECTION_EXPORT as PROJECTION_EXPORT
from dashboard.components.valuation_exports import export_grid as export_grid
from dashboard.components.valuation_exports import export_inputs as export_inputs
from dashboard.components.valuation_exports import export_inputs_trail as export_inputs_trail
from dashboard.components.valuation_exports import export_multiples as export_multiples
from dashboard.components.valuation_exports import export_projection as export_projection
from dashboard.components.valuation_figures import shown_figures
from dashboard.components.valuation_inputs import ASSUMPTIONS as ASSUMPTIONS
from dashboard.components.valuation_inputs import HINTED, assumptions, field_problems
from dashboard.components.valuation_inputs import OWN as OWN
from dashboard.components.valuation_inputs import own_figures as own_figures
from dashboard.components.valuation_inputs import resolved as resolved
from dashboard.components.valuation_multiples import MULTIPLE_NAMES as MULTIPLE_NAMES
from dashboard.components.valuation_multiples import multiples_grid
from dashboard.components.valuation_views import PROJECTION_COLUMNS as PROJECTION_COLUMNS
from dashboard.components.valuation_views import own_hints, view
from dashboard.services import services

dash.register_page(__name__, path="/valuation", name="Valuation", order=1, title="Valuation · MyCFATool")
# The DCF's tables whose "CSV + provenance" link is their CSV's (set by `valuation_update`) with `-trail`.
TRAILED = ("projection", "grid", "multiples")

URL = urlstate.page_state(
    "/valuation",
    "valuation",
    urlstate.Param("symbol", "valuation-symbol", kind="symbol", label="ticker"),
    urlstate.Param("asof", "valuation-asof", kind="date", prop="date", label="as-of date"),
    pins.param("valuation"),
    *[
        urlstate.Param(
            key,
            f"valuation-{key}",
            kind="number",
            default=None if key in OWN else default,  # blank: the company's figure
            low=low,
            high=high,
            label=label,
        )
        for key, (label, default, low, high) in ASSUMPTIONS.items()
    ],
)
register_picker("valuation-symbol")
register_trail_links("valuation", TRAILED)
pins.register("valuation")
# What a pinned DCF is computed from (base_inputs with `pin`).
PINNED = (
    "the statements as the store held them then, the last close on or before that day and the latest"
    " quarter's share count known then (not today's profile or beta)"
)


def layout(**query: Any) -> Component:
    data = picker_data()
    if not isinstance(data, Picker):
        return data
    state = URL.read(query)
    inputs = [
        dbc.Col(
            [
                dbc.Label(f"{label} [{low:g} to {high:g}]", html_for=f"valuation-{key}", className="small"),
                # Text, not type=number: the browser would send nothing for a value out of range or in
                # letters, and the page could not say which field is wrong or why.
                dbc.Input(
                    id=f"valuation-{key}",
                    type="text",
                    inputMode="decimal",
                    value=state[key],
                    debounce=True,
                ),
                dbc.FormFeedback(id=f"valuation-{key}-feedback", type="invalid"),
                *([dbc.FormText(id=f"valuation-{key}-source", className="small")] if key in HINTED else []),
            ],
            md=3,
        )
        for key, (label, default, low, high) in ASSUMPTIONS.items()
    ]
    return frame(
        "Valuation",
        URL,
        state,
        dbc.Row(
            [
                symbol_picker("valuation-symbol", data, choose_symbol(state, data), md=4),
                company_data.as_of_picker("valuation-asof", md=4, value=state["asof"]),
                pins.control("valuation", state["pin"], md=4),
            ],
            className="mb-2 g-2 align-items-end",
        ),
        html.Div(id="valuation-pinned", className="small text-muted mb-1"),
        dbc.Row(inputs, className="g-2 mb-3"),
        states.loading(html.Div(id="valuation-summary"), "valuation-summary"),
        html.Div(
            [
                *heading("Where the figures come from", "valuation", "inputs", gap=True).children,
                export_link("valuation", "inputs-trail", "CSV + provenance"),
            ],
            className="mt-3",
        ),
        html.Div(tables.placeholder(valuation_trails.GRID), id="valuation-inputs"),
        html.Div(id="valuation-provenance", className="mt-2"),
        _trailed("DCF projection", "projection", gap=False),
        html.Div(id="valuation-projection"),
        _trailed("Value per share: WACC x terminal growth", "grid"),
        chart("valuation-grid-graph", "valuation-grid"),
        _trailed("Multiples vs sector median", "multiples"),
        states.loading(html.Div(id="valuation-multiples"), "valuation-multiples"),
    )


def _trailed(title: str, name: str, *, gap: bool = True) -> html.Div:
    """A section's heading with its CSV link and its "CSV + provenance" one (`register_trail_links`)."""
    section = heading(title, "valuation", name, gap=gap)
    section.children = [*section.children, export_link("valuation", f"{name}-trail", "CSV + provenance")]
    return section


@callback(
    Output("valuation-summary", "children"),
    Output("valuation-projection", "children"),
    Output("valuation-grid-graph", "figure"),
    Output("valuation-multiples", "children"),
    Output("valuation-export-projection", "href"),
    Output("valuation-export-grid", "href"),
    Output("valuation-export-multiples", "href"),
    *[Output(f"valuation-{key}", "placeholder") for key in HINTED],
    *[Output(f"valuation-{key}-source", "children") for key in HINTED],
    *[Output(f"valuation-{key}", "invalid") for key in ASSUMPTIONS],
    *[Output(f"valuation-{key}-feedback", "children") for key in ASSUMPTIONS],
    Input("valuation-symbol", "value"),
    Input("valuation-asof", "date"),
    Input("valuation-pin", "value"),
    *[Input(f"valuation-{key}", "value") for key in ASSUMPTIONS],
)
def valuation_update(symbol: str | None, as_of: str | None, pin: Any, *values: Any) -> tuple[Any, ...]:
    good, bad = field_problems(dict(zip(ASSUMPTIONS, values, strict=True)))
    flags = [key in bad for key in ASSUMPTIONS]
    messages = [bad.get(key) for key in ASSUMPTIONS]
    try:
        symbol = valid_symbol(symbol)
        day = company_data.as_of_date(as_of)
        pinned = point_in_time.pinned_run(pin)
    except FAILURES as exc:  # nothing to value: one message, in the summary's place
        nothing = ("",) * len(HINTED) + (None,) * len(HINTED)
        return (
            states.error(str(exc)),
            None,
            charts.blank_figure(),
            None,
            "#",
            "#",
            "#",
            *nothing,
            *flags,
            *messages,
        )
    hints = own_hints(symbol, day, pinned)
    if bad:  # each bad field says why beside itself; everything else keeps its last answer
        return (*[dash.no_update] * 7, *hints, *flags, *messages)
    try:
        # The whole answer per (symbol, as-of, assumptions) and data version: the same for every analyst,
        # and most of them value a company on the default assumptions.
        key = (symbol, day, pinned, tuple(good.items()))
        answer = services().cache.cached("valuation-view", key, lambda: view(symbol, day, good, pinned))
    except FAILURES as exc:  # one message, in the summary's place; the multiples do not need the DCF
        try:
            multiples: Any = multiples_grid(symbol, day, pinned)
        except FAILURES:
            multiples = None
        return (
            states.error(str(exc)),
            None,
            charts.blank_figure(),
            multiples,
            "#",
            "#",
            "#",
            *hints,
            *flags,
            *messages,
        )
    return (*answer, *hints, *flags, *messages)


@callback(Output("valuation-pinned", "children"), Input("valuation-pin", "value"))
def valuation_pinned(pin: Any) -> Any:
    """Says that the valuation is pinned, and to what (a run the ledger does not hold: why not)."""
    try:
        pinned = point_in_time.pinned_run(pin)
    except FAILURES as exc:
        return states.error(str(exc))
    return pins.sentence(pinned, PINNED) if pinned is not None else None


@callback(
    Output("valuation-inputs", "children"),
    Output("valuation-export-inputs", "href"),
    Output("valuation-export-inputs-trail", "href"),
    Input("valuation-symbol", "value"),
    Input("valuation-asof", "date"),
    Input("valuation-pin", "value"),
    *[Input(f"valuation-{key}", "value") for key in ASSUMPTIONS],
)
def valuation_inputs(symbol: str | None, as_of: str | None, pin: Any, *values: Any) -> tuple[Any, str, str]:
    """The figures the valuation read from the store and those it computed, a row each (a click: the
    figure's trail), and their CSVs; nothing while an assumption does not read."""
    good, bad = field_problems(dict(zip(ASSUMPTIONS, values, strict=True)))
    placeholder = tables.placeholder(valuation_trails.GRID)
    try:
        symbol = valid_symbol(symbol)
        day, pinned = company_data.as_of_date(as_of), point_in_time.pinned_run(pin)
        if bad:
            return placeholder, "#", "#"
        shown = shown_figures(symbol, day, pinned, good)
    except FAILURES as exc:
        return [states.error(str(exc)), placeholder], "#", "#"
    params = {
        "symbol": symbol,
        **{k: str(v) for k, v in good.items()},
        **({"as_of": day} if day else {}),
        **({"pin": str(pinned)} if pinned is not None else {}),
    }
    return (
        valuation_trails.grid(shown),
        export_href("valuation", "inputs", params),
        export_href("valuation", "inputs-trail", params),
    )


@callback(
    Output("valuation-provenance", "children"),
    Input(valuation_trails.GRID, "cellClicked"),
    Input("valuation-symbol", "value"),
    Input("valuation-asof", "date"),
    Input("valuation-pin", "value"),
    *[Input(f"valuation-{key}", "value") for key in ASSUMPTIONS],
)
def valuation_provenance(
    cell: Mapping[str, Any] | None, symbol: str | None, as_of: str | None, pin: Any, *values: Any
) -> Any:
    """A click on a figure: where it came from (another choice closes the card)."""
    if dash.ctx.triggered_id != valuation_trails.GRID or not isinstance(cell, Mapping):
        return None
    try:
        symbol = valid_symbol(symbol)
        day, pinned = company_data.as_of_date(as_of), point_in_time.pinned_run(pin)
        key = bounded_text(cell.get("rowId"), name="figure", max_chars=40)
        shown = shown_figures(symbol, day, pinned, assumptions(dict(zip(ASSUMPTIONS, values, strict=True))))
        return valuation_trails.card(symbol, shown, key, day, pinned)
    except FAILURES as exc:
        return states.error(str(exc))
