"""Screener: the universe filtered by sector and metric bounds, ranked, exportable to CSV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, dcc, html
from dash.development.base_component import Component

from dashboard.analytics import screener
from dashboard.components import formats, serving_state, states, tables, universe_data, urlstate
from dashboard.components.export import export_href, export_link, register_export
from dashboard.components.inputs import bounded_list, group, universe, valid_choice, valid_number
from dashboard.components.page import FAILURES, UNREACHABLE, UNREACHABLE_MESSAGE, frame
from dashboard.services import services

dash.register_page(__name__, path="/screener", name="Screener", order=5, title="Screener · MyCFATool")

METRICS = {
    "pe": "P/E",
    "ev_ebitda": "EV/EBITDA (CFA EV)",
    "pb": "P/B",
    "roe": "ROE",
    "roic": "ROIC (textbook)",
    "roic_fmp": "ROIC (FMP definition)",
    "net_margin": "Net margin",
    "gross_margin": "Gross margin",
    "debt_to_equity": "Debt/equity",
    "current_ratio": "Current ratio",
    "revenue_growth": "Revenue growth",
    "f_score": "Piotroski F",
    "altman_z": "Altman Z (Z or Z'', by sector)",
    "market_cap": "Market cap",
}
# Bounds are typed in the units the table shows (ROE 15 means 15%, market cap 100 means USD 100 bn).
INPUT_SCALE = {"pct": 0.01, "usd_bn": 1e9}


def metric_label(metric: str) -> str:
    kind = formats.METRICS[metric].kind if metric in formats.METRICS else "num2"
    unit = {"pct": "%", "usd_bn": "USD bn"}.get(kind)
    return f"{METRICS[metric]} ({unit})" if unit else METRICS[metric]


def to_raw(metric: str, value: float) -> float:
    """A bound as typed (display units) → the stored fraction or amount the table holds."""
    kind = formats.METRICS[metric].kind if metric in formats.METRICS else "num2"
    return value * INPUT_SCALE.get(kind, 1.0)


SHOWN = [
    *universe_data.LEADING_COLUMNS,
    "roe",
    "roic",
    "net_margin",
    "debt_to_equity",
    "revenue_growth",
    "f_score",
    "altman_z",
    "altman_model",
]


URL = urlstate.page_state(
    "/screener",
    "screener",
    urlstate.Param("sectors", "screener-sectors", kind="list", default=[]),
    urlstate.Param("metric", "screener-metric", default="roe", choices=tuple(METRICS), label="filter on"),
    urlstate.Param("min", "screener-min", kind="number"),
    urlstate.Param("max", "screener-max", kind="number"),
    urlstate.Param("sort", "screener-sort", default="market_cap", choices=tuple(METRICS), label="rank by"),
    urlstate.Param("order", "screener-order", default="desc", choices=("desc", "asc")),
)


def layout(**query: Any) -> Component:
    try:
        sectors = sorted(s for s in universe()["sector"].dropna().unique())
    except UNREACHABLE:
        return states.error(UNREACHABLE_MESSAGE)
    state = URL.read(query)
    unknown = [s for s in state["sectors"] if s not in sectors]
    if unknown:
        state.notes.append(f"sectors: ignored {', '.join(repr(u) for u in unknown[:5])}.")
    metric_options = [{"label": metric_label(k), "value": k} for k in METRICS]
    return frame(
        "Screener",
        URL,
        state,
        html.Div(
            [
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label("Sectors", html_for="screener-sectors"),
                                dcc.Dropdown(
                                    id="screener-sectors",
                                    options=sectors,
                                    value=[s for s in state["sectors"] if s in sectors],
                                    multi=True,
                                    placeholder="all sectors",
                                ),
                            ],
                            md=3,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Filter on", html_for="screener-metric"),
                                dcc.Dropdown(
                                    id="screener-metric",
                                    options=metric_options,
                                    value=state["metric"],
                                    clearable=False,
                                ),
                            ],
                            md=3,
                        ),
                        bound_column("min", state["min"]),
                        bound_column("max", state["max"]),
                        dbc.Col(
                            [
                                dbc.Label("Rank by", html_for="screener-sort"),
                                dcc.Dropdown(
                                    id="screener-sort",
                                    options=metric_options,
                                    value=state["sort"],
                                    clearable=False,
                                ),
                            ],
                            md=2,
                        ),
                        dbc.Col(
                            group(
                                "Order",
                                dbc.RadioItems(
                                    id="screener-order",
                                    options=[
                                        {"label": "high first", "value": "desc"},
                                        {"label": "low first", "value": "asc"},
                                    ],
                                    value=state["order"],
                                ),
                            ),
                            md=2,
                        ),
                    ],
                    className="mb-2",
                ),
                html.Div(
                    [html.Span(id="screener-count", className="me-2"), export_link("screener", "results")]
                ),
                states.loading(html.Div(id="screener-results"), "screener-results"),
            ]
        ),
    )


def bound_column(name: str, value: Any) -> dbc.Col:
    """The Min or Max input of the filter, in the units the table shows."""
    ident = f"screener-{name}"
    return dbc.Col(
        [
            dbc.Label(name.capitalize(), html_for=ident),
            dbc.Input(id=ident, type="number", value=value, debounce=True, placeholder="none"),
        ],
        md=1,
    )


def run(args: Mapping[str, Any]) -> pd.DataFrame:
    table = universe_data.metrics()
    if table.empty:
        return table
    known = sorted(table["sector"].dropna().unique())
    sectors = [
        valid_choice(s, known, name="sector") for s in bounded_list(args.get("sectors"), name="sectors")
    ]
    metric = valid_choice(args.get("metric"), tuple(METRICS), name="metric")
    filters = []
    if args.get("low") not in (None, ""):
        filters.append(
            screener.Filter(
                metric, ">=", to_raw(metric, valid_number(args["low"], low=-1e15, high=1e15, name="min"))
            )
        )
    if args.get("high") not in (None, ""):
        filters.append(
            screener.Filter(
                metric, "<=", to_raw(metric, valid_number(args["high"], low=-1e15, high=1e15, name="max"))
            )
        )
    sort = valid_choice(args.get("sort"), tuple(METRICS), name="rank by")
    order = valid_choice(args.get("order"), ("asc", "desc"), name="order")
    out = screener.screen(
        table, filters=filters, sectors=sectors or None, sort_by=sort, ascending=order == "asc"
    )
    return out[[c for c in SHOWN if c in out.columns]].reset_index()


@callback(
    Output("screener-results", "children"),
    Output("screener-count", "children"),
    Output("screener-export-results", "href"),
    Input("screener-sectors", "value"),
    Input("screener-metric", "value"),
    Input("screener-min", "value"),
    Input("screener-max", "value"),
    Input("screener-sort", "value"),
    Input("screener-order", "value"),
)
def screener_update(
    sectors: list[str] | None, metric: str, low: Any, high: Any, sort: str, order: str
) -> tuple[Any, Any, str]:
    args = {
        "sectors": sectors or [],
        "metric": metric,
        "low": low,
        "high": high,
        "sort": sort,
        "order": order,
    }
    try:
        view = services().cache.cached(
            "screener-view",
            (tuple(args["sectors"]), metric, low, high, sort, order),
            lambda: _view(run(args)),
        )
    except FAILURES as exc:
        return states.error(str(exc)), "", "#"
    params = {
        "sectors": ",".join(args["sectors"]),
        "metric": metric,
        "low": "" if low is None else str(low),
        "high": "" if high is None else str(high),
        "sort": sort,
        "order": order,
    }
    return (*view, export_href("screener", "results", params))


def _view(result: pd.DataFrame) -> tuple[Any, str]:
    """The results grid and the count: the same for every analyst asking the same question, so it is
    cached per inputs and data version (the grid of 500 companies is most of a request's CPU)."""
    # A failed refresh leaves the last good rows: the page answers from them and says as of when.
    note = serving_state.stale_note(serving_state.SCREENER_ROWS)
    suffix = f" ({note})" if note else ""
    if result.empty:
        return states.empty("No company passes these filters.", id_="screener-empty"), "0 companies" + suffix
    return (
        tables.grid("screener-grid", result, height=560),
        f"{len(result)} {'company' if len(result) == 1 else 'companies'}{suffix}",
    )


@register_export("screener", "results")
def export_results(args: Mapping[str, str]) -> pd.DataFrame:
    values = dict(args)
    return run({**values, "sectors": [s for s in values.get("sectors", "").split(",") if s]})
