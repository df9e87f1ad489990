"""The fake FMP HTTP server (aiohttp): keys, limits, faults, plan refusals, admin API; answers: routes.py."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from fakefmp import cassettes
from fakefmp.bulk import Bulk
from fakefmp.config import (
    ERROR_401,
    ERROR_403_LEGACY,
    ERROR_429,
    FAULT_KINDS,
    HTML_PAGE,
    FakeConfig,
)
from fakefmp.data import Universe
from fakefmp.events import Events
from fakefmp.plans import RESTRICTED, BulkThrottle, DailyLimit, plan_rules, refusal, refused_value
from fakefmp.routes import CSV, JSON, NOT_FOUND, ROUTES, Answer, Ask
from fakefmp.stats import SlidingLimit, Stats

PLAN_FIELDS = ("plan", "unrecorded", "bulk_interval_s", "daily_limit", "profile_part_rows")
WRONG_SHAPE = b'{"data": [], "note": "an object where FMP sends an array"}'


class FakeFMP:
    """The server's state: config, data universe, counters, limiter, fault dice."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.universe = Universe(
            seed=config.seed, symbols=config.symbols, as_of=config.as_of, price_cache=config.price_cache
        )
        self.events = Events(self.universe, seed=config.seed, restatement_rate=config.restatement_rate)
        self.bulk = Bulk(self.universe)
        self.stats = Stats(config.window_s)
        self.limit = SlidingLimit(config.rate_limit, config.window_s)
        self.dice = random.Random(config.seed)
        self.upstream: aiohttp.ClientSession | None = None
        self.hold = Hold()
        self.apply_plan()

    def apply_plan(self) -> None:
        """(Re)build what the configured plan allows: its rules, daily count and bulk throttle."""
        cfg = self.config
        self.rules = plan_rules(
            cfg.plan,
            unrecorded=cfg.unrecorded,
            bulk_interval_s=cfg.bulk_interval_s,
            daily_limit=cfg.daily_limit,
        )
        self.daily = DailyLimit(self.rules.daily_limit)
        self.bulk_throttle = BulkThrottle(self.rules.bulk_interval_s)
        self.bulk.part_rows = cfg.profile_part_rows

    def _json(self, status: int, body: bytes, content_type: str = JSON) -> web.Response:
        self.stats.statuses[status] += 1
        return web.Response(status=status, body=body, content_type=content_type)

    async def api(self, request: web.Request) -> web.StreamResponse:
        """Every /stable/* request: count, authenticate, limit, maybe fault, then answer."""
        now = asyncio.get_running_loop().time()
        path = request.match_info["path"].strip("/")
        self.stats.arrived(now, path)
        key = request.headers.get("apikey") or request.query.get("apikey", "")
        if not key or (self.config.api_key is not None and key != self.config.api_key):
            return self._json(401, ERROR_401)
        if not self.limit.allow(key, now):
            return self._json(429, ERROR_429)
        if not self.daily.allow(key, datetime.now(UTC).date()):
            self.stats.refusals["daily limit"] += 1
            return self._json(429, ERROR_429)
        await self.hold.wait(path)
        fault = self._roll_fault()
        if fault is not None:
            self.stats.faults[fault] += 1
            early = await self._fault_before_answer(fault, request)
            if early is not None:
                return early
        status, content_type, body = await self._answer(path, request, key)
        if fault == "truncate":
            return await _truncated(request, body, content_type)
        if fault == "badjson":
            # complete (Content-Length matches) but cut mid-structure: not JSON any more
            return self._json(200, body[: max(1, len(body) // 2)] + b",", content_type)
        if content_type == CSV:
            self.stats.statuses[status] += 1
            return await _chunked(request, status, body, content_type)
        return self._json(status, body, content_type)

    async def _fault_before_answer(self, fault: str, request: web.Request) -> web.StreamResponse | None:
        """The response a fault gives instead of the answer (None: answer, after a stall or to be cut)."""
        if fault == "stall":
            await asyncio.sleep(self.config.stall_s)
            return None
        if fault == "reset":
            return _reset(request)
        if fault in ("5xx", "5xx-html"):
            body, kind = (
                (HTML_PAGE, "text/html") if fault == "5xx-html" else (b"Internal Server Error", "text/plain")
            )
            return self._json(self.dice.choice((500, 502, 503)), body, kind)
        if fault == "html":
            return self._json(200, HTML_PAGE, "text/html")
        if fault == "wrongshape":
            return self._json(200, WRONG_SHAPE)
        return None

    def _roll_fault(self) -> str | None:
        kinds = [k for k in self.config.faults if k in FAULT_KINDS]
        if not kinds or self.config.fault_rate <= 0 or self.dice.random() >= self.config.fault_rate:
            return None
        return self.dice.choice(kinds)

    async def _answer(self, path: str, request: web.Request, key: str) -> Answer:
        params = dict(request.query)
        folder = self.config.cassettes
        if folder is not None and self.config.record_from:
            if self.upstream is None:
                self.upstream = aiohttp.ClientSession()
            got = await cassettes.record(self.upstream, self.config.record_from, folder, path, params, key)
            return got.status, got.content_type, got.body
        if folder is not None:
            found = cassettes.load(folder, path, params)
            if found is None:
                return 404, JSON, b'{"Error Message": "fakefmp: no cassette for this request"}'
            return found.status, found.content_type, found.body
        return self._generated(path, params, key)

    def _refused(self, kind: str, params: dict[str, str], symbol: str) -> Answer | None:
        """The plan's refusal of this request, as FMP words it (plain text under application/json)."""
        if symbol and symbol in self.config.entitlement_denied:
            found: tuple[int, bytes] | None = (402, refused_value("symbol"))
        elif kind == "bulk" and self.config.bulk_denied:
            found = (402, RESTRICTED)
        else:
            found = refusal(self.rules, kind, params, symbol=symbol, today=self.universe.as_of)
        if found is None:
            return None
        self.stats.refusals[f"{found[0]} {kind}"] += 1
        return found[0], JSON, found[1]

    def _generated(self, path: str, params: dict[str, str], key: str) -> Answer:
        route = ROUTES.get(path)
        if route is None:
            return 404, JSON, NOT_FOUND
        symbol = params.get("symbol", "").upper()
        refused = self._refused(route.kind, params, symbol)
        if refused is not None:
            return refused
        return route.answer(self, Ask(path, params, symbol, key))

    async def legacy(self, request: web.Request) -> web.Response:
        """/api/v3/* and /api/v4/*: closed to keys made after 2025-08-31, as FMP answers them."""
        self.stats.arrived(asyncio.get_running_loop().time(), "api/" + request.match_info["path"])
        key = request.headers.get("apikey") or request.query.get("apikey", "")
        if not key or (self.config.api_key is not None and key != self.config.api_key):
            return self._json(401, ERROR_401)
        return self._json(403, ERROR_403_LEGACY)

    # --- admin (not under the API paths; no key) ---------------------------------------------------

    async def admin_stats(self, request: web.Request) -> web.Response:
        snapshot = self.stats.snapshot() | {
            "rate_limit": self.config.rate_limit,
            "plan": self.rules.name,
            "as_of": self.universe.as_of.isoformat(),
            "held": self.hold.waiting,
        }
        return web.Response(body=orjson.dumps(snapshot), content_type=JSON)

    async def admin_reset(self, request: web.Request) -> web.Response:
        self.stats.reset()
        self.limit.reset()
        self.daily.reset()
        self.bulk_throttle.reset()
        return web.Response(body=b'{"ok": true}', content_type=JSON)

    async def admin_config(self, request: web.Request) -> web.Response:
        """Change fault_rate, faults, stall_s, rate_limit, window_s, entitlement_denied, bulk_denied,
        restatement_rate or the plan (plan, unrecorded, bulk_interval_s, daily_limit,
        profile_part_rows) while running."""
        changes: dict[str, Any] = orjson.loads(await request.read() or b"{}")
        cfg = self.config
        if "fault_rate" in changes:
            cfg.fault_rate = float(changes["fault_rate"])
        if "faults" in changes:
            cfg.faults = tuple(str(k) for k in changes["faults"])
        if "stall_s" in changes:
            cfg.stall_s = float(changes["stall_s"])
        if "bulk_denied" in changes:
            cfg.bulk_denied = bool(changes["bulk_denied"])
        if "restatement_rate" in changes:
            cfg.restatement_rate = float(changes["restatement_rate"])
            self.events = Events(self.universe, seed=cfg.seed, restatement_rate=cfg.restatement_rate)
        if "entitlement_denied" in changes:
            cfg.entitlement_denied = tuple(str(s).upper() for s in changes["entitlement_denied"])
        self._change_plan(changes)
        if "rate_limit" in changes or "window_s" in changes:
            cfg.rate_limit = int(changes.get("rate_limit", cfg.rate_limit))
            cfg.window_s = float(changes.get("window_s", cfg.window_s))
            self.limit = SlidingLimit(cfg.rate_limit, cfg.window_s)
            self.stats.window_s = cfg.window_s
        return web.Response(body=b'{"ok": true}', content_type=JSON)

    def _change_plan(self, changes: dict[str, Any]) -> None:
        named = [name for name in PLAN_FIELDS if name in changes]
        for name in named:
            setattr(self.config, name, changes[name])
        if named:
            self.apply_plan()

    async def admin_hold(self, request: web.Request) -> web.Response:
        """POST {"paths": [...]}: hold answers to those API paths (none named: every path) until POST
        {"release": true}; tests use it to keep a run in progress for as long as they need."""
        payload = orjson.loads(await request.read() or b"{}")
        if payload.get("release"):
            self.hold.release()
        else:
            self.hold.start(tuple(str(p).strip("/") for p in payload.get("paths") or ()))
        return web.Response(body=orjson.dumps({"held": self.hold.waiting}), content_type=JSON)

    async def admin_as_of(self, request: web.Request) -> web.Response:
        """POST {"date": "YYYY-MM-DD"}: move "today" (prices and filings after it stay invisible)."""
        payload = orjson.loads(await request.read() or b"{}")
        self.universe.set_as_of(date.fromisoformat(payload["date"]))
        return web.Response(body=orjson.dumps({"as_of": self.universe.as_of.isoformat()}), content_type=JSON)

    async def admin_restate(self, request: web.Request) -> web.Response:
        """POST {"symbol", "dataset", "period", "date", "field", "value"}: change one reported value."""
        p = orjson.loads(await request.read() or b"{}")
        try:
            self.universe.restate(
                p["symbol"], p["dataset"], p.get("period", "annual"), p["date"], p["field"], p["value"]
            )
        except KeyError as exc:
            return web.Response(status=400, text=f"bad restatement: {exc}")
        return web.Response(body=b'{"ok": true}', content_type=JSON)

    async def close(self) -> None:
        if self.upstream is not None:
            await self.upstream.close()


class Hold:
    """Answers held back on request of a test: a gate per hold, opened by `release`."""

    def __init__(self) -> None:
        self.paths: tuple[str, ...] | None = None  # None: nothing held; (): every path
        self.gate = asyncio.Event()
        self.waiting = 0

    def start(self, paths: tuple[str, ...]) -> None:
        self.paths = paths
        self.gate = asyncio.Event()

    def release(self) -> None:
        self.paths = None
        self.gate.set()

    async def wait(self, path: str) -> None:
        if self.paths is None or (self.paths and path not in self.paths):
            return
        gate = self.gate
        self.waiting += 1
        try:
            await gate.wait()
        finally:
            self.waiting -= 1


def _reset(request: web.Request) -> web.Response:
    """Drop the connection with a TCP RST, as an overloaded edge does."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response(status=500)  # never reaches the client: the connection is gone


BULK_PIECE = 16 * 1024  # bytes per chunk of a bulk answer


async def _chunked(request: web.Request, status: int, body: bytes, content_type: str) -> web.StreamResponse:
    """A bulk file as FMP sends it: chunked, without Content-Length, so a client must read it as a
    stream (FMP's whole-market files run to tens of MB)."""
    response = web.StreamResponse(status=status, headers={"Content-Type": content_type})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for start in range(0, len(body), BULK_PIECE):
        await response.write(body[start : start + BULK_PIECE])
    await response.write_eof()
    return response


async def _truncated(request: web.Request, body: bytes, content_type: str) -> web.StreamResponse:
    """Announce the whole body, send half of it, then close."""
    response = web.StreamResponse(status=200, headers={"Content-Type": content_type})
    response.content_length = len(body) + 1
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.close()
    return response


STATE_KEY = web.AppKey("fakefmp", FakeFMP)


def build_app(config: FakeConfig) -> web.Application:
    state = FakeFMP(config)
    app = web.Application()
    app[STATE_KEY] = state
    app.router.add_get("/stable/{path:.+}", state.api)
    app.router.add_get("/api/{path:.+}", state.legacy)
    app.router.add_get("/__fake/stats", state.admin_stats)
    app.router.add_post("/__fake/reset", state.admin_reset)
    app.router.add_post("/__fake/config", state.admin_config)
    app.router.add_post("/__fake/as-of", state.admin_as_of)
    app.router.add_post("/__fake/hold", state.admin_hold)
    app.router.add_post("/__fake/restate", state.admin_restate)

    async def _close(_app: web.Application) -> None:
        await state.close()

    app.on_cleanup.append(_close)
    return app


@dataclass(slots=True)
class RunningServer:
    """A started fake: `url` is the root, `base_url` what MYCFA_FMP_BASE_URL should be."""

    runner: web.AppRunner
    host: str
    port: int
    state: FakeFMP

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/stable"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_server(config: FakeConfig) -> RunningServer:
    """Start the fake in the running loop on `config.port` (0: a free loopback port)."""
    runner = web.AppRunner(build_app(config), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    server = site._server  # aiohttp exposes the bound sockets only here
    sockets = getattr(server, "sockets", None) or ()
    port = sockets[0].getsockname()[1] if sockets else config.port
    return RunningServer(runner, config.host, port, runner.app[STATE_KEY])


@asynccontextmanager
async def serve(config: FakeConfig) -> AsyncIterator[RunningServer]:
    """`async with serve(FakeConfig(...)) as fake:` — started on entry, stopped on exit."""
    running = await start_server(config)
    try:
        yield running
    finally:
        await running.stop()
