"""The fake's S&P 500 history: FMP's historical-sp500-constituent rows, and the former members it serves."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from fakefmp.data import Universe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fmp"
AS_OF = date(2026, 8, 7)


@pytest.fixture(scope="module")
def universe() -> Universe:
    return Universe(seed=42, symbols=503, as_of=AS_OF)


@pytest.fixture(scope="module")
def rows(universe: Universe) -> list[dict[str, Any]]:
    return list(orjson.loads(universe.historical_constituents_body()))


def members_on(rows: list[dict[str, Any]], day: str) -> set[str]:
    """The index on `day`, replayed from the served rows alone (oldest change first)."""
    members: set[str] = set()
    for row in sorted(rows, key=lambda r: r["date"]):
        if row["date"] > day:
            break
        if row["removedTicker"]:
            members.discard(row["removedTicker"])
        if row["addedSecurity"]:
            members.add(row["symbol"])
    return members


def test_rows_carry_fmps_fields_in_fmps_order(rows: list[dict[str, Any]]) -> None:
    """Every row has the recorded keys in the recorded order; `dateAdded` spells `date`; newest first; a
    removal alone repeats the removed ticker as `symbol`, as the recording does."""
    recorded = json.loads((FIXTURES / "stable_historical-dowjones-constituent.json").read_text())
    assert all(list(row) == list(recorded[0]) for row in rows)
    assert [row["date"] for row in rows] == sorted((row["date"] for row in rows), reverse=True)
    for row in rows:
        assert datetime.strptime(row["dateAdded"], "%B %d, %Y").date().isoformat() == row["date"]
        if not row["addedSecurity"]:
            assert row["symbol"] == row["removedTicker"] != ""


def test_the_index_holds_its_members_on_every_date(rows: list[dict[str, Any]], universe: Universe) -> None:
    """Replayed from the rows, the index has the 503 constituents' count at every year end since 1990, and
    today's members are exactly the constituents."""
    for year in range(1990, 2026):
        assert len(members_on(rows, f"{year}-12-31")) == 503, year
    assert members_on(rows, AS_OF.isoformat()) == set(universe.companies)


def test_a_past_screen_has_leavers_and_not_later_joiners(rows: list[dict[str, Any]]) -> None:
    """On 2010-06-30 the index holds Yahoo (left in 2017) and Apple, and neither Tesla (joined 2020) nor
    Lehman Brothers (gone in 2008)."""
    members = members_on(rows, "2010-06-30")
    assert {"YHOO", "AAPL", "XOM"} <= members
    assert not {"TSLA", "LEH", "PLTR"} & members
    left = [row for row in rows if row["removedTicker"] == "YHOO"]
    assert len(left) == 1
    assert left[0]["date"].startswith("2017")


def test_former_members_are_served_up_to_their_exit(universe: Universe) -> None:
    """A company that left is not a constituent, yet has a profile, prices and statements: an acquired one
    stops trading and filing when it leaves; one dropped for its size trades on."""
    assert "YHOO" not in orjson.loads(universe.constituents_body())
    left = next(
        row["date"]
        for row in orjson.loads(universe.historical_constituents_body())
        if row["removedTicker"] == "YHOO"
    )
    prices = orjson.loads(universe.price_body("YHOO", adjusted=False, start=None, end=None, cap=20_000)[0])
    assert prices
    assert prices[0]["date"] < left
    income = orjson.loads(universe.statement_body("income", "YHOO", "quarter", 1000))
    assert income
    assert max(row["filingDate"] for row in income) < left
    profile = orjson.loads(universe.profile_body("YHOO"))[0]
    assert profile["isActivelyTrading"] is False
    kept = next(
        row["removedTicker"]
        for row in orjson.loads(universe.historical_constituents_body())
        if row["reason"] == "Market capitalization change" and row["date"] < "2020-01-01"
    )
    assert orjson.loads(universe.price_body(kept, adjusted=False, start="2026-01-01", end=None, cap=500)[0])
    assert orjson.loads(universe.profile_body(kept))[0]["isActivelyTrading"] is True


def test_a_small_universe_lists_only_its_own_changes() -> None:
    """With the first N constituents only, the history names no company the fake does not serve."""
    small = Universe(seed=1, symbols=20, as_of=AS_OF)
    rows = orjson.loads(small.historical_constituents_body())
    assert rows
    for row in rows:
        if row["addedSecurity"]:
            assert small.company(row["symbol"]) is not None, row
        if row["removedTicker"]:
            assert small.company(row["removedTicker"]) is not None, row
