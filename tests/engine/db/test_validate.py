"""Parsing and validation of FMP rows: typed rows out, every refusal quarantined with a reason."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from engine.db.rows import PriceRow, copy_order, dedupe_prices, dedupe_statements
from engine.db.validate import parse_prices, parse_statements
from tests.engine.db.conftest import adjusted, balance, fixture_rows, income, price


def test_parse_prices_recorded_body_all_valid() -> None:
    """The recorded historical-price-eod/full body parses into typed rows with no quarantine."""
    parsed = parse_prices(
        "AAPL", fixture_rows("stable_historical-price-eod-full_AAPL_2023-01-01_2023-01-10.json")
    )
    assert parsed.quarantined == []
    first = parsed.rows[0]
    assert first == PriceRow(
        "AAPL", date(2023, 1, 10), 130.26, 131.26, 128.12, 130.73, None, 63896200, 130.0925
    )


def test_parse_prices_merges_adjusted_close_by_date() -> None:
    """adjClose from the dividend-adjusted body lands on the unadjusted row of the same date."""
    parsed = parse_prices(
        "X", [price("X", "2024-01-02"), price("X", "2024-01-03")], [adjusted("X", "2024-01-03", 97.5)]
    )
    by_day = {row.date: row.adj_close for row in parsed.rows}
    assert by_day == {date(2024, 1, 2): None, date(2024, 1, 3): 97.5}


def test_parse_prices_orphan_adjusted_row_quarantined() -> None:
    """An adjusted row with no unadjusted row of its date is quarantined, not dropped."""
    parsed = parse_prices("X", [price("X", "2024-01-02")], [adjusted("X", "2024-01-05", 1.0)])
    assert [(q.dataset, q.reason) for q in parsed.quarantined] == [
        ("prices_adjusted", "adjusted row without an unadjusted row")
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (price("X", "2024-13-45"), "unparseable date"),
        (price("X", None), "unparseable date"),
        (price("X", "2024-01-02", volume=-5), "negative volume"),
        (price("X", "2024-01-02", high=10, low=11), "high < low"),
        (price("Y", "2024-01-02"), "symbol mismatch"),
        ({**price("X", "2024-01-02"), "close": "n/a"}, "non-numeric close"),
        (price("X", "1800-01-02"), "date out of range"),
    ],
)
def test_parse_prices_invalid_row_quarantined(row: dict[str, object], reason: str) -> None:
    """Each price rule sends the row to quarantine with its reason and raw payload."""
    parsed = parse_prices("X", [row, price("X", "2024-02-01")])
    assert [r.date for r in parsed.rows] == [date(2024, 2, 1)]
    assert len(parsed.quarantined) == 1
    assert parsed.quarantined[0].reason.startswith(reason)
    assert parsed.quarantined[0].payload == row


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (balance("X", "2024-09-28", 2024, totalAssets=500_000_000_000), "assets != liabilities + equity"),
        (balance("X", "28/09/2024", 2024), "unparseable date"),
        (balance("Z", "2024-09-28", 2024), "symbol mismatch"),
        (balance("X", "2024-09-28", 2024, period="H1"), "unknown period"),
        (balance("X", "2024-09-28", 2024, fiscalYear="FY24"), "unparseable fiscalYear"),
    ],
)
def test_parse_statements_invalid_row_quarantined(row: dict[str, object], reason: str) -> None:
    """Each statement rule sends the row to quarantine with its reason and raw payload."""
    parsed = parse_statements("X", "balance", [row])
    assert parsed.rows == []
    assert parsed.quarantined[0].reason.startswith(reason)
    assert parsed.quarantined[0].payload == row
    assert parsed.quarantined[0].kind == "balance"


def test_parse_statements_balance_within_tolerance_accepted() -> None:
    """A balance sheet off by less than the tolerance is loaded (FMP rounds its totals)."""
    row = balance("X", "2024-09-28", 2024, totalAssets=364_980_000_000 + 1_000_000)
    assert len(parse_statements("X", "balance", [row]).rows) == 1


def test_parse_statements_balance_rule_only_for_balance_kind() -> None:
    """Income rows carry no balance totals and are not checked against them."""
    parsed = parse_statements("X", "income", [income("X", "2024-09-28", 2024)])
    assert parsed.quarantined == []
    assert parsed.rows[0].fiscal_year == 2024


def test_dedupe_prices_winner_independent_of_order() -> None:
    """Duplicate dates keep the same winner whatever the order of the batch."""
    parsed = parse_prices("X", [price("X", "2024-01-02", 100.0), price("X", "2024-01-02", 101.0)])
    rows = parsed.rows
    winners = {tuple(dedupe_prices(random.Random(seed).sample(rows, len(rows)))) for seed in range(6)}
    assert len(winners) == 1
    assert next(iter(winners))[0].close == 101.0


def _daily(symbol: str, first: date, count: int, step: int = 1) -> list[PriceRow]:
    days = [first + timedelta(days=n * step) for n in range(count)]
    return [PriceRow(symbol, day, 1.0, 2.0, 0.5, 1.5, None, n, None) for n, day in enumerate(days)]


def test_dedupe_prices_ordered_input_any_direction_sorted() -> None:
    """One symbol's rows newest-first (as FMP sends them) or oldest-first come back sorted, all kept."""
    rows = _daily("X", date(2020, 12, 20), 30)
    assert dedupe_prices(rows[::-1]) == rows
    assert dedupe_prices(rows) == rows


