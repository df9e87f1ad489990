"""Price re-adjustment: notice when FMP rewrote a symbol's past prices, so its whole history is refetched.

FMP's adjusted series are backward-looking. After an ex-dividend date D (dividend d, previous close
c) every `adjClose` before D is multiplied by (1 - d/c); after a split every earlier price of both
endpoints is divided by the split ratio. An incremental run fetches only from the last stored date
minus an overlap, so without this check everything older would keep its stale adjustment forever.
The overlap is where the rewrite shows: a stored close or adj_close that FMP now reports differently.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from engine.db import PriceRow

# Unchanged prices come back bit-identical (float8 in, float8 out); anything moving more than one part
# per million is a new adjustment factor (the smallest real dividend moves it ~1e-5) or a correction.
REL_TOLERANCE = 1e-6


StoredCloses = Mapping[date, tuple[float, float | None]]


@dataclass(frozen=True, slots=True)
class Rewrite:
    """Overlap dates on which FMP's prices differ from the stored ones."""

    dates: tuple[date, ...]
    close_changed: bool  # a split (or a correction) rather than a dividend: the unadjusted endpoint moved

    @property
    def reason(self) -> str:
        kind = "close" if self.close_changed else "adj_close"
        return f"{kind} changed on {len(self.dates)} stored date(s) from {self.dates[0].isoformat()}"


def _differs(stored: float, fetched: float) -> bool:
    return not math.isclose(stored, fetched, rel_tol=REL_TOLERANCE, abs_tol=0.0)


def find_rewrite(stored: StoredCloses, fetched: Iterable[PriceRow]) -> Rewrite | None:
    """The stored dates whose close or adj_close FMP now reports differently, or None if there are none.

    An adj_close that is missing on either side is not compared: a value that appears late is an
    ordinary new value (the merge writes it), not a new adjustment of the past.
    """
    dates: list[date] = []
    close_changed = False
    for row in fetched:
        known = stored.get(row.date)
        if known is None:
            continue
        close, adj_close = known
        moved_close = _differs(close, row.close)
        if moved_close or (
            adj_close is not None and row.adj_close is not None and _differs(adj_close, row.adj_close)
        ):
            dates.append(row.date)
            close_changed = close_changed or moved_close
    if not dates:
        return None
    return Rewrite(tuple(sorted(dates)), close_changed)
