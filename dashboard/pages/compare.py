"""Compare: 2-10 tickers side by side: any metric over 1-30 years (fiscal, TTM or calendar years) with
sector and sub-industry medians, the latest figures on one clear basis, and normalised prices.

The page registers itself, reads its link and wires its callbacks and CSVs; the controls are built in
`components/compare_layout.py`, the history in `compare_history.py` (its chart and table in
`compare_view.py`), the latest figures and prices in `compare_latest.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, callback, ctx, html
from dash.development.base_component import Component

from dashboard.components import (
    catalogue,
    charts,
    company_data,
    compare_layout,
    compare_view,
    history_data,
    pins,
    point_in_time,
    screen_trails,
    states,
    tables,
    trails,
    universe_data,
    urlstate,
)
from dashboard.components.compare_history import MAX_TICKERS, OVERLAYS, history_inputs, history_view, unseen
from dashboard.components.compare_latest import COLUMNS as COLUMNS
from dashboard.components.compare_latest import GRID, SCALES, SPANS, compare_snapshot, normalised, ratio_table
from dashboard.components.export import export_href, register_export
from dashboard.components.inputs import (
    InvalidInput,
    bounded_text,
    valid_choice,
    valid_symbol,
    valid_symbols,
)
from dashboard.components.page import FAILURES, frame, picker_data, register_picker
from dashboard.components.picker import Picker
from dashboard.components.screener_grid import with_nm
from dashboard.services import services

dash.register_page(__name__, path="/compare", name="Compare", order=3, title="Compare · MyCFATool")

TICKER = re.compile(r"[A-Za-z][A-Za-z0-9.\-]*")

URL = urlstate.page_state(
    "/compare",
    "compare",
    urlstate.Param("symbols", "compare-symbols", kind="symbols", label="tickers"),
    urlstate.Param(
        "metric", "compare-metric", default="net_margin", choices=catalogue.HISTORY_KEYS, label="metric"
    ),
    urlstate.Param("basis", "compare-basis", default="FY", choices=tuple(history_data.BASES), label="basis"),
    urlstate.Param("years", "compare-years", kind="number", default=10, low=1, high=30, label="years"),
    urlstate.Param("overlay", "compare-overlay", kind="choices", default=[], choices=tuple(OVERLAYS)),
    urlstate.Param("span", "compare-span", default="5Y", choices=tuple(SPANS), label="range"),
    urlstate.Param("scale", "compare-scale", default="linear", choices=tuple(SCALES), label="scale"),
    urlstate.Param("figures", "compare-figures", default="restated", choices=tuple(point_in_time.FIGURES)),
    urlstate.Param("asof", "compare-asof", kind="date", prop="date", label="as-of date"),
    pins.param("compare"),
)
register_picker("compare-symbols")


def layout(**query: Any) -> Component:
    data = picker_data(at_least=2, too_few="Comparing needs at least two companies loaded.")
    if not isinstance(data, Picker):
        return data
    state = URL.read(query)
    asked = state["symbols"] or []
    chosen = asked[:MAX_TICKERS] or data.defaults(3)
    if len(asked) > MAX_TICKERS:
        state.notes.append(f"tickers: at most {MAX_TICKERS}; {', '.join(asked[MAX_TICKERS:])} left out.")
    return frame("Compare", URL, state, *compare_layout.controls(state, data, chosen))


@callback(
    Output("compare-symbols", "value"),
    Output("compare-paste", "value"),
    Output("compare-tickers-feedback", "children"),
    Input("compare-paste", "value"),
    Input("compare-symbols", "value"),
    prevent_initial_call=True,
)
def compare_tickers(pasted: str | None, chosen: list[str] | None) -> tuple[Any, Any, Any]:
    """Typed or pasted tickers replace the choice; unknown ones and any beyond ten are named, not dropped
    silently (the picker keeps what is valid)."""
    keep = dash.no_update
    if ctx.triggered_id == "compare-paste":
        if not pasted or not pasted.strip():
            return keep, keep, None
        try:
            text = bounded_text(pasted, name="tickers", max_chars=400)
        except InvalidInput as exc:
            return keep, keep, f"Tickers: {exc}."
        known, problems = [], []
        for item in dict.fromkeys(t.upper() for t in TICKER.findall(text)):
            try:
                known.append(valid_symbol(item))
            except InvalidInput as exc:
                problems.append(str(exc))
        if len(known) > MAX_TICKERS:
            problems.append(f"at most {MAX_TICKERS} tickers: {', '.join(known[MAX_TICKERS:])} left out")
            known = known[:MAX_TICKERS]
        message = f"Tickers: {'; '.join(problems)}." if problems else None
        return (known if known else keep), "", message
    if chosen and len(chosen) > MAX_TICKERS:
        return (
            chosen[:MAX_TICKERS],
            keep,
            f"At most {MAX_TICKERS} tickers: {', '.join(chosen[MAX_TICKERS:])} not added.",
        )
    return keep, keep, None


def valid_figures(figures: Any) -> str:
    return valid_choice(figures or "restated", tuple(point_in_time.FIGURES), name="figures")


def valid_view(as_of: Any, pin: Any) -> tuple[str | None, int | None]:
    """The as-of date and the pinned run (None: live), checked.

    Raises:
        InvalidInput: not a date, or no such run in the ledger.
    """
    return company_data.as_of_date(as_of), point_in_time.pinned_run(pin)


def view_params(as_of: str | None, pin: int | None) -> dict[str, str]:
    return {**({"as_of": as_of} if as_of else {}), **({"pin": str(pin)} if pin is not None else {})}


@callback(
    Output("compare-pinned", "children"),
    Input("compare-asof", "date"),
    Input("compare-pin", "value"),
    Input("compare-symbols", "value"),
)
def compare_pinned(as_of: Any, pin: Any, symbols: Any = None) -> Any:
    """What the figures are when the view is pinned or dated: said above the history, with the companies
    whose statements the store had not seen by the as-of date (shown as first reported, filed by then)."""
    try:
        day, pinned = valid_view(as_of, pin)
        said = []
        if pinned is not None:
            said.append(
                pins.sentence(
                    pinned, "the statements, medians and latest figures as the store held them then"
                )
            )
        if day:
            chosen = valid_symbols(symbols or [], minimum=0, maximum=MAX_TICKERS)
            said.append(
                f"As of {day}: the statements as the store knew them at the end of that day, that day's index"
                f" members and closes up to it.{unseen(chosen, day, pinned)}"
            )
    except FAILURES as exc:
        return states.error(str(exc))
    return html.Span(" ".join(said), id="compare-pinned-text") if said else None


pins.register("compare")


@callback(
    Output("compare-history-graph", "figure"),
    Output("compare-history-table", "children"),
    Output("compare-years-feedback", "children"),
    Output("compare-export-history", "href"),
    Output("compare-export-history-trail", "href"),
    Input("compare-symbols", "value"),
    Input("compare-metric", "value"),
    Input("compare-basis", "value"),
    Input("compare-years", "value"),
    Input("compare-overlay", "value"),
    Input("compare-figures", "value"),
    Input("compare-asof", "date"),
    Input("compare-pin", "value"),
)
def compare_history(
    symbols: Any,
    metric: Any,
    basis: Any,
    years: Any,
    overlays: Any,
    figures: Any = None,
    as_of: Any = None,
    pin: Any = None,
) -> tuple[Any, ...]:
    try:
        chosen, metric, basis, count, wanted = history_inputs(symbols, metric, basis, years, overlays)
        figures = valid_figures(figures)
    except InvalidInput as exc:  # the message beside the years field; the chart keeps its last view
        return dash.no_update, dash.no_update, f"{exc}.", dash.no_update, dash.no_update
    first = figures == "first"
    try:
        day, pinned = valid_view(as_of, pin)
        key = (tuple(chosen), metric, basis, count, tuple(wanted), first, pinned, day)
        figure, table = services().cache.cached(
            "compare-history-view",
            key,
            lambda: history_view(chosen, metric, basis, count, wanted, first, pinned, day),
        )
    except FAILURES as exc:
        return charts.blank_figure(), states.error(str(exc)), None, "#", "#"
    params = {
        "symbols": ",".join(chosen),
        "metric": metric,
        "basis": basis,
        "years": str(count),
        "overlay": ",".join(wanted),
        **({"figures": figures} if first else {}),
        **view_params(day, pinned),
    }
    return (
        figure,
        table,
        None,
        export_href("compare", "history", params),
        export_href("compare", "history-trail", params),
    )


@callback(
    Output("compare-table", "children"),
    Output("compare-price-graph", "figure"),
    Output("compare-staleness", "children"),
    Output("compare-export-ratios", "href"),
    Output("compare-export-prices", "href"),
    Output("compare-export-ratios-trail", "href"),
    Input("compare-symbols", "value"),
    Input("compare-span", "value"),
    Input("compare-scale", "value"),
    Input("compare-figures", "value"),
    Input("compare-asof", "date"),
    Input("compare-pin", "value"),
)
def compare_update(
    symbols: list[str] | None,
    span: str,
    scale: str | None,
    figures: str | None = None,
    as_of: Any = None,
    pin: Any = None,
) -> tuple[Any, Any, Any, str, str, str]:
    try:
        chosen = valid_symbols(symbols or [], minimum=2, maximum=MAX_TICKERS)
        span = valid_choice(span, tuple(SPANS), name="range")
        scale = valid_choice(scale or "linear", tuple(SCALES), name="scale")
        figures = valid_figures(figures)
        day, pinned = valid_view(as_of, pin)
        grid, figure = services().cache.cached(
            "compare-view",
            (tuple(chosen), span, scale, figures, pinned, day),
            lambda: compare_snapshot(chosen, span, scale, figures, pinned, day),
        )
    except FAILURES as exc:  # one message, in the table's place
        table = [states.error(str(exc)), tables.placeholder(GRID)]
        return table, charts.blank_figure(), states.staleness(), "#", "#", "#"
    params = {"symbols": ",".join(chosen), "span": span, **view_params(day, pinned)}
    ratios = {**params, **({"figures": figures} if figures != "restated" else {})}
    return (
        grid,
        figure,
        states.staleness(),
        export_href("compare", "ratios", ratios),
        export_href("compare", "prices", params),
        export_href("compare", "ratios-trail", ratios),
    )


@callback(
    Output("compare-provenance", "children"),
    Input(GRID, "cellClicked"),
    Input("compare-symbols", "value"),
    Input("compare-figures", "value"),
    Input("compare-asof", "date"),
    Input("compare-pin", "value"),
)
def compare_provenance(cell: Any, _symbols: Any, figures: Any, as_of: Any, pin: Any) -> Any:
    """A click on a latest figure: where it came from, as the table reads the store (the Screener's
    cell trail: `screen_trails.card`); another choice closes it."""
    if ctx.triggered_id != GRID or not isinstance(cell, Mapping):
        return None
    try:
        figures = valid_figures(figures)
        day, pinned = valid_view(as_of, pin)
        table = universe_data.on_basis("ttm", figures, pinned, day)
        symbol = bounded_text(cell.get("rowId"), name="company", max_chars=20)
        metric = bounded_text(cell.get("colId"), name="column", max_chars=80)
        if symbol not in table.index:
            return None
        row = table.loc[symbol].to_dict()
        return screen_trails.card(symbol, metric, cell.get("value"), row, trails.View(day, figures, pinned))
    except FAILURES as exc:
        return states.error(str(exc))


@register_export("compare", "ratios")
def export_ratios(args: Mapping[str, str]) -> pd.DataFrame:
    symbols = valid_symbols(args.get("symbols", "").split(","), minimum=2, maximum=MAX_TICKERS)
    table = ratio_table(symbols, valid_figures(args.get("figures")), *_pinned(args))
    return with_nm(table).drop(columns=["basis_shown"], errors="ignore")


@register_export("compare", "ratios-trail")
def export_ratios_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The latest figures with each company's trail: its statements' payloads on the row's period and its
    close's fetch (`screen_trails.results_trail`, the Screener's)."""
    result = export_ratios(args)
    if result.empty:
        return result
    figures = valid_figures(args.get("figures"))
    pin, as_of = _pinned(args)
    table = universe_data.on_basis("ttm", figures, pin, as_of)
    return result.join(screen_trails.results_trail(result, table, trails.View(as_of, figures, pin)))


