"""Per-app services (settings, replica router, audit store, throttle, answer cache) for any callback or route."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import flask

from dashboard.answer_cache import AnswerCache
from dashboard.audit_store import AuditStore
from dashboard.config import DashboardSettings, require_audit_database
from dashboard.data import queries
from dashboard.data.router import ReplicaRouter
from dashboard.forwarded import Network, parse_networks
from dashboard.metrics import DashboardMetrics
from dashboard.throttle import LoginThrottle, ThrottleRule

EXTENSION = "mycfa"


@dataclass
class Services:
    """What pages need at request time; one per Dash app."""

    settings: DashboardSettings
    router: ReplicaRouter
    audit: AuditStore
    throttle: LoginThrottle
    trusted_proxies: tuple[Network, ...]
    metrics: DashboardMetrics
    cache: AnswerCache


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
    rule = ThrottleRule(
        settings.login_max_failures,
        settings.login_delay_base_s,
        settings.login_window_s,
        account_free=settings.login_account_max_failures,
        account_window_s=settings.login_account_window_s,
        known_days=settings.login_known_address_days,
    )
    services = Services(
        settings=settings,
        router=router,
        audit=audit,
        throttle=LoginThrottle(audit, rule),
        trusted_proxies=parse_networks(settings.forwarded_allow_ips.split(",")),
        metrics=DashboardMetrics(unstored=lambda: audit.unstored),
        cache=AnswerCache(functools.partial(queries.data_version, router)),
    )
    server.extensions[EXTENSION] = services
    return services


def services() -> Services:
    """The services of the app serving the current request."""
    svc: Services = flask.current_app.extensions[EXTENSION]
    return svc
