"""Portfolio: tickers + weights → statistics, drawdown, correlation heatmap, optimised weights, frontier."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.development.base_component import Component

from dashboard.analytics import evaluate, portfolio
from dashboard.components import charts, company_data, holdings, serving_state, states, tables, urlstate
from dashboard.components.export import export_href, register_export
from dashboard.components.formats import Col
from dashboard.components.inputs import group, valid_choice, valid_number
from dashboard.components.page import FAILURES, UNREACHABLE, frame, heading
from dashboard.components.picker import picker
from dashboard.data import queries
from dashboard.services import services

dash.register_page(__name__, path="/portfolio", name="Portfolio", order=4, title="Portfolio · MyCFATool")

DEFAULT = "AAPL:0.4, MSFT:0.3, JNJ:0.3"
WINDOWS = {"1Y": 1, "3Y": 3, "5Y": 5, "10Y": 10, "MAX": None}
BENCHMARKS = {
    "sp500": "S&P 500 (cap weight)",
    "sp500_equal": "S&P 500 (equal weight)",
    "equal": "Equal weight of these holdings",
    "none": "None",
}
# The stored series (schema 181, serving/benchmark.py) behind each S&P 500 choice.
STORED_BENCHMARKS = {"sp500": "sp500_cap", "sp500_equal": "sp500_equal"}
OPTIMISERS = {"min_volatility": "Minimum volatility", "max_sharpe": "Maximum Sharpe", "hrp": "HRP"}
CHOSEN = "Chosen"
BENCHMARK_NAMES = {
    "sp500": "S&P 500 (cap weight)",
    "sp500_equal": "S&P 500 (equal weight)",
    "equal": "Benchmark (equal weight)",
}
EXPORTS = ("stats", "drawdown", "correlation", "frontier", "weights", "compare", "growth")
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
    urlstate.Param(
        "window", "portfolio-window-choice", default="MAX", choices=tuple(WINDOWS), label="window"
    ),
    urlstate.Param("benchmark", "portfolio-benchmark", default="sp500", choices=tuple(BENCHMARKS)),
    urlstate.Param("shorts", "portfolio-shorts", kind="choices", default=[], choices=("shorts",)),
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
    holdings_text = state["holdings"] if "holdings" in query and state["holdings"] else default_holdings()
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
                                    "Holdings (paste from Excel, or TICKER weight; 50% or 0.5; no weights:"
                                    " equal weight; up to 100)",
                                    html_for="portfolio-holdings",
                                ),
                                dbc.Textarea(
                                    id="portfolio-holdings", value=holdings_text, debounce=True, rows=3
                                ),
                                html.Div(id="portfolio-holdings-feedback", className="small", role="status"),
                            ],
                            md=5,
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
                                dbc.Checklist(
                                    id="portfolio-shorts",
                                    options=[{"label": "allow short positions", "value": "shorts"}],
                                    value=state["shorts"],
                                    className="mt-2 small",
                                ),
                            ],
                            md=2,
                        ),
                        dbc.Col(
                            [
                                group(
                                    "Window",
                                    dbc.RadioItems(
                                        id="portfolio-window-choice",
                                        options=[{"label": k, "value": k} for k in WINDOWS],
                                        value=state["window"],
                                        inline=True,
                                    ),
                                ),
                                group(
                                    "Benchmark",
                                    dbc.RadioItems(
                                        id="portfolio-benchmark",
                                        options=[{"label": v, "value": k} for k, v in BENCHMARKS.items()],
                                        value=state["benchmark"],
                                    ),
                                ),
                            ],
                            md=3,
                        ),
                        dbc.Col(
                            dbc.Button("Analyse", id="portfolio-run", color="primary", className="mt-4"), md=2
                        ),
                    ],
                    className="mb-3",
                ),
                html.Div(id="portfolio-note"),
                heading("Chosen mix beside the optimised portfolios", "portfolio", "compare"),
                html.Div(
                    [
                        dbc.Button(
                            f"Apply {label.lower() if key != 'hrp' else label} weights",
                            id={"type": "portfolio-apply", "index": key},
                            size="sm",
                            color="secondary",
                            outline=True,
                            className="me-2 mb-2",
                        )
                        for key, label in OPTIMISERS.items()
                    ]
                ),
                states.loading(html.Div(id="portfolio-compare"), "portfolio-compare"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                heading("Statistics of the chosen mix", "portfolio", "stats", gap=True),
                                states.loading(html.Div(id="portfolio-stats"), "portfolio-stats"),
                            ],
                            md=5,
                        ),
                        dbc.Col(
                            [
                                heading("Growth of 10,000", "portfolio", "growth", gap=True),
                                states.loading(dcc.Graph(id="portfolio-growth-graph"), "portfolio-growth"),
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
                heading("Drawdown of the chosen mix", "portfolio", "drawdown"),
                states.loading(dcc.Graph(id="portfolio-drawdown-graph"), "portfolio-drawdown"),
                heading("Optimised weights", "portfolio", "weights"),
                html.Div(id="portfolio-weights"),
                dcc.Store(id="portfolio-optimised"),
            ]
        ),
    )


def parse_holdings(text: str, shorts: bool = False) -> holdings.Holdings:
    return holdings.parse(text, shorts=shorts)


def windowed(prices: pd.DataFrame, window: str) -> pd.DataFrame:
    """The prices of the last `window` years (MAX: all), counted back from the latest date."""
    years = WINDOWS[window]
    if years is None or prices.empty:
        return prices
    start = prices.index.max() - pd.DateOffset(years=years)
    return prices[prices.index >= start]


@dataclass(frozen=True, slots=True)
class Analysis:
    """The Portfolio page's answer: the chosen mix's report and the side-by-side evaluation."""

    report: portfolio.Report
    side: evaluate.SideBySide
    optimised: dict[str, dict[str, float]]
    benchmark_note: str | None = None  # why the chosen benchmark is missing, or what it covers


def stored_benchmark(name: str) -> pd.Series:
    """An S&P 500 series' daily returns (benchmark_returns), once per data version; empty when the serving
    refresh has not filled the table on this store."""
    svc = services()
    if not serving_state.usable(serving_state.BENCHMARK_RETURNS):
        return pd.Series(dtype=float)
    return svc.cache.cached("benchmark", (name,), lambda: queries.benchmark_returns(svc.router, name))


def benchmark_returns(choice: str, aligned: pd.DataFrame) -> tuple[pd.Series | None, str | None]:
    """The chosen benchmark's returns over the holdings' dates, and a note when it cannot be shown."""
    if choice == "none":
        return None, None
    if choice == "equal":
        return portfolio.equal_weight_index(aligned), None
    daily = stored_benchmark(STORED_BENCHMARKS[choice])
    if daily.empty:
        return None, f"{BENCHMARKS[choice]}: not computed on this store yet (the engine's serving refresh)"
    series = evaluate.returns_over(daily, pd.DatetimeIndex(aligned.index))
    if series.notna().sum() < 3:
        first, last = daily.index[0].date(), daily.index[-1].date()
        return None, f"{BENCHMARKS[choice]}: its stored days ({first} to {last}) miss this window"
    return series, None


def analyse(weights: dict[str, float], rf: float, window: str = "MAX", benchmark: str = "sp500") -> Analysis:
    svc = services()

    def build() -> Analysis:
        prices = windowed(company_data.adjusted_closes(list(weights)), window)
        result = portfolio.report(prices, weights, risk_free=rf)
        aligned, _ = portfolio.align_prices(prices)
        table = result.weights.set_index("symbol")
        optimised = {
            key: {str(s): float(w) for s, w in table[key].items()} for key in OPTIMISERS if key in table
        }
        mixes = {CHOSEN: weights, **{OPTIMISERS[k]: v for k, v in optimised.items()}}
        bench, note = benchmark_returns(benchmark, aligned)
        side = evaluate.side_by_side(
            aligned, mixes, risk_free=rf, benchmark=bench, benchmark_name=BENCHMARK_NAMES.get(benchmark, "")
        )
        return Analysis(result, side, optimised, note)

    return svc.cache.cached("portfolio", (tuple(sorted(weights.items())), rf, window, benchmark), build)


def _inputs(text: Any, rf: Any, window: Any, benchmark: Any, shorts: Any) -> tuple[Any, ...]:
    parsed = parse_holdings(text, shorts="shorts" in (shorts or []))
    rate = valid_number(rf, low=0.0, high=20.0, name="risk-free rate") / 100
    window = valid_choice(window or "MAX", tuple(WINDOWS), name="window")
    benchmark = valid_choice(benchmark or "sp500", tuple(BENCHMARKS), name="benchmark")
    return parsed, rate, window, benchmark


@callback(
    Output("portfolio-stats", "children"),
    Output("portfolio-drawdown-graph", "figure"),
    Output("portfolio-correlation-graph", "figure"),
    Output("portfolio-frontier-graph", "figure"),
    Output("portfolio-weights", "children"),
    Output("portfolio-note", "children"),
    Output("portfolio-compare", "children"),
    Output("portfolio-growth-graph", "figure"),
    Output("portfolio-optimised", "data"),
    Output("portfolio-holdings-feedback", "children"),
    *[Output(f"portfolio-export-{name}", "href") for name in EXPORTS],
    Input("portfolio-run", "n_clicks"),
    Input("portfolio-holdings", "value"),
    Input("portfolio-window-choice", "value"),
    Input("portfolio-benchmark", "value"),
    Input("portfolio-shorts", "value"),
    State("portfolio-rf", "value"),
)
def portfolio_update(
    _: int | None, text: str, window: Any, benchmark: Any, shorts: Any, rf: Any
) -> tuple[Any, ...]:
    try:
        parsed, rate, window, benchmark = _inputs(text, rf, window, benchmark, shorts)
        result = analyse(parsed.weights, rate, window, benchmark)
    except FAILURES as exc:  # the message beside the holdings; the last answer stays on the page
        keep = dash.no_update
        return (*[keep] * 9, states.error(str(exc)), *[keep] * len(EXPORTS))
    report, side = result.report, result.side
    corr = report.correlation
    params = {
        "holdings": text,
        "rf": str(rf),
        "window": window,
        "benchmark": benchmark,
        "shorts": ",".join(shorts or []),
    }
    hrefs = [export_href("portfolio", name, params) for name in EXPORTS]
    notes = (
        html.Ul([html.Li(n) for n in parsed.notes], className="text-muted mb-0 ps-3")
        if parsed.notes
        else None
    )
    return (
        stats_grid(report.stats),
        charts.lines(
            report.drawdown,
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
        frontier_figure(report.frontier, side.points),
        tables.grid("portfolio-weights-grid", report.weights, columns=WEIGHT_COLUMNS),
        dbc.Alert(
            [f"Common window: {report.note}"]
            + ([html.Br(), f"Benchmark: {result.benchmark_note}"] if result.benchmark_note else []),
            color="light",
            id="portfolio-window",
        ),
        compare_grid(side.stats),
        charts.lines(side.growth, "Growth of 10,000 (daily rebalanced)", yaxis="Value", hover=",.0f"),
        result.optimised,
        notes,
        *hrefs,
    )


@callback(
    Output("portfolio-holdings", "value"),
    Input({"type": "portfolio-apply", "index": ALL}, "n_clicks"),
    State("portfolio-optimised", "data"),
    prevent_initial_call=True,
)
def portfolio_apply(clicks: list[Any], optimised: dict[str, dict[str, float]] | None) -> Any:
    """One click: an optimiser's weights become the holdings (and are analysed as the chosen mix)."""
    trigger = ctx.triggered_id
    if not any(clicks) or not isinstance(trigger, dict) or not optimised:
        return dash.no_update
    weights = optimised.get(str(trigger.get("index")))
    if not weights:
        return dash.no_update
    kept = {s: w for s, w in weights.items() if abs(w) >= 5e-5}
    return holdings.Holdings(kept).text()


