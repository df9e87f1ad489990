"""Company: profile, candles with volume and overlays, statements (annual/quarterly/TTM), ratios, freshness.

The page registers itself, reads its link and wires its callbacks; the controls are built in
`components/company_layout.py`, the profile in `company_profile.py`, the price chart and its header in
`company_price.py`, the statements, their chart and the ratios in `company_statements.py`, the CSVs in
`company_exports.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash
from dash import Input, Output, callback
from dash.development.base_component import Component

from dashboard.components import (
    bars,
    charts,
    company_data,
    company_layout,
    pins,
    point_in_time,
    states,
    tables,
    trails,
    urlstate,
    withheld,
)
from dashboard.components.company_exports import view_params
from dashboard.components.company_price import (
    BASES,
    SCALES,
    SPANS,
    no_close,
    price_figure,
    price_header,
)
from dashboard.components.company_profile import profile_view
from dashboard.components.company_statements import (
    FIGURES,
    KINDS,
    PERIODS,
    RATIO_GRID,
    STATEMENT_GRID,
    statements_view,
)
from dashboard.components.company_statements import (
    VIEWS_SHOWN as VIEWS_SHOWN,  # tests/dashboard/test_glossary.py
)
from dashboard.components.export import export_href
from dashboard.components.inputs import (
    InvalidInput,
    bounded_list,
    bounded_text,
    valid_choice,
    valid_symbol,
)
from dashboard.components.page import (
    FAILURES,
    choose_symbol,
    picker_data,
    register_picker,
)
from dashboard.components.picker import Picker
from dashboard.services import services

dash.register_page(__name__, path="/", name="Company", order=0, title="Company · MyCFATool")

URL = urlstate.page_state(
    "/",
    "company",
    urlstate.Param("symbol", "company-symbol", kind="symbol", label="ticker"),
    urlstate.Param("range", "company-range", default="5Y", choices=tuple(SPANS)),
    urlstate.Param("from", "company-dates", kind="date", prop="start_date"),
    urlstate.Param("to", "company-dates", kind="date", prop="end_date"),
    urlstate.Param("basis", "company-adjusted", default="adj", choices=tuple(BASES)),
    urlstate.Param("scale", "company-scale", default="linear", choices=tuple(SCALES)),
    urlstate.Param("bars", "company-bars", default="auto", choices=tuple(bars.SIZES)),
    urlstate.Param(
        "overlays", "company-overlays", kind="choices", default=["sma_50"], choices=company_data.OVERLAYS
    ),
    urlstate.Param(
        "osc", "company-oscillators", kind="choices", default=[], choices=company_data.OSCILLATORS
    ),
    urlstate.Param("period", "company-period", default="FY", choices=tuple(PERIODS)),
    urlstate.Param("kind", "company-kind", default="income", choices=tuple(KINDS)),
    urlstate.Param("asof", "company-asof", kind="date", prop="date", label="as-of date"),
    urlstate.Param("view", "company-view", default="values", choices=tuple(VIEWS_SHOWN)),
    urlstate.Param("figures", "company-figures", default="restated", choices=tuple(FIGURES)),
    pins.param("company"),
)
register_picker("company-symbol")


def layout(**query: Any) -> Component:
    data = picker_data(at_least=0)
    if not isinstance(data, Picker):
        return data
    state = URL.read(query)
    return company_layout.page(URL, state, data, choose_symbol(state, data))


@callback(
    Output("company-profile", "children"),
    Output("company-freshness", "children"),
    Output("company-staleness", "children"),
    Output("company-export-freshness", "href"),
    Input("company-symbol", "value"),
    Input("company-asof", "date"),
    Input("company-pin", "value"),
)
def company_profile(
    symbol: str | None, as_of: str | None = None, pin: Any = None
) -> tuple[Any, Any, Any, str]:
    try:
        symbol = valid_symbol(symbol)
        card, table = services().cache.cached("company-profile-view", (symbol,), lambda: profile_view(symbol))
        href = export_href("company", "freshness", {"symbol": symbol, **view_params(as_of, pin)})
        return card, table, states.staleness(), href
    except FAILURES as exc:
        return states.error(str(exc)), None, states.staleness(), "#"


@callback(
    Output("company-price-graph", "figure"),
    Output("company-export-prices", "href"),
    Output("company-price-header", "children"),
    Output("company-export-prices-trail", "href"),
    Output("company-price-withheld", "children"),
    Input("company-symbol", "value"),
    Input("company-adjusted", "value"),
    Input("company-overlays", "value"),
    Input("company-range", "value"),
    Input("company-oscillators", "value"),
    Input("company-scale", "value"),
    Input("company-bars", "value"),
    Input("company-dates", "start_date"),
    Input("company-dates", "end_date"),
    Input("company-asof", "date"),
    Input("company-pin", "value"),
)
def company_price(
    symbol: str | None,
    adjusted: str,
    overlays: list[str] | None,
    span: str,
    oscillators: list[str] | None = None,
    scale: str = "linear",
    size: str = "auto",
    start: str | None = None,
    end: str | None = None,
    as_of: str | None = None,
    pin: Any = None,
) -> tuple[Any, str, Any, str, Any]:
    try:
        symbol = valid_symbol(symbol)
        adjusted = valid_choice(adjusted, ("adj", "raw"), name="price basis")
        span = valid_choice(span, tuple(SPANS), name="range")
        scale = valid_choice(scale or "linear", tuple(SCALES), name="scale")  # absent: as before they were
        size = valid_choice(size or "auto", tuple(bars.SIZES), name="bars")
        dates = (
            (company_data.as_of_date(start), company_data.as_of_date(end))
            if span == "custom"
            else (None, None)
        )
        chosen = tuple(
            sorted(
                valid_choice(o, company_data.OVERLAYS, name="overlay")
                for o in bounded_list(overlays, name="overlays")
            )
        )
        # Registry order, so the panels stack the same way whatever order they were ticked in.
        picked = {
            valid_choice(o, company_data.OSCILLATORS, name="oscillator")
            for o in bounded_list(oscillators, name="oscillators")
        }
        panels = tuple(o for o in company_data.OSCILLATORS if o in picked)
    except InvalidInput as exc:
        return charts.empty_figure(str(exc)), "#", no_close(), "#", None
    key = (symbol, adjusted, chosen, span, panels, scale, size, dates)
    try:
        figure = services().cache.cached(
            "price-figure",
            key,
            lambda: price_figure(symbol, adjusted, chosen, span, panels, scale, size, dates),
        )
        header = services().cache.cached("price-header", (symbol,), lambda: price_header(symbol))
    except FAILURES as exc:
        return charts.empty_figure(str(exc)), "#", no_close(), "#", None
    marked = withheld.chart_badge(figure, "company-price-withheld-badge")
    try:  # the CSVs hold the closes up to the view's as-of date and pinned run (`export_prices`)
        params = {"symbol": symbol, "adjusted": adjusted, **view_params(as_of, pin)}
    except FAILURES:  # the statements' note says why; the chart stands
        return figure, "#", header or no_close(), "#", marked
    if not header:
        return figure, "#", no_close(), "#", marked
    return (
        figure,
        export_href("company", "prices", params),
        header,
        export_href("company", "prices-trail", params),
        marked,
    )


@callback(
    Output("company-statement-table", "children"),
    Output("company-statement-graph", "figure"),
    Output("company-ratio-graph", "figure"),
    Output("company-export-statements", "href"),
    Output("company-export-ratios", "href"),
    Output("company-asof-note", "children"),
    Output("company-ratio-table", "children"),
    Output("company-restatements", "children"),
    Output("company-export-trail", "href"),
    Output("company-export-ratios-trail", "href"),
    Output("company-statement-withheld", "children"),
    Output("company-ratio-withheld", "children"),
    Input("company-symbol", "value"),
    Input("company-period", "value"),
    Input("company-kind", "value"),
    Input("company-asof", "date"),
    Input("company-view", "value"),
    Input("company-figures", "value"),
    Input("company-pin", "value"),
)
def company_statements(
    symbol: str | None,
    period: str,
    kind: str,
    as_of: str | None = None,
    view: str | None = None,
    figures: str | None = None,
    pin: Any = None,
) -> tuple[Any, ...]:
    try:
        symbol = valid_symbol(symbol)
        period = valid_choice(period, tuple(PERIODS), name="period")
        kind = valid_choice(kind, tuple(KINDS), name="statement")
        view = valid_choice(view or "values", tuple(VIEWS_SHOWN), name="view")
        figures = valid_choice(figures or "restated", tuple(FIGURES), name="figures")
        day = company_data.as_of_date(as_of)
        pinned = point_in_time.pinned_run(pin)
        return services().cache.cached(
            "company-statements-view",
            (symbol, period, kind, day, view, figures, pinned),
            lambda: statements_view(symbol, period, kind, day, view, figures, pinned),
        )
    except FAILURES as exc:  # one message, in the table's place
        blank = charts.blank_figure()
        table = [states.error(str(exc)), tables.placeholder(STATEMENT_GRID)]
        return table, blank, blank, "#", "#", None, tables.placeholder(RATIO_GRID), None, "#", "#", None, None


pins.register("company")


@callback(
    Output("company-provenance", "children"),
    Input(STATEMENT_GRID, "cellClicked"),
    Input("company-symbol", "value"),
    Input("company-period", "value"),
    Input("company-kind", "value"),
    Input("company-asof", "date"),
    Input("company-figures", "value"),
    Input("company-pin", "value"),
)
def company_provenance(
    cell: Mapping[str, Any] | None,
    symbol: str | None,
    period: str,
    kind: str,
    as_of: str | None,
    figures: str | None,
    pin: Any = None,
) -> Any:
    """A click on a statement figure: where it came from (another choice closes the panel)."""
    if dash.ctx.triggered_id != STATEMENT_GRID or not cell:
        return None
    try:
        symbol = valid_symbol(symbol)
        period = valid_choice(period, tuple(PERIODS), name="period")
        kind = valid_choice(kind, tuple(KINDS), name="statement")
        figures = valid_choice(figures or "restated", tuple(FIGURES), name="figures")
        day = company_data.as_of_date(as_of)
        field = bounded_text(cell.get("rowId"), name="line item", max_chars=80)
        column = bounded_text(cell.get("colId"), name="column", max_chars=40)[:10]
        fiscal = company_data.as_of_date(column) if column[:1].isdigit() else None
        if fiscal is None:
            return None
        pinned = point_in_time.pinned_run(pin)
        return point_in_time.provenance_card(
            symbol, period, kind, field, fiscal, day, figures, cell.get("value"), pinned
        )
    except FAILURES as exc:
        return states.error(str(exc))


@callback(
    Output("company-ratio-provenance", "children"),
    Input(RATIO_GRID, "cellClicked"),
    Input("company-symbol", "value"),
    Input("company-asof", "date"),
    Input("company-figures", "value"),
    Input("company-pin", "value"),
)
def company_ratio_provenance(
    cell: Mapping[str, Any] | None,
    symbol: str | None,
    as_of: str | None,
    figures: str | None,
    pin: Any = None,
) -> Any:
    """A click on a ratio: its formula, input lines and their statements' trail (another choice closes it)."""
    if dash.ctx.triggered_id != RATIO_GRID or not cell:
        return None
    try:
        symbol = valid_symbol(symbol)
        figures = valid_choice(figures or "restated", tuple(FIGURES), name="figures")
        ratio = bounded_text(cell.get("rowId"), name="ratio", max_chars=80)
        column = bounded_text(cell.get("colId"), name="column", max_chars=40)[:10]
        fiscal = company_data.as_of_date(column) if column[:1].isdigit() else None
        if fiscal is None:
            return None
        day, pinned = company_data.as_of_date(as_of), point_in_time.pinned_run(pin)
        return trails.ratio_card(symbol, ratio, fiscal, day, figures, pinned, cell.get("value"))
    except FAILURES as exc:
        return states.error(str(exc))


@callback(
    Output("company-price-provenance", "children"),
    # The close's own button, not the header around it (a click on the range or the date opened the card).
    # The button is always on the page (hidden without a close: `no_close`); each answer of the header
    # puts a new one there, and Dash calls this with its n_clicks None: nothing.
    Input("company-last-close", "n_clicks"),
    Input("company-price-graph", "clickData"),
    Input("company-symbol", "value"),
)
def company_price_provenance(_: Any, clicked: Mapping[str, Any] | None, symbol: str | None) -> Any:
    """A click on the last close (or Enter on it) or on a bar of the chart: where that close came from."""
    trigger = dash.ctx.triggered_id
    if trigger not in ("company-last-close", "company-price-graph") or not dash.ctx.triggered[0]["value"]:
        return None
    try:
        symbol = valid_symbol(symbol)
        day = None
        if trigger == "company-price-graph":
            points = (clicked or {}).get("points") or [{}]
            day = bounded_text(str(points[0].get("x") or ""), name="bar date", max_chars=40)[:10]
            if not day[:1].isdigit():
                return None
        return trails.price_card(symbol, day)
    except FAILURES as exc:
        return states.error(str(exc))
