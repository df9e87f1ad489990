"""What users read, audited once, centrally: page views, data callbacks and exports, with their real
outcome (`denied` on an admin page for a non-admin, `invalid`, `not_found`, `error`).

Every page callback renders data, so each `POST /_dash-update-component` of a logged-in user is one
`callback` record: the page, the callback's outputs, and the selection it was asked for (its inputs
and states, cut short). Dash's own page router is left out (the page view is recorded when the layout
is built), and so are the 401/403 answers `auth` records as `denied`. The rows ride the audit store's
batched writer, so a callback pays for one JSON line and a queue slot.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import dash
import flask
from werkzeug.exceptions import HTTPException

from dashboard import audit, auth
from dashboard.logs import callback_page

SELECTION_ITEMS = 24  # inputs and states kept per callback
VALUE_TEXT = 100  # characters of one value kept
LIST_ITEMS = 20  # items of a list value kept (a portfolio's tickers, the compared symbols)
OUTCOMES = {200: "ok", 204: "no_update", 400: "invalid", 413: "too_large"}


def admin_only(page: str) -> bool:
    """Whether the page is for administrators (`register_page(..., admin_only=True)`)."""
    entry = dash.page_registry.get(f"dashboard.pages.{page}", {})
    return bool(entry.get("admin_only"))


def refused(page: str) -> bool:
    """True when the current user may not see this page's data (an admin page, not an admin)."""
    user = auth.current_user()
    return admin_only(page) and not (user is not None and user.is_admin)


def _value(value: Any) -> Any:
    if isinstance(value, str):
        return value[:VALUE_TEXT]
    if isinstance(value, list):
        return [_value(item) for item in value[:LIST_ITEMS]]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return str(value)[:VALUE_TEXT]


def selection(body: Any) -> dict[str, Any]:
    """The callback's inputs and states as {component id: value} (property too when not `value`)."""
    picked: dict[str, Any] = {}
    items = (body.get("inputs") or []) + (body.get("state") or []) if isinstance(body, Mapping) else []
    for item in items[:SELECTION_ITEMS]:
        if isinstance(item, Mapping) and "id" in item:
            prop = item.get("property", "value")
            key = str(item["id"]) if prop == "value" else f"{item['id']}.{prop}"
            picked[key[:VALUE_TEXT]] = _value(item.get("value"))
    return picked


def page_view(page: str, layout: Callable[..., Any]) -> Callable[..., Any]:
    """The page's layout, recording a page view (denied on an admin page for a non-admin) each time
    Dash builds it for a user."""

    @functools.wraps(layout)
    def build(**query: Any) -> Any:
        audit.record("page_view", "denied" if refused(page) else "ok", page=page)
        return layout(**query)

    return build


def _callback_record(response: flask.Response) -> flask.Response:
    request = flask.request
    # 401/403 are recorded as `denied`; a body refused for its size (413) is never read.
    if (
        request.path != "/_dash-update-component"
        or request.method != "POST"
        or response.status_code in (401, 403, 413)
    ):
        return response
    user = auth.current_user()
    try:
        body = request.get_json(silent=True)
    except HTTPException:  # the body could not be read at all
        body = None
    page = callback_page(body)
    if user is None or page == "pages":
        return response
    status = response.status_code
    outcome = "denied" if refused(page) else OUTCOMES.get(status, "error" if status >= 500 else str(status))
    output = str(body.get("output", "")) if isinstance(body, Mapping) else ""
    audit.record("callback", outcome, page=page, callback=output[:200], selection=selection(body))
    return response


def install(server: flask.Flask) -> None:
    """Record each logged-in user's data callback after it answers."""
    server.after_request(_callback_record)
