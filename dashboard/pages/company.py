"""Company: profile, candles with volume and overlays, statements (annual/quarterly/TTM), ratios, freshness."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, dcc, html
from dash.development.base_component import Component

from dashboard.analytics.indicators import REGISTRY
from dashboard.components import (
    bars,
    charts,
    company_data,
    formats,
    glossary,
    pins,
    point_in_time,
    states,
    tables,
    trails,
    urlstate,
    withheld,
)
from dashboard.components.export import export_href, export_link, register_export
from dashboard.components.inputs import (
    InvalidInput,
    bounded_list,
    bounded_text,
    check_column,
    group,
    radio_column,
    valid_choice,
    valid_symbol,
)
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
from dashboard.data import queries
from dashboard.services import services
from dashboard.vocabulary import VIEW_NOUNS, VIEWS, fiscal_labels

dash.register_page(__name__, path="/", name="Company", order=0, title="Company · MyCFATool")

PERIODS = VIEWS
KINDS = point_in_time.STATEMENT_NAMES
VIEWS_SHOWN = {"values": "Values", "yoy": "YoY %", "common": "Common size %"}
FIGURES = point_in_time.FIGURES
FRESHNESS_COLUMNS = {
    "dataset": formats.Col("Dataset"),
    "latest": formats.Col("Latest period"),
    "changed": formats.Col("Last changed"),
    "rows": formats.Col("Rows", "int"),
}
STATEMENT_COLUMNS = {"item": formats.Col("Line item"), "unit": formats.Col("Unit")}
STATEMENT_GRID = "company-statement-grid"  # its clicks open a figure's provenance (`company_provenance`)
RATIO_GRID = "company-ratio-grid"  # its clicks open a ratio's provenance (`company_ratio_provenance`)


SPANS = {**{k: k for k in company_data.RANGES if k != "MAX"}, "YTD": "YTD", "MAX": "MAX", "custom": "Custom"}
SPANS = {k: SPANS[k] for k in ("1M", "6M", "YTD", "1Y", "5Y", "10Y", "MAX", "custom")}
BASES = {"adj": "Adjusted", "raw": "Unadjusted"}
SCALES = {"linear": "Linear", "log": "Log"}
OVERLAY_CHOICES = {o: REGISTRY[o].label for o in company_data.OVERLAYS}
OSCILLATOR_CHOICES = {o: REGISTRY[o].label for o in company_data.OSCILLATORS}
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
    chosen = choose_symbol(state, data)
    controls = dbc.Row(
        [
            symbol_picker("company-symbol", data, chosen, md=4),
            radio_column("company-range", SPANS, state["range"], md=5, label="Range"),
            dbc.Col(
                group(
                    "Custom range (from, to)",
                    dcc.DatePickerRange(
                        id="company-dates",
                        start_date=state["from"],
                        end_date=state["to"],
                        display_format="YYYY-MM-DD",
                        start_date_placeholder_text="from",
                        end_date_placeholder_text="to",
                        clearable=True,
                        min_date_allowed=company_data.EARLIEST_AS_OF.isoformat(),
                        max_date_allowed=date.today().isoformat(),
                    ),
                ),
                md=3,
            ),
            radio_column("company-adjusted", BASES, state["basis"], md=3, label="Prices"),
            radio_column("company-scale", SCALES, state["scale"], md=2, label="Scale"),
            radio_column("company-bars", bars.SIZES, state["bars"], md=3, label="Bars"),
            check_column("company-overlays", OVERLAY_CHOICES, state["overlays"], md=4, label="Overlays"),
            check_column(
                "company-oscillators",
                OSCILLATOR_CHOICES,
                state["osc"],
                md=12,
                label="Oscillators (panels under the volume)",
            ),
        ],
        className="mb-2 g-2 align-items-end",
    )
    return frame(
        "Company",
        URL,
        state,
        html.Div(id="company-staleness"),
        controls,
        dbc.Row(
            [
                dbc.Col(states.loading(html.Div(id="company-profile"), "company-profile"), md=3),
                dbc.Col(
                    [
                        html.Div(
                            [
                                *heading("Price", "company", "prices").children,
                                export_link("company", "prices-trail", "CSV + provenance"),
                            ]
                        ),
                        html.Div(id="company-price-header", className="mycfa-price-header"),
                        html.Div(id="company-price-withheld"),
                        chart("company-price-graph", "company-price"),
                        html.Div(id="company-price-provenance", className="mt-2"),
                    ],
                    md=9,
                ),
            ]
        ),
        html.Hr(),
        dbc.Row(
            [
                radio_column("company-period", PERIODS, state["period"], md=2, label="Period"),
                radio_column("company-kind", KINDS, state["kind"], md=3, label="Statement"),
                radio_column("company-view", VIEWS_SHOWN, state["view"], md=3, label="Show"),
                radio_column("company-figures", FIGURES, state["figures"], md=4, label="Figures"),
                company_data.as_of_picker("company-asof", md=3, value=state["asof"]),
                pins.control("company", state["pin"]),
                dbc.Col(
                    [
                        export_link("company", "statements"),
                        export_link("company", "trail", "CSV + provenance"),
                    ],
                    md=3,
                ),
            ],
            className="mb-2 g-2 align-items-end",
        ),
        html.Div(id="company-asof-note", className="small text-muted mb-1"),
        states.loading(
            html.Div(tables.placeholder(STATEMENT_GRID), id="company-statement-table"),
            "company-statement-table",
        ),
        html.Div(id="company-provenance", className="mt-2"),
        html.Div(id="company-restatements", className="mt-2"),
        html.Div(id="company-statement-withheld", className="mt-3"),
        states.loading(
            dcc.Graph(id="company-statement-graph", config={"displaylogo": False}, className="mt-3"),
            "company-statement-graph",
        ),
        html.Div(
            [
                *heading("Ratio history (annual)", "company", "ratios").children,
                export_link("company", "ratios-trail", "CSV + provenance"),
                html.Span(id="company-ratio-withheld"),
            ],
            className="mt-3",
        ),
        chart("company-ratio-graph", "company-ratio-graph"),
        html.Div(tables.placeholder(RATIO_GRID), id="company-ratio-table", className="mt-2"),
        html.Div(id="company-ratio-provenance", className="mt-2"),
        heading("Freshness", "company", "freshness", gap=True),
        html.Div(id="company-freshness"),
    )


def profile_view(symbol: str) -> tuple[Any, Any]:
    """The profile card and the freshness table (cached whole: the grid costs more than its reads)."""
    svc = services()
    fresh = svc.cache.cached("freshness", (symbol,), lambda: queries.freshness(svc.router, symbol))
    table = (
        tables.grid("company-freshness-grid", fresh, columns=FRESHNESS_COLUMNS)
        if not fresh.empty
        else states.empty(f"No data stored for {symbol} yet.")
    )
    return _profile_card(symbol), table


def _profile_card(symbol: str) -> Any:
    svc = services()
    row = svc.cache.cached("company", (symbol,), lambda: queries.company(svc.router, symbol))
    if row is None:
        return states.empty(f"No profile for {symbol}.")
    items = [
        html.Li([html.B(f"{k}: "), html.Span(profile_value(k, v))])
        for k, v in company_data.profile_fields(row).items()
        if v not in (None, "")
    ]
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(symbol, id="company-profile-symbol", className="h4"),
                html.Ul(items, className="list-unstyled small"),
            ]
        )
    )


def profile_value(name: str, value: object) -> str:
    """Profile numbers as an analyst reads them: market cap in USD bn/tn, head count with separators."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if name == "Market cap":
        return formats.money(number)
    if name == "Employees":
        return f"{number:,.0f}"
    if name == "Beta":
        return f"{number:.2f}"
    return str(value)


