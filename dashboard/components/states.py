"""Explicit empty, error, loading and staleness states."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import flask
from dash import dcc
from dash.development.base_component import Component


def empty(message: str, *, id_: str | None = None) -> Component:
    extra = {"id": id_} if id_ else {}
    alert: Component = dbc.Alert(message, color="light", className="empty-state border", **extra)
    return alert


def error(message: str) -> Component:
    alert: Component = dbc.Alert(message, color="danger", className="error-state")
    return alert


def loading(child: Any, id_: str) -> dcc.Loading:
    return dcc.Loading(child, id=f"{id_}-loading", type="default", delay_show=150)


def staleness() -> Any:
    """A warning when this request's data came from a replica behind the primary."""
    from dashboard.services import services

    stale = flask.has_request_context() and bool(flask.g.get("mycfa_stale"))
    if flask.has_request_context() and not stale:
        plan = services().router.plan()
        stale = bool(plan) and plan[0][1]
    if stale:
        return dbc.Alert(
            "Data may be out of date: the primary cannot be reached and the replica serving this page is "
            "behind it.",
            color="warning",
            className="staleness",
        )
    return None
