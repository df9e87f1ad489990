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
from dashboard.analytics.forward import forward_returns
from dashboard.components import (
    benchmark_data,
    charts,
    company_data,
    holdings,
    pins,
    point_in_time,
    portfolio_inputs,
    states,
    tables,
    urlstate,
)
from dashboard.components.export import export_href, register_export
from dashboard.components.formats import Col
from dashboard.components.inputs import InvalidInput, group
from dashboard.components.page import FAILURES, UNREACHABLE, frame, heading
from dashboard.components.picker import picker
from dashboard.components.portfolio_inputs import BENCHMARKS, CUSTOM, WINDOW_CHOICES, FieldError, Request
from dashboard.services import services

dash.register_page(__name__, path="/portfolio", name="Portfolio", order=4, title="Portfolio · MyCFATool")

DEFAULT = "AAPL:0.4, MSFT:0.3, JNJ:0.3"
OPTIMISERS = {"min_volatility": "Minimum volatility", "max_sharpe": "Maximum Sharpe", "hrp": "HRP"}
CHOSEN = "Chosen"
EXPORTS = ("stats", "drawdown", "correlation", "frontier", "weights", "compare", "growth", "forward")
FORWARD_COLUMNS = {
    "mix": Col("Return from the as-of date"),
    **{h: Col(h, "pct_signed") for h in ("1M", "3M", "1Y")},
}
FORWARD_ROWS = {
    "portfolio": "Chosen mix (buy and hold)",
    "benchmark": "Benchmark",
    "excess": "Chosen - benchmark",
}
# What a pinned portfolio is computed from (analyse with `pin`).
PINNED = "the closes dated up to the day that run ended"
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
        "window", "portfolio-window-choice", default="MAX", choices=WINDOW_CHOICES, label="window"
    ),
    urlstate.Param("from", "portfolio-from", kind="date", label="window start"),
    urlstate.Param("to", "portfolio-to", kind="date", label="window end"),
    urlstate.Param("benchmark", "portfolio-benchmark", default="sp500", choices=tuple(BENCHMARKS)),
    urlstate.Param("shorts", "portfolio-shorts", kind="choices", default=[], choices=("shorts",)),
    urlstate.Param(
        "cap",
        "portfolio-cap",
        kind="number",
        default=100.0,
        low=portfolio_inputs.CAP_RANGE[0],
        high=portfolio_inputs.CAP_RANGE[1],
        label="max weight",
    ),
    urlstate.Param("asof", "portfolio-asof", kind="date", prop="date", label="as-of date"),
    pins.param("portfolio"),
)
pins.register("portfolio")


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
                                dbc.Label(
                                    "Max weight per holding (%)", html_for="portfolio-cap", className="mt-2"
                                ),
                                dbc.Input(
                                    id="portfolio-cap",
                                    type="number",
                                    value=state["cap"],
                                    min=portfolio_inputs.CAP_RANGE[0],
                                    max=portfolio_inputs.CAP_RANGE[1],
                                    step="any",
                                    debounce=True,
                                ),
                                html.Div(id="portfolio-cap-feedback", className="small", role="status"),
                                dbc.Checklist(
                                    id="portfolio-shorts",
                                    options=[
                                        {
                                            "label": "allow short positions (optimisers: -cap to cap)",
                                            "value": "shorts",
                                        }
                                    ],
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
                                        options=[{"label": k, "value": k} for k in WINDOW_CHOICES],
                                        value=state["window"],
                                        inline=True,
                                    ),
                                ),
                                group(
                                    "Custom window (from, to)",
                                    html.Div(
                                        [
                                            dbc.Label(
                                                "Window start",
                                                html_for="portfolio-from",
                                                className="visually-hidden",
                                            ),
                                            dbc.Input(
                                                id="portfolio-from",
                                                type="date",
                                                value=state["from"],
                                                debounce=True,
                                                size="sm",
                                            ),
                                            dbc.Label(
                                                "Window end",
                                                html_for="portfolio-to",
                                                className="visually-hidden",
                                            ),
                                            dbc.Input(
                                                id="portfolio-to",
                                                type="date",
                                                value=state["to"],
                                                debounce=True,
                                                size="sm",
                                            ),
                                        ],
                                        className="d-flex gap-1",
                                    ),
                                ),
                                html.Div(id="portfolio-dates-feedback", className="small", role="status"),
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
                dbc.Row(
                    [
                        company_data.as_of_picker("portfolio-asof", md=4, value=state["asof"]),
                        pins.control("portfolio", state["pin"], md=4),
                    ],
                    className="mb-2 g-2 align-items-end",
                ),
                html.Div(id="portfolio-pinned", className="small text-muted mb-1"),
                html.Div(id="portfolio-note"),
                heading("What happened next (forward returns from the as-of date)", "portfolio", "forward"),
                html.Div(id="portfolio-forward"),
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