@register_export("compare", "history")
def export_history(args: Mapping[str, str]) -> pd.DataFrame:
    chosen, metric, basis, count, _ = history_inputs(
        args.get("symbols", "").split(","), args.get("metric"), args.get("basis"), args.get("years"), []
    )
    first = valid_figures(args.get("figures")) == "first"
    pin, as_of = _pinned(args)
    frames = compare_view.windowed(
        history_data.histories(chosen, basis, first=first, pin=pin, as_of=as_of), basis, count
    )
    return compare_view.long_table(frames, basis, metric).assign(metric=metric, basis=basis)


@register_export("compare", "history-trail")
def export_history_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The history with, per row, the trail of each statement payload of its period as the view reads
    it (`provenance_<statement>_*`, as the Company page's ratio CSV; a TTM or calendar-year row: the
    quarter its TTM ends on)."""
    table = export_history(args)
    if table.empty:
        return table
    pin, as_of = _pinned(args)
    mode = trails.View(as_of, valid_figures(args.get("figures")), pin).mode
    period = "FY" if table["basis"].iloc[0] == "FY" else "Q"  # TTM and calendar years: quarter-end TTMs
    parts = []
    for symbol, rows in table.groupby("symbol", sort=False):
        trail = trails.statement_trail(str(symbol), as_of, mode, pin, period)
        days = pd.DatetimeIndex([pd.Timestamp(d) for d in rows["period_end"]])
        columns = trails.trail_columns(trail, {kind: days for kind in trails.KINDS}, str(symbol), period)
        parts.append(columns.set_axis(rows.index, axis=0))
    return table.join(pd.concat(parts))


@register_export("compare", "prices")
def export_prices(args: Mapping[str, str]) -> pd.DataFrame:
    symbols = valid_symbols(args.get("symbols", "").split(","), minimum=2, maximum=MAX_TICKERS)
    pin, as_of = _pinned(args)
    span = valid_choice(args.get("span"), tuple(SPANS), name="range")
    return normalised(symbols, span, pins.last_day(as_of, pin))


def _pinned(args: Mapping[str, str]) -> tuple[int | None, str | None]:
    """An export link's pinned run and as-of date: the CSV holds what the pinned or dated view showed."""
    as_of, pin = valid_view(args.get("as_of"), args.get("pin"))
    return pin, as_of
