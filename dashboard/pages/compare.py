"""Compare: 2-10 tickers side by side: any metric over 1-30 years (fiscal, TTM or calendar years) with
sector and sub-industry medians, the latest figures on one clear basis, and normalised prices."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, callback, ctx, dcc, html
from dash.development.base_component import Component

from dashboard.components import (
    benchmark_data,
    catalogue,
    charts,
    company_data,
    compare_view,
    history_data,
    pins,
    point_in_time,
    states,
    tables,
    universe_data,
    urlstate,
)
from dashboard.components.export import export_href, export_link, register_export
from dashboard.components.formats import Col
from dashboard.components.inputs import (
    InvalidInput,
    bounded_text,
    group,
    radio_column,
    universe,
    valid_choice,
    valid_number,
    valid_symbol,
    valid_symbols,
)
from dashboard.components.page import (
    FAILURES,
    chart,
    frame,
    heading,
    picker_data,
    register_picker,
    symbol_picker,
)
from dashboard.components.picker import Picker
from dashboard.components.screener_grid import results_grid, with_labels, with_nm
from dashboard.data import queries
from dashboard.services import services

dash.register_page(__name__, path="/compare", name="Compare", order=3, title="Compare · MyCFATool")

MAX_TICKERS = 10
COLUMNS = [
    "symbol",
    "name",
    "basis_shown",
    "period_end",
    "price",
    "market_cap",
    "pe",
    "ev_ebitda",
    "operating_margin",
    "net_margin",
    "roe",
    "roic",
    "debt_to_equity",
    "revenue_growth",
    "eps_growth",
    "fcf_yield",
    "dividend_yield",
]
# Abbreviated headers (the full ones lead each header's tooltip): at 1440 px every column up to EPS
# growth fits without scrolling the grid sideways (review finding P2).
SHORT_HEADERS = {
    "price": "Price",
    "market_cap": "Cap (bn)",
    "ev_ebitda": "EV/\u200bEBITDA",  # a narrow header breaks after the slash, not inside EBITDA
    "operating_margin": "Op. margin",
    "roic": "ROIC",
    "debt_to_equity": "D/E",
    "revenue_growth": "Rev. growth",
    "eps_growth": "EPS growth",
    "fcf_yield": "FCF yield",
    "dividend_yield": "Div. yield",
}
SPANS = {"1Y": 365, "3Y": 3 * 365, "5Y": 5 * 365, "10Y": 10 * 365}
OVERLAYS = {"sector": "Sector median", "sub_industry": "Sub-industry (peers) median"}
SCALES = {"linear": "Linear", "log": "Log"}
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
    return frame(
        "Compare",
        URL,
        state,
        dbc.Row(
            [
                symbol_picker("compare-symbols", data, chosen, md=7, multi=True, label="Companies (2 to 10)"),
                dbc.Col(
                    [
                        dbc.Label(
                            "Or type or paste tickers", html_for="compare-paste", className="small mb-0"
                        ),
                        dbc.Input(id="compare-paste", placeholder="AAPL MSFT", debounce=True),
                    ],
                    md=3,
                ),
                dbc.Col(
                    html.Div(id="compare-tickers-feedback", className="small text-danger", role="status"),
                    md=2,
                ),
            ],
            className="mb-2 align-items-end",
        ),
        dbc.Row(
            [
                dbc.Col(
                    [
                        dbc.Label("Metric", html_for="compare-metric", className="small mb-0"),
                        dcc.Dropdown(
                            id="compare-metric",
                            options=catalogue.options(catalogue.HISTORY_KEYS),
                            value=state["metric"],
                            clearable=False,
                        ),
                    ],
                    md=4,
                ),
                radio_column("compare-basis", history_data.BASES, state["basis"], md=3, label="Periods"),
                dbc.Col(
                    [
                        dbc.Label("Years (1 to 30)", html_for="compare-years", className="small mb-0"),
                        dbc.Input(
                            id="compare-years",
                            type="number",
                            value=state["years"],
                            min=1,
                            max=30,
                            step=1,
                            debounce=True,
                        ),
                        html.Div(id="compare-years-feedback", className="small text-danger", role="status"),
                    ],
                    md=2,
                ),
                dbc.Col(
                    group(
                        "Overlays",
                        dbc.Checklist(
                            id="compare-overlay",
                            options=[{"label": v, "value": k} for k, v in OVERLAYS.items()],
                            value=state["overlay"],
                        ),
                    ),
                    md=3,
                ),
            ],
            className="mb-2 g-2",
        ),
        dbc.Row(
            [
                radio_column(
                    "compare-figures",
                    point_in_time.FIGURES,
                    state["figures"],
                    md=4,
                    label="Statement figures",
                ),
                company_data.as_of_picker("compare-asof", md=3, value=state["asof"]),
                pins.control("compare", state["pin"], md=4),
            ],
            className="mb-2 g-2 align-items-end",
        ),
        html.Div(id="compare-pinned", className="small text-muted mb-1"),
        html.Div(id="compare-staleness"),
        heading("History", "compare", "history"),
        chart("compare-history-graph", "compare-history"),
        states.loading(html.Div(id="compare-history-table"), "compare-history-table"),
        heading(
            "Latest figures (trailing 12 months where four quarters exist)", "compare", "ratios", gap=True
        ),
        states.loading(html.Div(id="compare-table"), "compare-table"),
        html.Div(
            [
                html.H2("Normalised price (start = 100, adjusted)", className="h5 d-inline"),
                export_link("compare", "prices"),
            ],
            className="mt-3",
        ),
        dbc.Row(
            [
                radio_column("compare-span", {k: k for k in SPANS}, state["span"], md=4, label="Price range"),
                radio_column("compare-scale", SCALES, state["scale"], md=3, label="Price scale"),
            ]
        ),
        chart("compare-price-graph", "compare-price"),
    )


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


def ratio_table(
    symbols: list[str], figures: str = "restated", pin: int | None = None, as_of: str | None = None
) -> pd.DataFrame:
    table = universe_data.on_basis("ttm", figures, pin, as_of)
    if table.empty:
        return pd.DataFrame()
    labelled = with_labels(table)
    present = [s for s in symbols if s in labelled.index]
    rows = labelled.take(labelled.index.get_indexer(present)).reset_index()
    return rows[[c for c in [*COLUMNS, "not_meaningful"] if c in rows.columns]]


def normalised(symbols: list[str], span: str, last: str | None = None) -> pd.DataFrame:
    """Adjusted closes in the span (ending on `last` when given: an as-of date or a pinned run's day),
    rebased to 100 at each symbol's first price, and the stored cap-weighted S&P 500 rebased to 100 on the
    same first day where it is stored (empty: no prices)."""
    if last is None:
        shown = company_data.adjusted_closes(symbols, days=SPANS[span])
    else:
        shown = company_data.adjusted_closes(symbols).loc[: pd.Timestamp(last)]
        if not shown.empty:
            shown = shown[shown.index >= shown.index[-1] - pd.Timedelta(days=SPANS[span])]
    if shown.empty:
        return pd.DataFrame()
    values = shown.to_numpy()
    first = values[np.argmax(~np.isnan(values), axis=0), np.arange(values.shape[1])]
    rebased = pd.DataFrame(values / first * 100.0, index=shown.index, columns=shown.columns.rename(None))
    index = benchmark_data.rebased("sp500", pd.DatetimeIndex(rebased.index))  # P5: the market beside them
    return rebased if index.empty else rebased.assign(**{str(index.name): index})


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
                f" members and closes up to it.{_unseen(chosen, day, pinned)}"
            )
    except FAILURES as exc:
        return states.error(str(exc))
    return html.Span(" ".join(said), id="compare-pinned-text") if said else None


def _unseen(symbols: list[str], day: str, pin: int | None) -> str:
    """Which companies' annual statements the store had not seen by `day`: as first reported (filed by
    then) in part or whole, or none filed at all."""
    svc = services()
    whole: list[str] = []
    part: list[str] = []
    none: list[str] = []
    for symbol in symbols:
        basis = svc.cache.cached(
            "statement-basis-fy",
            (symbol, day, pin),
            functools.partial(queries.statement_basis, svc.router, symbol, "FY", "pit", day, pin),
        )
        first = int((basis["basis"] == "first").sum()) if not basis.empty else 0
        if basis.empty:
            none.append(symbol)
        elif first == len(basis):
            whole.append(symbol)
        elif first:
            part.append(symbol)
    out = ""
    if whole:
        out += (
            f" The store held none of {', '.join(whole)}'s annual statements then (its history starts later):"
            " their figures are as first reported, filed by then."
        )
    if part:
        out += f" Some periods of {', '.join(part)} are as first reported (the store saw them later)."
    if none:
        out += f" No annual statement of {', '.join(none)} was filed by then."
    return out


pins.register("compare")


def history_inputs(
    symbols: Any, metric: Any, basis: Any, years: Any, overlays: Any
) -> tuple[list[str], str, str, int, list[str]]:
    chosen = valid_symbols(symbols or [], minimum=2, maximum=MAX_TICKERS)
    metric = valid_choice(metric or "net_margin", catalogue.HISTORY_KEYS, name="metric")
    basis = valid_choice(basis or "FY", tuple(history_data.BASES), name="periods")
    count = valid_number(10 if years in (None, "") else years, low=1, high=30, name="years")
    if not float(count).is_integer():
        raise InvalidInput("years must be a whole number from 1 to 30")
    wanted = [valid_choice(o, tuple(OVERLAYS), name="overlay") for o in (overlays or [])]
    return chosen, metric, basis, int(count), wanted


def history_view(
    chosen: list[str],
    metric: str,
    basis: str,
    years: int,
    wanted: list[str],
    first: bool = False,
    pin: int | None = None,
    as_of: str | None = None,
) -> tuple[Any, ...]:
    frames = compare_view.windowed(
        history_data.histories(chosen, basis, first=first, pin=pin, as_of=as_of), basis, years
    )
    long = compare_view.long_table(frames, basis, metric)
    missing = [s for s in chosen if s not in set(long["symbol"])]
    overlays = []
    for kind in wanted:
        column = "sector" if kind == "sector" else "sub_industry"
        names = dict.fromkeys(str(v) for v in _groups(chosen, column) if isinstance(v, str))
        for name in names:
            medians = history_data.group_medians(
                column, name, basis, metric, first=first, pin=pin, as_of=as_of
            )
            periods = set(long["period"])
            shown = medians[
                [compare_view.label(basis, v) in periods for v in medians[history_data.ALIGN[basis]]]
            ]
            overlays.append((f"{name} median", shown))
    ends = compare_view.year_ends(frames)
    figure = (
        compare_view.figure(long, overlays, basis, metric, ends)
        if not long.empty
        else charts.empty_figure(
            f"No {catalogue.BY_KEY[metric].label} history for these tickers on this basis."
        )
    )
    wide = compare_view.wide_table(long, overlays, basis, ends) if not long.empty else pd.DataFrame()
    kind = catalogue.BY_KEY[metric].kind
    columns = {c: _col(c, kind) for c in wide.columns}
    grid = tables.grid("compare-history-grid", wide, columns=columns) if not wide.empty else None
    note = (
        html.P(
            f"No {catalogue.BY_KEY[metric].label} on this basis for: {', '.join(missing)}.",
            className="small text-muted",
            id="compare-history-missing",
        )
        if missing
        else None
    )
    return figure, html.Div([grid, note])


def _groups(symbols: list[str], column: str) -> list[Any]:
    frame = universe().set_index("symbol")
    return [frame[column].get(s) for s in symbols]


def _col(name: str, kind: str) -> Col:
    if name == "company":
        return Col("Company")
    if name == "year_ends":
        return Col("Fiscal year ends")
    return Col(name, kind)


@callback(
    Output("compare-history-graph", "figure"),
    Output("compare-history-table", "children"),
    Output("compare-years-feedback", "children"),
    Output("compare-export-history", "href"),
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
        return dash.no_update, dash.no_update, f"{exc}.", dash.no_update
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
        return charts.blank_figure(), states.error(str(exc)), None, "#"
    params = {
        "symbols": ",".join(chosen),
        "metric": metric,
        "basis": basis,
        "years": str(count),
        "overlay": ",".join(wanted),
        **({"figures": figures} if first else {}),
        **view_params(day, pinned),
    }
    return figure, table, None, export_href("compare", "history", params)


@callback(
    Output("compare-table", "children"),
    Output("compare-price-graph", "figure"),
    Output("compare-staleness", "children"),
    Output("compare-export-ratios", "href"),
    Output("compare-export-prices", "href"),
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
) -> tuple[Any, Any, Any, str, str]:
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
        return states.error(str(exc)), charts.blank_figure(), states.staleness(), "#", "#"
    params = {"symbols": ",".join(chosen), "span": span, **view_params(day, pinned)}
    return (
        grid,
        figure,
        states.staleness(),
        export_href(
            "compare", "ratios", {**params, **({"figures": figures} if figures != "restated" else {})}
        ),
        export_href("compare", "prices", params),
    )


def compare_snapshot(
    chosen: list[str],
    span: str,
    scale: str,
    figures: str = "restated",
    pin: int | None = None,
    as_of: str | None = None,
) -> tuple[Any, Any]:
    """The latest figures' grid and the price chart for one choice (cached whole): pinned or as of a date,
    the figures then and the closes up to that day."""
    table = ratio_table(chosen, figures, pin, as_of)
    prices = normalised(chosen, span, pins.last_day(as_of, pin))
    grid = (
        results_grid(table, id_="compare-grid", short=SHORT_HEADERS)
        if not table.empty
        else states.empty("No statements for these tickers.")
    )
    if prices.empty:
        return grid, charts.empty_figure("No prices for these tickers.")
    figure = charts.lines(
        prices,
        f"Dividend-adjusted close, rebased to 100 on {prices.index[0]:%Y-%m-%d}",
        yaxis="Index (start = 100)",
    )
    if scale == "log":
        figure["layout"]["yaxis"]["type"] = "log"
    return grid, figure


@register_export("compare", "ratios")
def export_ratios(args: Mapping[str, str]) -> pd.DataFrame:
    symbols = valid_symbols(args.get("symbols", "").split(","), minimum=2, maximum=MAX_TICKERS)
    table = ratio_table(symbols, valid_figures(args.get("figures")), *_pinned(args))
    return with_nm(table).drop(columns=["basis_shown"], errors="ignore")


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