@dataclass(frozen=True, slots=True)
class Analysis:
    """The Portfolio page's answer: the chosen mix's report and the side-by-side evaluation."""

    report: portfolio.Report
    side: evaluate.SideBySide
    optimised: dict[str, dict[str, float]]
    notes: tuple[str, ...] = ()  # why the chosen benchmark is missing; the optimisers' bounds
    forward: pd.DataFrame | None = None  # as of a date: what the chosen mix returned next


def analyse(request: Request, as_of: str | None = None, pin: int | None = None) -> Analysis:
    """The report and the side-by-side evaluation on the closes up to the as-of date or the pinned run's
    end (the earlier; all of them when live), windows counted back from there; as of a date also the
    forward returns after it (up to the pinned run's end when pinned)."""
    svc = services()
    weights, window, benchmark, bounds = request.weights, request.window, request.benchmark, request.bounds

    def build() -> Analysis:
        closes = company_data.adjusted_closes(list(weights))
        last = pins.last_day(as_of, pin)
        prices = portfolio_inputs.windowed(
            closes[closes.index <= pd.Timestamp(last)] if last else closes, request
        )
        result = portfolio.report(prices, weights, risk_free=request.rate, bounds=bounds)
        aligned, _ = portfolio.align_prices(prices)
        table = result.weights.set_index("symbol")
        optimised = {
            key: {str(s): float(w) for s, w in table[key].items()} for key in OPTIMISERS if key in table
        }
        mixes = {CHOSEN: weights, **{OPTIMISERS[k]: v for k, v in optimised.items()}}
        bench, note = benchmark_data.returns(benchmark, aligned)
        side = evaluate.side_by_side(
            aligned,
            mixes,
            risk_free=request.rate,
            benchmark=bench,
            benchmark_name=benchmark_data.NAMES.get(benchmark, ""),
        )
        notes = tuple(n for n in (note and f"Benchmark: {note}", portfolio_inputs.bounds_note(bounds)) if n)
        forward = None if as_of is None else _forward(closes, weights, as_of, pin, benchmark)
        return Analysis(result, side, optimised, notes, forward)

    key = (
        tuple(sorted(weights.items())),
        request.rate,
        window,
        request.start,
        request.end,
        benchmark,
        bounds,
        as_of,
        pin,
    )
    return svc.cache.cached("portfolio", key, build)


def _forward(
    closes: pd.DataFrame, weights: dict[str, float], as_of: str, pin: int | None, benchmark: str
) -> pd.DataFrame:
    """The chosen mix's forward returns from `as_of` against the benchmark (the stored S&P 500 series, or
    the holdings equal weighted), on what the store held by the pinned run's end when pinned."""
    ended = pins.last_day(None, pin)
    held = closes[closes.index <= pd.Timestamp(ended)] if ended else closes
    daily: pd.Series | None = None
    if benchmark in benchmark_data.STORED:
        stored = benchmark_data.stored(benchmark_data.STORED[benchmark])
        daily = stored[stored.index <= pd.Timestamp(ended)] if ended and not stored.empty else stored
    elif benchmark == "equal":
        daily = held.pct_change(fill_method=None).mean(axis=1).dropna()
    try:
        table = forward_returns(held, weights, pd.Timestamp(as_of), daily)
    except ValueError as exc:
        raise InvalidInput(f"as of {as_of}: {exc}") from exc
    return table.rename(index=FORWARD_ROWS).rename_axis("mix").reset_index()


FIELDS = ("holdings", "cap", "dates")  # the fields whose problems are shown beside them


