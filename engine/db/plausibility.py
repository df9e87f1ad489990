"""Plausibility rules per field family: a value can be a valid number and still be absurd.

A `revenue` of 1e300, a negative share count, a P/E of 1e308 or a `"NaN"` string would reach the
analysts' forecasts, valuations and exports. Each family has a sign and a magnitude bound; the
headline amounts are also held against the company's own history (the batch's median) and against
its market capitalisation. A row breaking a rule is quarantined with a readable reason.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

MAX_AMOUNT = 1e15  # money in the reported currency: a thousand trillion (the largest filers report ~1e14)
MAX_SHARES = 1e13  # shares: the largest real counts are ~3e11 (some banks), the fake server's ~1.3e12
MAX_PER_SHARE = 1e6  # eps, book value per share (BRK.A earns ~1e5 a share)
MAX_RATIO = 1e6  # margins, multiples, returns: a P/E of 1e308 is an artefact, 5,000 is a rare real one
MAX_PRICE = 1e7  # a share price (BRK.A trades near 7e5)
FIRST_DAY = date(1900, 1, 1)  # outside this window a date is a data error, and no partition holds it
LAST_DAY = date(2099, 12, 31)
HISTORY_FACTOR = 1_000.0  # a headline amount this many times the company's median is a data error
MARKET_CAP_FACTOR = 1_000.0  # ... and so is one this many times its market capitalisation
HISTORY_MIN_ROWS = 3  # fewer rows make no median worth trusting

SHARE_FIELDS = frozenset({"weightedAverageShsOut", "weightedAverageShsOutDil", "sharesOutstanding"})
PER_SHARE_FIELDS = frozenset({"eps", "epsDiluted", "lastDividend", "price"})
# Amounts that cannot be negative (a negative balance-sheet total is a sign error).
NON_NEGATIVE = frozenset(
    {"totalAssets", "totalCurrentAssets", "cashAndCashEquivalents", "marketCap", "volume", "averageVolume"}
)
# Headline amounts, checked against the company's history and market capitalisation.
HEADLINE = ("revenue", "totalAssets", "totalLiabilities")
_NOT_A_NUMBER = frozenset(
    {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
)
RATIO_KINDS = frozenset({"ratios", "key_metrics"})
# In ratios and key_metrics, these name a ratio (key_metrics also holds amounts: workingCapital...).
RATIO_SUFFIXES = ("Ratio", "Margin", "Yield", "Turnover", "Multiple")
RATIO_PREFIXES = ("returnOn", "daysOf", "evTo", "priceTo", "debtTo")


class Implausible(ValueError):
    """A value breaks a plausibility rule; the message is the quarantine reason."""


def shown(value: object) -> str:
    """A value as a quarantine reason prints it: numbers in 6 significant digits, text cut short."""
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _bound(kind: str, name: str) -> tuple[float, bool]:
    """The magnitude bound of field `name` in a `kind` row, and whether it must be >= 0."""
    non_negative = name in NON_NEGATIVE or name in SHARE_FIELDS
    if name in SHARE_FIELDS:
        return MAX_SHARES, True
    if name in PER_SHARE_FIELDS or name.endswith("PerShare"):
        return MAX_PER_SHARE, name == "price"
    if kind in RATIO_KINDS and (name.endswith(RATIO_SUFFIXES) or name.startswith(RATIO_PREFIXES)):
        return MAX_RATIO, False
    return MAX_AMOUNT, non_negative


# The plausible range (lowest, highest) per kind and field name, remembered: `_bound` is a chain of
# set and suffix tests, and a statement load asks it for every number of every row (millions of
# times for the universe) about a few hundred distinct names. Names come from FMP's answers, so the
# memory is capped; past the cap a name's range is computed each time, as before.
_RANGES: dict[str, dict[str, tuple[float, float]]] = {}
MAX_REMEMBERED_NAMES = 4096


def _range(kind: str, name: str) -> tuple[float, float]:
    """The values of `name` in a `kind` row that pass both the sign and the magnitude rule."""
    ranges = _RANGES.setdefault(kind, {})
    found = ranges.get(name)
    if found is None:
        bound, non_negative = _bound(kind, name)
        found = (0.0 if non_negative else -bound, bound)
        if len(ranges) < MAX_REMEMBERED_NAMES:
            ranges[name] = found
    return found


def check_field(name: str, value: object, kind: str) -> None:
    """One field against every rule: no non-finite value (not even as text), a number within its
    family's bounds. Other types (None, bools, other text, lists) pass: the parser checks types.

    Raises:
        Implausible: the rule the value breaks, named with the value.
    """
    if isinstance(value, str):
        if value.strip().lower() in _NOT_A_NUMBER:
            raise Implausible(f"non-numeric {name}: {shown(value)}")
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if not math.isfinite(value):
        raise Implausible(f"non-finite {name}: {shown(value)}")
    bound, non_negative = _bound(kind, name)
    if non_negative and value < 0:
        raise Implausible(f"negative {name}: {shown(value)}")
    if abs(value) > bound:
        raise Implausible(f"{name} out of bounds: {shown(value)} (|{name}| <= {bound:.0e})")


def check_fields(row: Mapping[str, Any], kind: str) -> None:
    """Every field of `row` against `check_field`'s rules, first field first.

    A plain float or int inside its remembered range (a NaN is inside no range) and a null break no
    rule, so only the other values take `check_field`'s full checks: same outcome, same message.

    Raises:
        Implausible: the first field breaking a rule, named with its value.
    """
    ranges = _RANGES.setdefault(kind, {})
    for name, value in row.items():
        cls = type(value)
        if cls is float or cls is int:
            limits = ranges.get(name) or _range(kind, name)
            if limits[0] <= value <= limits[1]:
                continue
        elif value is None:
            continue
        check_field(name, value, kind)


def check_history(rows: Sequence[Mapping[str, Any]], market_cap: float | None) -> dict[int, str]:
    """Rows whose headline amounts are absurd next to the company's other rows or its market cap.

    Args:
        rows: one company's rows of one statement kind and period (already field-checked).
        market_cap: the company's market capitalisation, when known.

    Returns:
        The index of each implausible row with its reason.
    """
    refused: dict[int, str] = {}
    for name in HEADLINE:
        values = [(i, abs(v)) for i, r in enumerate(rows) if isinstance(v := r.get(name), int | float) and v]
        if len(values) >= HISTORY_MIN_ROWS:
            median = statistics.median(v for _, v in values)
            for index, value in values:
                if value > HISTORY_FACTOR * median and index not in refused:
                    refused[index] = (
                        f"{name} {shown(value)} is over {HISTORY_FACTOR:g}x the company's median {shown(median)}"
                    )
        if market_cap is not None and market_cap > 0:
            for index, value in values:
                if value > MARKET_CAP_FACTOR * market_cap and index not in refused:
                    refused[index] = (
                        f"{name} {shown(value)} is over {MARKET_CAP_FACTOR:g}x the market cap {shown(market_cap)}"
                    )
    return refused
