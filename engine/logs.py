"""Logging set-up for the engine: JSON lines or readable text, with secrets masked as a backstop."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

import orjson

MASK = "***"
# Whatever path a key takes (a URL query, a header dump, a JSON body), these catch it by shape
# even when the secret itself was not registered.
_KEY_PATTERNS = (
    re.compile(r"(?i)(apikey=)[^&\s\"'<>]+"),
    re.compile(r"(?i)([\"']apikey[\"']\s*:\s*[\"'])[^\"']+"),
    re.compile(r"(?i)(\bapikey:\s*)\S+"),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every registered secret and anything shaped like an `apikey` value masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    for pattern in _KEY_PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + MASK, text)
    return text


class RedactingFormatter(logging.Formatter):
    """Formats a record (message, exception and stack text included), then masks secrets in it.

    It works on the final text, so nothing a library put into its message or traceback escapes.
    With `json_lines=True` each record becomes one JSON object (for containers).
    """

    def __init__(
        self,
        fmt: str | None = None,
        *,
        secrets: Iterable[str] = (),
        json_lines: bool = False,
        static: dict[str, str] | None = None,
    ) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._secrets = tuple(s for s in secrets if s)
        self._json = json_lines
        self._static = dict(static or {})

    def add_secret(self, secret: str) -> None:
        if secret:
            self._secrets = (*self._secrets, secret)

    def format(self, record: logging.LogRecord) -> str:
        if not self._json:
            return redact(super().format(record), self._secrets)
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **self._static,
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return redact(orjson.dumps(payload).decode(), self._secrets)


def configure_logging(
    level: int | str = logging.INFO,
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
    json_lines: bool | None = None,
    run_id: str | None = None,
) -> RedactingFormatter:
    """Send every log record through one redacting handler on the root logger (idempotent).

    `json_lines=None` picks JSON when the stream is not a terminal. Returns the formatter so more
    secrets can be registered later.
    """
    stream = stream or sys.stderr
    if json_lines is None:
        json_lines = not stream.isatty()
    static = {"run_id": run_id} if run_id else None
    formatter = RedactingFormatter(secrets=secrets, json_lines=json_lines, static=static)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.set_name("mycfa-redacting")
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "mycfa-redacting":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    return formatter
