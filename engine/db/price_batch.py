"""parse_prices' fast path: a clean client-checked batch parsed whole, column by column, in C-level loops.

A full ingest parses millions of price rows, nearly all valid. Checking one row at a time costs a
Python function call and a dozen bytecode tests per row; here each check runs once per column
(`map`, `min`, `max`, `sum` over the batch). The fast path only answers for a batch that breaks no
rule at all; for any other it answers None and parse_prices runs the per-row parsers, which find
and quarantine the bad rows with their reasons. So it never has to produce a reason itself, and a
bad batch costs one extra pass.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from datetime import date
from itertools import repeat
from typing import Any, cast

from engine.db.plausibility import FIRST_DAY, LAST_DAY, MAX_PRICE
from engine.db.rows import PriceRow

_SYMBOL = operator.itemgetter("symbol")
_DATE = operator.itemgetter("date")
_ADJ_CLOSE = operator.itemgetter("adjClose")
_OHLCV = tuple(map(operator.itemgetter, ("open", "high", "low", "close", "volume")))


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


def clean_adjusted(rows: Sequence[Mapping[str, Any]], symbol: str) -> dict[date, float] | None:
    """adjClose by date of client-checked dividend-adjusted rows; None unless every row is valid and
    every date appears once (duplicates take the per-row path, which keeps the greatest)."""
    days = _days(rows, symbol)
    if days is None or len(set(days)) != len(days):
        return None
    try:
        values = list(map(float, map(_ADJ_CLOSE, rows)))
    except (KeyError, TypeError, ValueError):  # a missing adjClose
        return None
    return dict(zip(days, values, strict=True)) if _finite(values) else None


def clean_prices(
    rows: Sequence[Mapping[str, Any]], symbol: str, adjusted: dict[date, float]
) -> list[PriceRow] | None:
    """PriceRows of client-checked historical-price-eod/full rows, adj_close from `adjusted`; None
    unless every row passes every rule of `_checked_price`."""
    days = _days(rows, symbol)
    if not days:
        return None if days is None else []
    try:
        opens, highs, lows, closes, volumes = (list(map(float, map(field, rows))) for field in _OHLCV)
        # `vwap` is optional (absent or null: no value); _days made sure the rows are plain dicts
        sent: list[Any] = list(map(dict.get, cast(Sequence[dict[str, Any]], rows), repeat("vwap")))
        vwaps = (
            list(map(float, sent)) if None not in sent else [None if v is None else float(v) for v in sent]
        )
    except (KeyError, TypeError, ValueError):  # a missing field or a null among OHLCV, a vwap not a number
        return None
    if not (
        _finite(opens, highs, lows, closes, volumes, list(filter(None, vwaps)))
        and min(opens) >= 0
        and min(lows) >= 0
        and min(closes) >= 0
        and max(highs) <= MAX_PRICE
        and min(volumes) >= 0
        and all(map(float.is_integer, volumes))
        and not any(map(operator.lt, highs, lows))
    ):
        return None
    values = zip(
        repeat(symbol), days, opens, highs, lows, closes, map(adjusted.get, days), map(int, volumes), vwaps
    )
    # tuple.__new__ is what PriceRow._make calls, minus a Python-level call per row.
    return cast(list[PriceRow], list(map(tuple.__new__, repeat(PriceRow), values)))