def _feedback(exc: Exception) -> list[Any]:
    """The message beside its field (the holdings' when it names none), nothing beside the others."""
    field = exc.field if isinstance(exc, FieldError) else "holdings"
    return [states.error(str(exc)) if name == field else None for name in FIELDS]


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
    Output("portfolio-cap-feedback", "children"),
    Output("portfolio-cap", "invalid"),
    Output("portfolio-dates-feedback", "children"),
    Output("portfolio-from", "invalid"),
    Output("portfolio-to", "invalid"),
    *[Output(f"portfolio-export-{name}", "href") for name in EXPORTS],
    Output("portfolio-forward", "children"),
    Output("portfolio-pinned", "children"),
    Input("portfolio-run", "n_clicks"),
    Input("portfolio-holdings", "value"),
    Input("portfolio-window-choice", "value"),
    Input("portfolio-benchmark", "value"),
    Input("portfolio-shorts", "value"),
    Input("portfolio-cap", "value"),
    Input("portfolio-from", "value"),
    Input("portfolio-to", "value"),
    Input("portfolio-asof", "date"),
    Input("portfolio-pin", "value"),
    State("portfolio-rf", "value"),
)
def portfolio_update(
    _: int | None,
    text: str,
    window: Any,
    benchmark: Any,
    shorts: Any,
    cap: Any,
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
    pin: Any = None,
    rf: Any = 4.0,
) -> tuple[Any, ...]:
    try:
        request = portfolio_inputs.read(text, rf, window, benchmark, shorts, cap, start, end)
        day, pinned = company_data.as_of_date(as_of), point_in_time.pinned_run(pin)
        result = analyse(request, day, pinned)
    except FAILURES as exc:  # the message beside its field; the last answer stays on the page
        keep = dash.no_update
        holdings_text, cap_text, dates_text = _feedback(exc)
        flagged = dates_text is not None
        return (
            *[keep] * 9,
            holdings_text,
            cap_text,
            cap_text is not None,
            dates_text,
            flagged,
            flagged,
            *[keep] * len(EXPORTS),
            keep,
            keep,
        )
    parsed, window, benchmark = request.holdings, request.window, request.benchmark
    report, side = result.report, result.side
    corr = report.correlation
    params = {
        "holdings": text,
        "rf": str(rf),
        "window": window,
        "benchmark": benchmark,
        "shorts": ",".join(shorts or []),
        "cap": str(cap if cap not in (None, "") else 100),
        "from": str(request.start or ""),
        "to": str(request.end or ""),
        **({"as_of": day} if day else {}),
        **({"pin": str(pinned)} if pinned is not None else {}),
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
            [f"Common window: {report.note}", *[part for note in result.notes for part in (html.Br(), note)]],
            color="light",
            id="portfolio-window",
        ),
        compare_grid(side.stats),
        charts.lines(side.growth, "Growth of 10,000 (daily rebalanced)", yaxis="Value", hover=",.0f"),
        result.optimised,
        notes,
        None,
        False,
        None,
        False,
        False,
        *hrefs,
        forward_view(result.forward, day),
        pins.sentence(pinned, PINNED) if pinned is not None else None,
    )


def forward_view(forward: pd.DataFrame | None, day: str | None) -> Any:
    """The forward returns' grid, or what to do to see them."""
    if forward is None:
        return states.empty(
            "Choose an as-of date to see what the mix returned after it.", id_="portfolio-forward-empty"
        )
    return html.Div(
        [
            html.P(
                f"Analysis on closes up to {day}; these returns are what came after (blank: not reached yet).",
                className="small text-muted mb-1",
            ),
            tables.grid("portfolio-forward-grid", forward, columns=FORWARD_COLUMNS),
        ]
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


@callback(
    Output("portfolio-window-choice", "value"),
    Input("portfolio-from", "value"),
    Input("portfolio-to", "value"),
    prevent_initial_call=True,
)
def portfolio_custom_window(start: Any, end: Any) -> Any:
    """Typing a date of the custom window chooses that window (1Y..MAX stay one click away)."""
    return CUSTOM if start or end else dash.no_update


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
        request = portfolio_inputs.read(
            args.get("holdings", ""),
            args.get("rf"),
            args.get("window"),
            args.get("benchmark"),
            [s for s in args.get("shorts", "").split(",") if s],
            args.get("cap"),
            args.get("from"),
            args.get("to"),
        )
        day = company_data.as_of_date(args.get("as_of"))
        result = analyse(request, day, point_in_time.pinned_run(args.get("pin")))
        if name == "forward":
            if result.forward is None:
                raise InvalidInput("forward returns need an as-of date")
            return result.forward
        if name == "compare":
            return result.side.stats
        if name == "growth":
            return result.side.growth
        frame: pd.DataFrame = getattr(result.report, name)
        return frame

    return register_export("portfolio", name)(export)


for _name in EXPORTS:
    _export(_name)