def test_dedupe_prices_unordered_or_repeated_dates_take_full_path() -> None:
    """A shuffled batch, a repeated date next to itself, or two symbols are still sorted and deduplicated."""
    rows = _daily("X", date(2020, 1, 1), 20)
    shuffled = random.Random(3).sample(rows, len(rows))
    assert dedupe_prices(shuffled) == rows
    repeated = [*rows[:5], rows[4]._replace(close=9.0), *rows[5:]]
    out = dedupe_prices(repeated)
    assert len(out) == 20
    assert out[4].close == 9.0
    two = _daily("B", date(2020, 1, 1), 3) + _daily("A", date(2020, 1, 1), 3)
    assert [(r.symbol, r.date) for r in dedupe_prices(two)] == sorted((r.symbol, r.date) for r in two)


def test_copy_order_same_rows_each_year_ascending() -> None:
    """The COPY order holds every row once, each year's rows still in date order, years interleaved."""
    rows = _daily("X", date(1985, 1, 2), 40 * 36, step=10)  # ~40 years, 36-37 rows each
    ordered = list(copy_order(rows, group=16, chunk=8))
    assert sorted(ordered) == rows
    for year in {r.date.year for r in rows}:
        in_year = [r.date for r in ordered if r.date.year == year]
        assert in_year == sorted(in_year)
    assert [r.date.year for r in ordered[:24]] == [1985] * 8 + [1986] * 8 + [1987] * 8
    first_of_group_two = next(n for n, r in enumerate(ordered) if r.date.year == 1985 + 16)
    assert {r.date.year for r in ordered[:first_of_group_two]} == set(range(1985, 2001))


def test_copy_order_one_year_or_tiny_batch_unchanged() -> None:
    """A batch within one year, or not longer than a chunk, is passed through as it is."""
    one_year = _daily("X", date(2024, 1, 2), 100)
    assert copy_order(one_year) is one_year
    tiny = _daily("X", date(2023, 12, 30), 4)
    assert copy_order(tiny, chunk=8) is tiny


def test_dedupe_statements_latest_filing_wins() -> None:
    """Among duplicate statement keys the later filing (a restatement) wins, in any order."""
    early = income("X", "2024-09-28", 2024, filingDate="2024-11-01", revenue=1)
    late = income("X", "2024-09-28", 2024, filingDate="2025-02-01", revenue=2)
    for batch in ([early, late], [late, early]):
        rows = dedupe_statements(parse_statements("X", "income", batch).rows)
        assert len(rows) == 1
        assert rows[0].filing_date == date(2025, 2, 1)


@pytest.mark.parametrize(
    ("kind", "overrides", "reason"),
    [
        ("income", {"revenue": 1e300}, "revenue out of bounds: 1e+300 (|revenue| <= 1e+15)"),
        ("income", {"weightedAverageShsOut": -5_000_000}, "negative weightedAverageShsOut: -5e+06"),
        ("income", {"grossProfitRatio": "NaN"}, "non-numeric grossProfitRatio: 'NaN'"),
        ("income", {"eps": 1e308}, "eps out of bounds: 1e+308 (|eps| <= 1e+06)"),
        (
            "ratios",
            {"priceToEarningsRatio": 1e308},
            "priceToEarningsRatio out of bounds: 1e+308 (|priceToEarningsRatio| <= 1e+06)",
        ),
        ("key_metrics", {"marketCap": -1e300}, "negative marketCap: -1e+300"),
        (
            "balance",
            {"totalAssets": -1.0, "totalLiabilities": -1.0, "totalEquity": 0},
            "negative totalAssets: -1",
        ),
    ],
)
def test_parse_statements_implausible_value_quarantined_readably(
    kind: str, overrides: dict[str, object], reason: str
) -> None:
    """Absurd values (out of their family's bounds, wrong sign, "NaN" text) are quarantined with short numbers."""

    def base(day: str, year: int, **fields: Any) -> dict[str, Any]:
        if kind in ("ratios", "key_metrics"):
            return {
                "symbol": "X",
                "date": day,
                "fiscalYear": str(year),
                "period": "FY",
                "peRatio": 25.0,
            } | fields
        return (balance if kind == "balance" else income)("X", day, year, **fields)

    row = base("2024-09-28", 2024, **overrides)
    parsed = parse_statements("X", kind, [row, base("2023-09-28", 2023)])
    assert len(parsed.rows) == 1
    assert [q.reason for q in parsed.quarantined] == [reason]


def test_parse_statements_amount_far_from_history_or_market_cap_quarantined() -> None:
    """A revenue 3,000x the company's median, or over 1,000x its market cap, is quarantined; the rest loads."""
    rows = [income("X", f"{year}-09-28", year, revenue=3e11 + year) for year in range(2015, 2025)]
    rows[4]["revenue"] = 9e14
    parsed = parse_statements("X", "income", rows)
    assert len(parsed.rows) == 9
    assert [q.reason for q in parsed.quarantined] == [
        "revenue 9e+14 is over 1000x the company's median 3e+11"
    ]
    tiny_cap = parse_statements("X", "income", rows[:2], market_cap=1e8)
    assert [q.reason for q in tiny_cap.quarantined] == [
        "revenue 3e+11 is over 1000x the market cap 1e+08"
    ] * 2


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"close": -3.0}, "negative price: open -4, low -5, close -3"),
        ({"high": 1e300}, "high out of bounds: 1e+300 (> 1e+07)"),
    ],
)
def test_parse_prices_implausible_price_quarantined(overrides: dict[str, Any], reason: str) -> None:
    """Negative prices and absurd highs are quarantined by both parsers, with readable numbers."""
    row = price("X", "2024-01-02", **overrides)
    for checked in (False, True):
        parsed = parse_prices("X", [row, price("X", "2024-01-03")], checked=checked)
        assert [q.reason for q in parsed.quarantined] == [reason]
        assert len(parsed.rows) == 1
