"""A log handler that writes to the process's stdout or stderr as it is when a record comes.

A plain `StreamHandler(sys.stderr)` keeps the stream it was given: once something replaces and closes
it (a test runner's capture, a daemon's redirect), every later record, the audit store's exit drain
among them, fails with "I/O operation on closed file". This one looks the stream up per record.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO


class CurrentStreamHandler(logging.StreamHandler[TextIO]):
    """`StreamHandler` on `sys.stdout` or `sys.stderr`, looked up at each record."""

    def __init__(self, name: Literal["stdout", "stderr"]) -> None:
        self._which = name
        super().__init__(self._current())

    def _current(self) -> TextIO:
        stream: TextIO = getattr(sys, self._which)
        return stream

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = self._current()  # under the handler's lock (`Handler.handle` holds it)
        super().emit(record)
