"""Who reported lately: FMP's `earnings-calendar` read into "the latest report date per symbol".

One request covers every company over a date range (at most 90 days and 3,000 rows per request,
as FMP documents), so the weekly refresh learns which companies have new statements for one or two
requests instead of asking each company's ten statement series.
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


async def calendar_rows(fmp: FMPClient, start: date, end: date) -> list[dict[str, object]]:
    """Every calendar row from `start` to `end`; a range that comes back with the cap is halved."""
    rows = await fmp.fetch(EARNINGS_CALENDAR, start=start, end=end)
    if len(rows) < EARNINGS_CALENDAR_CAP or start >= end:
        return rows
    mid = start + (end - start) // 2
    return await calendar_rows(fmp, start, mid) + await calendar_rows(fmp, mid + timedelta(days=1), end)


async def latest_reports(
    fmp: FMPClient, symbols: Collection[str], today: date, *, lookback_days: int = REPORT_LOOKBACK_DAYS
) -> dict[str, date] | None:
    """The latest earnings date up to `today` of each symbol that reported in the lookback.

    Returns None when the key's plan does not include the calendar (402/403): the planner then
    refetches every stored series, as before the calendar was used.
    """
    start = today - timedelta(days=lookback_days - 1)
    try:
        rows = await calendar_rows(fmp, start, today)
    except FMPEntitlementError as exc:
        log.warning("earnings-calendar not available (%s): refetching every statement series", exc.status)
        return None
    wanted = set(symbols)
    latest: dict[str, date] = {}
    for row in rows:
        symbol = str(row["symbol"])
        if symbol not in wanted:
            continue
        try:
            day = date.fromisoformat(str(row["date"]))
        except ValueError:
            continue  # a malformed date tells nothing; the sweep still covers the symbol
        if day <= today and (symbol not in latest or day > latest[symbol]):
            latest[symbol] = day
    return latest
