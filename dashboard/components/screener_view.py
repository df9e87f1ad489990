"""The Screener's answer drawn: the grid and its count, the conditions' chips and their problems."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from dashboard.components import conditions, serving_state, states
from dashboard.components.screener_grid import results_grid
from dashboard.components.screener_screen import run


def feedback(problems: list[conditions.Problem], error: str | None = None) -> Any:
    messages = [p.message() for p in problems] + ([error] if error else [])
    if not messages:
        return None
    return html.Ul(
        [html.Li(m) for m in messages], className="text-danger mb-0 ps-3", id="screener-where-problems"
    )


def chips(found: list[conditions.Condition]) -> Any:
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


def view(args: Mapping[str, Any]) -> tuple[Any, str, list[conditions.Condition], list[conditions.Problem]]:
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
