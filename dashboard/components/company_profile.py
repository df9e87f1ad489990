"""The Company page's profile card and freshness table."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from dashboard.components import (
    company_data,
    formats,
    states,
    tables,
)
from dashboard.data import queries
from dashboard.services import services

FRESHNESS_COLUMNS = {
    "dataset": formats.Col("Dataset"),
    "latest": formats.Col("Latest period"),
    "changed": formats.Col("Last changed"),
    "rows": formats.Col("Rows", "int"),
}


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
