"""The rest of the world in FMP's `earnings-calendar`: the real calendar lists every exchange.

FMP's calendar is global (.NS, .BO, .BK, .T... next to the S&P 500), about 2,000 rows on a peak
day of the reporting season and a few hundred on a quiet one, and it cuts each answer at 4,000 rows,
dropping the earliest dates (REAL-API-REVIEW: FDN's calendar paging measurements). The fake adds
synthetic foreign issuers with that shape, so a client pays what the real cap costs: a 90-day
lookback takes 11 to 13 requests, not one.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import orjson

CALENDAR_CAP = 4000  # rows per answer; the earliest dates are dropped
MAX_DAYS = 90  # a longer range is cut to its first 90 days
SUFFIXES = (".NS", ".BO", ".BK", ".T", ".HK", ".L", ".TO", ".KS", ".SS", ".SZ", ".AX", ".PA")
QUIET_DAY = 150  # foreign rows on a weekday outside the season
PEAK_DAY = 2000  # on the busiest days of a season
# The seasons: from about three weeks after a calendar quarter ends, for about six weeks
SEASON_START_DAY = 20
SEASON_DAYS = 45


def _season_weight(day: date) -> float:
    """0 outside a reporting season, rising to 1 at its middle (seasons open SEASON_START_DAY days
    into January, April, July and October and last SEASON_DAYS days)."""
    weight = 0.0
    for back in (0, 1):  # this quarter's season, or the tail of the previous one
        month = ((day.month - 1) // 3) * 3 + 1 - 3 * back
        year = day.year if month >= 1 else day.year - 1
        opens = date(year, month if month >= 1 else month + 12, 1).toordinal() + SEASON_START_DAY
        offset = day.toordinal() - opens
        if 0 <= offset < SEASON_DAYS:
            weight = max(weight, 1.0 - abs(offset - SEASON_DAYS / 2) / (SEASON_DAYS / 2))
    return weight


def rows_on(day: date) -> int:
    """How many foreign rows `day` has (none at weekends)."""
    if day.weekday() >= 5:
        return 0
    jitter = zlib.crc32(day.isoformat().encode()) % 100 - 50
    return max(0, int(QUIET_DAY + (PEAK_DAY - QUIET_DAY) * _season_weight(day)) + jitter)


@lru_cache(maxsize=256)
def day_rows(day: date) -> tuple[dict[str, Any], ...]:
    """The foreign rows of `day`, in FMP's keys (EPS and revenue null, as the fake's own rows)."""
    iso = day.isoformat()
    rows = []
    for index in range(rows_on(day)):
        number = zlib.crc32(f"{iso}:{index}".encode()) % 90_000 + 10_000
        rows.append(
            {
                "symbol": f"W{number}{SUFFIXES[number % len(SUFFIXES)]}",
                "date": iso,
                "epsActual": None,
                "epsEstimated": None,
                "revenueActual": None,
                "revenueEstimated": None,
                "lastUpdated": iso,
            }
        )
    return tuple(rows)


def body(ours: Iterable[dict[str, Any]], first: date, last: date) -> bytes:
    """The calendar from `first` to `last` (at most 90 days): `ours` (the universe's rows) and the
    world's, newest first, cut at CALENDAR_CAP rows: the earliest dates are dropped and the earliest
    date left may be partial, as in FMP's answer."""
    last = min(last, first + timedelta(days=MAX_DAYS - 1))
    by_day: dict[str, list[dict[str, Any]]] = {}
    for row in ours:
        by_day.setdefault(row["date"], []).append(row)
    rows: list[dict[str, Any]] = []
    day = last
    while day >= first and len(rows) < CALENDAR_CAP:
        listed = [*by_day.get(day.isoformat(), ()), *day_rows(day)]
        rows.extend(sorted(listed, key=lambda row: str(row["symbol"]), reverse=True))
        day -= timedelta(days=1)
    return orjson.dumps(rows[:CALENDAR_CAP])
