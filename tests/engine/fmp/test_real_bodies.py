"""Bodies recorded from the real FMP API (tests/fixtures/fmp/real, sources in its README) through the
engine's own code path: every row accepted, every refusal typed and quoted in FMP's words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.db.companies import parse_constituent
from engine.errors import FMPAuthError, FMPEntitlementError, FMPError, FMPRateLimitError, FMPRequestError
from engine.fmp.bulk_csv import CsvStream, csv_rows
from engine.fmp.endpoints import (
    BALANCE,
    CASHFLOW,
    EARNINGS_CALENDAR,
    EOD_BULK,
    INCOME,
    KEY_METRICS,
    PRICES,
    PRICES_ADJUSTED,
    PROFILE,
    PROFILE_BULK,
    PROFILE_BULK_BOOLEANS,
    RATIOS,
    EndpointSpec,
)
from engine.fmp.responses import UncheckedRow, classify, validate_rows

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "fmp" / "real"
SECRET = "real-bodies-key"


def body(name: str) -> bytes:
    return (REAL / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("income-statement.json", INCOME),
        ("income-statement.AAPL-FY2025.json", INCOME),
        ("balance-sheet-statement.json", BALANCE),
        ("balance-sheet-statement.JPM-FY2025.json", BALANCE),
        ("cash-flow-statement.json", CASHFLOW),
        ("ratios.json", RATIOS),
        ("key-metrics.json", KEY_METRICS),
        ("profile.json", PROFILE),
        ("historical-price-eod-full.json", PRICES),
        ("historical-price-eod-full.AAPL-2020-split.json", PRICES),
        ("historical-price-eod-dividend-adjusted.json", PRICES_ADJUSTED),
        ("earnings-calendar.json", EARNINGS_CALENDAR),
        ("earnings-calendar.includeReportTimes.json", EARNINGS_CALENDAR),
    ],
)
def test_real_json_body_is_accepted_whole(name: str, spec: EndpointSpec) -> None:
    """Every row of a recorded 200 passes the client's checks untouched (none marked for quarantine)."""
    data = classify(200, body(name), "application/json", spec=spec, symbol=None, secret=SECRET)
    rows = validate_rows(data, spec=spec, symbol=None)
    assert rows
    assert len(rows) == len(json.loads(body(name)))
    assert not [row for row in rows if isinstance(row, UncheckedRow)]


@pytest.mark.parametrize(
    "name", ["sp500-constituent.json", "nasdaq-constituent.json", "dowjones-constituent.json"]
)
def test_real_constituent_rows_parse(name: str) -> None:
    """Recorded constituent rows parse; free-text `founded` is kept, a null date is no date."""
    rows: list[dict[str, Any]] = json.loads(body(name))
    parsed = [parse_constituent(row) for row in rows]
    assert [c.symbol for c in parsed] == [row["symbol"] for row in rows]
    assert all(
        c.founded == (str(row["founded"]) if row.get("founded") else None)
        for c, row in zip(parsed, rows, strict=False)
    )


@pytest.mark.parametrize("chunk", [1, 7, 64, 10_000])
def test_real_eod_bulk_parses_the_same_in_any_chunks(chunk: int) -> None:
    """The recorded eod-bulk CSV (bare numbers, exponents) parses to the same rows however it arrives."""
    data = body("eod-bulk.csv")
    stream = CsvStream(EOD_BULK)
    for start in range(0, len(data), chunk):
        stream.feed(data[start : start + chunk])
    rows = stream.close()
    assert rows == csv_rows(data, spec=EOD_BULK)
    assert rows.records == 3
    assert rows[0]["open"] == pytest.approx(6.344979e-10)
    aapl = rows[2]
    assert (aapl["symbol"], aapl["close"], aapl["adjClose"], aapl["volume"]) == (
        "AAPL",
        309.9,
        309.9,
        25869807,
    )


def test_real_eod_bulk_keeps_only_wanted_symbols() -> None:
    """`keep` drops the rest of the world before typing its rows; `records` still counts them."""
    rows = csv_rows(body("eod-bulk.csv"), spec=EOD_BULK, keep={"AAPL"}.__contains__)
    assert [row["symbol"] for row in rows] == ["AAPL"]
    assert rows.records == 3


