"""Requests per day: FMP's free plan allows 250 a day, and a run must stop before the last of them
rather than meet hundreds of 429s (a 429 is retried for minutes and then fails the item).

The quota counts every request the client sends, per UTC day (when FMP resets its count was not
recorded; UTC midnight is the assumption, docs/fmp.md "Plans"). The count starts from what the store
says was spent today (`fmp_usage`, written by every command that talks to FMP), so a second run on
the same day knows what the first one spent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime

from engine.errors import FMPQuotaError

RESERVE_SHARE = 0.02  # kept back for the next command's probe and constituent list
MIN_RESERVE = 5


def utc_today() -> date:
    return datetime.now(UTC).date()


def reserve_for(limit: int) -> int:
    """Requests a run leaves unspent of a daily `limit`."""
    return min(limit - 1, max(MIN_RESERVE, int(limit * RESERVE_SHARE)))


class DailyQuota:
    """Counts the client's requests per UTC day; with a `limit`, refuses the request that would eat
    into the reserve (FMPQuotaError), before anything is sent.

        quota = DailyQuota(250, spent_today=40)
        fmp.quota = quota          # the client calls quota.take(path) before every send
        await record_usage(pool, quota.unsaved())
    """

    __slots__ = ("_day", "_spent", "_today", "_unsaved", "limit", "reserve")

    def __init__(
        self, limit: int | None, *, spent_today: int = 0, today: Callable[[], date] = utc_today
    ) -> None:
        self.limit: int | None = None
        self.reserve = 0
        self.set_limit(limit)
        self._today = today
        self._day = today()
        self._spent = spent_today
        self._unsaved: Counter[date] = Counter()

    def set_limit(self, limit: int | None) -> None:
        """Change the day's limit (the probe tells which plan the key is on after a few requests)."""
        self.limit = limit
        self.reserve = reserve_for(limit) if limit else 0

    @property
    def spent(self) -> int:
        """Requests counted today (those before this process included)."""
        self._roll()
        return self._spent

    def _roll(self) -> None:
        day = self._today()
        if day != self._day:
            self._day, self._spent = day, 0

    def take(self, path: str) -> None:
        """Count one request about to be sent.

        Raises:
            FMPQuotaError: the day's requests, less the reserve, are spent (nothing was sent).
        """
        self._roll()
        if self.limit is not None and self._spent >= self.limit - self.reserve:
            raise FMPQuotaError(
                f"the plan's {self.limit} requests a day are spent ({self._spent} today, {self.reserve} kept"
                f" in reserve); stopping before FMP refuses them. The run resumes after midnight UTC",
                endpoint=path,
            )
        self._spent += 1
        self._unsaved[self._day] += 1

    def unsaved(self) -> dict[date, int]:
        """Requests per day counted since the last call (for `fmp_usage`)."""
        counts = dict(self._unsaved)
        self._unsaved.clear()
        return counts
