"""FMP's plans as the fake serves them: what a key's plan refuses, with FMP's status codes and words.

What each plan allows comes from FMP's pricing page and from projects that called the live API
(tests/fixtures/fmp/real/README.md; docs/fmp.md, "Plans"). Where nobody recorded what FMP does,
the fake takes the stricter reading by default (`unrecorded="strict"`) and the lenient one on
request, so the engine is tested against both:

| unrecorded behaviour                         | strict (default)          | lenient                     |
| -------------------------------------------- | ------------------------- | --------------------------- |
| Starter: price `from` beyond 5 years         | 402 "value set for 'from'"| clipped silently to 5 years |
| Starter: `period=quarter`                    | 402 "value set for 'period'" | served (5 years of quarters) |
| Starter: statement `limit` above 5           | 402 "'limit' must be ..." | served                      |
| eod-bulk of a day nobody traded              | `200 []` (JSON)           | the CSV header alone        |

The default plan (`open`) is the fake as it was before plans: everything served to any key.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from datetime import date

# FMP's refusals are plain text under content-type application/json (tests/fixtures/fmp/real).
RESTRICTED = b"Restricted Endpoint: This endpoint is not available under your current subscription"


def refused_value(parameter: str) -> bytes:
    """FMP's 402 text for a parameter value outside the plan (`symbol`, `from`, `period`)."""
    return (
        f"Premium Query Parameter: 'Special Endpoint : This value set for '{parameter}' "
        "is not available under your current subscription"
    ).encode()


def refused_limit(cap: int) -> bytes:
    """FMP's 402 text for a statement `limit` above the plan's."""
    return f"Premium Query Parameter: 'limit' must be between 0 and {cap}".encode()


def bad_parameter(parameter: str) -> bytes:
    """FMP's 400 text for a missing or invalid parameter (a profile-bulk part past the last one)."""
    return f"Query Error: Invalid or missing query parameter - {parameter}".encode()


# The free plan's symbols: FMP says "AAPL, TSLA, AMZN and 84 more" without the list, so the fake
# takes 87 of the largest constituents.
FREE_SYMBOLS = frozenset(
    """AAPL TSLA AMZN MSFT NVDA GOOGL GOOG META AVGO BRK-B JPM WMT LLY ORCL V MA NFLX XOM COST JNJ HD PG
    BAC ABBV PLTR KO UNH AMD CVX GE CSCO TMUS WFC PM IBM CRM MS ABT GS LIN AXP MCD INTU DIS T MRK RTX CAT
    PEP NOW ISRG UBER VZ TMO BKNG QCOM BLK SCHW C ADBE SPGI TXN AMGN NKE SBUX BA INTC PFE MMM HON LOW UPS
    DE LMT GILD MDT CMCSA PYPL F GM MO DUK SO NEE ADP MU CVS""".split()
)
STRICT, LENIENT = "strict", "lenient"
UNRECORDED = (STRICT, LENIENT)


@dataclass(frozen=True, slots=True)
class PlanRules:
    """What one FMP plan serves."""

    name: str
    rate_limit: int  # requests per key in any 60 s
    daily_limit: int | None = None  # requests per key per UTC day
    constituents: bool = True  # sp500-constituent (Premium and up)
    bulk: bool = True  # eod-bulk and profile-bulk (Ultimate)
    bulk_interval_s: float = 0.0  # a bulk request sooner than this after the last: 200 "Limit Reach"
    history_years: int | None = None  # None: the whole history (30+ years)
    statement_limit: int | None = None  # the largest statement `limit` accepted
    quarterly: bool = True  # statements with period=quarter
    calendar: bool = True  # earnings-calendar
    global_calendar: bool = True  # the calendar lists every exchange (cut at 4,000 rows)
    symbols: frozenset[str] | None = None  # None: every symbol
    unrecorded: str = STRICT

    def floor(self, today: date) -> date | None:
        """The oldest date the plan serves on `today` (None: no floor)."""
        if self.history_years is None:
            return None
        try:
            return today.replace(year=today.year - self.history_years)
        except ValueError:  # 29 February
            return today.replace(year=today.year - self.history_years, day=28)

    @property
    def strict(self) -> bool:
        return self.unrecorded == STRICT


