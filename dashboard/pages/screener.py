"""Screener: any number of conditions joined by AND, in display units; ranked by a metric or a
multi-factor score; every filtered metric a column; presets; the count and the CSV are the grid's rows.

The page registers itself, reads its link and wires its callbacks; the metrics, presets and the screen
itself are in `components/screener_screen.py`, the controls in `screener_layout.py`, the grid, count and
chips in `screener_view.py`, the CSVs in `screener_exports.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx
from dash.development.base_component import Component

from dashboard.components import (
    catalogue,
    conditions,
    pins,
    point_in_time,
    screen_trails,
    screener_layout,
    states,
    universe_data,
    urlstate,
)
from dashboard.components.export import export_href
from dashboard.components.inputs import InvalidInput, bounded_text
from dashboard.components.page import FAILURES
from dashboard.components.screener_exports import export_results as export_results  # test_serving_reads
from dashboard.components.screener_exports import export_results_trail as export_results_trail
from dashboard.components.screener_grid import LEADING
from dashboard.components.screener_screen import BASES, KEYS, PRESETS, RANKS, run, view_of
from dashboard.components.screener_view import chips, feedback, view
from dashboard.services import services

dash.register_page(__name__, path="/screener", name="Screener", order=5, title="Screener · MyCFATool")

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
    return screener_layout.page(URL, query)


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
        grid, count, found, problems = services().cache.cached("screener-view", key, lambda: view(args))
    except FAILURES as exc:  # the message next to the conditions; the rest of the page stays
        keep = dash.no_update
        return keep, keep, keep, keep, feedback([], str(exc)), keep, keep
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
        feedback(problems),
        chips(found),
        note,
    )


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
        view = view_of({"basis": basis, "figures": figures, "pin": pin})
        table = universe_data.on_basis(basis or "ttm", view.figures, view.pin)  # checked by _view_of
        symbol = bounded_text(cell.get("rowId"), name="company", max_chars=20)
        metric = bounded_text(cell.get("colId"), name="column", max_chars=80)
        if symbol not in table.index:
            return None
        row = table.loc[symbol].to_dict()
        return screen_trails.card(symbol, metric, cell.get("value"), row, view)
    except FAILURES as exc:
        return states.error(str(exc))


__all__ = ["LEADING", "PRESETS", "run"]