def period_labels(index: pd.Index, period: str) -> list[str]:
    """Bar labels: FY2024 for annual rows (the year the fiscal year ends), else the period-end month."""
    dates = pd.DatetimeIndex(index)
    if period == "FY":
        return charts.fiscal_year_labels(dates)
    return [d.strftime("%b %Y") for d in dates]


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


def view_params(as_of: Any, pin: Any) -> dict[str, str]:
    """The as-of date and pinned run of the page, checked, as an export link carries them."""
    day, pinned = company_data.as_of_date(as_of), point_in_time.pinned_run(pin)
    return {**({"as_of": day} if day else {}), **({"pin": str(pinned)} if pinned is not None else {})}


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
        return charts.empty_figure(str(exc)), "#", None, "#", None
    key = (symbol, adjusted, chosen, span, panels, scale, size, dates)
    try:
        figure = services().cache.cached(
            "price-figure",
            key,
            lambda: price_figure(symbol, adjusted, chosen, span, panels, scale, size, dates),
        )
        header = services().cache.cached("price-header", (symbol,), lambda: price_header(symbol))
    except FAILURES as exc:
        return charts.empty_figure(str(exc)), "#", None, "#", None
    marked = withheld.chart_badge(figure, "company-price-withheld-badge")
    try:  # the CSVs hold the closes up to the view's as-of date and pinned run (`export_prices`)
        params = {"symbol": symbol, "adjusted": adjusted, **view_params(as_of, pin)}
    except FAILURES:  # the statements' note says why; the chart stands
        return figure, "#", header, "#", marked
    if not header:
        return figure, "#", header, "#", marked
    return (
        figure,
        export_href("company", "prices", params),
        header,
        export_href("company", "prices-trail", params),
        marked,
    )


