"""Where a Forecast point comes from: a history point is a stored statement value (its provenance card:
filing, run, endpoint, revisions) or a month's last close (its fetch); a forecast point is model output,
and its card says which model and which history it was fitted on. The same trail as the series CSV's
`provenance_*` columns (docs/dashboard.md, "Point in time")."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import html

from dashboard.components import point_in_time, price_trails, trails

ID = "forecast-provenance"
KIND = {"revenue": "income", "netIncome": "income", "freeCashFlow": "cashflow"}  # the statement of a series


def history_card(symbol: str, series: str, frequency: str, day: pd.Timestamp, value: Any) -> Any:
    """The trail of one history point: the statement value's provenance card, or the month's close's."""
    if series == "price":
        return trails.figure_card(
            symbol,
            f"Where {symbol}'s month-end close of {day:%Y-%m} ({value:,.2f} USD) comes from"
            if isinstance(value, int | float)
            else f"Where {symbol}'s month-end close of {day:%Y-%m} comes from",
            id_=ID,
            formula="the month's last dividend-adjusted close (the traded close where FMP gave no adjusted one)",
            close=f"{day:%Y-%m-%d}",
        )
    return point_in_time.provenance_card(
        symbol, frequency, KIND[series], series, f"{day:%Y-%m-%d}", None, "restated", value, None, id_=ID
    )


def forecast_card(
    symbol: str,
    label: str,
    method: str,
    history: pd.Series,
    day: pd.Timestamp,
    row: pd.Series,
    mape: float | None,
) -> Any:
    """A forecast point: model output, from which model, fitted on which history points."""
    bounds = (
        f"80% interval {row['lower_80']:,.4g} to {row['upper_80']:,.4g}, 95% {row['lower_95']:,.4g} to"
        f" {row['upper_95']:,.4g}"
        if {"lower_80", "upper_80", "lower_95", "upper_95"} <= set(row.index)
        else "no interval"
    )
    items = [
        html.Li(
            [
                html.B("Model output: "),
                f"{method}, fitted on the {len(history)} history points the chart draws, {history.index[0]:%Y-%m-%d}"
                f" to {history.index[-1]:%Y-%m-%d} (click one for its own trail)",
            ],
            id=f"{ID}-model",
        ),
        html.Li([html.B("Point forecast: "), f"{row['mean']:,.6g}; {bounds}"]),
        html.Li(
            [
                html.B("Holdout check: "),
                f"MAPE {mape:.1%} refitting without the last periods" if mape is not None else "none",
            ]
        ),
        html.Li(
            [
                html.B("Stored: "),
                "no: computed on request from the history above; no run, filing or endpoint of its own.",
            ]
        ),
    ]
    return point_in_time.card(f"{symbol}'s {label} forecast for {day:%Y-%m-%d}: model output", items, ID)


def series_trail(symbol: str, series: str, frequency: str, frame: pd.DataFrame, method: str) -> pd.DataFrame:
    """The series CSV (`actual` history rows, then forecast rows) with each row's trail: a statement
    value's `provenance_figures/_filing_date/_in_store_since/_run_id/_endpoint` (as the Company page's
    statement CSV), a close's `provenance_run_id/_job/_fetched_at/_endpoint` (as its price CSV), and for
    a forecast row `provenance_figures` "model output (...)"."""
    actual = frame["actual"].notna().to_numpy() if "actual" in frame.columns else [False] * len(frame)
    held = frame.index[actual]
    model = f"model output ({method}, fitted on the actual rows)"
    if series == "price":
        trail = price_trails.price_trail(symbol, pd.DatetimeIndex(held)).set_axis(held, axis=0)
        out = frame.join(trail)
        return out.assign(provenance_figures=[None if a else model for a in actual])
    period = "FY" if frequency == "FY" else "Q"
    kind = KIND[series]
    columns = trails.trail_columns(
        trails.statement_trail(symbol, None, "restated", None, period),
        {kind: pd.DatetimeIndex(held)},
        symbol,
        period,
    ).set_axis(held, axis=0)
    columns.columns = [c.replace(f"provenance_{kind}_", "provenance_") for c in columns.columns]
    out = frame.join(columns)
    out["provenance_figures"] = [
        f if a else model for f, a in zip(out["provenance_figures"], actual, strict=True)
    ]
    return out
