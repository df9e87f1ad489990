"""The gunicorn worker of `mycfa-dashboard serve`: gthread, with a quick shutdown that waits on no client.

Ctrl-C in a terminal sends SIGINT to the whole process group, so each worker gets it along with the
master (which then sends them SIGQUIT). Gunicorn's gthread worker answers either by raising SystemExit
in its main thread; the interpreter then joins the request threads, and one reading from a client that
has sent nothing yet, or half a request (a browser's preconnected socket), stays blocked in recv until
the master's graceful timeout (20 s) ends the worker with SIGKILL ("Perhaps out of memory?").

This worker instead stores its queued audit rows (at most `audit_store.EXIT_WAIT_S`, on a helper
thread so a lock held by the interrupted main thread cannot hold it up), flushes its output and leaves
with `os._exit(0)`: the requests in flight are dropped, which is what a quick shutdown means. SIGTERM
keeps gunicorn's graceful shutdown (in-flight requests finish, up to the graceful timeout).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from dashboard.audit_store import EXIT_WAIT_S
from dashboard.services import EXTENSION

QUICK_SIGNALS = (signal.SIGINT, signal.SIGQUIT)
EXIT_MARGIN_S = 1.0  # beyond the audit drain, for the exit line and the flushes


class QuickExitWorker(ThreadWorker):
    """gthread worker whose SIGINT/SIGQUIT exit does not join the request threads."""

    def handle_quit(self, sig: int, frame: FrameType | None) -> None:
        # The terminal's SIGINT and the master's SIGQUIT both arrive: the second must not re-enter.
        for quick in QUICK_SIGNALS:
            signal.signal(quick, signal.SIG_IGN)
        self.alive = False
        self.cfg.worker_int(self)
        leaving = threading.Thread(target=self._leave, name="mycfa-quick-exit", daemon=True)
        leaving.start()
        leaving.join(EXIT_WAIT_S + EXIT_MARGIN_S)
        os._exit(0)

    def _leave(self) -> None:
        """Store what the audit queue holds, say so like gunicorn's own exit, flush the output."""
        extensions: dict[str, Any] = getattr(self.wsgi, "extensions", {})
        services = extensions.get(EXTENSION)
        if services is not None:
            services.audit.close()
        self.log.info("Worker exiting (pid: %s)", self.pid)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
