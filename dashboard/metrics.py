"""CloudWatch metrics from the dashboard: one Embedded Metric Format (EMF) line a minute per worker.

Namespace `MyCFATool/Dashboard`. Without dimensions: `ActiveSessions` (sessions that made a request
in the last 5 minutes, as this worker saw them), `Logins`, `LoginFailures`, `AuditUnstored` (audit
rows the database did not take). With the dimension `Page`: `CallbackLatency` in milliseconds, sent
as raw values (up to 100 per document, as EMF allows) so CloudWatch computes p50/p95 itself; the
line also carries this worker's own p50/p95 for readers of the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TextIO

import numpy as np
import orjson

from dashboard.loghandler import CurrentStreamHandler

NAMESPACE = "MyCFATool/Dashboard"
LOGGER = "mycfa.metrics"
FLUSH_EVERY_S = 60.0
ACTIVE_WINDOW_S = 300.0
EMF_MAX_VALUES = 100  # per metric per document


class DashboardMetrics:
    """Counters and latencies of one worker, flushed as EMF lines by a thread started on first use."""

    def __init__(
        self,
        *,
        unstored: Callable[[], int] = lambda: 0,
        clock: Callable[[], float] = time.time,
        stream: TextIO | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._unstored = unstored
        self._unstored_sent = 0
        self._sessions: dict[str, float] = {}
        self._latency: defaultdict[str, list[float]] = defaultdict(list)
        self._logins = 0
        self._failures = 0
        self._thread: threading.Thread | None = None
        self._logger = logging.getLogger(LOGGER)
        if stream is not None or not self._logger.handlers:
            for old in list(self._logger.handlers):
                self._logger.removeHandler(old)
            handler = logging.StreamHandler(stream) if stream else CurrentStreamHandler("stdout")
            handler.setFormatter(logging.Formatter("%(message)s"))
            self._logger.addHandler(handler)
        self._logger.setLevel(logging.INFO)
        self._logger.propagate = False

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="mycfa-metrics", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(FLUSH_EVERY_S)
            self.flush()

    def session_seen(self, key: str) -> None:
        with self._lock:
            self._start()
            self._sessions[key] = self._clock()

    def login(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self._logins += 1
            else:
                self._failures += 1

    def callback(self, page: str, millis: float) -> None:
        with self._lock:
            self._start()
            self._latency[page].append(millis)

    def flush(self) -> list[dict[str, Any]]:
        """Write (and return) the EMF documents for the time since the last flush."""
        now = self._clock()
        with self._lock:
            self._sessions = {k: t for k, t in self._sessions.items() if now - t <= ACTIVE_WINDOW_S}
            active, logins, failures = len(self._sessions), self._logins, self._failures
            latency, self._latency = self._latency, defaultdict(list)
            self._logins = self._failures = 0
        unstored_total = self._unstored()
        unstored, self._unstored_sent = unstored_total - self._unstored_sent, unstored_total
        stamp = int(now * 1000)
        docs = [
            _document(
                stamp,
                [],
                {"ActiveSessions": ("Count", active), "Logins": ("Count", logins)}
                | {"LoginFailures": ("Count", failures), "AuditUnstored": ("Count", unstored)},
            )
        ]
        for page, values in sorted(latency.items()):
            p50, p95 = (float(v) for v in np.percentile(values, [50, 95]))
            for start in range(0, len(values), EMF_MAX_VALUES):
                chunk = [round(v, 2) for v in values[start : start + EMF_MAX_VALUES]]
                doc = _document(stamp, ["Page"], {"CallbackLatency": ("Milliseconds", chunk)})
                doc.update(
                    Page=page, LocalP50Ms=round(p50, 2), LocalP95Ms=round(p95, 2), Requests=len(values)
                )
                docs.append(doc)
        for doc in docs:
            self._logger.info(orjson.dumps(doc).decode())
        return docs


def _document(stamp: int, dimensions: list[str], metrics: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    return {
        "_aws": {
            "Timestamp": stamp,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [dimensions],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (unit, _) in metrics.items()],
                }
            ],
        },
        **{name: value for name, (_, value) in metrics.items()},
    }
