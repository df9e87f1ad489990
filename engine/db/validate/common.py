"""What every row parser shares: the outcome type, the refusal, and the date, number and symbol checks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

import orjson

from engine.db.plausibility import FIRST_DAY, LAST_DAY
from engine.db.rows import QuarantineRow

R = TypeVar("R")


class Invalid(ValueError):
    """A row failed one validation rule; the message is the quarantine reason."""


@dataclass(slots=True)
class Parsed(Generic[R]):
    """The outcome of validating one batch: the good rows and the refused ones."""

    rows: list[R] = field(default_factory=list)
    quarantined: list[QuarantineRow] = field(default_factory=list)
    # Statements: each good row's payload as parsed from FMP's answer (its canonical text's parse), in
    # the rows' order; the statement follower computes from them (engine/runs/copied.py).
    payloads: list[Mapping[str, Any]] = field(default_factory=list)


def canonical_json(payload: Mapping[str, Any]) -> str:
    """Sorted-key JSON text: equal payloads give equal text, so dedup winners are stable."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def parse_day(value: object, name: str = "date") -> date:
    if not isinstance(value, str):
        raise Invalid(f"unparseable {name}: {value!r}")
    try:
        day = date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise Invalid(f"unparseable {name}: {value!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(f"{name} out of range: {value!r}")
    return day


def optional_number(row: Mapping[str, Any], name: str) -> float | None:
    """The field as a finite float, None when absent, null or empty; a bool or text is refused."""
    value = row.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Invalid(f"non-numeric {name}: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"non-numeric {name}: {value!r}") from None
    if not math.isfinite(number):
        raise Invalid(f"non-finite {name}: {value!r}")
    return number


def number(row: Mapping[str, Any], name: str) -> float:
    """The field as a finite float; absent, null or empty is refused as missing."""
    value = optional_number(row, name)
    if value is None:
        raise Invalid(f"missing {name}")
    return value


def check_symbol(row: Mapping[str, Any], symbol: str) -> None:
    got = row.get("symbol")
    if got != symbol:
        raise Invalid(f"symbol mismatch: expected {symbol!r}, got {got!r}")
