"""Screener: any number of conditions joined by AND, in display units; ranked by a metric or a
multi-factor score; every filtered metric a column; presets; the count and the CSV are the grid's rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.development.base_component import Component

from dashboard.analytics import screener
from dashboard.components import (
    catalogue,
    conditions,
    pins,
    point_in_time,
    screen_trails,
    serving_state,
    states,
    trails,
    universe_data,
    urlstate,
)
from dashboard.components.export import export_href, export_link, register_export
from dashboard.components.inputs import (
    InvalidInput,
    bounded_list,
    bounded_text,
    group,
    members,
    radio_column,
    valid_choice,
)
from dashboard.components.page import FAILURES, UNREACHABLE, UNREACHABLE_MESSAGE, frame
from dashboard.components.screener_grid import LEADING, results_grid, shown_columns, with_nm
from dashboard.services import services

dash.register_page(__name__, path="/screener", name="Screener", order=5, title="Screener · MyCFATool")

KEYS = catalogue.SCREEN_KEYS
SCORE = "score"
RANKS = (SCORE, *KEYS)
BASES = {"ttm": "Trailing 12 months where four quarters exist", "fy": "Latest fiscal year"}
# Presets: a starting point, written into the conditions field (where they can be edited) with a rank.
PRESETS: dict[str, tuple[str, str, str]] = {
    "cheap-profitable-large": (
        "Cheap profitable large caps",
        "market_cap >= 100; pe <= 20; roe >= 15",
        SCORE,
    ),
    "quality-reasonable-price": (
        "Quality at a reasonable price",
        "roic >= 15; gross_margin >= 40; debt_to_equity <= 1; pe <= 30",
        SCORE,
    ),
    # Covered: free cash flow pays the dividend (an FCF yield above the dividend yield), which a
    # condition on each yield alone cannot say; the yield is capped under the FCF yield's floor.
    "dividend-payers": (
        "Dividend payers with cover",
        "dividend_yield >= 2.5; dividend_yield <= 5; fcf_yield >= 5",
        "dividend_yield",
    ),
    "momentum": ("Momentum near highs", "perf_1y >= 20; off_52w_high >= -10", "perf_1y"),
    "deep-value": ("Deep value", "pe <= 12; pb <= 1.5; ev_ebitda <= 8", SCORE),
}

URL = urlstate.page_state(
    "/screener",
    "screener",
    urlstate.Param("sectors", "screener-sectors", kind="list", default=[]),
    urlstate.Param("where", "screener-where", kind="text", default="", label="conditions"),
    urlstate.Param("rank", "screener-rank", default="market_cap", choices=RANKS, label="rank by"),
    urlstate.Param("order", "screener-order", default="desc", choices=("desc", "asc")),
    urlstate.Param("basis", "screener-basis", default="ttm", choices=tuple(BASES)),
    urlstate.Param("score", "screener-score", kind="choices", default=[], choices=KEYS, label="score on"),
    urlstate.Param("figures", "screener-figures", default="restated", choices=tuple(point_in_time.FIGURES)),
    pins.param("screener"),
)
pins.register("screener")
# What a pinned screen is computed from (universe_data.pinned_metrics).
PINNED = (
    "the statements as the store held them then, that day's index members, their closes up to that day"
    " and share counts from the quarters known then (no price statistics)"
)


def layout(**query: Any) -> Component:
    try:
        sectors = sorted(s for s in members()["sector"].dropna().unique())
    except UNREACHABLE:
        return states.error(UNREACHABLE_MESSAGE)
    state = URL.read(query)
    unknown = [s for s in state["sectors"] if s not in sectors]
    if unknown:
        state.notes.append(f"sectors: ignored {', '.join(repr(u) for u in unknown[:5])}.")
    rank_options = [{"label": "Multi-factor score", "value": SCORE}, *catalogue.options(KEYS)]
    scored = [k for k in KEYS if catalogue.BY_KEY[k].better != 0]
    return frame(
        "Screener",
        URL,
        state,
        dbc.Row(
            [
                _dropdown(
                    "screener-preset",
                    "Start from a preset",
                    [{"label": name, "value": key} for key, (name, _, _) in PRESETS.items()],
                    None,
                    md=4,
                    placeholder="choose a preset screen",
                ),
                _dropdown(
                    "screener-sectors",
                    "Sectors",
                    sectors,
                    [s for s in state["sectors"] if s in sectors],
                    md=8,
                    multi=True,
                    placeholder="all sectors",
                ),
            ],
            className="mb-2",
        ),
        html.Div(
            [
                dbc.Label(
                    "Conditions, all must hold (values in the units shown: 15 means 15 %)",
                    html_for="screener-where",
                ),
                dbc.Input(
                    id="screener-where",
                    value=state["where"],
                    debounce=True,
                    placeholder="market cap >= 100; P/E <= 20; ROE >= 15",
                ),
                html.Div(id="screener-where-feedback", className="small mt-1", role="status"),
            ],
            className="mb-2",
        ),
        dbc.Row(
            [
                _dropdown(
                    "screener-add-metric",
                    "Add a condition on",
                    catalogue.options(KEYS),
                    None,
                    md=5,
                    placeholder="metric",
                ),
                dbc.Col(
                    group(
                        "Operator",
                        dbc.RadioItems(
                            id="screener-add-op",
                            options=[{"label": "≥", "value": ">="}, {"label": "≤", "value": "<="}],
                            value=">=",
                            inline=True,
                        ),
                    ),
                    md=2,
                ),
                dbc.Col(
                    [
                        dbc.Label("Value", html_for="screener-add-value", className="small mb-0"),
                        dbc.Input(
                            id="screener-add-value", type="text", placeholder="e.g. 15", debounce=False
                        ),
                    ],
                    md=2,
                ),
                dbc.Col(dbc.Button("Add", id="screener-add", color="secondary", className="mt-3"), md=1),
                dbc.Col(
                    html.Div(id="screener-add-feedback", className="small text-danger", role="status"), md=2
                ),
            ],
            className="mb-2 g-2 align-items-end",
        ),
        html.Div(id="screener-chips", className="mb-2"),
        dbc.Row(
            [
                _dropdown("screener-rank", "Rank by", rank_options, state["rank"], md=4),
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
                            inline=True,
                        ),
                    ),
                    md=2,
                ),
                _dropdown(
                    "screener-score",
                    "Score on (empty: the conditions' metrics)",
                    catalogue.options(tuple(scored)),
                    state["score"],
                    md=4,
                    multi=True,
                    placeholder="the conditions' metrics",
                ),
                dbc.Col(
                    group(
                        "Figures on",
                        dbc.RadioItems(
                            id="screener-basis",
                            options=[{"label": text, "value": key} for key, text in BASES.items()],
                            value=state["basis"],
                        ),
                    ),
                    md=2,
                ),
            ],
            className="mb-2 g-2",
        ),
        dbc.Row(
            [
                radio_column(
                    "screener-figures",
                    point_in_time.FIGURES,
                    state["figures"],
                    md=6,
                    label="Statement figures",
                ),
                pins.control("screener", state["pin"], md=4),
            ],
            className="mb-2 align-items-end",
        ),
        html.Div(id="screener-pinned", className="small text-muted mb-1"),
        html.H2(
            [
                html.Span(id="screener-count", className="me-2"),
                export_link("screener", "results"),
                export_link("screener", "results-trail", "CSV + provenance"),
            ],
            className="h5",
        ),
        html.P(
            "Click a figure for where it came from: its formula, inputs, statements and close.",
            className="small text-muted mb-1",
        ),
        states.loading(html.Div(id="screener-results"), "screener-results"),
        html.Div(id="screener-provenance", className="mt-2"),
    )


def _dropdown(
    id_: str, label: str, options: Any, value: Any, *, md: int, multi: bool = False, placeholder: str = ""
) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(label, html_for=id_, className="small mb-0"),
            dcc.Dropdown(
                id=id_,
                options=options,
                value=value,
                multi=multi,
                placeholder=placeholder,
                clearable=multi or value is None,
            ),
        ],
        md=md,
    )


def run(args: Mapping[str, Any]) -> tuple[pd.DataFrame, list[conditions.Condition], list[conditions.Problem]]:
    """The screen: the rows passing every readable condition and sector, ranked, with the columns shown.

    The same function answers the grid and the CSV, so both hold the same rows in the same order.
    """
    basis = valid_choice(args.get("basis") or "ttm", tuple(BASES), name="figures on")
    figures = valid_choice(args.get("figures") or "restated", tuple(point_in_time.FIGURES), name="figures")
    pin = point_in_time.pinned_run(args.get("pin"))
    table = universe_data.on_basis(basis, figures, pin)
    found, problems = conditions.parse(args.get("where") or "", KEYS)
    if table.empty:
        return table, found, problems
    known = sorted(table["sector"].dropna().unique())
    sectors = [
        valid_choice(s, known, name="sector") for s in bounded_list(args.get("sectors"), name="sectors")
    ]
    rank = valid_choice(args.get("rank") or "market_cap", RANKS, name="rank by")
    order = valid_choice(args.get("order") or "desc", ("asc", "desc"), name="order")
    factors = [
        valid_choice(k, KEYS, name="score on") for k in bounded_list(args.get("score"), name="score factors")
    ]
    absent = sorted({c.metric for c in found} - set(table.columns))
    if absent:
        why = (
            "not kept for pinned screens"
            if pin is not None
            else "not available until the serving layer is refreshed"
        )
        raise InvalidInput(f"{', '.join(catalogue.label(a) for a in absent)}: {why}")
    filters = [screener.Filter(c.metric, c.op, c.raw) for c in found]  # type: ignore[arg-type]
    passed = screener.screen(table, filters=filters, sectors=sectors or None)
    weights = _weights(factors or [c.metric for c in found], table)
    if weights:
        passed = passed.assign(
            score=screener.score(passed, weights) if not passed.empty else pd.Series(dtype=float)
        )
    if rank == SCORE and "score" not in passed.columns:
        raise InvalidInput("rank by score: add a condition or choose metrics to score on")
    ordered = passed.sort_values(rank, ascending=order == "asc", na_position="last", kind="stable")
    columns = shown_columns(
        [c.metric for c in found], rank, list(weights), has_score="score" in ordered.columns
    )
    return ordered.reset_index()[[c for c in columns if c in ordered.reset_index().columns]], found, problems


def _weights(keys: list[str], table: pd.DataFrame) -> dict[str, float]:
    """The score's weights: equal, signed by each metric's better direction (neutral ones left out)."""
    return {
        k: float(catalogue.BY_KEY[k].better)
        for k in dict.fromkeys(keys)
        if catalogue.BY_KEY[k].better != 0 and k in table.columns
    }


@callback(
    Output("screener-where", "value"),
    Output("screener-rank", "value"),
    Output("screener-preset", "value"),
    Output("screener-add-value", "value"),
    Output("screener-add-feedback", "children"),
    Input("screener-preset", "value"),
    Input("screener-add", "n_clicks"),
    Input("screener-add-value", "n_submit"),
    Input({"type": "screener-remove", "index": ALL}, "n_clicks"),
    State("screener-where", "value"),
    State("screener-rank", "value"),
    State("screener-add-metric", "value"),
    State("screener-add-op", "value"),
    State("screener-add-value", "value"),
    prevent_initial_call=True,
)
def screener_edit(
    preset: str | None,
    _add: Any,
    _submit: Any,
    removes: list[Any],
    where: str,
    rank: str,
    metric: str | None,
    op: str,
    value: Any,
) -> tuple[Any, ...]:
    """Edit the conditions field: apply a preset, add the builder's condition, or remove one."""
    keep = dash.no_update
    trigger = ctx.triggered_id
    if trigger == "screener-preset":
        if preset not in PRESETS:
            return keep, keep, None, keep, keep
        _, text, ranked = PRESETS[preset]
        return text, ranked, None, keep, ""
    try:
        found, problems = conditions.parse(where or "", KEYS)
    except InvalidInput as exc:
        return keep, keep, keep, keep, str(exc)
    if isinstance(trigger, dict) and trigger.get("type") == "screener-remove":
        if not any(removes):  # chips drawn anew, nobody clicked
            return keep, keep, keep, keep, keep
        index = int(trigger["index"])
        kept = [c for i, c in enumerate(found) if i != index]
        texts = [conditions.join(kept), *(p.text for p in problems)]
        return "; ".join(t for t in texts if t), keep, keep, keep, ""
    if metric not in catalogue.BY_KEY:
        return keep, keep, keep, keep, "Add: choose a metric first."
    try:
        number = conditions.value_of(str(value or ""), metric)
    except InvalidInput as exc:
        return keep, keep, keep, keep, f"Value: {exc}."
    added = conditions.Condition(metric, op if op in ("<=", ">=") else ">=", number)
    texts = [conditions.join([*found, added]), *(p.text for p in problems)]
    return "; ".join(t for t in texts if t), keep, keep, "", ""


