"""The audit trail as requests see it: `record()` fills in who, from where and which request.

record(kind, outcome, **detail)   # user, role, client address, request id from the request
    ├─ JSON line, at once, whatever MYCFA_LOG_LEVEL says (CloudWatch Logs in AWS)
    └─ AuditStore.put ─► the `audit.events` row soon (dashboard/audit_store.py)
"""

from __future__ import annotations

import uuid
from typing import Any

import flask
import flask_login

from dashboard.audit_store import AuditEvent, bounded, emit_json
from dashboard.forwarded import client_address
from dashboard.services import services


def _floodable(kind: str, detail: dict[str, Any]) -> bool:
    """What an anonymous client can repeat at will: denied requests, and logins the throttle refused
    (each wrong password is kept: the throttle bounds those)."""
    return kind == "denied" or (kind == "login" and detail.get("reason") == "throttled")


def request_id() -> str:
    """This request's id (made at its start, sent back as `X-Request-Id`)."""
    if not flask.has_request_context():
        return ""
    if "mycfa_request_id" not in flask.g:
        flask.g.mycfa_request_id = uuid.uuid4().hex
    return str(flask.g.mycfa_request_id)


def current_client_address() -> str:
    """The client address of the current request ('unknown' when there is none)."""
    if not flask.has_request_context():
        return "unknown"
    if "mycfa_client_addr" not in flask.g:
        svc = services()
        flask.g.mycfa_client_addr = client_address(
            flask.request.remote_addr,
            flask.request.headers.get("X-Forwarded-For"),
            svc.trusted_proxies,
            svc.settings.proxy_hops,
        )
    return str(flask.g.mycfa_client_addr or "unknown")


def record(
    kind: str,
    outcome: str,
    *,
    username: str | None = None,
    role: str | None = None,
    anonymous: bool | None = None,
    **detail: Any,
) -> AuditEvent:
    """One event from the current request: the JSON line now, the row soon (never raises).

    The user defaults to the logged-in one; the client address and request id come from the request.
    An event of no logged-in user is anonymous (a caller naming the user says whether it is: a login
    attempt is): its strings are cut short, and past the first few a minute from one address its
    denials and throttled logins are only counted, into one summary row.
    """
    svc = services()
    addr = None
    if anonymous is None:
        anonymous = username is None
    if flask.has_request_context():
        if username is None:
            user = flask_login.current_user
            if getattr(user, "is_authenticated", False):
                username, role, anonymous = (
                    getattr(user, "username", None),
                    getattr(user, "role", None),
                    False,
                )
        addr = current_client_address()
    client_addr = None if addr == "unknown" else addr
    detail = bounded(detail, anonymous=anonymous)
    if anonymous and _floodable(kind, detail) and not svc.audit.single(kind, outcome, client_addr, detail):
        return AuditEvent(kind=kind, outcome=outcome, client_addr=client_addr, detail=detail)
    event = AuditEvent(
        kind=kind,
        outcome=outcome,
        username=username,
        role=role,
        client_addr=client_addr,
        request_id=request_id() or None,
        detail=detail,
    )
    emit_json(event)
    svc.audit.put(event, anonymous=anonymous)
    if flask.has_request_context():
        flask.g.mycfa_audited = True  # this request has its record: no generic `denied` beside it
    if kind == "login":
        svc.metrics.login(outcome == "success")
    return event
