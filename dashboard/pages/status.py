"""Status (admins only): last ingestion runs, failures, request budget use, replica lag."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, callback, dcc, html
from dash.development.base_component import Component

from dashboard import auth
from dashboard.components import states, tables
from dashboard.components.export import export_href, register_export
from dashboard.components.formats import Col
from dashboard.components.inputs import InvalidInput
from dashboard.components.page import frame, heading
from dashboard.data import queries
from dashboard.data.router import NoNodeAvailable, QueryFailed
from dashboard.services import services

dash.register_page(
    __name__, path="/status", name="Status", order=9, title="Status · MyCFATool", admin_only=True
)

REFRESH_MS = 15_000
NODE_COLUMNS = {
    "lag_bytes": Col("Replay lag (bytes)", "int"),
    "behind_s": Col("Behind (s)", "num2"),
    "replay_paused": Col("Replay paused"),
    "skipped": Col("Skipped by the router"),
}
RUN_COLUMNS = {
    "run_id": Col("Run", "int"),
    "started_at": Col("Started"),
    "finished_at": Col("Finished"),
    "budget_utilisation": Col("Budget used", "pct"),
    "retries": Col("Retries", "int"),
    "http_429": Col("HTTP 429s", "int"),
}


def _is_admin() -> bool:
    user = auth.current_user()
    return user is not None and user.is_admin


def layout(**_: Any) -> Component:
    if not _is_admin():
        return states.error("The Status page is for administrators.")
    return frame(
        "Status",
        None,
        None,
        html.Div(
            [
                dcc.Interval(id="status-interval", interval=REFRESH_MS),
                heading("Database nodes", "status", "nodes"),
                html.Div(id="status-nodes"),
                heading("Last runs", "status", "runs", gap=True),
                states.loading(html.Div(id="status-runs"), "status-runs"),
                heading("Failed items", "status", "failures", gap=True),
                html.Div(id="status-failures"),
            ]
        ),
    )


def nodes() -> pd.DataFrame:
    """Each node as the router sees it: its last probe, taken again when older than the health TTL
    (MYCFA_DASH_HEALTH_TTL_S, 2 s), so a poll of this page adds no round trip to a busy router's."""
    health = services().router.health()
    return pd.DataFrame(
        [
            {
                "node": n.name,
                "role": n.role,
                "reachable": n.reachable,
                "lag_bytes": n.lag_bytes,
                "replay_paused": n.paused,
                "behind_s": n.behind_s,
                "skipped": not n.usable,
                "error": n.error,
            }
            for n in health.values()
        ]
    )


def runs() -> pd.DataFrame:
    return _with_budget(queries.recent_runs(services().router))


def _with_budget(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    metrics = [m if isinstance(m, dict) else json.loads(m or "{}") for m in frame.pop("metrics")]
    # Budget use: what the engine recorded for the run (requests, and the 429s/retries it met), one
    # numeric column per figure, so the table formats, sorts and exports them as numbers.
    keys = sorted({k for m in metrics for k in m if "budget" in k or "429" in k or "retr" in k})
    for key in keys:
        frame[key] = pd.to_numeric(
            pd.Series([m.get(key) for m in metrics], index=frame.index), errors="coerce"
        )
    return frame


@callback(
    Output("status-nodes", "children"),
    Output("status-runs", "children"),
    Output("status-failures", "children"),
    Output("status-export-nodes", "href"),
    Output("status-export-runs", "href"),
    Output("status-export-failures", "href"),
    Input("status-interval", "n_intervals"),
)
def status_update(_: int | None) -> tuple[Any, ...]:
    if not _is_admin():
        return states.error("The Status page is for administrators."), None, None, "#", "#", "#"
    try:
        # Runs and failed items in one round trip (the page polls every 15 s per admin).
        recent, failures = queries.recent_runs_and_failures(services().router)
        recent = _with_budget(recent)
    except (NoNodeAvailable, QueryFailed) as exc:
        return states.error(str(exc)), None, None, "#", "#", "#"
    run_view = (
        tables.grid("status-runs-grid", recent, columns=RUN_COLUMNS)
        if not recent.empty
        else states.empty("No runs recorded.", id_="status-no-runs")
    )
    failure_view = (
        tables.grid("status-failures-grid", failures, columns=RUN_COLUMNS)
        if not failures.empty
        else states.empty("No failed items.")
    )
    hrefs = [export_href("status", name, {}) for name in ("nodes", "runs", "failures")]
    return tables.grid("status-nodes-grid", nodes(), columns=NODE_COLUMNS), run_view, failure_view, *hrefs


@register_export("status", "nodes")
def export_nodes(_: Mapping[str, str]) -> pd.DataFrame:
    if not _is_admin():
        raise InvalidInput("administrators only")
    return nodes()


@register_export("status", "runs")
def export_runs(_: Mapping[str, str]) -> pd.DataFrame:
    if not _is_admin():
        raise InvalidInput("administrators only")
    return runs()


@register_export("status", "failures")
def export_failures(_: Mapping[str, str]) -> pd.DataFrame:
    if not _is_admin():
        raise InvalidInput("administrators only")
    return queries.recent_failures(services().router)
