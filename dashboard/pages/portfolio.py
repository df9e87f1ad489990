"""Portfolio: tickers + weights → statistics, drawdown, correlation heatmap, optimised weights, frontier.

The page registers itself, reads its link and wires its callbacks; the controls are built in
`components/portfolio_layout.py`, the answer and its CSVs in `portfolio_analysis.py`, the tables and
figures in `portfolio_views.py`.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, html
from dash.development.base_component import Component

from dashboard.components import (
    company_data,
    holdings,
    pins,
    point_in_time,
    portfolio_analysis,
    portfolio_inputs,
    portfolio_layout,
    portfolio_trails,
    portfolio_views,
    states,
    urlstate,
)
from dashboard.components.export import export_hrefs
from dashboard.components.inputs import bounded_text
from dashboard.components.page import FAILURES, UNREACHABLE, frame
from dashboard.components.picker import picker
from dashboard.components.portfolio_analysis import EXPORTS
from dashboard.components.portfolio_inputs import BENCHMARKS, CUSTOM, WINDOW_CHOICES, FieldError

dash.register_page(__name__, path="/portfolio", name="Portfolio", order=4, title="Portfolio · MyCFATool")

DEFAULT = "AAPL:0.4, MSFT:0.3, JNJ:0.3"
# What a pinned portfolio is computed from (analyse with `pin`).
PINNED = "the closes dated up to the day that run ended"
FIELDS = ("holdings", "cap", "dates")  # the fields whose problems are shown beside them

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
portfolio_analysis.register_exports()


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
        html.Div([*portfolio_layout.inputs(state, holdings_text), *portfolio_layout.panels()]),
    )


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
        result = portfolio_analysis.analyse(request, day, pinned)
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
    parsed, report, side = request.holdings, result.report, result.side
    params = {
        "holdings": text,
        "rf": str(rf),
        "window": request.window,
        "benchmark": request.benchmark,
        "shorts": ",".join(shorts or []),
        "cap": str(cap if cap not in (None, "") else 100),
        "from": str(request.start or ""),
        "to": str(request.end or ""),
        **({"as_of": day} if day else {}),
        **({"pin": str(pinned)} if pinned is not None else {}),
    }
    notes = (
        html.Ul([html.Li(n) for n in parsed.notes], className="text-muted mb-0 ps-3")
        if parsed.notes
        else None
    )
    window_note = dbc.Alert(
        [f"Common window: {report.note}", *[part for note in result.notes for part in (html.Br(), note)]],
        color="light",
        id="portfolio-window",
    )
    return (
        portfolio_views.stats_grid(report.stats),
        portfolio_views.drawdown_figure(report.drawdown),
        portfolio_views.correlation_figure(report.correlation),
        portfolio_views.frontier_figure(report.frontier, side.points),
        portfolio_views.weights_grid(report.weights),
        window_note,
        portfolio_views.compare_grid(side.stats),
        portfolio_views.growth_figure(side.growth),
        result.optimised,
        notes,
        None,
        False,
        None,
        False,
        False,
        *export_hrefs("portfolio", EXPORTS, params),
        portfolio_views.forward_view(result.forward, day),
        pins.sentence(pinned, PINNED) if pinned is not None else None,
    )


@callback(
    Output("portfolio-provenance", "children"),
    Input(portfolio_views.WEIGHTS_GRID, "cellClicked"),
    Input("portfolio-run", "n_clicks"),
    Input("portfolio-holdings", "value"),
    Input("portfolio-asof", "date"),
    Input("portfolio-pin", "value"),
    State("portfolio-window-choice", "value"),
    State("portfolio-benchmark", "value"),
    State("portfolio-shorts", "value"),
    State("portfolio-cap", "value"),
    State("portfolio-from", "value"),
    State("portfolio-to", "value"),
    State("portfolio-rf", "value"),
)
def portfolio_provenance(
    cell: dict[str, Any] | None,
    _: Any,
    text: str,
    as_of: Any,
    pin: Any,
    *controls: Any,
) -> Any:
    """A click on a holding: where its closes came from (the window, the runs; another choice closes it)."""
    if ctx.triggered_id != portfolio_views.WEIGHTS_GRID or not isinstance(cell, dict):
        return None
    window, benchmark, shorts, cap, start, end, rf = controls
    try:
        symbol = bounded_text(cell.get("rowId"), name="holding", max_chars=20)
        request = portfolio_inputs.read(text, rf, window, benchmark, shorts, cap, start, end)
        day, pinned = company_data.as_of_date(as_of), point_in_time.pinned_run(pin)
        result = portfolio_analysis.analyse(request, day, pinned)
        if result.closes is None or symbol not in result.closes.columns:
            return None
        return portfolio_trails.holding_card(symbol, result.closes, pins.last_day(day, pinned), pinned)
    except FAILURES as exc:
        return states.error(str(exc))


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