OPEN = PlanRules("open", 300, global_calendar=False, unrecorded=LENIENT)
PLANS: dict[str, PlanRules] = {
    "free": PlanRules(
        "free",
        250,
        daily_limit=250,
        constituents=False,
        bulk=False,
        history_years=5,
        statement_limit=5,
        quarterly=False,
        calendar=False,
        symbols=FREE_SYMBOLS,
    ),
    "starter": PlanRules("starter", 300, constituents=False, bulk=False, history_years=5),
    "premium": PlanRules("premium", 750, bulk=False),
    "ultimate": PlanRules("ultimate", 3000, bulk_interval_s=5.0),
}
PLAN_NAMES = tuple(PLANS)


def plan_rules(
    name: str | None,
    *,
    unrecorded: str | None = None,
    bulk_interval_s: float | None = None,
    daily_limit: int | None = None,
) -> PlanRules:
    """The rules of plan `name` (None: the open default), with the overrides given.

    Starter's unrecorded behaviours follow `unrecorded`: strict refuses old `from` dates, quarters
    and a `limit` above 5 like the free plan; lenient serves them within its 5 years.

    Raises:
        ValueError: an unknown plan or `unrecorded` value.
    """
    rules = OPEN if name is None else PLANS.get(name)
    if rules is None:
        raise ValueError(f"unknown plan {name!r}: one of {', '.join(PLAN_NAMES)}")
    changes: dict[str, object] = {}
    if unrecorded is not None:
        if unrecorded not in UNRECORDED:
            raise ValueError(f"unrecorded must be one of {', '.join(UNRECORDED)}")
        changes["unrecorded"] = unrecorded
    if bulk_interval_s is not None:
        changes["bulk_interval_s"] = bulk_interval_s
    if daily_limit is not None:
        changes["daily_limit"] = daily_limit
    rules = replace(rules, **changes)  # type: ignore[arg-type]
    if rules.name == "starter" and rules.strict:
        rules = replace(rules, quarterly=False, statement_limit=5)
    return rules


class DailyLimit:
    """Requests per key per day: FMP's free plan counts 250 a day, then answers 429."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._counts: dict[tuple[str, date], int] = {}

    def allow(self, key: str, today: date) -> bool:
        if self.limit is None:
            return True
        count = self._counts.get((key, today), 0)
        if count >= self.limit:
            return False
        self._counts[(key, today)] = count + 1
        return True

    def reset(self) -> None:
        self._counts.clear()


class BulkThrottle:
    """FMP's separate bulk throttle: a bulk request too soon after the previous one gets HTTP 200 with
    a "Limit Reach" JSON body (not a 429)."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self.refused: deque[float] = deque(maxlen=1000)

    def allow(self, key: str, now: float) -> bool:
        last = self._last.get(key)
        if self.interval_s > 0 and last is not None and now - last < self.interval_s:
            self.refused.append(now)
            return False
        self._last[key] = now
        return True

    def reset(self) -> None:
        self._last.clear()
        self.refused.clear()


Refusal = tuple[int, bytes]


def refusal(
    rules: PlanRules, kind: str, params: dict[str, str], *, symbol: str, today: date
) -> Refusal | None:
    """The 402 (status, plain-text body) the plan answers a request of `kind` with, or None to serve it.

    `kind` is the endpoint family: constituents, bulk, calendar, statement, price or profile.
    """
    if symbol and rules.symbols is not None and symbol not in rules.symbols:
        return 402, refused_value("symbol")
    if (kind == "constituents" and not rules.constituents) or (kind == "bulk" and not rules.bulk):
        return 402, RESTRICTED
    if kind == "calendar" and not rules.calendar:
        return 402, refused_value("from")
    if kind == "statement":
        if params.get("period", "annual") not in ("annual", "FY") and not rules.quarterly:
            return 402, refused_value("period")
        cap = rules.statement_limit
        limit = params.get("limit", "")
        if cap is not None and limit.isdigit() and int(limit) > cap:
            return 402, refused_limit(cap)
    if kind == "price" and rules.strict:
        floor = rules.floor(today)
        start = params.get("from", "")
        if floor is not None and start and start < floor.isoformat():
            return 402, refused_value("from")
    return None