def span_dates(index: pd.Index, span: str, dates: tuple[str | None, str | None]) -> tuple[Any, Any]:
    """The window's (start, end) for year-to-date and custom ranges (None: `window`'s own rule)."""
    if span == "YTD" and len(index):
        return pd.Timestamp(index[-1].year, 1, 1), None
    if span == "custom":
        return (pd.Timestamp(dates[0]) if dates[0] else None, pd.Timestamp(dates[1]) if dates[1] else None)
    return None, None


def price_figure(
    symbol: str,
    adjusted: str,
    chosen: tuple[str, ...],
    span: str,
    panels: tuple[str, ...],
    scale: str,
    size: str,
    dates: tuple[str | None, str | None],
) -> dict[str, Any]:
    """The price chart: the window's bars (daily, weekly or monthly), overlays and oscillator panels."""
    history = company_data.prices(symbol)
    start, end = span_dates(history.index, span, dates)
    shown, lines, oscillator_lines = company_data.price_view(
        symbol,
        adjusted=adjusted == "adj",
        overlays=chosen,
        span=span,
        oscillators=panels,
        start=start,
        end=end,
    )
    if shown.empty:
        return charts.empty_figure(
            f"No prices stored for {symbol}." if history.empty else f"No prices for {symbol} in this range."
        )
    bar = bars.auto(shown.index) if size == "auto" else size
    rows = bars.last_rows(shown.index, bar)
    basis = "dividend-adjusted" if adjusted == "adj" else "traded"
    title = f"{symbol} · {basis} prices, {bars.NAMES[bar]} bars"
    axis = "Price (USD, dividend-adjusted)" if adjusted == "adj" else "Price (USD)"
    candles = bars.resample(shown, bar)
    figure = charts.candles(
        candles,
        {name: s.iloc[rows] for name, s in lines.items()},
        title,
        price_axis=axis,
        panels=[
            charts.Panel(
                indicator.axis,
                {name: s.iloc[rows] for name, s in series.items()},
                indicator.guides,
                indicator.bars,
            )
            for indicator, series in oscillator_lines
        ],
        log=scale == "log",
    )
    return withheld.mark_prices(figure, candles, withheld.rows(symbol))


def price_header(symbol: str) -> Any:
    """Last close, its change, the 52-week range and the close's date (traded prices), or None."""
    history = company_data.prices(symbol)
    closes = history["close"].dropna() if not history.empty else pd.Series(dtype=float)
    if closes.empty:
        return None
    last, day = float(closes.iloc[-1]), closes.index[-1]
    year = closes[closes.index > day - pd.Timedelta(days=365)]
    change = last / float(closes.iloc[-2]) - 1 if len(closes) > 1 and closes.iloc[-2] else None
    parts = [
        html.Button(
            f"USD {last:,.2f}",
            className="btn btn-link p-0 border-0 align-baseline text-reset text-decoration-none fs-5 fw-semibold me-2",
            id="company-last-close",
            title="Where this close comes from",
        ),
        html.Span(
            formats.pct(change, digits=2, signed=True) if change is not None else "",
            className=("text-success" if (change or 0) >= 0 else "text-danger") + " me-3",
        ),
        html.Span(
            [glossary.term("52-week range", "week52"), f" {year.min():,.2f} to {year.max():,.2f}"],
            className="me-3",
        ),
        html.Span(f"close of {day:%Y-%m-%d} (traded)", className="text-muted"),
    ]
    return html.P(parts, className="mb-1 small")


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