@callback(
    Output("screener-results", "children"),
    Output("screener-count", "children"),
    Output("screener-export-results", "href"),
    Output("screener-export-results-trail", "href"),
    Output("screener-where-feedback", "children"),
    Output("screener-chips", "children"),
    Output("screener-pinned", "children"),
    Input("screener-sectors", "value"),
    Input("screener-where", "value"),
    Input("screener-rank", "value"),
    Input("screener-order", "value"),
    Input("screener-basis", "value"),
    Input("screener-score", "value"),
    Input("screener-figures", "value"),
    Input("screener-pin", "value"),
)
def screener_update(
    sectors: list[str] | None,
    where: str | None,
    rank: str,
    order: str,
    basis: str,
    score: list[str] | None,
    figures: str | None = None,
    pin: Any = None,
) -> tuple[Any, ...]:
    args: dict[str, Any] = {
        "sectors": sectors or [],
        "where": where or "",
        "rank": rank,
        "order": order,
        "basis": basis,
        "score": score or [],
        "figures": figures or "restated",
        "pin": pin,
    }
    try:
        pinned = point_in_time.pinned_run(pin)
        key = (
            pinned,
            tuple(args["sectors"]),
            args["where"],
            rank,
            order,
            basis,
            tuple(args["score"]),
            args["figures"],
        )
        grid, count, found, problems = services().cache.cached("screener-view", key, lambda: _view(args))
    except FAILURES as exc:  # the message next to the conditions; the rest of the page stays
        keep = dash.no_update
        return keep, keep, keep, keep, _feedback([], str(exc)), keep, keep
    params: dict[str, str] = {
        "sectors": ",".join(args["sectors"]),
        "where": args["where"],
        "rank": rank,
        "order": order,
        "basis": basis,
        "score": ",".join(args["score"]),
        **({"figures": args["figures"]} if args["figures"] != "restated" else {}),
        **({"pin": str(pinned)} if pinned is not None else {}),
    }
    note = pins.sentence(pinned, PINNED) if pinned is not None else None
    return (
        grid,
        count,
        export_href("screener", "results", params),
        export_href("screener", "results-trail", params),
        _feedback(problems),
        _chips(found),
        note,
    )


