"""Valuation: DCF with editable assumptions, the WACC x terminal-growth grid, multiples vs the sector.

The page registers itself, reads its link and wires its callbacks and CSVs; the assumptions are
`components/valuation_inputs.py`, the figures read from the store `valuation_base.py`, the DCF
`valuation_dcf.py`, the multiples `valuation_multiples.py` and the answer's cards and grids
`valuation_views.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
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
    valuation_figures,
    valuation_trails,
)
from dashboard.components.export import export_href, export_link, register_export
from dashboard.components.inputs import bounded_text, universe, valid_symbol
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
from dashboard.components.valuation_base import base_of
from dashboard.components.valuation_dcf import run_dcf
from dashboard.components.valuation_inputs import ASSUMPTIONS as ASSUMPTIONS
from dashboard.components.valuation_inputs import HINTED, assumptions, field_problems
from dashboard.components.valuation_inputs import OWN as OWN
from dashboard.components.valuation_inputs import own_figures as own_figures
from dashboard.components.valuation_inputs import resolved as resolved
from dashboard.components.valuation_multiples import MULTIPLE_NAMES as MULTIPLE_NAMES
from dashboard.components.valuation_multiples import multiples_grid, multiples_vs_sector
from dashboard.components.valuation_views import PROJECTION_COLUMNS as PROJECTION_COLUMNS
from dashboard.components.valuation_views import own_hints, view
from dashboard.services import services
from serving import fitting

dash.register_page(__name__, path="/valuation", name="Valuation", order=1, title="Valuation · MyCFATool")

# CSV exports keep raw numbers; their column names carry the unit.
PROJECTION_EXPORT = {"growth": "fcf_growth_fraction", "fcf": "fcf_usd", "pv": "pv_usd"}


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
        heading("DCF projection", "valuation", "projection"),
        html.Div(id="valuation-projection"),
        heading("Value per share: WACC x terminal growth", "valuation", "grid", gap=True),
        chart("valuation-grid-graph", "valuation-grid"),
        heading("Multiples vs sector median", "valuation", "multiples", gap=True),
        states.loading(html.Div(id="valuation-multiples"), "valuation-multiples"),
    )


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


@register_export("valuation", "projection")
def export_projection(args: Mapping[str, str]) -> pd.DataFrame:
    as_of, pin = company_data.as_of_date(args.get("as_of")), point_in_time.pinned_run(args.get("pin"))
    projection = run_dcf(valid_symbol(args.get("symbol")), assumptions(args), as_of, pin)[0].projection
    return projection.rename(columns=PROJECTION_EXPORT)


@register_export("valuation", "grid")
def export_grid(args: Mapping[str, str]) -> pd.DataFrame:
    as_of, pin = company_data.as_of_date(args.get("as_of")), point_in_time.pinned_run(args.get("pin"))
    grid = run_dcf(valid_symbol(args.get("symbol")), assumptions(args), as_of, pin)[1]
    # Rows: WACC, columns: terminal growth (both fractions); cells: value per share in USD.
    return grid.rename_axis(index="wacc", columns="value_per_share_usd_by_terminal_growth")


@register_export("valuation", "multiples")
def export_multiples(args: Mapping[str, str]) -> pd.DataFrame:
    """The comparison with the basis and period end on every row; n/m values left empty, and named."""
    table, meta = multiples_vs_sector(
        valid_symbol(args.get("symbol")),
        company_data.as_of_date(args.get("as_of")),
        point_in_time.pinned_run(args.get("pin")),
    )
    return table.assign(basis=meta["basis"], period_end=meta["period_end"], over_9_months_old=meta["stale"])


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


def shown_figures(
    symbol: str, day: str | None, pin: int | None, a: Mapping[str, float]
) -> list[valuation_figures.Figure]:
    """What the valuation read from the store, then (a firm DCF) what it computed from it: cached per
    choice and data version."""

    def build() -> list[valuation_figures.Figure]:
        base = base_of(symbol, day, pin)
        shown = valuation_figures.fetched(symbol, base)
        if fitting.model_for(universe().set_index("symbol")["sub_industry"].get(symbol)).kind != "dcf":
            return shown
        try:
            result, _, w, used = run_dcf(symbol, a, day, pin)
        except FAILURES:  # the summary says why; what was read still has its trail
            return shown
        return shown + valuation_figures.computed(used, a, result, w)

    return services().cache.cached("valuation-figures", (symbol, day, pin, tuple(a.items())), build)


@register_export("valuation", "inputs")
def export_inputs(args: Mapping[str, str]) -> pd.DataFrame:
    """The figures the valuation read and computed, with their sources."""
    symbol = valid_symbol(args.get("symbol"))
    as_of, pin = company_data.as_of_date(args.get("as_of")), point_in_time.pinned_run(args.get("pin"))
    return valuation_trails.table(shown_figures(symbol, as_of, pin, assumptions(args)))


@register_export("valuation", "inputs-trail")
def export_inputs_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The same with each fetched figure's trail (`provenance_*`, as the Company page's CSVs)."""
    symbol = valid_symbol(args.get("symbol"))
    as_of, pin = company_data.as_of_date(args.get("as_of")), point_in_time.pinned_run(args.get("pin"))
    figures = shown_figures(symbol, as_of, pin, assumptions(args))
    return valuation_trails.trail_table(symbol, figures, as_of, pin)
