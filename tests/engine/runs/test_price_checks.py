"""Each price-row check runs once: the FMP client's type checks, then parse_prices(checked=True) for the rest.

The price step relies on a contract: rows that passed FMPClient's checks (shape, required keys,
numbers or null, ISO date) need no second type check; rows with a bad value come marked
(UncheckedRow) and get the full checks. The checked parser must then give exactly the rows and
quarantine reasons the full parser gives. These tests hold both halves to that, on
random rows built to break every rule.
"""

from __future__ import annotations

import math
import random
from datetime import date
from typing import Any

import pytest

from engine.db.validate import parse_prices
from engine.errors import FMPMalformedResponseError
from engine.fmp.endpoints import PRICES, PRICES_ADJUSTED, EndpointSpec
from engine.fmp.price_history import _row_date
from engine.fmp.responses import UncheckedRow, validate_rows

SYMBOL = "KO"
NUMBERS: list[Any] = [10.5, 12, 9.75, 0, -3, 1.5, 2**60, 1e308, math.inf, -math.inf, math.nan, None]
ODD: list[Any] = ["12.5", "", True, False, [1], {"a": 1}]
DATES: list[Any] = [
    "2024-01-02",
    "2024-01-03",
    "1899-12-29",
    "2100-01-04",
    "20240105",
    "2024-01-02 00:00:00",
    20240102,
    None,
]


def reference_validate(data: list[Any], spec: EndpointSpec) -> tuple[str | None, list[int]]:
    """The client's per-row rules written plainly: the first shape failure, and the rows to mark."""
    marked = []
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            return f"row {index} is {type(row).__name__}, not an object", []
        missing = [key for key in spec.required if key not in row]
        if missing:
            return f"row {index} lacks {', '.join(missing)}", []
        for key in spec.numeric:
            value = row.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                marked.append(index)
                break
    return None, marked


def random_row(rng: random.Random, fields: tuple[str, ...], odd_rate: float) -> Any:
    if rng.random() < 0.02:
        return rng.choice([[1, 2], "row", 7])
    row: dict[str, Any] = {"symbol": SYMBOL if rng.random() > 0.05 else "PEP", "date": rng.choice(DATES)}
    for name in fields:
        roll = rng.random()
        if roll < 0.03:
            continue  # key absent
        row[name] = rng.choice(ODD) if roll < 0.03 + odd_rate else rng.choice(NUMBERS)
    if rng.random() < 0.05:
        del row["date"]
    return row


FULL_FIELDS = ("open", "high", "low", "close", "volume", "vwap")
ADJ_FIELDS = ("adjOpen", "adjHigh", "adjLow", "adjClose", "volume")


@pytest.mark.parametrize("seed", range(4))
def test_validate_rows_fast_paths_match_the_plain_rules(seed: int) -> None:
    """validate_rows refuses exactly the shapes the plain rules refuse, and marks exactly the bad-value rows."""
    rng = random.Random(seed)
    for _ in range(3000):
        spec = rng.choice([PRICES, PRICES_ADJUSTED])
        fields = FULL_FIELDS if spec is PRICES else ADJ_FIELDS
        data = [random_row(rng, fields, odd_rate=0.02) for _ in range(rng.randint(1, 4))]
        expected, marked = reference_validate(data, spec)
        if expected is None:
            assert validate_rows(data, spec=spec, symbol=SYMBOL) is data
            assert [i for i, row in enumerate(data) if type(row) is UncheckedRow] == marked
        else:
            with pytest.raises(FMPMalformedResponseError) as caught:
                validate_rows(data, spec=spec, symbol=SYMBOL)
            assert str(caught.value).endswith(expected)


def client_checked(rows: list[Any], spec: EndpointSpec) -> list[dict[str, Any]]:
    """The rows FMPClient.fetch_price_history would hand on: shape-valid ones, bad values marked."""
    kept = []
    for row in rows:
        try:
            (row,) = validate_rows([row], spec=spec, symbol=SYMBOL)
        except FMPMalformedResponseError:
            continue
        kept.append(row if _row_date(row) is not None else UncheckedRow(row))
    return kept


@pytest.mark.parametrize("seed", range(4))
def test_parse_prices_checked_gives_the_full_parsers_rows_and_reasons(seed: int) -> None:
    """On rows the client let through, the checked parser yields the same rows and quarantine as the full one."""
    rng = random.Random(100 + seed)
    quarantined = 0
    for _ in range(300):
        full = client_checked([random_row(rng, FULL_FIELDS, 0.02) for _ in range(12)], PRICES)
        adjusted = client_checked([random_row(rng, ADJ_FIELDS, 0.02) for _ in range(12)], PRICES_ADJUSTED)
        expected = parse_prices(SYMBOL, full, adjusted)
        got = parse_prices(SYMBOL, full, adjusted, checked=True)
        assert repr(got.rows) == repr(expected.rows)  # repr: nan != nan, but prints alike
        assert [(q.dataset, q.reason) for q in got.quarantined] == [
            (q.dataset, q.reason) for q in expected.quarantined
        ]
        quarantined += len(got.quarantined)
    assert quarantined > 100  # the random rows really broke the rules, not only passed them


def test_parse_prices_checked_keeps_every_rule_on_a_valid_series() -> None:
    """A clean series parses to the same typed rows both ways, adj_close merged by date."""
    full = [
        {"symbol": SYMBOL, "date": f"2024-01-{d:02d}", "open": 10, "high": 11.5, "low": 9.5, "close": 11,
         "volume": 1000 + d, "vwap": 10.6}
        for d in range(2, 12)
    ]  # fmt: skip
    adjusted = [{"symbol": SYMBOL, "date": r["date"], "adjClose": 10.9} for r in full[:5]]
    checked = parse_prices(SYMBOL, full, adjusted, checked=True)
    assert checked.rows == parse_prices(SYMBOL, full, adjusted).rows
    assert [r.adj_close for r in checked.rows] == [10.9] * 5 + [None] * 5
    assert checked.rows[0].date == date(2024, 1, 2)
    assert checked.rows[0].volume == 1002
