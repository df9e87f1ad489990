"""FMP's bulk endpoints as CSV: `eod-bulk` (every symbol's prices of one date) and `profile-bulk`
(every profile, in parts).

FMP serves bulk answers as CSV: strings quoted, numbers and booleans bare, an empty cell for null
(tests/fixtures/fmp/real/eod-bulk.csv, profile-bulk.part0.csv). eod-bulk's columns are
symbol, date, open, low, high, close, adjClose, volume (no vwap); adjClose is the same dividend-
adjusted close the per-symbol endpoint serves for that date as of today. A date with no trading
(weekend, holiday, the future) gives the header alone.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fakefmp.data import Universe

EOD_COLUMNS = ("symbol", "date", "open", "low", "high", "close", "adjClose", "volume")
PROFILE_PART_ROWS = 1000  # profiles per part (a universe past this comes in several parts)
DAYS_PER_PASS = 40  # trading days cut from each symbol's series at once (one pass serves a month)


def _csv(header: tuple[str, ...] | list[str], rows: list[list[Any]]) -> bytes:
    lines = [",".join(map(_cell, header)), *(",".join(map(_cell, row)) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


def _cell(value: Any) -> str:
    """One CSV cell as FMP writes it: a string quoted, a number or boolean bare, null empty."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace('"', '""') + '"'


class Bulk:
    """Bulk bodies of one universe, cached per as-of date (a new as-of date can re-adjust the past)."""

    def __init__(self, universe: Universe) -> None:
        self.universe = universe
        self._days: dict[str, bytes] = {}
        # profile-bulk by (rows per part, part), built once a day as FMP builds its bulk files
        self._parts: dict[tuple[int, int], bytes] = {}
        self._as_of = ""
        self.part_rows = PROFILE_PART_ROWS

    def _fresh(self) -> None:
        today = self.universe.as_of.isoformat()
        if today != self._as_of:
            self._as_of = today
            self._days.clear()
            self._parts.clear()

    def eod_body(self, day: str) -> bytes:
        """The eod-bulk CSV of `day` (header only when nobody traded then, or `day` is after as-of)."""
        self._fresh()
        if day > self._as_of:
            return _csv(EOD_COLUMNS, [])
        if day not in self._days:
            self._cut(day)
        return self._days.get(day) or _csv(EOD_COLUMNS, [])

    def _cut(self, day: str) -> None:
        """One pass over every symbol's series, cutting the trading days around `day`: a run asks
        for a week's days one after another, and generating 500 series per date would be the
        whole cost."""
        by_day: dict[str, list[list[Any]]] = {}
        for symbol in self.universe.companies:
            series = self.universe.prices(symbol)
            visible = bisect_right(series.dates, self._as_of)
            at = bisect_right(series.dates, day)
            lo, hi = max(0, at - DAYS_PER_PASS), min(visible, at + DAYS_PER_PASS)
            if hi <= lo:
                continue
            factor = series.factor(visible)
            open_, high, low, close = (col[lo:hi].tolist() for col in series.columns[:4])
            volume = series.columns[4][lo:hi].tolist()
            adjusted = (series.columns[3][lo:hi] * factor[lo:hi]).round(4).tolist()
            for i, date_ in enumerate(series.dates[lo:hi]):
                by_day.setdefault(date_, []).append(
                    [symbol, date_, open_[i], low[i], high[i], close[i], adjusted[i], volume[i]]
                )
        by_day.setdefault(day, [])
        for date_, rows in by_day.items():
            self._days.setdefault(date_, _csv(EOD_COLUMNS, rows))

    def profile_body(self, part: int) -> bytes:
        """Part `part` of profile-bulk: `part_rows` profiles in symbol order (empty past the end)."""
        self._fresh()
        key = (self.part_rows, part)
        if key not in self._parts:
            self._parts[key] = self._profile_part(part)
        return self._parts[key]

    def _profile_part(self, part: int) -> bytes:
        size = self.part_rows
        symbols = list(self.universe.companies)[part * size : (part + 1) * size]
        rows = [self.universe.profile_row(symbol) for symbol in symbols]
        if not rows:
            return b""  # past the last part
        header = list(rows[0])
        return _csv(header, [[row.get(key) for key in header] for row in rows])
