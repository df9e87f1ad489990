"""The value rules of a price row, declared once in RULES; the per-row parser and the whole-batch pass apply them.

An entry names the fields it reads, its bound and its quarantine reason; its shape (`Within`,
`Integral`, `NotBelow`) derives both forms of the test from those: `holds` for one row,
`holds_for` for a batch's columns in C-level passes (`min`, `max`, `map`). A new rule is one entry
(or, for a test no shape expresses, one new shape with both forms). Order matters: a row breaking
several rules is quarantined with the first one's reason.

The rules see finite numbers only: a missing, non-numeric or non-finite value is refused before them
(`common.number` per row, `price_batch` per column).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from engine.db.plausibility import MAX_PRICE, shown
from engine.db.validate.common import Invalid


class PriceValues(NamedTuple):
    """A price row's parsed numbers, the ones the rules read."""

    open: float
    high: float
    low: float
    close: float
    volume: float


Columns = Mapping[str, Sequence[float]]  # PriceValues' fields -> a batch's values, none empty
Reason = Callable[[PriceValues, Mapping[str, Any]], str]  # (values, the raw row) -> quarantine reason


class PriceRule(Protocol):
    """A test every valid price row passes, for one row and for whole columns alike."""

    @property
    def reason(self) -> Reason: ...

    def holds(self, values: PriceValues) -> bool: ...

    def holds_for(self, columns: Columns) -> bool: ...


@dataclass(frozen=True, slots=True)
class Within:
    """`low` <= `field` <= `high`; a bound left out is no bound."""

    field: str
    reason: Reason
    low: float = -math.inf
    high: float = math.inf

    def holds(self, values: PriceValues) -> bool:
        return bool(self.low <= getattr(values, self.field) <= self.high)

    def holds_for(self, columns: Columns) -> bool:
        column = columns[self.field]
        return (self.low == -math.inf or min(column) >= self.low) and (
            self.high == math.inf or max(column) <= self.high
        )


@dataclass(frozen=True, slots=True)
class Integral:
    """`field` is a whole number."""

    field: str
    reason: Reason

    def holds(self, values: PriceValues) -> bool:
        return float(getattr(values, self.field)).is_integer()

    def holds_for(self, columns: Columns) -> bool:
        return all(map(float.is_integer, columns[self.field]))


@dataclass(frozen=True, slots=True)
class NotBelow:
    """`field` >= `other`, two fields of the same row."""

    field: str
    other: str
    reason: Reason

    def holds(self, values: PriceValues) -> bool:
        return bool(getattr(values, self.field) >= getattr(values, self.other))

    def holds_for(self, columns: Columns) -> bool:
        return not any(map(operator.lt, columns[self.field], columns[self.other]))


def _negative_price(values: PriceValues, raw: Mapping[str, Any]) -> str:
    return f"negative price: open {shown(values.open)}, low {shown(values.low)}, close {shown(values.close)}"


RULES: tuple[PriceRule, ...] = (
    Within("open", _negative_price, low=0.0),
    Within("low", _negative_price, low=0.0),
    Within("close", _negative_price, low=0.0),
    Within("high", lambda v, raw: f"high out of bounds: {shown(v.high)} (> {MAX_PRICE:.0e})", high=MAX_PRICE),
    Within("volume", lambda v, raw: f"negative volume: {raw.get('volume')!r}", low=0.0),
    Integral("volume", lambda v, raw: f"fractional volume: {raw.get('volume')!r}"),
    NotBelow("high", "low", lambda v, raw: f"high < low: {v.high!r} < {v.low!r}"),
)


def check(values: PriceValues, raw: Mapping[str, Any]) -> None:
    """Raise Invalid with the first rule `values` break (`raw`: the row as sent, for the reason)."""
    for rule in RULES:
        if not rule.holds(values):
            raise Invalid(rule.reason(values, raw))


def all_hold(columns: Columns) -> bool:
    """Every rule holds on every row of a batch's (non-empty) columns."""
    return all(rule.holds_for(columns) for rule in RULES)