def restated_note(
    symbol: str, period: str, kind: str, as_of: str | None, figures: str = "restated", pin: int | None = None
) -> tuple[set[str], str]:
    """The fiscal dates of this table restated after `as_of` (ever, when latest) and the note saying so:
    which figures these are, and (as of a date) which periods the store had not seen by then and shows as
    first reported, filed by that day."""
    rows = company_data.restated(symbol, as_of)
    if not rows.empty:
        rows = rows[(rows["kind"] == kind) & rows["period"].isin(fiscal_labels(period))]
    if pin is not None and as_of is None and not rows.empty:  # a pinned view: restated by the run's end
        ended = pd.Timestamp(point_in_time.pinned_at(pin))
        rows = rows[[pd.Timestamp(t) <= ended for t in rows["restated"]]]
    dates = {pd.Timestamp(d).strftime("%Y-%m-%d") for d in rows.get("fiscal_date", [])}
    if figures == "first":
        known = "As first reported: each period as the store first saw it" + (
            f", filed by {as_of}." if as_of else "."
        )
    elif as_of:
        known = f"As of {as_of}: figures as the store knew them at the end of that day." + first_seen_note(
            symbol, period, kind, as_of, pin
        )
    else:
        known = "Latest figures."
    if pin is not None:
        known = f"{pins.sentence(pin, 'figures as the store held them then')} {known}"
    if not dates:
        return dates, known
    when = f"after {as_of}" if as_of else "since first reported"
    return dates, f"{known} Restated {when} (marked 'restated'): {', '.join(sorted(dates))}."


def first_seen_note(symbol: str, period: str, kind: str, as_of: str, pin: int | None = None) -> str:
    """What the store did not know on `as_of` and shows anyway, as first reported when filed by then."""
    svc = services()
    basis = svc.cache.cached(
        "statement-basis",
        (symbol, period, as_of, pin),
        lambda: queries.statement_basis(
            svc.router, symbol, "Q" if period == "TTM" else period, "pit", as_of, pin
        ),
    )
    basis = basis[basis["kind"] == kind] if not basis.empty else basis
    later = basis[basis["basis"] == "first"] if not basis.empty else basis
    if later.empty:
        return ""
    filed = ", ".join(
        f"{d:%Y-%m-%d} (filed {f:%Y-%m-%d})"
        for d, f in zip(later["fiscal_date"], later["filing_date"], strict=True)
    )
    if len(later) == len(basis):
        return (
            f" The store held none of {symbol}'s {KINDS[kind].lower()} statements then (its history starts "
            f"later): every period here is as first reported, filed by {as_of}: {filed}."
        )
    return f" The store first saw these periods later; shown as first reported, filed by {as_of}: {filed}."


def shown_as(frame: pd.DataFrame, kind: str, period: str, view: str) -> pd.DataFrame:
    """The statement as values, as growth over the same period a year before (YoY), or as a share of
    revenue (income, cash flow) or of total assets (balance): common size."""
    lines = frame[company_data.statement_lines(frame, kind)].astype(float)
    if view == "yoy":
        back = 4 if period == "Q" else 1
        before = lines.shift(back)
        return (lines - before) / before.abs().where(before != 0)
    if view == "common":
        base = "totalAssets" if kind == "balance" else "revenue"
        if base not in lines:
            return lines.iloc[0:0]
        return lines.div(lines[base].where(lines[base] != 0), axis=0)
    return lines


