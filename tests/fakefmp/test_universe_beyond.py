"""A universe beyond the S&P 500 (`--symbols N > 503`): synthetic companies are served like real ones,
and profile-bulk covers them (the cost curve of issue #16 needs 5,000 symbols)."""

from __future__ import annotations

import csv
import io
import statistics
from datetime import date

import orjson
import pytest

from fakefmp import bulk
from fakefmp.data import Universe
from fakefmp.extended import synthetic_symbol
from fakefmp.market import SYNTHETIC_CAP_RANGE, market_cap_of, market_caps

AS_OF = date(2026, 8, 7)
REAL = 503


def test_synthetic_companies_have_prices_statements_and_a_profile() -> None:
    """XA0001... answer every per-symbol endpoint with data, as a constituent does."""
    universe = Universe(seed=1, symbols=REAL + 3, as_of=AS_OF)
    for symbol in (synthetic_symbol(1), synthetic_symbol(3)):
        body, rows = universe.price_body(symbol, adjusted=False, start=None, end=None, cap=5000)
        assert rows > 1000
        assert orjson.loads(body)[0]["symbol"] == symbol
        income = orjson.loads(universe.statement_body("income", symbol, "quarter", 8))
        assert len(income) == 8
        assert all(row["revenue"] > 0 for row in income)
        profile = orjson.loads(universe.profile_body(symbol))[0]
        assert profile["symbol"] == symbol
        assert profile["marketCap"] > 0


def test_synthetic_market_caps_are_below_the_index_and_stable() -> None:
    """Companies beyond the index are mid and small caps, the same for the same seed, and the
    constituents' caps are unchanged by them."""
    caps = [market_cap_of(7, synthetic_symbol(i)) for i in range(1, 301)]
    low, high = SYNTHETIC_CAP_RANGE
    assert all(low <= cap <= high for cap in caps)
    assert 2e9 <= statistics.median(caps) <= 8e9
    assert statistics.median(caps) < statistics.median(market_caps(7).values())
    assert caps[:5] == [market_cap_of(7, synthetic_symbol(i)) for i in range(1, 6)]
    assert market_cap_of(7, "AAPL") == market_caps(7)["AAPL"]


def test_profile_is_the_same_whether_the_statements_were_generated_first_or_not() -> None:
    """The profile's shares come from the newest filed quarter, cheaply from the periods or from the
    cached statements: both give the same row."""
    symbols = ("AAPL", "JPM", synthetic_symbol(2))
    cold = Universe(seed=5, symbols=REAL + 2, as_of=AS_OF)
    warm = Universe(seed=5, symbols=REAL + 2, as_of=AS_OF)
    for symbol in symbols:
        warm.fundamentals(symbol)
        assert cold.profile_row(symbol) == warm.profile_row(symbol), symbol


def test_profile_bulk_parts_reach_the_synthetic_companies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last part of profile-bulk lists the synthetic companies; the part after it is empty."""
    monkeypatch.setattr(bulk, "PROFILE_PART_ROWS", 250)
    universe = Universe(seed=1, symbols=REAL + 3, as_of=AS_OF)
    served = bulk.Bulk(universe)
    rows = list(csv.DictReader(io.StringIO(served.profile_body(2).decode())))
    assert [row["symbol"] for row in rows][-3:] == [synthetic_symbol(i) for i in (1, 2, 3)]
    assert len(rows) == REAL + 3 - 500
    assert all(float(row["marketCap"]) > 0 for row in rows)
    assert served.profile_body(3) == b""
