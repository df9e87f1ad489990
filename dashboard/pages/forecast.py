"""Forecast: revenue, earnings, FCF or price with 80%/95% intervals and the holdout error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, callback, html
from dash.development.base_component import Component

from dashboard.analytics import forecast as fc
from dashboard.analytics.fundamentals import field
from dashboard.components import (
    charts,
    company_data,
    forecast_trails,
    formats,
    glossary,
    serving_state,
    states,
    tables,
    urlstate,
)
from dashboard.components.export import export_href, export_link, register_export
from dashboard.components.formats import Col
from dashboard.components.inputs import radio_column, valid_choice, valid_number, valid_symbol
from dashboard.components.page import (
    FAILURES,
    chart,
    choose_symbol,
    frame,
    picker_data,
    register_picker,
    symbol_picker,
)
from dashboard.components.picker import Picker
from dashboard.data import queries
from dashboard.services import services
from dashboard.vocabulary import VIEWS

dash.register_page(__name__, path="/forecast", name="Forecast", order=2, title="Forecast · MyCFATool")

SERIES = {
    "revenue": "Revenue",
    "netIncome": "Net income",
    "freeCashFlow": "Free cash flow",
    "price": "Price (monthly)",
}
# metric_history's column of each statement series (serving/company.py FIGURES).
STORED_SERIES = {"revenue": "revenue", "net_income": "netIncome", "free_cash_flow": "freeCashFlow"}
FREQUENCIES = {view: VIEWS[view] for view in ("FY", "Q")}
METHODS = {"ets": "Damped-trend ETS", "loglinear": "Log-linear trend"}


URL = urlstate.page_state(
    "/forecast",
    "forecast",
    urlstate.Param("symbol", "forecast-symbol", kind="symbol", label="ticker"),
    urlstate.Param("series", "forecast-series", default="revenue", choices=tuple(SERIES)),
    urlstate.Param("frequency", "forecast-frequency", default="FY", choices=tuple(FREQUENCIES)),
    urlstate.Param("method", "forecast-method", default="ets", choices=tuple(METHODS)),
)
register_picker("forecast-symbol")


def layout(**query: Any) -> Component:
    data = picker_data()
    if not isinstance(data, Picker):
        return data
    state = URL.read(query)
    return frame(
        "Forecast",
        URL,
        state,
        dbc.Row(
            [
                symbol_picker("forecast-symbol", data, choose_symbol(state, data), md=3),
                radio_column("forecast-series", SERIES, state["series"], md=5, label="Series"),
                radio_column("forecast-frequency", FREQUENCIES, state["frequency"], md=2, label="Frequency"),
                radio_column("forecast-method", METHODS, state["method"], md=2, label="Method"),
            ],
            className="mb-2 align-items-end",
        ),
        html.Div(
            [
                html.H2("Forecast", className="h5 d-inline"),
                export_link("forecast", "series"),
                export_link("forecast", "series-trail", "CSV + provenance"),
            ]
        ),
        chart("forecast-graph", "forecast-graph"),
        html.P(
            "Click a point for where it came from: a history point's stored value, or the model behind a"
            " forecast.",
            className="small text-muted mb-1",
        ),
        html.Div(id="forecast-provenance", className="mb-2"),
        html.Div(id="forecast-backtest"),
        html.Div(id="forecast-table"),
    )


@callback(Output("forecast-frequency", "options"), Input("forecast-series", "value"))
def forecast_frequencies(series: str | None) -> list[dict[str, Any]]:
    """Annual/Quarterly is off for the price series (always monthly closes), so it cannot seem to act."""
    return [
        {"label": label, "value": key, "disabled": series == "price"} for key, label in FREQUENCIES.items()
    ]


def history(symbol: str, series: str, frequency: str) -> pd.Series:
    if series == "price":
        prices = company_data.prices(symbol)
        return prices["adj_close"].fillna(prices["close"]) if not prices.empty else pd.Series(dtype=float)
    # Every statement series of one (symbol, frequency) at once: combining the statements cost more than
    # a fit, and each of them is forecast by both methods.
    return services().cache.cached(
        "forecast-history", (symbol, frequency), lambda: _statement_series(symbol, frequency)
    )[series]


def _statement_series(symbol: str, frequency: str) -> dict[str, pd.Series]:
    # The serving layer's figures (docs/serving.md), else the statements combined per request.
    stored = company_data.history(symbol, frequency, tuple(STORED_SERIES))
    if stored is not None:
        if stored.empty:
            return {name: pd.Series(dtype=float) for name in STORED_SERIES.values()}
        # One float block in STORED_SERIES' order: each line read off its array, not looked up in the frame.
        values = stored.to_numpy(dtype=float)
        return {
            name: _present(values[:, at], stored.index, name)
            for at, name in enumerate(STORED_SERIES.values())
        }
    frame = company_data.combined(symbol, frequency)
    return {
        name: field(frame, name).dropna() if not frame.empty else pd.Series(dtype=float)
        for name in SERIES
        if name != "price"
    }


def _present(values: np.ndarray, dates: pd.Index, name: str) -> pd.Series:
    """`pd.Series(values, dates, name=name).dropna()` of float values, on the arrays (three lines a request)."""
    kept = ~np.isnan(values)
    return pd.Series(values[kept], index=dates[kept], name=name)


def run(symbol: str, series: str, frequency: str, method: str) -> tuple[pd.Series, fc.Forecast]:
    def build() -> tuple[pd.Series, fc.Forecast]:
        if series == "price":
            months = month_end_closes(symbol)
            return months, fc.forecast_price(months, method=how, resampled=True)
        values = history(symbol, series, frequency)
        horizon, holdout = (5, 3) if frequency == "FY" else (8, 4)
        return values, fc.forecast(values, method=how, horizon=horizon, holdout=holdout)

    how: Literal["ets", "loglinear"] = "loglinear" if method == "loglinear" else "ets"
    # The price forecast runs on month-end closes whatever the frequency: one answer for both.
    asked = "" if series == "price" else frequency
    return services().cache.cached("forecast", (symbol, series, asked, method), build)


def month_end_closes(symbol: str) -> pd.Series:
    """Month-end closes, cached once per symbol for both methods (price ignores the frequency)."""
    return services().cache.cached("forecast-monthly", (symbol,), lambda: _monthly(symbol))


def _monthly(symbol: str) -> pd.Series:
    # Each month's last close (~120 rows) instead of the full daily history (~2,500 rows, 7 columns):
    # stored by the engine's refresh (docs/serving.md), else picked by the database per request.
    router = services().router
    if serving_state.usable(serving_state.MONTH_END_CLOSES):
        values = queries.stored_month_end_closes(router, symbol)
    else:
        values = queries.month_end_closes(router, symbol)
    return fc.monthly(values) if not values.empty else values


@callback(
    Output("forecast-graph", "figure"),
    Output("forecast-backtest", "children"),
    Output("forecast-table", "children"),
    Output("forecast-export-series", "href"),
    Output("forecast-export-series-trail", "href"),
    Input("forecast-symbol", "value"),
    Input("forecast-series", "value"),
    Input("forecast-frequency", "value"),
    Input("forecast-method", "value"),
)
def forecast_update(
    symbol: str | None, series: str, frequency: str, method: str
) -> tuple[Any, Any, Any, str, str]:
    try:
        symbol = valid_symbol(symbol)
        series = valid_choice(series, tuple(SERIES), name="series")
        frequency = valid_choice(frequency, tuple(FREQUENCIES), name="frequency")
        method = valid_choice(method, tuple(METHODS), name="method")
        values, result = run(symbol, series, frequency, method)
    except FAILURES as exc:  # one message, under the chart's place
        return charts.blank_figure(), states.error(str(exc)), None, "#", "#"
    params = {"symbol": symbol, "series": series, "frequency": frequency, "method": method}
    href, trail_href = (
        export_href("forecast", "series", params),
        export_href("forecast", "series-trail", params),
    )
    if not result.ok or result.forecast is None:
        # The history still drawn, and one message that says what to try instead.
        note = f"No forecast for {SERIES[series].lower()} of {symbol}: {result.message}."
        if method != "ets":
            note += f" Try {METHODS['ets']}, which takes negative values."
        figure = (
            charts.lines(values.rename("history").to_frame(), f"{symbol} · {SERIES[series]} (history)")
            if not values.empty
            else charts.blank_figure()
        )
        return figure, states.empty(note, id_="forecast-empty"), None, "#", "#"
    title = f"{symbol} · {SERIES[series]} · {METHODS[method]}"
    if series == "price":
        scale, unit, kind = 1.0, "USD", "usd"
    else:
        scale, unit = formats.scale_for([*values.tolist(), *result.forecast["mean"].tolist()])
        kind = "usd_bn" if unit == "USD bn" else "usd_m"
    annual = series != "price" and frequency == "FY"
    figure = charts.band(result.forecast, values, title, scale=scale, unit=unit, fiscal_years=annual)
    bt = result.backtest
    backtest = (
        dbc.Alert(
            [
                html.B("Holdout backtest: "),
                html.Span([glossary.term("MAPE", "mape"), f" {bt.mape:.1%}"], id="forecast-mape"),
                f" (mean absolute percentage error) refitting without the last {bt.holdout} periods; the 80% "
                f"interval held {bt.coverage_80:.0%} of them, the 95% interval {bt.coverage_95:.0%}.",
            ],
            color="info",
        )
        if bt is not None
        else states.empty(result.message)
    )
    table = result.forecast.rename_axis("period_end").reset_index()
    columns = {
        "period_end": Col("Period end"),
        "mean": Col(f"Forecast ({unit})", kind),
        "lower_80": Col(f"80% low ({unit})", kind),
        "upper_80": Col(f"80% high ({unit})", kind),
        "lower_95": Col(f"95% low ({unit})", kind),
        "upper_95": Col(f"95% high ({unit})", kind),
    }
    return figure, backtest, tables.grid("forecast-grid", table, columns=columns), href, trail_href


@callback(
    Output("forecast-provenance", "children"),
    Input("forecast-graph", "clickData"),
    Input("forecast-symbol", "value"),
    Input("forecast-series", "value"),
    Input("forecast-frequency", "value"),
    Input("forecast-method", "value"),
)
def forecast_provenance(
    clicked: Mapping[str, Any] | None, symbol: str | None, series: str, frequency: str, method: str
) -> Any:
    """A click on a point: a history point's stored value and its trail, or the model behind a forecast
    (another choice closes it)."""
    points = clicked.get("points") if isinstance(clicked, Mapping) else None
    if dash.ctx.triggered_id != "forecast-graph" or not isinstance(points, list) or not points:
        return None
    point = points[0] if isinstance(points[0], Mapping) else {}
    try:
        symbol = valid_symbol(symbol)
        series = valid_choice(series, tuple(SERIES), name="series")
        frequency = valid_choice(frequency, tuple(FREQUENCIES), name="frequency")
        method = valid_choice(method, tuple(METHODS), name="method")
        index = int(
            valid_number(point.get("pointIndex", point.get("pointNumber")), low=0, high=1e6, name="point")
        )
        curve = int(valid_number(point.get("curveNumber", 0), low=0, high=100, name="trace"))
        values, result = run(symbol, series, frequency, method)
        if curve == 0:
            if index >= len(values):
                return None
            return forecast_trails.history_card(
                symbol, series, frequency, pd.Timestamp(values.index[index]), float(values.iloc[index])
            )
        if result.forecast is None or index >= len(result.forecast):
            return None
        mape = result.backtest.mape if result.backtest is not None else None
        return forecast_trails.forecast_card(
            symbol,
            SERIES[series].lower(),
            METHODS[method],
            values,
            pd.Timestamp(result.forecast.index[index]),
            result.forecast.iloc[index],
            mape,
        )
    except FAILURES as exc:
        return states.error(str(exc))


def _choices(args: Mapping[str, str]) -> tuple[str, str, str, str]:
    """An export's company, series, frequency and method."""
    return (
        valid_symbol(args.get("symbol")),
        valid_choice(args.get("series"), tuple(SERIES), name="series"),
        valid_choice(args.get("frequency"), tuple(FREQUENCIES), name="frequency"),
        valid_choice(args.get("method"), tuple(METHODS), name="method"),
    )


@register_export("forecast", "series-trail")
def export_series_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The series CSV with each row's trail (`forecast_trails.series_trail`)."""
    symbol, series, frequency, method = _choices(args)
    return forecast_trails.series_trail(symbol, series, frequency, export_series(args), METHODS[method])


@register_export("forecast", "series")
def export_series(args: Mapping[str, str]) -> pd.DataFrame:
    symbol, series, frequency, method = _choices(args)
    values, result = run(symbol, series, frequency, method)
    history_frame = values.rename("actual").to_frame()
    return (
        pd.concat([history_frame, result.forecast], axis=0) if result.forecast is not None else history_frame
    )
