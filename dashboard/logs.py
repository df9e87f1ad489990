"""The dashboard's logs: one JSON object a line with the request id and user, at MYCFA_LOG_LEVEL.

Also the per-request hook that times Dash callbacks for the metrics and logs each request (at INFO,
so production's ERROR level keeps only problems; gunicorn's own access log is off).
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import UTC, datetime
from typing import TextIO

import flask
import orjson

from dashboard.loghandler import CurrentStreamHandler

HANDLER_NAME = "mycfa-dashboard-json"
_log = logging.getLogger("dashboard.request")


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", "request_id", "user", ...extra}`; request fields when in a request."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if flask.has_request_context():
            payload["request_id"] = flask.g.get("mycfa_request_id")
            payload["user"] = flask.g.get("mycfa_user")
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(payload, default=str).decode()


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """One JSON handler on the root logger (replacing ours from an earlier call).

    The same idea as engine/runs/runlog.py; the dashboard image ships without the engine package.
    """
    handler: logging.Handler = logging.StreamHandler(stream) if stream else CurrentStreamHandler("stderr")
    handler.setFormatter(JsonFormatter())
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == HANDLER_NAME:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)


def callback_page(body: object) -> str:
    """The page a Dash callback belongs to: its first output id's prefix (`company-price-graph` →
    `company`; Dash's own page router → `pages`)."""
    output = str(body.get("output", "")) if isinstance(body, dict) else ""
    ident = output.lstrip(".").split(".", 1)[0]
    if ident.startswith("_pages"):
        return "pages"
    return ident.split("-", 1)[0] or "unknown"


def install_request_hooks(server: flask.Flask) -> None:
    from dashboard import auth
    from dashboard.services import services

    @server.before_request
    def _start() -> None:
        flask.g.mycfa_t0 = time.perf_counter()

    @server.after_request
    def _finish(response: flask.Response) -> flask.Response:
        millis = (time.perf_counter() - flask.g.get("mycfa_t0", time.perf_counter())) * 1000
        metrics = services().metrics
        user = auth.current_user() if "_user_id" in flask.session else None
        if user is not None:
            token = str(flask.session.get("csrf_token", ""))
            metrics.session_seen(hashlib.sha256(f"{user.username}|{token}".encode()).hexdigest()[:16])
        if flask.request.path == "/_dash-update-component" and response.status_code == 200:
            metrics.callback(callback_page(flask.request.get_json(silent=True)), millis)
        _log.info(
            "request",
            extra={
                "fields": {
                    "method": flask.request.method,
                    "path": flask.request.path,
                    "status": response.status_code,
                    "ms": round(millis, 1),
                }
            },
        )
        return response
