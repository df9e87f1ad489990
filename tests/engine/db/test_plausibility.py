"""Plausibility rules: check_fields' fast path (remembered ranges) decides exactly as the full rules."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from engine.db import plausibility
from engine.db.plausibility import Implausible, check_field, check_fields

KINDS = ("income", "balance", "cashflow", "ratios", "key_metrics")
# One name per family: amount, non-negative amount, shares, per share (signed and `price`), ratio.
NAMES = (
    "revenue",
    "totalAssets",
    "volume",
    "sharesOutstanding",
    "eps",
    "bookValuePerShare",
    "price",
    "currentRatio",
    "returnOnEquity",
    "grossProfitMargin",
)
BOUNDS = (
    plausibility.MAX_AMOUNT,
    plausibility.MAX_SHARES,
    plausibility.MAX_PER_SHARE,
    plausibility.MAX_RATIO,
)


class Count(int):
    """An int subclass: not a plain int, so it takes the full checks."""


def _values() -> list[object]:
    """Every kind of value FMP (or a caller) can put in a field, on and around each family's limits."""
    numbers: list[object] = [0, 0.0, -0.0, 1, -1, 0.5, -0.5, 2**63, -(2**63), 10**30, -(10**30)]
    for bound in BOUNDS:
        above = math.nextafter(bound, math.inf)
        numbers += [bound, -bound, above, -above, int(bound), -int(bound), int(bound) + 1, -int(bound) - 1]
    texts = ["NaN", "nan", " -Infinity ", "+inf", "INF", "1e400", "", "USD", "2024-09-28", "x" * 50]
    return [
        *numbers,
        math.nan,
        -math.nan,
        math.inf,
        -math.inf,
        *texts,
        True,
        False,
        None,
        [1.0],
        {"a": 1},
        Count(5),
        Count(-5),
    ]


def _outcome(check: Any, *args: object) -> str | None:
    try:
        check(*args)
    except Implausible as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("kind", KINDS)
def test_check_fields_fast_path_decides_as_the_full_rules(kind: str) -> None:
    """For every family and every kind of value, check_fields raises exactly check_field's message (or
    nothing), and a row raises for its first breaking field."""
    values = _values()
    for name, value in itertools.product(NAMES, values):
        assert _outcome(check_fields, {name: value}, kind) == _outcome(check_field, name, value, kind), (
            name,
            value,
        )
    row = {name: 1.0 for name in NAMES} | {"eps": math.inf, "revenue": -math.nan}
    assert _outcome(check_fields, row, kind) == "non-finite revenue: nan"


@pytest.mark.parametrize(
    ("kind", "name", "value", "reason"),
    [
        ("income", "revenue", math.nan, "non-finite revenue: nan"),
        ("income", "revenue", -math.inf, "non-finite revenue: -inf"),
        ("income", "grossProfitRatio", " NaN ", "non-numeric grossProfitRatio: ' NaN '"),
        ("income", "weightedAverageShsOut", -1, "negative weightedAverageShsOut: -1"),
        ("balance", "totalAssets", -0.5, "negative totalAssets: -0.5"),
        ("income", "revenue", 2e15, "revenue out of bounds: 2e+15 (|revenue| <= 1e+15)"),
        ("income", "eps", -2_000_000, "eps out of bounds: -2e+06 (|eps| <= 1e+06)"),
        ("ratios", "currentRatio", 1e7, "currentRatio out of bounds: 1e+07 (|currentRatio| <= 1e+06)"),
        ("key_metrics", "marketCap", -1, "negative marketCap: -1"),
        ("income", "revenue", True, None),
        ("income", "revenue", "12", None),
        ("income", "revenue", None, None),
        ("income", "revenue", 1e15, None),
        ("income", "currentRatio", 1e7, None),  # a ratio only in ratios and key_metrics
        ("income", "eps", -3.5, None),
    ],
)
def test_check_fields_reasons(kind: str, name: str, value: object, reason: str | None) -> None:
    """NaN, infinities, "NaN" text, negatives and out-of-bounds numbers raise their readable reason;
    bools, other text, nulls and in-range numbers pass (the parser checks types)."""
    assert _outcome(check_fields, {"symbol": "X", name: value}, kind) == reason


def test_check_fields_remembers_a_bounded_number_of_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Field names come from FMP: past the cap a name's range is computed each time, and still right."""
    monkeypatch.setattr(plausibility, "_RANGES", {})
    monkeypatch.setattr(plausibility, "MAX_REMEMBERED_NAMES", 3)
    row = {f"field{i}": 1.0 for i in range(10)} | {"sharesOutstanding": 5.0}
    check_fields(row, "income")
    assert len(plausibility._RANGES["income"]) == 3
    with pytest.raises(Implausible, match="negative sharesOutstanding: -5"):
        check_fields(row | {"sharesOutstanding": -5.0}, "income")