def _feedback(problems: list[conditions.Problem], error: str | None = None) -> Any:
    messages = [p.message() for p in problems] + ([error] if error else [])
    if not messages:
        return None
    return html.Ul(
        [html.Li(m) for m in messages], className="text-danger mb-0 ps-3", id="screener-where-problems"
    )


def _chips(found: list[conditions.Condition]) -> Any:
    """The conditions in force, each with a button that removes it."""
    return [
        dbc.Badge(
            [
                c.describe(),
                html.Button(
                    html.Span(f"remove {c.describe()}", className="visually-hidden"),
                    id={"type": "screener-remove", "index": i},
                    className="btn-close btn-close-white ms-2 small",
                    title=f"remove {c.describe()}",
                ),
            ],
            color="primary",
            className="me-2 p-2",
        )
        for i, c in enumerate(found)
    ]


def _view(args: Mapping[str, Any]) -> tuple[Any, str, list[conditions.Condition], list[conditions.Problem]]:
    """The grid, the count and the conditions read (cached per inputs and data version)."""
    result, found, problems = run(args)
    # A failed refresh leaves the last good rows: the page answers from them and says as of when.
    note = serving_state.stale_note(serving_state.SCREENER_ROWS)
    suffix = f" ({note})" if note else ""
    if result.empty:
        return (
            states.empty("No company passes these conditions.", id_="screener-empty"),
            "0 companies" + suffix,
            found,
            problems,
        )
    count = f"{len(result)} {'company' if len(result) == 1 else 'companies'}{suffix}"
    grid = results_grid(result)
    grid.getRowId = "params.data.symbol"  # a click names its company (`screener_provenance`)
    return grid, count, found, problems