@pytest.mark.parametrize("chunk", [3, 500, 100_000])
def test_real_profile_bulk_part_parses(chunk: int) -> None:
    """Fractional volume, empty CIK and CUSIP, bare booleans, a long quoted description."""
    data = body("profile-bulk.part0.csv")
    stream = CsvStream(PROFILE_BULK, booleans=PROFILE_BULK_BOOLEANS)
    for start in range(0, len(data), chunk):
        stream.feed(data[start : start + chunk])
    rows = stream.close()
    assert len(rows) == 3
    first = rows[0]
    assert first["volume"] == pytest.approx(73305.59636)
    assert first["cusip"] == ""
    assert first["isActivelyTrading"] is True
    assert first["isEtf"] is False
    assert all(key in first for key in PROFILE.required)


def test_csv_with_a_newline_inside_quotes_is_one_record() -> None:
    """A quoted cell may hold a newline (a description); a chunk boundary there splits nothing."""
    data = b'"symbol","date","open","low","high","close","adjClose","volume"\n"A","2026-01-02",1,1,1,1,1,5\n'
    data += b'"B\nX","2026-01-02",2,2,2,2,2,6\n'
    for cut in range(1, len(data)):
        stream = CsvStream(EOD_BULK)
        stream.feed(data[:cut])
        stream.feed(data[cut:])
        assert [row["symbol"] for row in stream.close()] == ["A", "B\nX"]


def test_empty_json_list_for_a_bulk_day_is_no_rows() -> None:
    """`[]` (what FMP may answer for a day nobody traded) is no rows, not a malformed answer."""
    data = classify(200, b"[]", "application/json", spec=EOD_BULK, symbol=None, secret=SECRET)
    assert csv_rows(data, spec=EOD_BULK) == []


@pytest.mark.parametrize(
    ("name", "status", "error", "words"),
    [
        ("error-402-restricted-endpoint.txt", 402, FMPEntitlementError, "Restricted Endpoint: This endpoint"),
        ("error-402-premium-symbol.txt", 402, FMPEntitlementError, "value set for 'symbol'"),
        ("error-402-premium-limit.txt", 402, FMPEntitlementError, "'limit' must be between 0 and 5"),
        ("error-400-profile-bulk-part-past-end.txt", 400, FMPRequestError, "missing query parameter - part"),
        ("error-401-invalid-key.json", 401, FMPAuthError, "Invalid API KEY"),
        ("error-403-legacy.json", 403, FMPEntitlementError, "Legacy Endpoint"),
        ("error-429-limit-reach.json", 429, FMPRateLimitError, "Limit Reach"),
        ("error-200-bulk-limit-reach.json", 200, FMPRateLimitError, "Limit Reach"),
    ],
)
def test_real_refusal_is_typed_and_quoted(name: str, status: int, error: type[FMPError], words: str) -> None:
    """Each recorded refusal (plain text under application/json, or FMP's JSON) keeps FMP's own words."""
    spec = EOD_BULK if status == 200 else INCOME
    with pytest.raises(error) as caught:
        classify(status, body(name), "application/json", spec=spec, symbol="AAPL", secret=SECRET)
    assert words in str(caught.value)
    assert f"HTTP {status}: HTTP {status}" not in str(caught.value)
    if isinstance(caught.value, FMPEntitlementError):
        assert words in caught.value.reason
        assert caught.value.status == status
    if isinstance(caught.value, FMPRequestError):
        assert caught.value.status == status


def test_refusal_text_is_cut_and_never_shows_the_key() -> None:
    """A plain-text refusal is quoted to 200 characters, the key masked should FMP echo it."""
    text = ("Premium Query Parameter: " + SECRET + " ").encode() + b"x" * 500
    with pytest.raises(FMPEntitlementError) as caught:
        classify(402, text, "application/json", spec=INCOME, symbol="AAPL", secret=SECRET)
    assert SECRET not in str(caught.value)
    assert "***" in caught.value.reason
    assert len(caught.value.reason) == 200


def test_html_refusal_is_not_quoted() -> None:
    """An edge's HTML page on a 4xx says nothing of FMP's: the status alone is kept."""
    with pytest.raises(FMPRequestError, match=r"HTTP 400: HTTP 400$"):
        classify(400, b"<html><body>Bad</body></html>", "text/html", spec=INCOME, symbol=None, secret=SECRET)


def test_refusal_cut_through_the_key_shows_no_part_of_it() -> None:
    """A key that straddles the 200-character cut is masked before the cut, not after."""
    text = b"y" * 190 + SECRET.encode() + b" more"
    with pytest.raises(FMPEntitlementError) as caught:
        classify(402, text, "application/json", spec=INCOME, symbol="AAPL", secret=SECRET)
    assert SECRET[:6] not in caught.value.reason
