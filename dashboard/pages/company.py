"""Company: profile, candles with volume and overlays, statements (annual/quarterly/TTM), ratios, freshness."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, dcc, html
from dash.development.base_component import Component

from dashboard.analytics.indicators import REGISTRY
from dashboard.components import charts, company_data, formats, states, tables
from dashboard.components.export import export_href, export_link, register_export
from dashboard.components.inputs import InvalidInput, bounded_list, radio_column, valid_choice, valid_symbol
from dashboard.components.page import FAILURES, NO_COMPANIES, chart, heading, picker_options, symbol_picker
from dashboard.data import queries
from dashboard.services import services
from dashboard.vocabulary import VIEW_NOUNS, VIEWS, fiscal_labels

dash.register_page(__name__, path="/", name="Company", order=0, title="Company · MyCFATool")

PERIODS = VIEWS
KINDS = {"income": "Income", "balance": "Balance sheet", "cashflow": "Cash flow"}
FRESHNESS_COLUMNS = {
    "dataset": formats.Col("Dataset"),
    "latest": formats.Col("Latest period"),
    "changed": formats.Col("Last changed"),
    "rows": formats.Col("Rows", "int"),
}
STATEMENT_COLUMNS = {"item": formats.Col("Line item"), "unit": formats.Col("Unit")}


def default_symbol(requested: str | None) -> str | None:
    try:
        return valid_symbol(requested) if requested else None
    except InvalidInput:
        return None


def layout(symbol: str | None = None, **_: Any) -> Component:
    options = picker_options(at_least=0)
    if not isinstance(options, list):
        return options
    chosen = default_symbol(symbol) or (options[0]["value"] if options else None)
    if chosen is None:
        return states.empty(NO_COMPANIES)
    controls = dbc.Row(
        [
            symbol_picker("company-symbol", options, chosen, md=4),
            radio_column("company-adjusted", {"adj": "Adjusted", "raw": "Unadjusted"}, "adj", md=2),
            radio_column("company-range", {k: k for k in company_data.RANGES}, "5Y", md=3),
            dbc.Col(
                dbc.Checklist(
                    id="company-overlays",
                    options=[{"label": REGISTRY[o].label, "value": o} for o in company_data.OVERLAYS],
                    value=["sma_50"],
                    inline=True,
                ),
                md=3,
            ),
            dbc.Col(
                [
                    dbc.Label("Oscillators (panels under the volume)", className="small mb-0 me-2"),
                    dbc.Checklist(
                        id="company-oscillators",
                        options=[{"label": REGISTRY[o].label, "value": o} for o in company_data.OSCILLATORS],
                        value=[],
                        inline=True,
                    ),
                ],
                md=12,
            ),
        ],
        className="mb-2 g-2 align-items-center",
    )
    return html.Div(
        [
            html.Div(id="company-staleness"),
            controls,
            dbc.Row(
                [
                    dbc.Col(states.loading(html.Div(id="company-profile"), "company-profile"), md=3),
                    dbc.Col(
                        [
                            heading("Price", "company", "prices"),
                            chart("company-price-graph", "company-price"),
                        ],
                        md=9,
                    ),
                ]
            ),
            html.Hr(),
            dbc.Row(
                [
                    radio_column("company-period", PERIODS, "FY", md=3),
                    radio_column("company-kind", KINDS, "income", md=4),
                    company_data.as_of_picker("company-asof", md=3),
                    dbc.Col(export_link("company", "statements"), md=2),
                ],
                className="mb-2",
            ),
            html.Div(id="company-asof-note", className="small text-muted mb-1"),
            states.loading(html.Div(id="company-statement-table"), "company-statement-table"),
            states.loading(
                dcc.Graph(id="company-statement-graph", config={"displaylogo": False}, className="mt-3"),
                "company-statement-graph",
            ),
            heading("Ratio history (annual)", "company", "ratios", gap=True),
            chart("company-ratio-graph", "company-ratio-graph"),
            heading("Freshness", "company", "freshness", gap=True),
            html.Div(id="company-freshness"),
        ]
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
            [html.H4(symbol, id="company-profile-symbol"), html.Ul(items, className="list-unstyled small")]
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
)
def company_profile(symbol: str | None) -> tuple[Any, Any, Any, str]:
    try:
        symbol = valid_symbol(symbol)
        card, table = services().cache.cached("company-profile-view", (symbol,), lambda: profile_view(symbol))
        return (
            card,
            table,
            states.staleness(),
            export_href("company", "freshness", {"symbol": symbol}),
        )
    except FAILURES as exc:
        return states.error(str(exc)), None, states.staleness(), "#"


@callback(
    Output("company-price-graph", "figure"),
    Output("company-export-prices", "href"),
    Input("company-symbol", "value"),
    Input("company-adjusted", "value"),
    Input("company-overlays", "value"),
    Input("company-range", "value"),
    Input("company-oscillators", "value"),
)
def company_price(
    symbol: str | None,
    adjusted: str,
    overlays: list[str] | None,
    span: str,
    oscillators: list[str] | None = None,
) -> tuple[Any, str]:
    try:
        symbol = valid_symbol(symbol)
        adjusted = valid_choice(adjusted, ("adj", "raw"), name="price basis")
        span = valid_choice(span, tuple(company_data.RANGES), name="range")
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
        return charts.empty_figure(str(exc)), "#"

    def build() -> dict[str, Any]:
        shown, lines, oscillator_lines = company_data.price_view(
            symbol, adjusted=adjusted == "adj", overlays=chosen, span=span, oscillators=panels
        )
        if shown.empty:
            return charts.empty_figure(f"No prices stored for {symbol}.")
        title = f"{symbol} · {'dividend-adjusted' if adjusted == 'adj' else 'traded'} prices"
        axis = "Price (USD, dividend-adjusted)" if adjusted == "adj" else "Price (USD)"
        return charts.candles(
            shown,
            lines,
            title,
            price_axis=axis,
            panels=[(indicator.axis, series) for indicator, series in oscillator_lines],
        )

    try:
        figure = services().cache.cached("price-figure", (symbol, adjusted, chosen, span, panels), build)
    except FAILURES as exc:
        return charts.empty_figure(str(exc)), "#"
    return figure, export_href("company", "prices", {"symbol": symbol, "adjusted": adjusted})


@callback(
    Output("company-statement-table", "children"),
    Output("company-statement-graph", "figure"),
    Output("company-ratio-graph", "figure"),
    Output("company-export-statements", "href"),
    Output("company-export-ratios", "href"),
    Output("company-asof-note", "children"),
    Input("company-symbol", "value"),
    Input("company-period", "value"),
    Input("company-kind", "value"),
    Input("company-asof", "date"),
)
def company_statements(
    symbol: str | None, period: str, kind: str, as_of: str | None = None
) -> tuple[Any, Any, Any, str, str, Any]:
    try:
        symbol = valid_symbol(symbol)
        period = valid_choice(period, tuple(PERIODS), name="period")
        kind = valid_choice(kind, tuple(KINDS), name="statement")
        day = company_data.as_of_date(as_of)
        return services().cache.cached(
            "company-statements-view",
            (symbol, period, kind, day),
            lambda: statements_view(symbol, period, kind, day),
        )
    except FAILURES as exc:
        message = charts.empty_figure(str(exc))
        return states.error(str(exc)), message, message, "#", "#", None


def restated_note(symbol: str, period: str, kind: str, as_of: str | None) -> tuple[set[str], str]:
    """The fiscal dates of this table restated after `as_of` (ever, when latest) and the note saying so."""
    rows = company_data.restated(symbol, as_of)
    if not rows.empty:
        rows = rows[(rows["kind"] == kind) & rows["period"].isin(fiscal_labels(period))]
    dates = {pd.Timestamp(d).strftime("%Y-%m-%d") for d in rows.get("fiscal_date", [])}
    known = (
        f"As of {as_of}: figures as the store knew them at the end of that day."
        if as_of
        else "Latest figures."
    )
    if not dates:
        return dates, known
    when = f"after {as_of}" if as_of else "since first reported"
    return dates, f"{known} Restated {when} (marked 'restated'): {', '.join(sorted(dates))}."


def statements_view(
    symbol: str, period: str, kind: str, as_of: str | None = None
) -> tuple[Any, Any, Any, str, str, Any]:
    """Table, chart and ratio chart for one choice (the whole output is cached: it is pure given the data)."""
    frame = company_data.statements(symbol, period, as_of).get(kind, pd.DataFrame())
    ratio = company_data.ratio_history(symbol, "FY", as_of)
    restated, note = restated_note(symbol, period, kind, as_of)
    params = {"symbol": symbol, "period": period, "kind": kind, **({"as_of": as_of} if as_of else {})}
    if frame.empty:
        label = VIEW_NOUNS[period]
        note = f"No {label} {KINDS[kind].lower()} data for {symbol}."
        table: Any = states.empty(note, id_="company-statement-empty")
        chart = charts.empty_figure(note)
    else:
        table = tables.statement_grid(
            "company-statement-grid",
            frame,
            company_data.STATEMENT_FIELDS[kind],
            columns=STATEMENT_COLUMNS,
            restated=restated,
        )
        fields = [f for f in company_data.CHART_FIELDS[kind] if f in frame.columns]
        shown = frame[fields].tail(12)
        shown.index = period_labels(shown.index, period)
        scale, unit = formats.scale_for(shown.to_numpy().ravel())
        # Balances are stocks: under TTM the page shows the latest quarters' balances, and says so.
        basis = "quarter-end" if kind == "balance" and period == "TTM" else PERIODS[period]
        chart = charts.bars(
            shown,
            f"{symbol} · {KINDS[kind]} ({basis})",
            names={f: formats.label(f) for f in fields},
            scale=scale,
            unit=unit,
            x_title="Fiscal year" if period == "FY" else "Period end",
        )
    ratio_fig = (
        charts.lines(
            _fiscal_years(ratio[[c for c in company_data.RATIO_FIELDS if c in ratio.columns]]),
            f"{symbol} · margins and returns (annual)",
            percent=True,
            yaxis="Percent",
            names={c: formats.label(c) for c in company_data.RATIO_FIELDS},
        )
        if not ratio.empty
        else charts.empty_figure(f"No annual statements for {symbol}.")
    )
    return (
        table,
        chart,
        ratio_fig,
        export_href("company", "statements", params),
        export_href("company", "ratios", {"symbol": symbol}),
        html.Span(note, id="company-asof-text"),
    )


def _fiscal_years(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.index = period_labels(frame.index, "FY")
    return out


@register_export("company", "prices")
def export_prices(args: Mapping[str, str]) -> pd.DataFrame:
    symbol = valid_symbol(args.get("symbol"))
    return company_data.prices(symbol)


@register_export("company", "statements")
def export_statements(args: Mapping[str, str]) -> pd.DataFrame:
    symbol = valid_symbol(args.get("symbol"))
    period = valid_choice(args.get("period"), tuple(PERIODS), name="period")
    kind = valid_choice(args.get("kind"), tuple(KINDS), name="statement")
    as_of = company_data.as_of_date(args.get("as_of"))
    return company_data.statements(symbol, period, as_of).get(kind, pd.DataFrame())


@register_export("company", "ratios")
def export_ratios(args: Mapping[str, str]) -> pd.DataFrame:
    return company_data.ratio_history(valid_symbol(args.get("symbol")), "FY")


@register_export("company", "freshness")
def export_freshness(args: Mapping[str, str]) -> pd.DataFrame:
    symbol = valid_symbol(args.get("symbol"))
    return queries.freshness(services().router, symbol)
