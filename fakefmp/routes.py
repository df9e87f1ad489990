"""The fake's /stable paths as data: each path, the plan family that gates it, and its answer.

A path the fake learns is one entry (a test's toy: `ROUTES.registered(Route(...))` for its block):

    @ROUTES.serves("profile", kind="profile")
    def profile(fake: FakeFMP, ask: Ask) -> Answer:
        return 200, JSON, fake.universe.profile_body(ask.symbol)

The server authenticates, limits, injects faults and applies the plan's refusals for `kind`
(`fakefmp.plans.refusal`) before an answer runs; a path not in `ROUTES` is FMP's 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import orjson

from fakefmp import world_calendar
from fakefmp.data import MAX_STATEMENT_LIMIT, STATEMENT_PATHS
from fakefmp.events import CALENDAR_MAX_DAYS
from fakefmp.plans import bad_parameter

if TYPE_CHECKING:
    from fakefmp.server import FakeFMP

JSON = "application/json"
CSV = "text/csv"
NOT_FOUND = b'{"Error Message": "Not Found"}'
# The bulk throttle answers HTTP 200 with this JSON (FDN: "Limit Reach"; the rest of the wording
# is the 429's, the bulk text itself was not recorded in full).
BULK_LIMIT_REACH = (
    b'{"Error Message": "Limit Reach . Please upgrade your plan or visit our documentation for more '
    b'details at https://site.financialmodelingprep.com/"}'
)

Answer = tuple[int, str, bytes]  # status, content type, body


@dataclass(frozen=True, slots=True)
class Ask:
    """One API request as a route sees it: the path, its query, the symbol (upper case) and the key."""

    path: str
    params: dict[str, str]
    symbol: str
    key: str


Handler = Callable[["FakeFMP", Ask], Answer]


@dataclass(frozen=True, slots=True)
class Route:
    """A served path: `kind` is the endpoint family a plan gates (constituents, profile, statement,
    price, bulk, calendar); `answer` builds the response once the request passed every gate."""

    path: str
    kind: str
    answer: Handler


class RouteTable:
    """Path -> route, each path declared once; a second route for a path is refused."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}

    def add(self, route: Route) -> Route:
        if route.path in self._routes:
            raise ValueError(f"fakefmp already serves {route.path!r}")
        self._routes[route.path] = route
        return route

    def serves(self, *paths: str, kind: str) -> Callable[[Handler], Handler]:
        """Decorator: `answer` serves each of `paths`, gated as `kind`."""

        def declare(answer: Handler) -> Handler:
            for path in paths:
                self.add(Route(path, kind, answer))
            return answer

        return declare

    @contextmanager
    def registered(self, *routes: Route) -> Iterator[tuple[Route, ...]]:
        """Serve `routes` inside the block only (a test's toy endpoint), then forget them."""
        for number, route in enumerate(routes):
            try:
                self.add(route)
            except ValueError:
                for added in routes[:number]:
                    del self._routes[added.path]
                raise
        try:
            yield routes
        finally:
            for route in routes:
                del self._routes[route.path]

    def get(self, path: str) -> Route | None:
        return self._routes.get(path)

    def paths(self) -> tuple[str, ...]:
        return tuple(self._routes)


ROUTES = RouteTable()
PRICE_PATHS = {"historical-price-eod/full": False, "historical-price-eod/dividend-adjusted": True}


@ROUTES.serves("sp500-constituent", kind="constituents")
def constituents(fake: FakeFMP, ask: Ask) -> Answer:
    return 200, JSON, fake.universe.constituents_body()


@ROUTES.serves("historical-sp500-constituent", kind="constituents")  # Premium, like the current list
def historical_constituents(fake: FakeFMP, ask: Ask) -> Answer:
    return 200, JSON, fake.universe.historical_constituents_body()


@ROUTES.serves("profile", kind="profile")
def profile(fake: FakeFMP, ask: Ask) -> Answer:
    return 200, JSON, fake.universe.profile_body(ask.symbol)


