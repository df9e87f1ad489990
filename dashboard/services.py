"""Per-app services (settings, replica router, shared cache) reachable from any callback or route."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import struct
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import flask
from flask_caching import Cache

from dashboard.audit_store import AuditStore
from dashboard.config import ConfigError, DashboardSettings
from dashboard.data import queries
from dashboard.data.router import ReplicaRouter
from dashboard.forwarded import Network, parse_networks
from dashboard.metrics import DashboardMetrics
from dashboard.throttle import LoginThrottle, ThrottleRule

T = TypeVar("T")
_log = logging.getLogger("dashboard.cache")
EXTENSION = "mycfa"
DATA_VERSION_TTL_S = 5.0  # how long one worker trusts the data version before asking the database
LOCAL_ENTRIES = 256  # per worker; entries are figures and per-symbol frames of ~100 kB
SWEEP_S = 300.0  # how often each process deletes the shared cache's expired entries
CACHELIB_WRITING_SUFFIX = ".__wz_cache"  # cachelib's temporary files: entries being written


@dataclass
class Services:
    """What pages need at request time; one per Dash app."""

    settings: DashboardSettings
    router: ReplicaRouter
    cache: Cache
    audit: AuditStore
    throttle: LoginThrottle
    trusted_proxies: tuple[Network, ...]
    metrics: DashboardMetrics
    _version: tuple[float, str] = (float("-inf"), "")
    # In front of the shared file cache: each worker keeps its most recent entries unpickled.
    _local: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    _local_lock: threading.Lock = field(default_factory=threading.Lock)
    _version_lock: threading.Lock = field(default_factory=threading.Lock)
    _swept: float = field(default_factory=time.monotonic)
    _sweep_lock: threading.Lock = field(default_factory=threading.Lock)

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
        self.cache.clear()
        with self._local_lock:
            self._local.clear()
        with self._version_lock:
            self._version = (float("-inf"), "")

    def _sweep_when_due(self) -> None:
        """Every SWEEP_S, delete the shared cache's expired entries, in a thread of its own (the cache
        has no entry limit: see build_services). Every process that writes to the cache does it, so
        no deployment (gunicorn alone, `serve`, the prewarm) leaves the folder to grow."""
        now = time.monotonic()
        with self._sweep_lock:
            if now - self._swept < SWEEP_S:
                return
            self._swept = now
        folder = cache_dir(self.settings)
        threading.Thread(target=_sweep_logged, args=(folder,), name="cache-sweep", daemon=True).start()

    def cached(self, name: str, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """`compute()` once per (name, key, data version) across all workers."""
        raw = repr((name, key, self.data_version()))
        cache_key = name + ":" + hashlib.sha256(raw.encode()).hexdigest()[:32]
        with self._local_lock:
            if cache_key in self._local:
                self._local.move_to_end(cache_key)
                kept: T = self._local[cache_key]
                return kept
        hit: T | None = self.cache.get(cache_key)
        if hit is None:
            hit = compute()
            if flask.g.get("mycfa_stale"):  # never keep an answer from a lagging replica
                return hit
            self.cache.set(cache_key, hit)
            self._sweep_when_due()
        with self._local_lock:
            self._local[cache_key] = hit
            while len(self._local) > LOCAL_ENTRIES:
                self._local.popitem(last=False)
        return hit


def cache_dir(settings: DashboardSettings) -> str:
    """The cache folder, private to this user: it holds pickles, and unpickling a file that someone
    else could write would run their code.

    Raises:
        ConfigError: the folder is a symlink, not ours, or open to the group or others.
    """
    uid = os.geteuid()
    folder = Path(settings.cache_dir or Path(tempfile.gettempdir()) / f"mycfa-dash-cache-{uid}")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = folder.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise ConfigError("configuration error: MYCFA_DASH_CACHE_DIR is invalid (not a plain folder)")
    if info.st_uid != uid:
        raise ConfigError("configuration error: MYCFA_DASH_CACHE_DIR is invalid (owned by another user)")
    if info.st_mode & 0o077:
        raise ConfigError(
            "configuration error: MYCFA_DASH_CACHE_DIR is invalid (open to group or others: chmod 700 it)"
        )
    return str(folder)


def sweep_expired(folder: str | Path, now: float | None = None) -> int:
    """Delete the cache files whose lifetime has passed; returns how many.

    Each cachelib entry starts with its expiry (a 4-byte Unix time, 0 for never); entries being written
    and cachelib's own counter are left alone. One pass reads 4 bytes per file, once, in one process.
    """
    moment = time.time() if now is None else now
    removed = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(CACHELIB_WRITING_SUFFIX) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                with open(entry.path, "rb") as handle:
                    head = handle.read(4)
                if len(head) == 4 and 0 < struct.unpack("I", head)[0] < moment:
                    os.remove(entry.path)
                    removed += 1
            except FileNotFoundError:  # another process removed or replaced it meanwhile
                continue
    return removed


def _sweep_logged(folder: str) -> None:
    started = time.monotonic()
    removed = sweep_expired(folder)
    _log.info(
        "cache sweep", extra={"fields": {"removed": removed, "seconds": round(time.monotonic() - started, 3)}}
    )


def build_services(settings: DashboardSettings, server: flask.Flask) -> Services:
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
    # FileSystemCache: shared by every gunicorn worker on the machine, no extra server to run.
    cache = Cache(
        server,
        config={
            "CACHE_TYPE": "FileSystemCache",
            "CACHE_DIR": cache_dir(settings),
            "CACHE_DEFAULT_TIMEOUT": settings.cache_ttl_s,
            # No entry limit: past its limit cachelib opens every file in the folder, twice, on each
            # set, to find what to drop (20,000 files: the 503-company prewarm plus a load test's
            # answers stalled the workers for over 60 s). Expired entries are swept instead
            # (`Services._sweep_when_due`).
            "CACHE_THRESHOLD": 0,
        },
    )
    audit_url = settings.audit_database_url
    audit = AuditStore(
        audit_url.get_secret_value() if audit_url else None, connect_timeout_s=settings.connect_timeout_s
    )
    rule = ThrottleRule(settings.login_max_failures, settings.login_delay_base_s, settings.login_window_s)
    services = Services(
        settings=settings,
        router=router,
        cache=cache,
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
