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

from dashboard.analytics import optimize, portfolio
from dashboard.analytics.errors import AnalyticsError
from dashboard.components import charts, states, tables
from dashboard.components.export import export_href, export_link, register_export
from dashboard.components.formats import Col
from dashboard.components.inputs import InvalidInput, valid_number, valid_symbol
from dashboard.data import queries
from dashboard.data.router import NoNodeAvailable, QueryFailed
from dashboard.services import services

dash.register_page(__name__, path="/portfolio", name="Portfolio", order=4, title="Portfolio · MyCFATool")

FAILURES = (InvalidInput, NoNodeAvailable, QueryFailed, AnalyticsError)
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


def layout(**_: Any) -> html.Div:
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(
                                "Holdings (TICKER:weight, comma separated)", html_for="portfolio-holdings"
                            ),
                            dbc.Input(id="portfolio-holdings", value=DEFAULT, debounce=True),
                        ],
                        md=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Risk-free rate (%)", html_for="portfolio-rf"),
                            dbc.Input(
                                id="portfolio-rf",
                                type="number",
                                value=4.0,
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
                            html.Div(
                                [
                                    html.H5("Statistics", className="d-inline"),
                                    export_link("portfolio", "stats"),
                                ]
                            ),
                            states.loading(html.Div(id="portfolio-stats"), "portfolio-stats"),
                        ],
                        md=5,
                    ),
                    dbc.Col(
                        [
                            html.Div(
                                [
                                    html.H5("Drawdown", className="d-inline"),
                                    export_link("portfolio", "drawdown"),
                                ]
                            ),
                            states.loading(dcc.Graph(id="portfolio-drawdown-graph"), "portfolio-drawdown"),
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
                            html.Div(
                                [
                                    html.H5("Correlation", className="d-inline"),
                                    export_link("portfolio", "correlation"),
                                ]
                            ),
                            dcc.Graph(id="portfolio-correlation-graph"),
                        ],
                        md=5,
                    ),
                    dbc.Col(
                        [
                            html.Div(
                                [
                                    html.H5("Efficient frontier", className="d-inline"),
                                    export_link("portfolio", "frontier"),
                                ]
                            ),
                            dcc.Graph(id="portfolio-frontier-graph"),
                        ],
                        md=7,
                    ),
                ]
            ),
            html.Div(
                [html.H5("Optimised weights", className="d-inline"), export_link("portfolio", "weights")]
            ),
            html.Div(id="portfolio-weights"),
        ]
    )


def parse_holdings(text: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        match = ENTRY.match(part)
        if not match:
            raise InvalidInput(f"cannot read {part.strip()!r}: write TICKER:weight")
        weights[valid_symbol(match.group(1))] = valid_number(match.group(2), low=0.0, high=1e6, name="weight")
    if not 2 <= len(weights) <= 20:
        raise InvalidInput("a portfolio needs 2 to 20 holdings")
    return weights


def analyse(weights: dict[str, float], rf: float) -> dict[str, Any]:
    svc = services()

    def build() -> dict[str, Any]:
        wide = queries.adjusted_closes(svc.router, list(weights))
        aligned, alignment = portfolio.align_prices(wide)
        returns = portfolio.portfolio_returns(aligned, weights)
        perf = portfolio.performance(returns, risk_free=rf)
        # From the first common date (wealth 1 before the first return), as the Max drawdown statistic.
        drawdown = portfolio.drawdown_series(returns, aligned.index[0]).to_frame()
        optimised: dict[str, dict[str, Any]] = {}
        for objective in ("min_volatility", "max_sharpe", "hrp"):
            try:
                optimised[objective] = dict(optimize.optimize(aligned, objective, risk_free=rf).weights)
            except AnalyticsError as exc:
                optimised[objective] = {"error": str(exc)}
        try:
            frontier = optimize.efficient_frontier(aligned, points=15, risk_free=rf)
        except AnalyticsError:
            frontier = pd.DataFrame()
        stats = pd.DataFrame(
            {
                "statistic": [
                    "Cumulative return",
                    "Annualised return",
                    "Annualised volatility",
                    "Sharpe",
                    "Sortino",
                    "Max drawdown",
                    "Calmar",
                    "VaR 95% (daily, hist.)",
                    "CVaR 95% (daily, hist.)",
                    "Observations",
                ],
                "value": [
                    perf.cumulative_return,
                    perf.annualized_return,
                    perf.annualized_volatility,
                    perf.sharpe,
                    perf.sortino,
                    perf.max_drawdown.depth,
                    perf.calmar,
                    perf.var_historical,
                    perf.cvar_historical,
                    float(perf.observations),
                ],
                "unit": ["fraction"] * 3
                + ["ratio"] * 2
                + ["fraction", "ratio", "fraction (daily)", "fraction (daily)", "trading days"],
            }
        )
        weights_table = pd.DataFrame({k: v for k, v in optimised.items() if "error" not in v}).fillna(0.0)
        weights_table.insert(0, "chosen", pd.Series(portfolio.normalise_weights(weights, aligned.columns)))
        return {
            "stats": stats,
            "drawdown": drawdown,
            "correlation": portfolio.correlation_matrix(aligned),
            "frontier": frontier,
            "weights": weights_table.rename_axis("symbol").reset_index(),
            "note": alignment.message,
        }

    return svc.cached("portfolio", (tuple(sorted(weights.items())), rf), build)


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
    except FAILURES as exc:
        empty = charts.empty_figure(str(exc))
        return (states.error(str(exc)), empty, empty, empty, None, None, *["#"] * 5)
    frontier = result["frontier"]
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
    corr = result["correlation"]
    params = {"holdings": holdings, "rf": str(rf)}
    hrefs = [
        export_href("portfolio", name, params)
        for name in ("stats", "drawdown", "correlation", "frontier", "weights")
    ]
    return (
        stats_grid(result["stats"]),
        charts.lines(
            result["drawdown"],
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
        tables.grid("portfolio-weights-grid", result["weights"], columns=WEIGHT_COLUMNS),
        dbc.Alert(f"Common window: {result['note']}", color="light", id="portfolio-window"),
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
        frame: pd.DataFrame = analyse(parse_holdings(args.get("holdings", "")), rate)[name]
        return frame

    return register_export("portfolio", name)(export)


for _name in ("stats", "drawdown", "correlation", "frontier", "weights"):
    _export(_name)