@ROUTES.serves(*STATEMENT_PATHS, kind="statement")
def statements(fake: FakeFMP, ask: Ask) -> Answer:
    try:
        limit = min(int(ask.params.get("limit", "5")), MAX_STATEMENT_LIMIT)
    except ValueError:
        return 400, JSON, bad_parameter("limit")
    dataset = STATEMENT_PATHS[ask.path]
    period = ask.params.get("period", "annual")
    body = fake.universe.statement_body(dataset, ask.symbol, period, max(0, limit))
    body = fake.events.restate_body(ask.symbol, dataset, period, body)
    floor = fake.rules.floor(fake.universe.as_of)
    if floor is not None:  # a plan with 5 years of history serves 5 years of statements
        rows = [row for row in orjson.loads(body) if row["date"] >= floor.isoformat()]
        body = orjson.dumps(rows)
    return 200, JSON, body


@ROUTES.serves(*PRICE_PATHS, kind="price")
def prices(fake: FakeFMP, ask: Ask) -> Answer:
    params = ask.params
    try:
        start = date.fromisoformat(params["from"]).isoformat() if "from" in params else None
        end = date.fromisoformat(params["to"]).isoformat() if "to" in params else None
    except ValueError:
        return 400, JSON, bad_parameter("from" if "from" in params else "to")
    floor = fake.rules.floor(fake.universe.as_of)
    if floor is not None and (start is None or start < floor.isoformat()):
        start = floor.isoformat()  # what the plan serves (a strict plan refused older dates)
    body, rows = fake.universe.price_body(
        ask.symbol, adjusted=PRICE_PATHS[ask.path], start=start, end=end, cap=fake.config.row_cap
    )
    fake.stats.rows_served += rows
    return 200, JSON, body


def _bulk_limited(fake: FakeFMP, ask: Ask) -> bool:
    """Whether the plan's bulk throttle turns this request away (counted as a refusal)."""
    if fake.bulk_throttle.allow(ask.key, asyncio.get_running_loop().time()):
        return False
    fake.stats.refusals["200 bulk limit reach"] += 1
    return True


@ROUTES.serves("eod-bulk", kind="bulk")
def eod_bulk(fake: FakeFMP, ask: Ask) -> Answer:
    if _bulk_limited(fake, ask):
        return 200, JSON, BULK_LIMIT_REACH
    try:
        body = fake.bulk.eod_body(date.fromisoformat(ask.params["date"]).isoformat())
    except (KeyError, ValueError):
        return 400, JSON, bad_parameter("date")
    if fake.rules.strict and body.count(b"\n") <= 1:
        return 200, JSON, b"[]"  # nobody traded: the stricter reading of an unrecorded answer
    return 200, CSV, body


@ROUTES.serves("profile-bulk", kind="bulk")
def profile_bulk(fake: FakeFMP, ask: Ask) -> Answer:
    if _bulk_limited(fake, ask):
        return 200, JSON, BULK_LIMIT_REACH
    try:
        part = int(ask.params["part"])
    except (KeyError, ValueError):
        return 400, JSON, bad_parameter("part")
    body = fake.bulk.profile_body(part) if part >= 0 else b""
    if not body:  # past the last part: FMP answers 400 in plain text, not an empty 200
        return 400, JSON, bad_parameter("part")
    return 200, CSV, body


@ROUTES.serves("earnings-calendar", kind="calendar")
def earnings_calendar(fake: FakeFMP, ask: Ask) -> Answer:
    params = ask.params
    try:
        today = fake.universe.as_of
        first = date.fromisoformat(params["from"]) if "from" in params else today
        last = date.fromisoformat(params["to"]) if "to" in params else today + timedelta(days=90)
    except ValueError:
        return 400, JSON, bad_parameter("from")
    if not fake.rules.global_calendar:
        return 200, JSON, fake.events.calendar_body(first, last)
    ours = fake.events.calendar_rows(first, min(last, first + timedelta(days=CALENDAR_MAX_DAYS - 1)))
    return 200, JSON, world_calendar.body(ours, first, last)
