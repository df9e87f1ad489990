"""The FMP client against the in-process fake server: data, errors, retries, capped price windows."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from engine.db.validate import parse_prices, parse_statements
from engine.errors import (
    FMPAuthError,
    FMPBadBodyError,
    FMPConnectionError,
    FMPEntitlementError,
    FMPMalformedResponseError,
    FMPRateLimitError,
    FMPServerError,
    FMPTimeoutError,
    FMPTruncatedBodyError,
)
from engine.fmp.client import RetryPolicy
from engine.fmp.endpoints import ENDPOINTS, INCOME, PRICES, PROFILE, EndpointSpec
from engine.fmp.responses import validate_rows
from fakefmp import RunningServer
from fakefmp.prices import HISTORY_START, first_trading_day
from tests.engine.fmp.conftest import AS_OF, make_client


def full_history_symbol(fake: RunningServer) -> str:
    """A served symbol whose generated history starts in 1990 (some list later, like real IPOs)."""
    universe = fake.state.universe
    return next(s for s in universe.companies if first_trading_day(universe.seed, s) == HISTORY_START)


async def test_fetch_every_dataset_returns_validated_rows(fake: RunningServer) -> None:
    """Each declared endpoint answers with rows carrying the spec's required FMP fields."""
    fake.state.bulk.profile_body(0)  # built once per day, as FMP's bulk files: not within the 0.5 s timeout
    async with make_client(fake) as fmp:
        symbol = full_history_symbol(fake)
        for name, spec in ENDPOINTS.items():
            if spec.periods:
                for period in spec.periods:
                    rows = await fmp.fetch(spec, symbol=symbol, period=period)
                    assert len(rows) >= (28 if period == "annual" else 112), (name, period)
            elif spec.csv:
                day, part = (date(2026, 7, 1), None) if spec.day else (None, 0)
                rows = await fmp.fetch_csv(spec, day=day, part=part)
            elif spec.date_range:
                # prices: a month of MMM; earnings-calendar: every company over a quarter
                who, start = ("MMM", date(2026, 7, 1)) if spec.per_symbol else (None, date(2026, 5, 1))
                rows = await fmp.fetch(spec, symbol=who, start=start, end=date(2026, 7, 31))
                assert [r["date"] for r in rows] == sorted((r["date"] for r in rows), reverse=True)
            else:
                rows = await fmp.fetch(spec, symbol=None if not spec.per_symbol else "MMM")
            assert rows, name
            assert all(key in rows[0] for key in spec.required)
        assert fmp.counters.statuses[200] == fmp.counters.requests


async def test_fetch_unknown_symbol_is_no_data(fake: RunningServer) -> None:
    """FMP's `[]` for an unknown symbol comes back as an empty list, not an error."""
    async with make_client(fake) as fmp:
        assert await fmp.fetch(PROFILE, symbol="NOPE") == []


async def test_fetch_404_is_no_data(fake: RunningServer) -> None:
    """A retired path (404) means "no data"."""
    retired = EndpointSpec(dataset="gone", path="earnings-surprises", required=("symbol",))
    async with make_client(fake) as fmp:
        assert await fmp.fetch(retired, symbol="MMM") == []
        assert fmp.counters.statuses[404] == 1


async def test_fetch_wrong_key_raises_auth_error_without_retry(fake: RunningServer) -> None:
    """A rejected key (401) is fatal at once: one request, no retry."""
    fake.state.config.api_key = "the-right-key"
    async with make_client(fake, key="a-wrong-key") as fmp:
        with pytest.raises(FMPAuthError, match="Invalid API KEY"):
            await fmp.fetch(PROFILE, symbol="MMM")
        assert fmp.counters.requests == 1
        assert fmp.counters.retries == 0


async def test_fetch_402_raises_entitlement_error_with_reason(fake: RunningServer) -> None:
    """A symbol outside the plan (402) is an entitlement error naming status, endpoint and symbol."""
    fake.state.config.entitlement_denied = ("MMM",)
    async with make_client(fake) as fmp:
        with pytest.raises(FMPEntitlementError) as caught:
            await fmp.fetch(INCOME, symbol="MMM", period="annual")
    assert caught.value.status == 402
    assert caught.value.symbol == "MMM"
    assert "income-statement [MMM]" in str(caught.value)
    assert fmp.counters.retries == 0


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("5xx", FMPServerError),
        ("html", FMPBadBodyError),
        ("stall", FMPTimeoutError),
        ("truncate", FMPTruncatedBodyError),
        ("reset", FMPConnectionError),
        ("badjson", FMPBadBodyError),
        ("5xx-html", FMPServerError),
    ],
)
async def test_fetch_fault_is_retried_then_raised_typed(
    fake: RunningServer, kind: str, error: type[Exception]
) -> None:
    """Every transient fault is retried up to the policy and then surfaces as its own FMPError class."""
    fake.state.config.fault_rate = 1.0
    fake.state.config.faults = (kind,)
    async with make_client(fake) as fmp:
        with pytest.raises(error):
            await fmp.fetch(PROFILE, symbol="MMM")
    assert fmp.counters.requests == 3
    assert fmp.counters.retries == 2
    assert fake.state.stats.faults[kind] == 3


async def test_fetch_recovers_from_intermittent_faults(fake: RunningServer) -> None:
    """With half the requests failing, every fetch still completes with correct data."""
    fake.state.config.fault_rate = 0.5
    fake.state.config.faults = ("5xx", "html", "truncate", "reset")
    async with make_client(fake, retry=RetryPolicy(attempts=12, initial_s=0, cap_s=0)) as fmp:
        for symbol in ("MMM", "AOS", "ABT", "ABBV"):
            rows = await fmp.fetch(PROFILE, symbol=symbol)
            assert rows[0]["symbol"] == symbol
    assert fmp.counters.retries > 0


