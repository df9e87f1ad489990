"""parse_prices' fast path: a clean client-checked batch parsed whole, column by column, in C-level loops.

A full ingest parses millions of price rows, nearly all valid. Checking one row at a time costs a
Python function call and a dozen bytecode tests per row; here each check runs once per column
(`map`, `min`, `max`, `sum` over the batch). The fast path only answers for a batch that breaks no
rule of the per-row parser (prices._price, prices._adjusted) at all; for any other it answers
None and parse_prices runs that parser, which finds and quarantines the bad rows with their
reasons. So it never has to produce a reason itself, and a bad batch costs one extra pass. The
value rules are not written here: each entry of price_rules.RULES gives its column test.

Why it stays (measured 2026-12-07 on the 2-core machine shared with other runs, load 17-34, so the
figures are indicative; the ingest runs at 6a27e13, before the rules moved to price_rules, which
left the path's CPU per symbol unchanged). `parse_prices(checked=True)` of one 36-year symbol (9,000
full + 9,000 adjusted rows): 19-22 ms of CPU with this path, 41-44 ms with the per-row parser alone
(best of 5x20). A whole ingest, `nice -n 19 scripts/bench_ingest.py --symbols 100` (1.27 M price
rows), alternated with and without it: engine CPU 32.8, 33 and 34 s with it, 33.6, 35 and 36.2 s
without (mean 33.3 vs 35.0 s: 5 % less; the parse figures predict 2-3 s). The engine's one process
bounds the ingest (its CPU is ~80 % of the wall time on an idle machine), so that is ~5 % of a
full ingest's wall time, for ~100 lines whose rules are price_rules.RULES, not a copy of them.

`typed=True` says the FMP client has already checked that every numeric value is a JSON number or
null; otherwise a column holding anything else (a bool, a numeric string) sends the batch to the
per-row parser, which refuses the one and reads the other.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from datetime import date
from itertools import repeat
from typing import Any, cast

from engine.db.plausibility import FIRST_DAY, LAST_DAY
from engine.db.rows import PriceRow
from engine.db.validate import price_rules
from engine.db.validate.price_rules import PriceValues

_SYMBOL = operator.itemgetter("symbol")
_DATE = operator.itemgetter("date")
_ADJ_CLOSE = operator.itemgetter("adjClose")
_VALUES = tuple(map(operator.itemgetter, PriceValues._fields))  # open, high, low, close, volume
_NUMBER = {int, float}
_NUMBER_OR_NULL = {int, float, type(None)}


def _numbers(rows: Sequence[Mapping[str, Any]], field: Any, typed: bool) -> list[float]:
    """One column as floats; TypeError unless every value is an int or a float (unless `typed`)."""
    column = list(map(field, rows))
    if not typed and not set(map(type, column)) <= _NUMBER:
        raise TypeError("a value that is not a JSON number")
    return list(map(float, column))


def _days(rows: Sequence[Mapping[str, Any]], symbol: str) -> list[date] | None:
    """Each row's date, when every row is a plain dict of `symbol` with an in-range ISO date."""
    if not set(map(type, rows)) <= {dict}:
        return None  # a marked row (UncheckedRow) needs the full parser
    try:
        if not set(map(_SYMBOL, rows)) <= {symbol}:
            return None
        days = list(map(date.fromisoformat, map(_DATE, rows)))
    except (KeyError, TypeError, ValueError):
        return None
    return days if not days or (FIRST_DAY <= min(days) and max(days) <= LAST_DAY) else None


def _finite(*columns: Sequence[float]) -> bool:
    """No inf or nan in the columns (a sum overflowing to inf only sends the batch the slow way)."""
    return all(math.isfinite(sum(column)) for column in columns)


def clean_adjusted(
    rows: Sequence[Mapping[str, Any]], symbol: str, *, typed: bool = True
) -> dict[date, float] | None:
    """adjClose by date of dividend-adjusted rows; None unless every row is valid and every date
    appears once (duplicates take the per-row path, which keeps the greatest)."""
    days = _days(rows, symbol)
    if days is None or len(set(days)) != len(days):
        return None
    try:
        values = _numbers(rows, _ADJ_CLOSE, typed)
    except (KeyError, TypeError, ValueError):  # a missing adjClose
        return None
    return dict(zip(days, values, strict=True)) if _finite(values) else None


def clean_prices(
    rows: Sequence[Mapping[str, Any]], symbol: str, adjusted: dict[date, float], *, typed: bool = True
) -> list[PriceRow] | None:
    """PriceRows of historical-price-eod/full rows, adj_close from `adjusted`; None unless every row
    parses and passes every rule of price_rules.RULES."""
    days = _days(rows, symbol)
    if not days:
        return None if days is None else []
    try:
        columns = dict(
            zip(PriceValues._fields, (_numbers(rows, field, typed) for field in _VALUES), strict=True)
        )
        # `vwap` is optional (absent or null: no value); _days made sure the rows are plain dicts
        sent: list[Any] = list(map(dict.get, cast(Sequence[dict[str, Any]], rows), repeat("vwap")))
        if not typed and not set(map(type, sent)) <= _NUMBER_OR_NULL:
            return None
        vwaps = (
            list(map(float, sent)) if None not in sent else [None if v is None else float(v) for v in sent]
        )
    except (KeyError, TypeError, ValueError):  # a missing field or a null among them, a vwap not a number
        return None
    if not (_finite(*columns.values(), list(filter(None, vwaps))) and price_rules.all_hold(columns)):
        return None
    opens, highs, lows, closes, volumes = columns.values()
    values = zip(
        repeat(symbol), days, opens, highs, lows, closes, map(adjusted.get, days), map(int, volumes), vwaps
    )
    # tuple.__new__ is what PriceRow._make calls, minus a Python-level call per row.
    return cast(list[PriceRow], list(map(tuple.__new__, repeat(PriceRow), values)))
