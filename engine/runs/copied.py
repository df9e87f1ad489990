"""A company's statement rows as the loader's backfill COPYed them, in the form the read-back gives them.

The statement follower computes metric_history and statement_lines from the stored statements
(queries.SERVING_STATEMENTS: `payload::text` of the JSONB, parsed by orjson). When every statement row of
a company is one the run COPYed moments earlier, the rows are already in the engine: this turns them into
exactly what that read gives, without Postgres printing ~250 payloads a company and the engine decoding
and parsing them again (validation's parse of FMP's answer is what the canonical text parses to: orjson
gives JSON's own types, and its text of a float reads back as the same float). What the JSONB round trip
changes, and how it is reproduced here:

- key order: JSONB keeps an object's keys by length, then bytes; the loader's canonical text sorts them
  (the statement tables take their line order from the payloads' keys);
- numbers: JSONB stores numeric and prints it without an exponent and without a negative zero (orjson
  writes 1e+16, which comes back as the integer 10000000000000000; -0.0 comes back as 0.0). A payload whose
  text holds neither form, nor a nested object or array, needs only its keys reordered (`_needs_walk`).

The result equals the read-back's only when it does not depend on the order of rows that share a fiscal
date (SERVING_STATEMENTS orders by symbol and fiscal date only): `order_free` says so.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import orjson

from engine.db.rows import StatementRow


class CopiedRow(NamedTuple):
    """A copied statement row's fields the statement pass reads, its payload as the read gives it."""

    symbol: str
    kind: str
    period: str
    fiscal_date: date
    fiscal_year: int
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Copied:
    """One item's statement rows as its backfill COPYed them, and the load transaction's now() (their
    updated_at: the column's default)."""

    rows: Sequence[CopiedRow]
    stamp: datetime

    @classmethod
    def of(
        cls, rows: Sequence[StatementRow], stamp: datetime, payloads: Sequence[Mapping[str, Any]]
    ) -> Copied:
        """The loader's `rows` with each one's payload as validation parsed it from FMP's answer (what its
        canonical text parses to: parsing it again cost as much as the reordering), converted at once
        (held until the company's batch is written: a dict, not the text too)."""
        return cls(
            [
                CopiedRow(
                    row.symbol,
                    row.kind,
                    row.period,
                    row.fiscal_date,
                    row.fiscal_year,
                    read_back_payload(row.payload, payload),
                )
                for row, payload in zip(rows, payloads, strict=True)
            ],
            stamp,
        )


def group_of(period: str) -> str:
    """SERVING_STATEMENTS' grp of a period label."""
    return "FY" if period == "FY" else "Q"


def read_back_payload(text: str, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`orjson.loads(payload::text)` of the JSONB the canonical payload `text` was stored as; `payload`:
    the text's parse when the caller has it."""
    if payload is None:
        payload = orjson.loads(text)
    if _needs_walk(text):
        walked: dict[str, Any] = _jsonb(payload)
        return walked
    return {key: payload[key] for key in _key_order(tuple(payload))}


def _needs_walk(text: str) -> bool:
    """Whether a payload's text may hold what JSONB prints otherwise: a positive exponent (an integral
    value: it comes back an int; a negative one comes back as the same float), a negative zero, a nested
    object or array. Each test looks for a character rare in payloads (a false hit, inside a string, only
    costs the walk); a regular expression over the text cost more than the rest of the conversion."""
    return "+" in text or "-0.0" in text or "[" in text or text.find("{", 1) >= 0


@functools.lru_cache(maxsize=256)
def _key_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    """JSONB's order of an object's keys: shorter first, then by their UTF-8 bytes."""
    return tuple(sorted(keys, key=lambda key: (len(key.encode()), key.encode())))


def _jsonb(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonb(value[key]) for key in _key_order(tuple(value))}
    if isinstance(value, list):
        return [_jsonb(item) for item in value]
    if isinstance(value, float):
        return _number(value)
    return value


def _number(value: float) -> Any:
    """A float as it comes back from JSONB numeric: no negative zero, no exponent (an integral value
    printed without one parses as an int)."""
    if value == 0:
        return 0.0
    text = orjson.dumps(value).decode()
    if "e" not in text:
        return value
    return orjson.loads(format(Decimal(text), "f"))


def order_free(rows: Sequence[CopiedRow]) -> bool:
    """Whether a company's statement pass cannot depend on the order of its rows of one fiscal date:
    no kind gives a date twice in a period group, and every row of a (group, date) has the same fiscal
    year and period label (the pass keeps the last one's)."""
    seen: set[tuple[str, str, Any]] = set()
    labels: dict[tuple[str, Any], tuple[int, str]] = {}
    for row in rows:
        group = group_of(row.period)
        key = (group, row.kind, row.fiscal_date)
        if key in seen:
            return False
        seen.add(key)
        label = (row.fiscal_year, row.period)
        if labels.setdefault((group, row.fiscal_date), label) != label:
            return False
    return True