@callback(
    Output("screener-provenance", "children"),
    Input("screener-grid", "cellClicked"),
    Input("screener-basis", "value"),
    Input("screener-figures", "value"),
    Input("screener-pin", "value"),
    Input("screener-where", "value"),
)
def screener_provenance(
    cell: Mapping[str, Any] | None, basis: str, figures: str | None, pin: Any, _where: Any = None
) -> Any:
    """A click on a figure: where it came from, as the screen reads the store (another choice closes it)."""
    if ctx.triggered_id != "screener-grid" or not isinstance(cell, Mapping):
        return None
    try:
        view = _view_of({"basis": basis, "figures": figures, "pin": pin})
        table = universe_data.on_basis(basis or "ttm", view.figures, view.pin)  # checked by _view_of
        symbol = bounded_text(cell.get("rowId"), name="company", max_chars=20)
        metric = bounded_text(cell.get("colId"), name="column", max_chars=80)
        if symbol not in table.index:
            return None
        row = table.loc[symbol].to_dict()
        return screen_trails.card(symbol, metric, cell.get("value"), row, view)
    except FAILURES as exc:
        return states.error(str(exc))


def _view_of(args: Mapping[str, Any]) -> trails.View:
    """A screen's view (figures, pin) with its basis checked: what its trail cards and CSV read."""
    valid_choice(args.get("basis") or "ttm", tuple(BASES), name="figures on")
    figures = valid_choice(args.get("figures") or "restated", tuple(point_in_time.FIGURES), name="figures")
    return trails.View(None, figures, point_in_time.pinned_run(args.get("pin")))


def _values(args: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = dict(args)
    for name in ("sectors", "score"):
        values[name] = [s for s in values.get(name, "").split(",") if s]
    return values


@register_export("screener", "results")
def export_results(args: Mapping[str, str]) -> pd.DataFrame:
    return with_nm(run(_values(args))[0])


@register_export("screener", "results-trail")
def export_results_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The results with each company's trail: its statements' payloads on the row's period and its close's
    fetch (`screen_trails.results_trail`)."""
    values = _values(args)
    result = with_nm(run(values)[0])
    if result.empty:
        return result
    view = _view_of(values)
    table = universe_data.on_basis(values.get("basis") or "ttm", view.figures, view.pin)
    return result.join(screen_trails.results_trail(result, table, view))


__all__ = ["LEADING", "PRESETS", "run"]
