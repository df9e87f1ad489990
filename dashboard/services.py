"""Per-app services (settings, replica router, per-worker answer cache) reachable from any callback or route."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import flask

from dashboard.audit_store import AuditStore
from dashboard.config import DashboardSettings, require_audit_database
from dashboard.data import queries
from dashboard.data.router import ReplicaRouter
from dashboard.forwarded import Network, parse_networks
from dashboard.metrics import DashboardMetrics
from dashboard.throttle import LoginThrottle, ThrottleRule

T = TypeVar("T")
EXTENSION = "mycfa"
DATA_VERSION_TTL_S = 5.0  # how long one worker trusts the data version before asking the database
# Per worker, most recent first. The pages read the serving layer's tables (docs/serving.md), so a miss
# costs a few indexed reads and the drawing: no cache shared between workers or kept on disk is needed.
LOCAL_ENTRIES = 256


@dataclass
class Services:
    """What pages need at request time; one per Dash app."""

    settings: DashboardSettings
    router: ReplicaRouter
    audit: AuditStore
    throttle: LoginThrottle
    trusted_proxies: tuple[Network, ...]
    metrics: DashboardMetrics
    _version: tuple[float, str] = (float("-inf"), "")
    _local: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    _local_lock: threading.Lock = field(default_factory=threading.Lock)
    _version_lock: threading.Lock = field(default_factory=threading.Lock)

    def data_version(self) -> str:
        """A token that changes whenever an ingest changes data (cached a few seconds per worker)."""
        now = time.monotonic()
        with self._version_lock:
            at, value = self._version
            if now - at < DATA_VERSION_TTL_S:
                return value
        value = queries.data_version(self.router)
        with self._version_lock:
            self._version = (now, value)
        return value

    def clear(self) -> None:
        """Forget every cached answer and the data version, so the next read goes to a database node."""
        with self._local_lock:
            self._local.clear()
        with self._version_lock:
            self._version = (float("-inf"), "")

    def cached(self, name: str, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """`compute()` once per (name, key, data version) in this worker (an LRU of LOCAL_ENTRIES)."""
        raw = repr((name, key, self.data_version()))
        cache_key = name + ":" + hashlib.sha256(raw.encode()).hexdigest()[:32]
        with self._local_lock:
            if cache_key in self._local:
                self._local.move_to_end(cache_key)
                kept: T = self._local[cache_key]
                return kept
        value = compute()
        if flask.g.get("mycfa_stale"):  # never keep an answer from a lagging replica
            return value
        with self._local_lock:
            self._local[cache_key] = value
            while len(self._local) > LOCAL_ENTRIES:
                self._local.popitem(last=False)
        return value


def build_services(settings: DashboardSettings, server: flask.Flask) -> Services:
    """The app's services.

    Raises:
        ConfigError: no audit database and not told to start without one.
    """
    if not require_audit_database(settings):
        logging.getLogger("dashboard.audit").critical(
            "AUDIT TRAIL OFF: MYCFA_DASH_AUDIT_OPTIONAL is set and there is no audit database: no audit"
            " rows, the login throttle counts per process. Never in production."
        )
    router = ReplicaRouter(
        settings.database_url.get_secret_value(),
        [url.get_secret_value() for url in settings.replica_urls],
        max_lag_bytes=settings.max_lag_bytes,
        max_lag_seconds=settings.max_lag_seconds,
        statement_timeout_ms=settings.statement_timeout_ms,
        connect_timeout_s=settings.connect_timeout_s,
        pool_size=settings.pool_size,
        health_ttl_s=settings.health_ttl_s,
    )
    audit_url = settings.audit_database_url
    audit = AuditStore(
        audit_url.get_secret_value() if audit_url else None, connect_timeout_s=settings.connect_timeout_s
    )
    rule = ThrottleRule(settings.login_max_failures, settings.login_delay_base_s, settings.login_window_s)
    services = Services(
        settings=settings,
        router=router,
        audit=audit,
        throttle=LoginThrottle(audit, rule),
        trusted_proxies=parse_networks(settings.forwarded_allow_ips.split(",")),
        metrics=DashboardMetrics(unstored=lambda: audit.unstored),
    )
    server.extensions[EXTENSION] = services
    return services


def services() -> Services:
    """The services of the app serving the current request."""
    svc: Services = flask.current_app.extensions[EXTENSION]
    return svc
