"""Prewarm: each company's first-click answers computed into the shared cache once per data version.

A cold request costs the dashboard ~2-13x the CPU of a warm one (statement payloads into frames, price
histories, DCF inputs), and after an ingest every key is cold. `mycfa-dashboard prewarm` walks every
company with a stored profile, at low priority, and calls the pages' own callbacks with each page's
default controls (read from its layout), plus the statement frames and forecast series (month-end
closes included) the pages offer next, inside the app's request context, so the entries land under the same keys the pages ask
for. Its progress is kept in the shared cache (`/health/ready` shows it).
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

import flask
from dash.development.base_component import Component

from dashboard.components import company_data
from dashboard.components.page import UNREACHABLE
from dashboard.data import queries
from dashboard.services import Services, services

STATUS_KEY = "mycfa-prewarm-status"
POLL_S = 5.0  # how often the loop asks for the data version
PROGRESS_EVERY = 25  # symbols between progress records
PATH = "/prewarm"  # the request path the warm-up's contexts carry (never served)
NICE = 10  # `serve` starts the loop this much below the workers' priority

_log = logging.getLogger("dashboard.prewarm")

SYMBOL_INPUTS = frozenset({"company-symbol", "valuation-symbol", "forecast-symbol"})


def first_click() -> tuple[tuple[Callable[..., Any], tuple[str, ...]], ...]:
    """The per-company callbacks an analyst's first look at a company runs, each with its inputs' ids
    in order (tests/dashboard/test_prewarm.py checks them against the app's callback map). Their values
    are the page's defaults, read from its layout; the symbol is the company being warmed.

    Imported here: pages register themselves, which Dash allows only once the app exists.
    """
    from dashboard.pages import company, forecast, valuation

    return (
        (company.company_profile, ("company-symbol",)),
        (
            company.company_price,
            (
                "company-symbol",
                "company-adjusted",
                "company-overlays",
                "company-range",
                "company-oscillators",
            ),
        ),
        (company.company_statements, ("company-symbol", "company-period", "company-kind", "company-asof")),
        (
            valuation.valuation_update,
            ("valuation-symbol", "valuation-asof", *(f"valuation-{key}" for key in valuation.ASSUMPTIONS)),
        ),
        (
            forecast.forecast_update,
            ("forecast-symbol", "forecast-series", "forecast-frequency", "forecast-method"),
        ),
    )


@dataclass(frozen=True, slots=True)
class Status:
    """One warm-up's progress, as kept in the shared cache."""

    version: str  # the data version it warms
    total: int
    done: int = 0
    failed: int = 0
    finished: bool = False
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def read_status(svc: Services) -> Status | None:
    """The latest warm-up's status from the shared cache (None before any, or after a clear)."""
    raw = svc.cache.get(STATUS_KEY)
    return Status(**raw) if isinstance(raw, dict) else None


def _record(status: Status) -> None:
    services().cache.set(STATUS_KEY, asdict(status), timeout=0)  # kept until replaced


def _controls(tree: Component) -> dict[str, Any]:
    """Every control's value (a date picker's date) in a layout, by id."""
    found: dict[str, Any] = {}
    for ident in tree:  # Dash components iterate over the ids in their tree
        node = tree[ident]
        found[str(ident)] = getattr(node, "value", getattr(node, "date", None))
    return found


def defaults(symbol: str) -> dict[str, Any]:
    """The default value of every control of the per-company pages, from their own layouts."""
    from dashboard.pages import company, forecast, valuation

    values: dict[str, Any] = {}
    for page in (company, valuation, forecast):
        values.update(_controls(page.layout(symbol=symbol)))
    missing = {i for _, ids in first_click() for i in ids} - SYMBOL_INPUTS - set(values)
    if missing:  # a page's layout is an error state (no database) or lost a control
        raise LookupError(f"no default for {sorted(missing)} in the pages' layouts")
    return values


def warm_symbol(symbol: str, controls: dict[str, Any]) -> None:
    """One company's frames for every period and frequency the pages offer, then its first clicks.

    Raises:
        NoNodeAvailable / QueryFailed: from the frames' reads (the callbacks show them as error states).
    """
    from dashboard.pages import company, forecast

    for period in company.PERIODS:
        company_data.statements(symbol, period)
    company_data.adjusted_close(symbol)  # Portfolio's and Compare's closes, whatever the peers
    for frequency in forecast.FREQUENCIES:
        forecast.history(symbol, next(iter(forecast.SERIES)), frequency)  # every series of it at once
    forecast.month_end_closes(symbol)  # the price series, whatever the method
    for callback, ids in first_click():
        # The function under Dash's wrapper: what the Dash endpoint runs, without a request body.
        inspect.unwrap(callback)(*(symbol if i in SYMBOL_INPUTS else controls[i] for i in ids))


def warm(server: flask.Flask, *, progress_every: int = PROGRESS_EVERY) -> Status:
    """Warm every company with a profile for the current data version; returns the final status.

    A company whose data breaks a computation is logged and skipped.

    Raises:
        NoNodeAvailable / QueryFailed: the database stopped answering (the pass is abandoned).
    """
    started, cpu = time.monotonic(), time.process_time()
    with server.test_request_context(PATH):
        version = services().data_version()
        symbols = queries.profiled_symbols(services().router)
        controls = defaults(symbols[0]) if symbols else {}
        status = Status(version, len(symbols))
        _record(status)
    _log.info("prewarm start", extra={"fields": {"symbols": len(symbols)}})

    def elapsed(state: Status, **changes: Any) -> Status:
        return replace(
            state,
            seconds=round(time.monotonic() - started, 1),
            cpu_seconds=round(time.process_time() - cpu, 1),
            **changes,
        )

    for index, symbol in enumerate(symbols, 1):
        # A fresh request context per company: flask.g starts clean, so one answer from a lagging
        # replica keeps only that company's entries out of the cache, as it would for a request.
        with server.test_request_context(PATH):
            try:
                warm_symbol(symbol, controls)
            except UNREACHABLE:
                raise
            # Any error: bad data in one company must not stop the others. Not swallowed: logged with
            # its traceback at ERROR, and counted in the status.
            except Exception:  # noqa: BLE001
                status = replace(status, failed=status.failed + 1)
                _log.error("prewarm skipped a symbol", exc_info=True, extra={"fields": {"symbol": symbol}})
            status = replace(status, done=index)
            if index % progress_every == 0 and index < len(symbols):
                status = elapsed(status)
                _record(status)
                _log.info("prewarm progress", extra={"fields": _fields(status)})
    with server.test_request_context(PATH):
        status = elapsed(status, finished=True)
        _record(status)
    _log.info("prewarm done", extra={"fields": _fields(status)})
    return status


def _fields(status: Status) -> dict[str, Any]:
    return {
        "symbols": status.total,
        "done": status.done,
        "failed": status.failed,
        "seconds": status.seconds,
        "cpu_seconds": status.cpu_seconds,
    }


def loop(
    server: flask.Flask,
    *,
    poll_s: float = POLL_S,
    sleep: Callable[[float], None] = time.sleep,
    rounds: Iterable[int] | None = None,
) -> None:
    """Warm, then re-warm whenever the data version changes, the status is gone from the cache, or the
    last warm-up is older than the cache's entry lifetime (its entries have expired). Returns when the
    process that started it has gone (or after `rounds`, for tests).
    """
    parent = os.getppid()
    warmed: tuple[str, float] | None = None  # version, monotonic time its warm-up finished
    for _ in rounds if rounds is not None else iter(int, 1):
        try:
            with server.test_request_context(PATH):
                svc = services()
                version, status, ttl = svc.data_version(), read_status(svc), svc.settings.cache_ttl_s
            expired = warmed is not None and time.monotonic() - warmed[1] >= ttl
            if warmed is None or warmed[0] != version or status is None or expired:
                done = warm(server)
                warmed = (done.version, time.monotonic())
        # LookupError: a page's layout was an error state (the database went away between two reads).
        except (*UNREACHABLE, LookupError) as exc:
            _log.warning("prewarm waits for the database", extra={"fields": {"error": str(exc)}})
        if os.getppid() != parent:  # the server that started this loop is gone
            return
        sleep(poll_s)
