"""`mycfa-engine probe`: a handful of cheap requests that learn what the key's FMP plan allows.

At most PROBE_MAX_REQUESTS requests, each asking one thing a plan may refuse (docs/fmp.md, "Plans"):

| check        | request                                                        | refused on        |
| ------------ | -------------------------------------------------------------- | ----------------- |
| auth         | the first request, key in the `apikey` header (then the query) | -                 |
| constituents | `sp500-constituent`                                            | Free, Starter     |
| history      | a week of AAPL prices 30 years back (then 5 years back)        | Free, Starter     |
| limit        | AAPL's annual income statements with `limit=1000`              | Free (max 5)      |
| quarterly    | AAPL's quarterly income statement                              | Free, Starter     |
| calendar     | the earnings calendar of the last two days                     | Free              |
| bulk         | `profile-bulk` past its last part (a 400 there means allowed)  | all but Ultimate  |

The result is printed as a table, stored (`fmp_probes`, schema/130) and read by `plan` and `run`,
which probe again when the stored result is older than PROBE_MAX_AGE or absent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from engine.db.pool import store_boundary
from engine.errors import FMPAuthError, FMPEntitlementError, FMPRequestError
from engine.fmp import FMPClient
from engine.fmp.endpoints import (
    CONSTITUENTS,
    EARNINGS_CALENDAR,
    INCOME,
    PRICES,
    PROFILE_BULK,
    STATEMENT_LIMIT,
)
from engine.fmp.entitlements import Check, Entitlements, limit_cap, years_before

log = logging.getLogger("engine.run")

PROBE_MAX_REQUESTS = 10
PROBE_MAX_AGE = timedelta(days=7)
PROBE_SYMBOL = "AAPL"  # served on every plan, the free one included
DEEP_YEARS = 30
SHALLOW_YEARS = 5
PAST_LAST_PART = 999  # profile-bulk has 4 parts: this one answers 400 where bulk is allowed
STORE_TIMEOUT_S = 30.0


async def _outcome(request: Callable[[], Awaitable[Any]]) -> tuple[bool, int, str | None, Any]:
    """(allowed, status, FMP's words, answer) of one probe request; a refusal is an answer, not a failure."""
    try:
        answer = await request()
    except FMPEntitlementError as exc:
        return False, exc.status, exc.reason, None
    return True, 200, None, answer


async def probe(fmp: FMPClient, today: date) -> Entitlements:
    """Ask FMP what the key's plan allows (at most PROBE_MAX_REQUESTS requests).

    Raises:
        FMPAuthError: the key is refused in the header and in the query.
        FMPError: a request failed for another reason (after the client's retries).
    """
    before = fmp.counters.requests
    checks: list[Check] = []
    allowed, status, words, _ = await _auth_and_constituents(fmp, checks)
    checks.append(Check("constituents", allowed, "sp500-constituent", status, words))

    history_years: int | None = None
    deep = years_before(today, DEEP_YEARS)
    allowed, status, words, _ = await _outcome(
        lambda: fmp.fetch(PRICES, symbol=PROBE_SYMBOL, start=deep, end=deep + timedelta(days=6))
    )
    detail = f"prices from {deep}"
    if not allowed:
        shallow = years_before(today, SHALLOW_YEARS) + timedelta(days=7)
        ok, _, _, _ = await _outcome(
            lambda: fmp.fetch(PRICES, symbol=PROBE_SYMBOL, start=shallow, end=shallow + timedelta(days=6))
        )
        history_years = SHALLOW_YEARS if ok else 0
        detail = f"{DEEP_YEARS} years refused; {SHALLOW_YEARS} years {'served' if ok else 'refused too'}"
    checks.append(Check("history", allowed, detail, status, words))

    statement_limit: int | None = None
    allowed, status, words, _ = await _outcome(
        lambda: fmp.fetch(INCOME, symbol=PROBE_SYMBOL, period="annual", limit=STATEMENT_LIMIT)
    )
    if not allowed:
        statement_limit = _cap_from(words)
    checks.append(Check("limit", allowed, f"limit={STATEMENT_LIMIT}", status, words))

    allowed, status, words, _ = await _outcome(
        lambda: fmp.fetch(INCOME, symbol=PROBE_SYMBOL, period="quarter", limit=min(statement_limit or 4, 4))
    )
    quarterly = allowed
    checks.append(Check("quarterly", allowed, "period=quarter", status, words))

    allowed, status, words, _ = await _outcome(
        lambda: fmp.fetch(EARNINGS_CALENDAR, start=today - timedelta(days=1), end=today)
    )
    calendar = allowed
    checks.append(Check("calendar", allowed, "earnings-calendar", status, words))

    bulk, status, words = await _bulk(fmp)
    checks.append(Check("bulk", bulk, f"profile-bulk part={PAST_LAST_PART}", status, words))

    constituents = next(c.allowed for c in checks if c.name == "constituents")
    found = Entitlements(
        constituents=constituents,
        bulk=bulk,
        history_years=history_years,
        statement_limit=statement_limit,
        quarterly=quarterly,
        calendar=calendar,
        key_in_query=fmp.key_in_query,
    )
    return found.with_checks(checks, requests=fmp.counters.requests - before)


def _cap_from(words: str | None) -> int:
    """The `limit` cap FMP named (5 when its words do not say)."""
    cap = limit_cap(words or "")
    return cap if cap is not None else 5


async def _auth_and_constituents(fmp: FMPClient, checks: list[Check]) -> tuple[bool, int, str | None, Any]:
    """The constituent list, key in the header; if FMP refuses the key there, once more in the query."""
    try:
        outcome = await _outcome(lambda: fmp.fetch(CONSTITUENTS))
        checks.append(Check("auth", True, "apikey header", 200))
        return outcome
    except FMPAuthError as exc:
        header_refused = str(exc)
    fmp.key_in_query = True
    outcome = await _outcome(lambda: fmp.fetch(CONSTITUENTS))  # FMPAuthError again: the key is wrong
    checks.append(Check("auth", True, "apikey query parameter (the header was refused)", 401, header_refused))
    return outcome


async def _bulk(fmp: FMPClient) -> tuple[bool, int, str | None]:
    """Whether the bulk files are in the plan, for the price of one small answer: a part past the last
    is FMP's 400 where profile-bulk is allowed and its 402 where it is not."""
    try:
        await fmp.fetch_csv(PROFILE_BULK, part=PAST_LAST_PART, keep=lambda _symbol: False)
    except FMPEntitlementError as exc:
        return False, exc.status, exc.reason
    except FMPRequestError as exc:
        if exc.status == 400:
            return True, 400, None
        raise
    return True, 200, None


def render_probe(ent: Entitlements) -> str:
    """The table `mycfa-engine probe` prints."""
    when = ent.probed_at.isoformat(timespec="seconds") if ent.probed_at else "never"
    lines = [
        f"FMP plan: {ent.plan} (probed {when}, {ent.requests} requests)",
        f"{'check':<14}{'allowed':<9}{'status':<8}what / FMP's words",
    ]
    for check in ent.checks:
        said = f' -> "{check.words}"' if check.words else ""
        lines.append(
            f"{check.name:<14}{'yes' if check.allowed else 'no':<9}{check.status:<8}{check.detail}{said}"
        )
    withheld = ent.withheld()
    if withheld:
        lines.append("a run adapts: " + "; ".join(withheld.values()))
    if ent.daily_limit:
        lines.append(f"requests a day: {ent.daily_limit} (a run stops before the last of them)")
    return "\n".join(lines)


# --- stored probes (schema/130_fmp_plans.sql) --------------------------------------------------------


@store_boundary
async def store_probe(pool: asyncpg.Pool, ent: Entitlements) -> None:
    await pool.execute(
        "INSERT INTO fmp_probes (probed_at, plan, entitlements, requests) VALUES ($1, $2, $3::jsonb, $4)",
        ent.probed_at,
        ent.plan,
        orjson.dumps(ent.as_json()).decode(),
        ent.requests,
        timeout=STORE_TIMEOUT_S,
    )


@store_boundary
async def latest_probe(pool: asyncpg.Pool) -> Entitlements | None:
    """The newest stored probe, if any."""
    value = await pool.fetchval(
        "SELECT entitlements FROM fmp_probes ORDER BY probed_at DESC, probe_id DESC LIMIT 1",
        timeout=STORE_TIMEOUT_S,
    )
    if value is None:
        return None
    return Entitlements.from_json(orjson.loads(value) if isinstance(value, str) else dict(value))


async def current_entitlements(
    pool: asyncpg.Pool, fmp: FMPClient, today: date, *, now: datetime, store: bool = True
) -> Entitlements:
    """The stored probe when it is fresh, else a new probe (stored unless `store` is False). The
    client is set to send the key where the probe found FMP takes it."""
    ent = await latest_probe(pool)
    if ent is None or ent.probed_at is None or now - ent.probed_at > PROBE_MAX_AGE:
        ent = await probe(fmp, today)
        log.info(
            "probed the FMP plan: %s (%d requests)",
            ent.plan,
            ent.requests,
            extra={"event": "probed", "plan": ent.plan},
        )
        if store:
            await store_probe(pool, ent)
    fmp.key_in_query = ent.key_in_query
    return ent
