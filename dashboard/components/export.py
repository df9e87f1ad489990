"""CSV exports: pages register a frame builder per (page, name); `/export/<page>/<name>.csv` serves it.

Server-side, so the role check (viewers cannot export) cannot be bypassed in the browser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import flask
import pandas as pd
from dash import ClientsideFunction, Input, Output, clientside_callback

from dashboard import audit, auth
from dashboard.analytics.errors import AnalyticsError
from dashboard.components.inputs import InvalidInput

Exporter = Callable[[Mapping[str, str]], pd.DataFrame]
# A text cell a spreadsheet would read as a formula (or, after a tab or carriage return, split into one).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_EXPORTERS: dict[tuple[str, str], Exporter] = {}


def register_export(page: str, name: str) -> Callable[[Exporter], Exporter]:
    def decorate(fn: Exporter) -> Exporter:
        _EXPORTERS[(page, name)] = fn
        return fn

    return decorate


def export_href(page: str, name: str, params: Mapping[str, str]) -> str:
    return f"/export/{page}/{name}.csv?" + urlencode(dict(params))


def export_hrefs(page: str, names: Sequence[str], params: Mapping[str, str]) -> list[str]:
    """`export_href` of each name on one query, encoded once (Portfolio has nine CSVs on the same query)."""
    query = urlencode(dict(params))
    return [f"/export/{page}/{name}.csv?{query}" for name in names]


def export_link(page: str, name: str, label: str = "CSV") -> dbc.Button:
    """A download button; its `href` is set by the page's callback once inputs are known."""
    user = auth.current_user()
    allowed = user is not None and user.can_export
    return dbc.Button(
        label,
        id=f"{page}-export-{name}",
        href="#",
        external_link=True,
        size="sm",
        color="secondary",
        outline=True,
        disabled=not allowed,
        title="CSV export" if allowed else "viewers cannot export",
        className="ms-2",
        download=f"{page}-{name}.csv",
    )


def register_trail_links(page: str, names: Sequence[str]) -> None:
    """Each `{page}-export-{name}-trail` link follows `{page}-export-{name}`'s: its CSV with `-trail`
    (+ provenance) on the same query, "#" while that one is (clientside: `assets/exports.js`, no server
    round trip); once per page module."""
    clientside_callback(
        ClientsideFunction(namespace="mycfa", function_name="trailHrefs"),
        [Output(f"{page}-export-{name}-trail", "href") for name in names],
        [Input(f"{page}-export-{name}", "href") for name in names],
    )


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell that starts like a formula prefixed with `'` (OWASP's CSV
    injection advice): company names and other text come from FMP and the database, not from us.
    Numbers, negative ones included, are left alone."""
    text_columns = [
        c
        for c in frame.columns
        if pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c])
    ]
    if not text_columns:
        return frame
    frame = frame.copy()
    for column in text_columns:
        frame[column] = frame[column].map(
            lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v
        )
    return frame


def export_view(page: str, name: str) -> flask.Response:
    """The CSV, or why not; each answer is audited with its outcome (denied, not_found, invalid, ok)."""
    from dashboard.access_audit import refused

    user = auth.current_user()
    if user is None or not user.can_export or refused(page):
        audit.record("export", "denied", page=page, export=name, params=dict(flask.request.args))
        return flask.Response("export not allowed for this role\n", status=403, mimetype="text/plain")
    exporter = _EXPORTERS.get((page, name))
    if exporter is None:
        audit.record("export", "not_found", page=page, export=name)
        return flask.Response("unknown export\n", status=404, mimetype="text/plain")
    try:
        frame = exporter(flask.request.args)
    except (InvalidInput, AnalyticsError) as exc:  # a choice refused, or one the figures cannot answer
        # (a terminal growth above the WACC): the page's own message
        audit.record(
            "export", "invalid", page=page, export=name, params=dict(flask.request.args), reason=str(exc)
        )
        return flask.Response(f"{exc}\n", status=400, mimetype="text/plain")
    # CRLF rows (RFC 4180): the writer then quotes any cell holding a bare CR or LF, which a spreadsheet
    # would otherwise read as a row break.
    body = neutralised(frame).to_csv(index=not isinstance(frame.index, pd.RangeIndex), lineterminator="\r\n")
    audit.record("export", "ok", page=page, export=name, rows=len(frame), params=dict(flask.request.args))
    response = flask.Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{file_name(page, name, flask.request.args)}"'
    )
    return response


NAMED_BY = (
    "symbol",
    "symbols",
    "period",
    "kind",
    "view",
    "as_of",
    "figures",
    "pin",
    "series",
    "frequency",
    "span",
)
# How a value is named in the file when the bare value would not say what it is.
PREFIXES = {"as_of": "asof-", "pin": "pin-run-", "figures": "figures-", "view": "view-"}
SAFE = re.compile(r"[^A-Za-z0-9.\-]+")


def file_name(page: str, name: str, args: Mapping[str, str]) -> str:
    """`company-statements-AAPL-FY-income-asof-2024-03-31-pin-run-7-2026-12-06.csv`: the page, the
    export, what it was asked for (tickers, period, kind, as-of, figures, pinned run) and the day it was
    taken, so a second export does not overwrite the first. Only letters, digits, dots and dashes (the values are checked already)."""
    parts = [page, name]
    for key in NAMED_BY:
        value = str(args.get(key, "")).replace(",", "-")[:60]
        if value:
            parts.append(PREFIXES.get(key, "") + value)
    parts.append(date.today().isoformat())
    return SAFE.sub("_", "-".join(parts)) + ".csv"