def statements_view(
    symbol: str,
    period: str,
    kind: str,
    as_of: str | None = None,
    view: str = "values",
    figures: str = "restated",
    pin: int | None = None,
) -> tuple[Any, ...]:
    """Table, chart and ratio chart for one choice (the whole output is cached: it is pure given the data)."""
    mode = point_in_time.figures_mode(figures, as_of)
    frame = company_data.statement(symbol, kind, period, as_of, mode, pin)
    ratio = company_data.ratio_table(symbol, as_of, mode, pin)
    restated, note = restated_note(symbol, period, kind, as_of, figures, pin)
    params = {
        "symbol": symbol,
        "period": period,
        "kind": kind,
        **({"as_of": as_of} if as_of else {}),
        **({"figures": figures} if figures != "restated" else {}),
        **({"pin": str(pin)} if pin is not None else {}),
    }
    changes = point_in_time.restatement_rows(symbol, kind, period, pin)
    if frame.empty:
        label = VIEW_NOUNS[period]
        note = f"No {label} {KINDS[kind].lower()} data for {symbol}."
        table: Any = [states.empty(note, id_="company-statement-empty"), tables.placeholder(STATEMENT_GRID)]
        chart = charts.empty_figure(note)
    else:
        lines = shown_as(frame.sort_index(), kind, period, view)
        table = tables.statement_grid(
            STATEMENT_GRID,
            lines,
            list(lines.columns),
            columns=STATEMENT_COLUMNS,
            restated=restated,
            oldest_first=True,  # as the charts run, with the newest year at the right (scrolled to)
            kind=None if view == "values" else "pct",
        )
        point_in_time.mark_restated_cells(table, changes, point_in_time.withheld_cells(symbol, kind, period))
        fields = [f for f in company_data.CHART_FIELDS[kind] if f in frame.columns]
        shown = frame[fields].tail(12)
        dates = shown.index
        shown.index = period_labels(shown.index, period)
        scale, unit = formats.scale_for(shown.to_numpy().ravel())
        # Balances are stocks: under TTM the page shows the latest quarters' balances, and says so.
        basis = "quarter-end" if kind == "balance" and period == "TTM" else PERIODS[period]
        names = {f: formats.label(f) for f in fields}
        chart = charts.bars(
            shown,
            f"{symbol} · {KINDS[kind]} ({basis})",
            names=names,
            scale=scale,
            unit=unit,
            x_title="Fiscal year" if period == "FY" else "Period end",
        )
        held = withheld.statement_rows(symbol, kind, fiscal_labels(period))
        # TTM sums the trailing quarters of flows; a balance is its latest quarter's
        trailing = period == "TTM" and kind != "balance"
        found = withheld.find(held, {f: ((f,), ()) for f in fields}, dates, trailing=trailing)
        chart = withheld.mark(chart, found, names)
    plotted = [c for c in company_data.RATIO_FIELDS if c in ratio.columns]
    ratio_fig = (
        withheld.mark(
            charts.lines(
                _fiscal_years(ratio[plotted]),
                f"{symbol} · margins and returns (annual)",
                percent=True,
                yaxis="Percent",
                names={c: formats.label(c) for c in company_data.RATIO_FIELDS},
            ),
            withheld.find(
                withheld.statement_rows(symbol, None, ("FY",)),
                {c: trails.RATIO_INPUTS[c] for c in plotted},
                ratio.index,
            ),
            {c: formats.label(c) for c in plotted},
        )
        if not ratio.empty
        else charts.empty_figure(f"No annual statements for {symbol}.")
    )
    ratio_table = tables.placeholder(RATIO_GRID)
    if not ratio.empty:
        ratio_table = tables.statement_grid(
            RATIO_GRID,
            ratio,
            list(ratio.columns[ratio.notna().to_numpy().any(axis=0)]),  # a column a time cost ~2 ms
            columns={"item": formats.Col("Ratio"), "unit": formats.Col("Unit")},
            oldest_first=True,
        )
        ratio_table.getRowId = "params.data.field"  # a click names its ratio (`company_ratio_provenance`)
    ratio_params = {k: v for k, v in params.items() if k not in ("period", "kind")}
    return (
        table,
        chart if not frame.empty else charts.blank_figure(),
        ratio_fig,
        export_href("company", "statements", params) if not frame.empty else "#",
        export_href("company", "ratios", ratio_params) if not ratio.empty else "#",
        html.Span([note, point_in_time.withheld_badge(symbol, kind)], id="company-asof-text"),
        ratio_table,
        point_in_time.restatement_panel(symbol, kind, period, changes),
        export_href("company", "trail", params) if not frame.empty else "#",
        export_href("company", "ratios-trail", ratio_params) if not ratio.empty else "#",
        withheld.chart_badge(chart, "company-statement-withheld-badge") if not frame.empty else None,
        withheld.chart_badge(ratio_fig, "company-ratio-withheld-badge"),
    )


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
    # The close's own button, not the header around it (a click on the range or the date opened the card);
    # the header's answer puts the button on the page, so Dash calls this with n_clicks None: nothing.
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


