"""The Screener's CSVs: the results, and the results with each company's trail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dashboard.components import screen_trails, universe_data
from dashboard.components.export import register_export
from dashboard.components.screener_grid import with_nm
from dashboard.components.screener_screen import run, view_of


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
    view = view_of(values)
    table = universe_data.on_basis(values.get("basis") or "ttm", view.figures, view.pin)
    return result.join(screen_trails.results_trail(result, table, view))
