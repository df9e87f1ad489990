"""When a company's periods end and when each is filed: the one schedule statements and events share.

A quarter is filed 33-39 days after it ends (the 10-Q, or the fourth quarter's earnings release);
the fiscal year 60-68 days after it ends (the 10-K, weeks after the fourth quarter's release); a
filing that would fall on a weekend comes the Monday after, as the SEC takes filings on business
days. A company's first fiscal year is the one after its listing (never before FY1995); a delisted
one files nothing after its last trading day.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from fakefmp.course import month_end
from fakefmp.outline import Outline

FIRST_FISCAL_YEAR = 1995
Schedule = tuple[tuple[date, date], ...]  # (period end, filing date), oldest first


def first_fiscal_year(plan: Outline) -> int:
    return max(FIRST_FISCAL_YEAR, plan.first_day.year + 1)


@lru_cache(maxsize=4096)
def quarter_schedule(plan: Outline, last_year: int) -> Schedule:
    """Every quarter of fiscal years first_fiscal_year..last_year that is filed (quarter i: 33 + i % 7 days)."""
    first, out = first_fiscal_year(plan), []
    for i in range(max(0, last_year - first + 1) * 4):
        year, quarter = first + i // 4, i % 4 + 1
        end = month_end(year, plan.fye_month - 3 * (4 - quarter))
        out.append((end, _business_day(end + timedelta(days=33 + i % 7))))
    return _filed(plan, out)


@lru_cache(maxsize=4096)
def annual_schedule(plan: Outline, last_year: int) -> Schedule:
    """Every fiscal year first_fiscal_year..last_year that is filed (year y: 60 + y % 9 days after its end)."""
    first = first_fiscal_year(plan)
    out = []
    for y, year in enumerate(range(first, last_year + 1)):
        end = month_end(year, plan.fye_month)
        out.append((end, _business_day(end + timedelta(days=60 + y % 9))))
    return _filed(plan, out)


def _business_day(day: date) -> date:
    return day + timedelta(days=max(0, 7 - day.weekday())) if day.weekday() >= 5 else day


def _filed(plan: Outline, schedule: list[tuple[date, date]]) -> Schedule:
    last = plan.last_day
    return tuple((end, filing) for end, filing in schedule if last is None or filing <= last)