async def test_fetch_429_is_retried_as_rate_limit(fake: RunningServer) -> None:
    """A 429 "Limit Reach" from the server is retried; once exhausted it is an FMPRateLimitError."""
    fake.state.limit.limit = 0
    async with make_client(fake) as fmp:
        with pytest.raises(FMPRateLimitError, match="Limit Reach"):
            await fmp.fetch(PROFILE, symbol="MMM")
    assert fmp.counters.rate_limited == 3


async def test_fetch_wrong_shape_raises_malformed_naming_endpoint_and_symbol(fake: RunningServer) -> None:
    """A body missing a required key is a clear malformed-response error, not retried."""
    strict = EndpointSpec(dataset="profile", path="profile", required=("symbol", "noSuchField"))
    async with make_client(fake) as fmp:
        with pytest.raises(FMPMalformedResponseError, match=r"profile \[MMM\]: row 0 lacks noSuchField"):
            await fmp.fetch(strict, symbol="MMM")
    assert fmp.counters.retries == 0


async def test_fetch_price_history_is_complete_despite_the_row_cap(fake: RunningServer) -> None:
    """30+ years of prices arrive complete and once each, even when one window exceeds the 5,000-row cap."""
    symbol = full_history_symbol(fake)
    series = fake.state.universe.prices(symbol)
    expected = [d for d in series.dates if d <= AS_OF.isoformat()]
    assert len(expected) > 9000  # more than the cap: a single request could not carry it
    async with make_client(fake, price_window_days=365 * 40) as fmp:  # one window: forces the split path
        rows = await fmp.fetch_price_history(symbol, date(1990, 1, 1), AS_OF)
        capped = fmp.counters.requests
    assert [r["date"] for r in rows] == expected[::-1]
    assert capped >= 2
    assert rows[0]["close"] == float(series.close[len(expected) - 1])


async def test_fetch_price_history_default_windows_stay_under_the_cap(fake: RunningServer) -> None:
    """The default 15-year windows fetch 36 years in three requests, adjusted prices too."""
    async with make_client(fake) as fmp:
        rows = await fmp.fetch_price_history(
            full_history_symbol(fake), date(1990, 1, 1), AS_OF, adjusted=True
        )
    assert fmp.counters.requests == 3
    assert len(rows) == len({r["date"] for r in rows}) > 9000
    assert all(r["adjClose"] > 0 for r in rows)


async def test_fetch_rejects_params_that_do_not_fit_the_spec(fake: RunningServer) -> None:
    """Asking for a statement without a period is a programming error caught before any request."""
    async with make_client(fake) as fmp:
        with pytest.raises(ValueError, match="period"):
            await fmp.fetch(INCOME, symbol="MMM")
        with pytest.raises(ValueError, match="date range"):
            await fmp.fetch(PROFILE, symbol="MMM", start=date(2020, 1, 1))
    assert fmp.counters.requests == 0
    assert PRICES.params(symbol="A", start=date(2020, 1, 1), end=date(2020, 2, 1)) == {
        "symbol": "A",
        "from": "2020-01-01",
        "to": "2020-02-01",
    }


async def test_fetch_one_bad_value_quarantines_only_its_row(fake: RunningServer) -> None:
    """A "NaN" string in one quarter's eps no longer fails the response: that row is quarantined, the rest load."""
    async with make_client(fake) as fmp:
        clean = await fmp.fetch(INCOME, symbol="MMM", period="quarter")
        bad_date = clean[3]["date"]
        fake.state.universe.restate("MMM", "income", "quarter", bad_date, "eps", "NaN")
        rows = await fmp.fetch(INCOME, symbol="MMM", period="quarter")
    assert len(rows) == len(clean) > 40
    parsed = parse_statements("MMM", "income", rows, numeric=INCOME.numeric)
    assert len(parsed.rows) == len(clean) - 1
    assert [(q.reason, q.payload["date"]) for q in parsed.quarantined] == [
        ("non-numeric eps: 'NaN'", bad_date)
    ]


def test_price_rows_with_bad_values_are_quarantined_not_fatal() -> None:
    """A price row with a string close or a bad date is quarantined by the checked parser; its neighbours load."""
    good = {"symbol": "KO", "date": "2024-01-02", "open": 1, "high": 2, "low": 1, "close": 2, "volume": 5}
    rows: list[Any] = [
        good,
        good | {"date": "2024-01-03", "close": "NaN"},
        good | {"date": "2024-01-04", "volume": True},
        good | {"date": "2024-13-45"},
    ]
    checked = validate_rows(rows, spec=PRICES, symbol="KO")
    assert [type(row).__name__ for row in checked] == ["dict", "UncheckedRow", "UncheckedRow", "dict"]
    parsed = parse_prices("KO", checked, checked=True)
    assert [row.date for row in parsed.rows] == [date(2024, 1, 2)]
    assert [q.reason for q in parsed.quarantined] == [
        "non-finite close: 'NaN'",
        "non-numeric volume: True",
        "unparseable date: '2024-13-45'",
    ]


async def test_fetch_wrong_shape_fault_is_refused_without_retry(fake: RunningServer) -> None:
    """The fake's `wrongshape` fault (a JSON object on a 200) is a malformed response: not retried."""
    fake.state.config.fault_rate = 1.0
    fake.state.config.faults = ("wrongshape",)
    async with make_client(fake) as fmp:
        with pytest.raises(
            FMPMalformedResponseError, match=r"profile \[MMM\]: expected a JSON array, got dict"
        ):
            await fmp.fetch(PROFILE, symbol="MMM")
    assert fmp.counters.requests == 1
    assert fake.state.stats.faults["wrongshape"] == 1
