"""Who reported lately: FMP's `earnings-calendar` read into "the latest report date per symbol".

The calendar is global (every exchange: about 2,000 rows on a peak day of the reporting season) and
FMP cuts each answer at its cap, dropping the earliest dates (3,000 rows documented, 4,000 measured),
so a 90-day lookback is walked backwards: an answer at the cap is complete from the day after its
earliest date, and the next request ends on that earliest date (which may have been cut). That
costs what the cap requires, 11 to 13 requests for 90 days (scripts/bench_refresh.py), counted by
`plan`; it still saves thousands of statement requests a week.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import date, timedelta

from engine.errors import FMPEntitlementError
from engine.fmp import FMPClient
from engine.fmp.endpoints import EARNINGS_CALENDAR, EARNINGS_CALENDAR_CAP, EARNINGS_CALENDAR_MAX_DAYS

log = logging.getLogger("engine.run")

REPORT_LOOKBACK_DAYS = EARNINGS_CALENDAR_MAX_DAYS  # older reports are the rotating sweep's business
MAX_CALENDAR_REQUESTS = 200  # a runaway guard: a day alone holds at most a few thousand rows


def _day(row: dict[str, object]) -> date | None:
    try:
        return date.fromisoformat(str(row["date"]))
    except ValueError:
        return None  # a malformed date tells nothing; the sweep still covers the symbol


async def calendar_rows(
    fmp: FMPClient, start: date, end: date, wanted: Collection[str] | None = None
) -> list[dict[str, object]]:
    """Every calendar row from `start` to `end` (of the `wanted` symbols, when given), walking back
    from `end` while answers come back at the cap."""
    kept: list[dict[str, object]] = []
    hi = end
    for _ in range(MAX_CALENDAR_REQUESTS):
        rows = await fmp.fetch(EARNINGS_CALENDAR, start=start, end=hi)
        days = [_day(row) for row in rows]
        dated = [day for day in days if day is not None]
        if len(rows) < EARNINGS_CALENDAR_CAP or not dated:
            kept.extend(r for r in rows if wanted is None or r["symbol"] in wanted)
            break
        earliest = min(dated)
        if earliest >= hi:  # one day fills the cap alone: keep what came and go on before it
            cut = hi - timedelta(days=1)
        else:
            cut = earliest  # complete after `earliest`; `earliest` itself is asked again
        kept.extend(
            r
            for r, day in zip(rows, days, strict=True)
            if day is not None and day > cut and (wanted is None or r["symbol"] in wanted)
        )
        if cut < start:
            break
        hi = cut
    else:
        log.warning("earnings-calendar walk stopped after %d requests at %s", MAX_CALENDAR_REQUESTS, hi)
    return kept


async def latest_reports(
    fmp: FMPClient, symbols: Collection[str], today: date, *, lookback_days: int = REPORT_LOOKBACK_DAYS
) -> dict[str, date] | None:
    """The latest earnings date up to `today` of each symbol that reported in the lookback.

    Returns None when the key's plan does not include the calendar (402/403): the planner then
    refetches every stored series, as before the calendar was used.
    """
    start = today - timedelta(days=lookback_days - 1)
    try:
        rows = await calendar_rows(fmp, start, today, frozenset(symbols))
    except FMPEntitlementError as exc:
        log.warning("earnings-calendar not in the plan (%s): refetching every statement series", exc.reason)
        return None
    latest: dict[str, date] = {}
    for row in rows:
        symbol = str(row["symbol"])
        day = _day(row)
        if day is not None and day <= today and (symbol not in latest or day > latest[symbol]):
            latest[symbol] = day
    return latest