def frontier_figure(frontier: pd.DataFrame, points: pd.DataFrame) -> dict[str, Any]:
    """The frontier with the chosen mix, the optimisers' portfolios and each single asset marked."""
    if frontier.empty:
        return charts.empty_figure("No frontier for these holdings.")
    figure = charts.scatter(
        frontier,
        "volatility",
        "expected_return",
        "Efficient frontier (annualised, from daily returns)",
        x_title="Volatility",
        y_title="Expected return",
        percent=True,
        name="Efficient frontier",
    )
    for kind, symbol in (("portfolio", "diamond"), ("asset", "circle-open")):
        rows = points[points["kind"] == kind]
        figure["data"].append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": rows["volatility"].tolist(),
                "y": rows["expected_return"].tolist(),
                "text": rows["name"].tolist(),
                "textposition": "top center",
                "marker": {"symbol": symbol, "size": 11 if kind == "portfolio" else 8},
                "name": "Portfolios" if kind == "portfolio" else "Single assets",
                "hovertemplate": "%{text}<br>Volatility %{x:.1%}<br>Expected return %{y:.1%}<extra></extra>",
            }
        )
    figure["layout"]["showlegend"] = True
    return figure


def compare_grid(stats: pd.DataFrame) -> Any:
    shown = stats.assign(kind=[UNIT_KINDS[u] for u in stats["unit"]])
    columns = {
        "statistic": Col("Statistic"),
        **{c: Col(c) for c in stats.columns if c not in ("statistic", "unit")},
    }
    return tables.grid(
        "portfolio-compare-grid",
        shown,
        columns=columns,
        row_kind="kind",
        hidden=("unit",),
        row_tips="statistic",
    )


def stats_grid(stats: pd.DataFrame) -> Any:
    shown = stats.assign(kind=[UNIT_KINDS[u] for u in stats["unit"]])
    return tables.grid(
        "portfolio-stats-grid",
        shown,
        columns=STATS_COLUMNS,
        row_kind="kind",
        hidden=("unit",),
        row_tips="statistic",
    )


def _export(name: str) -> Any:
    def export(args: Mapping[str, str]) -> pd.DataFrame:
        parsed, rate, window, benchmark = _inputs(
            args.get("holdings", ""),
            args.get("rf"),
            args.get("window"),
            args.get("benchmark"),
            [s for s in args.get("shorts", "").split(",") if s],
        )
        result = analyse(parsed.weights, rate, window, benchmark)
        if name == "compare":
            return result.side.stats
        if name == "growth":
            return result.side.growth
        frame: pd.DataFrame = getattr(result.report, name)
        return frame

    return register_export("portfolio", name)(export)


for _name in EXPORTS:
    _export(_name)
