"""Run logging: the redacting formatter of engine/logs.py, plus the run id and structured fields."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import orjson

from engine.logs import RedactingFormatter, redact

HANDLER_NAME = "mycfa-redacting"  # the same name engine/logs.py uses, so set-ups replace each other
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class RunFormatter(RedactingFormatter):
    """JSON lines carry the run id and any `extra=` fields (event, symbol, counts); text stays plain."""

    def __init__(self, *, secrets: Iterable[str], json_lines: bool) -> None:
        super().__init__(secrets=secrets, json_lines=json_lines)
        self.json_lines = json_lines
        self.run_id: int | None = None
        self._known_secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.json_lines:
            return text
        fields: dict[str, Any] = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if self.run_id is not None:
            fields["run_id"] = self.run_id
        if not fields:
            return text
        payload = orjson.loads(text)
        payload.update(fields)
        return redact(orjson.dumps(payload, default=str).decode(), self._known_secrets)


def configure_run_logging(
    *, secrets: Iterable[str], log_format: str, stream: TextIO | None = None, level: int | str = logging.INFO
) -> RunFormatter:
    """Install one redacting handler on the root logger; `auto` means JSON unless `stream` is a TTY."""
    stream = stream or sys.stderr
    json_lines = log_format == "json" or (log_format == "auto" and not stream.isatty())
    formatter = RunFormatter(secrets=secrets, json_lines=json_lines)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == HANDLER_NAME:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    return formatter
