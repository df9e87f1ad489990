"""parse_prices' whole-batch fast path: the per-row parsers' rows and reasons, on clean and broken batches."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from typing import Any

import pytest

from engine.db.validate import Parsed, parse_prices, price_rules, prices
from engine.db.validate.price_batch import clean_adjusted, clean_prices
from engine.db.validate.price_rules import Within
from engine.fmp.responses import UncheckedRow
from tests.engine.db.conftest import adjusted, price

SYMBOL = "KO"


def series(rng: random.Random, days: int = 60) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A valid newest-first full/adjusted pair: ints and floats, vwap absent, null or set, adjusted
    rows missing some dates and holding one date the full rows lack."""
    full: list[dict[str, Any]] = []
    start = date(2020, 1, 1)
    for n in range(days):
        close = round(rng.uniform(1, 500), 2)
        row = price(SYMBOL, (start + timedelta(days=n)).isoformat(), close, volume=rng.randint(0, 10**9))
        if n % 7 == 0:
            row["open"] = int(close)
        if n % 5 == 0:
            del row["vwap"]
        elif n % 5 == 1:
            row["vwap"] = None
        full.append(row)
    adj = [adjusted(SYMBOL, row["date"], row["close"] * 0.9) for row in full if rng.random() < 0.8]
    adj.append(adjusted(SYMBOL, "2019-12-31", 1.0))  # no full row: an orphan
    return full[::-1], adj[::-1]


