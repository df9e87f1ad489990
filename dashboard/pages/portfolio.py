"""Portfolio: tickers + weights → statistics, drawdown, correlation heatmap, optimised weights, frontier."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, dcc, html
from dash.development.base_component import Component

from dashboard.analytics import portfolio
from dashboard.components import charts, company_data, states, tables, urlstate
from dashboard.components.export import export_href, register_export
from dashboard.components.formats import Col
from dashboard.components.inputs import InvalidInput, bounded_text, valid_number, valid_symbol
from dashboard.components.page import FAILURES, UNREACHABLE, frame, heading
from dashboard.components.picker import picker
from dashboard.services import services

dash.register_page(__name__, path="/portfolio", name="Portfolio", order=4, title="Portfolio · MyCFATool")

ENTRY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9.\-]{0,9})\s*[:=]\s*([0-9]*\.?[0-9]+)\s*$")
DEFAULT = "AAPL:0.4, MSFT:0.3, JNJ:0.3"
# Statistic units: the CSV keeps raw values with this unit column; the table formats by it.
UNIT_KINDS = {"fraction": "pct", "fraction (daily)": "pct2", "ratio": "num2", "trading days": "int"}
STATS_COLUMNS = {"statistic": Col("Statistic"), "value": Col("Value")}
WEIGHT_COLUMNS = {
    "symbol": Col("Ticker"),
    "chosen": Col("Chosen (normalised)", "pct"),
    "min_volatility": Col("Minimum volatility", "pct"),
    "max_sharpe": Col("Maximum Sharpe", "pct"),
    "hrp": Col("Hierarchical risk parity", "pct"),
}
# Correlation: a diverging scale centred on 0 (red negative, white none, blue positive), fixed at -1..1.
CORRELATION_SCALE = [
    [0.0, "#b2182b"],
    [0.25, "#ef8a62"],
    [0.5, "#f7f7f7"],
    [0.75, "#67a9cf"],
    [1.0, "#2166ac"],
]


URL = urlstate.page_state(
    "/portfolio",
    "portfolio",
    urlstate.Param("holdings", "portfolio-holdings", kind="text", default=DEFAULT),
    urlstate.Param(
        "rf", "portfolio-rf", kind="number", default=4.0, low=0.0, high=20.0, label="risk-free rate"
    ),
)


def default_holdings() -> str:
    """The default mix when its companies have prices here, else the three largest with prices, equal."""
    try:
        data = picker()
    except UNREACHABLE:
        return DEFAULT
    named = [part.split(":")[0].strip() for part in DEFAULT.split(",")]
    if all(n in data.with_data for n in named) or len(data.with_data) < 2:
        return DEFAULT
    chosen = [s for s in data.defaults(3) if s in data.with_data]
    return ", ".join(f"{s}:{1 / len(chosen):.4g}" for s in chosen)


def layout(**query: Any) -> Component:
    state = URL.read(query)
    holdings = state["holdings"] if "holdings" in query and state["holdings"] else default_holdings()
    return frame(
        "Portfolio",
        URL,
        state,
        html.Div(
            [
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(
                                    "Holdings (TICKER:weight, comma separated)", html_for="portfolio-holdings"
                                ),
                                dbc.Input(id="portfolio-holdings", value=holdings, debounce=True),
                            ],
                            md=6,
                        ),
                        dbc.Col(
                            [
                                dbc.Label("Risk-free rate (%)", html_for="portfolio-rf"),
                                dbc.Input(
                                    id="portfolio-rf",
                                    type="number",
                                    value=state["rf"],
                                    min=0,
                                    max=20,
                                    step="any",
                                    debounce=True,
                                ),
                            ],
                            md=2,
                        ),
                        dbc.Col(
                            dbc.Button("Analyse", id="portfolio-run", color="primary", className="mt-4"), md=2
                        ),
                    ],
                    className="mb-3",
                ),
                html.Div(id="portfolio-note"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                heading("Statistics", "portfolio", "stats"),
                                states.loading(html.Div(id="portfolio-stats"), "portfolio-stats"),
                            ],
                            md=5,
                        ),
                        dbc.Col(
                            [
                                heading("Drawdown", "portfolio", "drawdown"),
                                states.loading(
                                    dcc.Graph(id="portfolio-drawdown-graph"), "portfolio-drawdown"
                                ),
                            ],
                            md=7,
                        ),
                    ],
                    className="mb-3",
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                heading("Correlation", "portfolio", "correlation"),
                                dcc.Graph(id="portfolio-correlation-graph", config={"displaylogo": False}),
                            ],
                            md=5,
                        ),
                        dbc.Col(
                            [
                                heading("Efficient frontier", "portfolio", "frontier"),
                                dcc.Graph(id="portfolio-frontier-graph", config={"displaylogo": False}),
                            ],
                            md=7,
                        ),
                    ]
                ),
                heading("Optimised weights", "portfolio", "weights"),
                html.Div(id="portfolio-weights"),
            ]
        ),
    )


def parse_holdings(text: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in bounded_text(text, name="holdings").split(","):
        if not part.strip():
            continue
        match = ENTRY.match(part)
        if not match:
            raise InvalidInput(f"cannot read {part.strip()!r}: write TICKER:weight")
        weights[valid_symbol(match.group(1))] = valid_number(match.group(2), low=0.0, high=1e6, name="weight")
    if not 2 <= len(weights) <= 20:
        raise InvalidInput("a portfolio needs 2 to 20 holdings")
    return weights


def analyse(weights: dict[str, float], rf: float) -> portfolio.Report:
    svc = services()

    def build() -> portfolio.Report:
        return portfolio.report(company_data.adjusted_closes(list(weights)), weights, risk_free=rf)

    return svc.cache.cached("portfolio", (tuple(sorted(weights.items())), rf), build)


@callback(
    Output("portfolio-stats", "children"),
    Output("portfolio-drawdown-graph", "figure"),
    Output("portfolio-correlation-graph", "figure"),
    Output("portfolio-frontier-graph", "figure"),
    Output("portfolio-weights", "children"),
    Output("portfolio-note", "children"),
    *[
        Output(f"portfolio-export-{name}", "href")
        for name in ("stats", "drawdown", "correlation", "frontier", "weights")
    ],
    Input("portfolio-run", "n_clicks"),
    Input("portfolio-holdings", "value"),
    State("portfolio-rf", "value"),
)
def portfolio_update(_: int | None, holdings: str, rf: Any) -> tuple[Any, ...]:
    try:
        weights = parse_holdings(holdings)
        rate = valid_number(rf, low=0.0, high=20.0, name="risk-free rate") / 100
        result = analyse(weights, rate)
    except FAILURES as exc:  # one message, in the statistics' place; the charts stay empty
        blank = charts.blank_figure()
        return (states.error(str(exc)), blank, blank, blank, None, None, *["#"] * 5)
    frontier = result.frontier
    frontier_fig = (
        charts.scatter(
            frontier,
            "volatility",
            "expected_return",
            "Efficient frontier (annualised, from daily returns)",
            x_title="Volatility",
            y_title="Expected return",
            percent=True,
        )
        if not frontier.empty
        else charts.empty_figure("No frontier for these holdings.")
    )
    corr = result.correlation
    params = {"holdings": holdings, "rf": str(rf)}
    hrefs = [
        export_href("portfolio", name, params)
        for name in ("stats", "drawdown", "correlation", "frontier", "weights")
    ]
    return (
        stats_grid(result.stats),
        charts.lines(
            result.drawdown,
            "Drawdown from the running peak",
            percent=True,
            yaxis="Drawdown",
            names={"drawdown": "drawdown"},
        ),
        charts.heatmap(
            corr.where(np.isfinite(corr)),
            "Correlation of daily returns",
            colorscale=CORRELATION_SCALE,
            zmin=-1.0,
            zmax=1.0,
            zmid=0.0,
            value_title="Correlation",
            height=380,
        ),
        frontier_fig,
        tables.grid("portfolio-weights-grid", result.weights, columns=WEIGHT_COLUMNS),
        dbc.Alert(f"Common window: {result.note}", color="light", id="portfolio-window"),
        *hrefs,
    )


def stats_grid(stats: pd.DataFrame) -> Any:
    shown = stats.assign(kind=[UNIT_KINDS[u] for u in stats["unit"]])
    return tables.grid(
        "portfolio-stats-grid", shown, columns=STATS_COLUMNS, row_kind="kind", hidden=("unit",)
    )


def _export(name: str) -> Any:
    def export(args: Mapping[str, str]) -> pd.DataFrame:
        rate = valid_number(args.get("rf"), low=0.0, high=20.0, name="risk-free rate") / 100
        frame: pd.DataFrame = getattr(analyse(parse_holdings(args.get("holdings", "")), rate), name)
        return frame

    return register_export("portfolio", name)(export)


for _name in ("stats", "drawdown", "correlation", "frontier", "weights"):
    _export(_name)