@register_export("company", "trail")
def export_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The statement's export with its provenance per period: figures basis, filing date, when the store
    first held the payload, and the run that fetched it."""
    symbol, period, kind = _statement_choice(args)
    as_of, mode, pin = view_of(args)
    frame = company_data.statement(symbol, kind, period, as_of, mode, pin)
    if frame.empty or period == "TTM":
        return frame
    basis = queries.statement_basis(
        services().router, symbol, period, {"restated": "known"}.get(mode, mode), as_of, pin
    )
    basis = basis[basis["kind"] == kind]  # the index from the kind's rows only (the others' made it 500)
    basis = basis.set_index(pd.DatetimeIndex([pd.Timestamp(d) for d in basis["fiscal_date"]]))
    out = frame.copy()
    trail = basis.reindex(out.index)
    out["provenance_figures"] = [
        "as first reported" if b == "first" else "as the store held it" for b in trail["basis"]
    ]
    out["provenance_filing_date"] = trail["filing_date"].to_numpy()
    out["provenance_in_store_since"] = trail["known_since"].to_numpy()
    out["provenance_run_id"] = trail["run_id"].to_numpy()
    out["provenance_endpoint"] = (
        f"{queries.STATEMENT_ENDPOINTS[kind]}?symbol={symbol}&period={'annual' if period == 'FY' else 'quarter'}"
    )
    return out


def _fiscal_years(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.index = period_labels(frame.index, "FY")
    return out


@register_export("company", "prices")
def export_prices(args: Mapping[str, str]) -> pd.DataFrame:
    """The stored prices up to the view's as-of date or the day its pinned run ended (the earlier)."""
    symbol = valid_symbol(args.get("symbol"))
    as_of, _, pin = view_of(args)
    history = company_data.prices(symbol)
    last = pins.last_day(as_of, pin)
    return history.loc[: pd.Timestamp(last)] if last is not None else history


@register_export("company", "prices-trail")
def export_prices_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """`export_prices` with each close's fetch: the run, its job, when the item was done, the endpoint."""
    shown = export_prices(args)
    symbol = valid_symbol(args.get("symbol"))
    return shown.join(trails.price_trail(symbol, shown.index)) if not shown.empty else shown


def _statement_choice(args: Mapping[str, str]) -> tuple[str, str, str]:
    """An export's company, period and statement."""
    symbol = valid_symbol(args.get("symbol"))
    period = valid_choice(args.get("period"), tuple(PERIODS), name="period")
    return symbol, period, valid_choice(args.get("kind"), tuple(KINDS), name="statement")


def view_of(args: Mapping[str, str]) -> tuple[str | None, str, int | None]:
    """The as-of date, how the statements are read and the pinned run of an export's link: every export
    of the page holds the figures the page showed (as of that date, as first reported, pinned)."""
    as_of = company_data.as_of_date(args.get("as_of"))
    figures = valid_choice(args.get("figures") or "restated", tuple(FIGURES), name="figures")
    return as_of, point_in_time.figures_mode(figures, as_of), point_in_time.pinned_run(args.get("pin"))


@register_export("company", "statements")
def export_statements(args: Mapping[str, str]) -> pd.DataFrame:
    symbol, period, kind = _statement_choice(args)
    return company_data.statement(symbol, kind, period, *view_of(args))


@register_export("company", "ratios")
def export_ratios(args: Mapping[str, str]) -> pd.DataFrame:
    return company_data.ratio_table(valid_symbol(args.get("symbol")), *view_of(args))


@register_export("company", "ratios-trail")
def export_ratios_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The ratios with, per fiscal year, the trail of each statement they read (`trails.ratio_trail`)."""
    symbol = valid_symbol(args.get("symbol"))
    as_of, mode, pin = view_of(args)
    table = company_data.ratio_table(symbol, as_of, mode, pin)
    return table.join(trails.ratio_trail(symbol, table.index, as_of, mode, pin)) if not table.empty else table


@register_export("company", "freshness")
def export_freshness(args: Mapping[str, str]) -> pd.DataFrame:
    """Per dataset the latest period and row count as the store held them on the as-of date or when the
    pinned run ended (now without either)."""
    symbol = valid_symbol(args.get("symbol"))
    as_of, _, pin = view_of(args)
    return queries.freshness(services().router, symbol, as_of, pin)