def _per_row(
    rows: list[dict[str, Any]], adj: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> Parsed[Any]:
    """parse_prices with the whole-batch pass switched off: the per-row parser."""
    with monkeypatch.context() as patch:
        patch.setattr(prices, "_clean_batch", lambda *args, **kwargs: None)
        return parse_prices(SYMBOL, rows, adj, checked=True)


def _same(got: Parsed[Any], expected: Parsed[Any]) -> None:
    assert repr(got.rows) == repr(expected.rows)  # repr: nan != nan, but prints alike
    assert [(q.dataset, q.reason, q.payload) for q in got.quarantined] == [
        (q.dataset, q.reason, q.payload) for q in expected.quarantined
    ]


@pytest.mark.parametrize("seed", range(3))
def test_clean_batch_parsed_whole_as_the_per_row_parsers_do(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid series takes the fast path and gives the per-row and the full parsers' rows and orphans."""
    full, adj = series(random.Random(seed))
    adj_close = clean_adjusted(adj, SYMBOL)
    assert adj_close is not None
    assert clean_prices(full, SYMBOL, adj_close) is not None
    got = parse_prices(SYMBOL, full, adj, checked=True)
    _same(got, _per_row(full, adj, monkeypatch))
    _same(got, parse_prices(SYMBOL, full, adj))
    assert [q.reason for q in got.quarantined] == ["adjusted row without an unadjusted row"]
    assert type(got.rows[0].volume) is int


def test_empty_batches_parse_empty() -> None:
    """No rows at all: no rows and no quarantine; adjusted rows alone are all orphans."""
    assert parse_prices(SYMBOL, [], [], checked=True) == Parsed()
    orphan = adjusted(SYMBOL, "2024-01-02", 5.0)
    assert [q.payload for q in parse_prices(SYMBOL, [], [orphan], checked=True).quarantined] == [orphan]


FULL_DEFECTS: list[tuple[str, Any]] = [
    ("open", -1.0),
    ("low", -0.5),
    ("close", -3),
    ("high", 2e7),
    ("high", 0.5),  # below low
    ("volume", -1),
    ("volume", 10.5),
    ("open", math.nan),
    ("high", math.inf),
    ("low", -math.inf),
    ("close", None),
    ("volume", None),
    ("vwap", math.nan),
    ("vwap", math.inf),
    ("symbol", "PEP"),
    ("symbol", None),
    ("date", "1899-12-29"),
    ("date", "2100-01-04"),
]
ADJUSTED_DEFECTS: list[tuple[str, Any]] = [
    ("adjClose", None),
    ("adjClose", math.nan),
    ("adjClose", -math.inf),
    ("symbol", "PEP"),
    ("date", "2100-01-04"),
]


@pytest.mark.parametrize(("field", "value"), FULL_DEFECTS)
def test_full_row_breaking_a_rule_takes_the_per_row_path(
    field: str, value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One bad full row anywhere in a batch: quarantined with the per-row and full parsers' reason, the
    other rows loaded alike."""
    full, adj = series(random.Random(7))
    full[len(full) // 2][field] = value
    adj_close = clean_adjusted(adj, SYMBOL)
    assert adj_close is not None
    assert clean_prices(full, SYMBOL, adj_close) is None
    got = parse_prices(SYMBOL, full, adj, checked=True)
    _same(got, _per_row(full, adj, monkeypatch))
    _same(got, parse_prices(SYMBOL, full, adj))
    assert len(got.rows) == len(full) - 1


@pytest.mark.parametrize(("field", "value"), ADJUSTED_DEFECTS)
def test_adjusted_row_breaking_a_rule_takes_the_per_row_path(
    field: str, value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One bad adjusted row: the per-row and full parsers' quarantine and adj_close values."""
    full, adj = series(random.Random(8))
    adj[3][field] = value
    assert clean_adjusted(adj, SYMBOL) is None
    got = parse_prices(SYMBOL, full, adj, checked=True)
    _same(got, _per_row(full, adj, monkeypatch))
    _same(got, parse_prices(SYMBOL, full, adj))


def test_marked_or_duplicate_rows_take_the_per_row_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A row the client marked (UncheckedRow) or a repeated adjusted date is left to the per-row parsers."""
    full, adj = series(random.Random(9))
    marked = [*full[:3], UncheckedRow(full[3] | {"open": "12.5"}), *full[4:]]
    assert clean_prices(marked, SYMBOL, {}) is None
    _same(parse_prices(SYMBOL, marked, adj, checked=True), _per_row(marked, adj, monkeypatch))
    pick = adj[1]  # adj[0] is the orphan
    twice = [*adj, adjusted(SYMBOL, pick["date"], pick["adjClose"] - 1)]  # the greater one stays
    assert clean_adjusted(twice, SYMBOL) is None
    got = parse_prices(SYMBOL, full, twice, checked=True)
    _same(got, _per_row(full, twice, monkeypatch))
    assert {row.date.isoformat(): row.adj_close for row in got.rows}[pick["date"]] == pick["adjClose"]


def test_overflowing_column_takes_the_per_row_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two valid volumes of 1e308 overflow the column's sum: the fast path declines, every row still loads."""
    full, adj = series(random.Random(10))
    full[1]["volume"] = full[2]["volume"] = 1e308
    assert clean_prices(full, SYMBOL, {}) is None
    got = parse_prices(SYMBOL, full, adj, checked=True)
    _same(got, _per_row(full, adj, monkeypatch))
    assert len(got.rows) == len(full)


UNCHECKED_TYPES: list[tuple[str, Any]] = [
    ("open", True),  # a bool is refused ("non-numeric"), though float(True) would pass
    ("volume", False),
    ("close", "12.5"),  # a numeric string is read by the per-row parser
    ("high", ""),  # an empty string is "missing"
    ("vwap", "7"),
    ("vwap", True),
]


@pytest.mark.parametrize(("field", "value"), UNCHECKED_TYPES)
def test_unchecked_rows_with_other_types_take_the_per_row_path(
    field: str, value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows the client did not check: a value that is not a JSON number sends the batch to the per-row
    parser (same rows and reasons), while the client-checked pass would have trusted its type."""
    full, adj = series(random.Random(11))
    full[len(full) // 3][field] = value
    adj_close = clean_adjusted(adj, SYMBOL)
    assert adj_close is not None
    assert clean_prices(full, SYMBOL, adj_close, typed=False) is None
    with monkeypatch.context() as patch:
        patch.setattr(prices, "_clean_batch", lambda *args, **kwargs: None)
        expected = parse_prices(SYMBOL, full, adj)
    _same(parse_prices(SYMBOL, full, adj), expected)


@pytest.mark.parametrize("value", [True, "5.5"])
def test_unchecked_adjusted_close_of_another_type_takes_the_per_row_path(
    value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An adjClose that is a bool or a string: the per-row parser's answer, not float()'s."""
    full, adj = series(random.Random(12))
    adj[3]["adjClose"] = value
    assert clean_adjusted(adj, SYMBOL, typed=False) is None
    with monkeypatch.context() as patch:
        patch.setattr(prices, "_clean_batch", lambda *args, **kwargs: None)
        expected = parse_prices(SYMBOL, full, adj)
    _same(parse_prices(SYMBOL, full, adj), expected)


def test_unchecked_clean_batch_takes_the_fast_path() -> None:
    """Plain numbers need no client: an unchecked clean batch is parsed whole too."""
    full, adj = series(random.Random(13))
    adj_close = clean_adjusted(adj, SYMBOL, typed=False)
    assert adj_close is not None
    assert clean_prices(full, SYMBOL, adj_close, typed=False) is not None


def test_a_rule_added_to_the_table_is_applied_by_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """One new entry in price_rules.RULES and nothing else: a batch keeping it is still parsed whole, a
    batch breaking it is declined by the whole-batch pass and its one breaking row quarantined by the
    per-row parser with the entry's reason."""
    cap = 500_000_000
    full, adj = series(random.Random(14))
    for row in full:
        row["volume"] //= 4
    bad = full[len(full) // 2]
    bad["volume"] = cap + 1
    assert len(parse_prices(SYMBOL, full, adj, checked=True).rows) == len(full)  # valid before the rule
    rule = Within("volume", lambda values, raw: f"volume over the cap: {raw.get('volume')!r}", high=cap)
    monkeypatch.setattr(price_rules, "RULES", (*price_rules.RULES, rule))
    adj_close = clean_adjusted(adj, SYMBOL)
    assert adj_close is not None
    assert clean_prices(full, SYMBOL, adj_close) is None
    assert clean_prices([row for row in full if row is not bad], SYMBOL, adj_close) is not None
    per_row = _per_row(full, adj, monkeypatch)
    assert [(q.dataset, q.reason, q.payload) for q in per_row.quarantined if q.dataset == "prices"] == [
        ("prices", f"volume over the cap: {cap + 1}", bad)
    ]
    assert len(per_row.rows) == len(full) - 1
    _same(parse_prices(SYMBOL, full, adj, checked=True), per_row)
    _same(parse_prices(SYMBOL, full, adj), per_row)
