"""The fake speaks FMP's plans: what each refuses, with FMP's status codes and plain-text words."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fakefmp import FakeConfig, RunningServer, serve
from fakefmp.constituents import load_companies
from fakefmp.plans import FREE_SYMBOLS, PLANS, plan_rules
from fakefmp.server import BULK_PIECE

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "fmp" / "real"
KEY = {"apikey": "plan-key"}
AS_OF = date(2026, 8, 7)  # a Friday
SIX_YEARS_AGO = "2020-08-03"
FOUR_YEARS_AGO = "2022-08-01"

Get = Callable[..., Awaitable[tuple[int, str, bytes]]]


def real(name: str) -> bytes:
    return (REAL / name).read_bytes()


@pytest.fixture
async def served() -> AsyncIterator[Callable[..., Awaitable[RunningServer]]]:
    """Start fakes on demand (`await served("free", unrecorded="lenient")`), all stopped at the end."""
    running: list[Any] = []

    async def start(plan: str | None, **fields: Any) -> RunningServer:
        config = FakeConfig(symbols=fields.pop("symbols", 80), seed=3, as_of=AS_OF, plan=plan, **fields)
        manager = serve(config)
        running.append(manager)
        return await manager.__aenter__()

    yield start
    for manager in running:
        await manager.__aexit__(None, None, None)


async def get(fake: RunningServer, path: str, **params: str) -> tuple[int, str, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{fake.base_url}/{path}", params=params, headers=KEY) as response,
    ):
        return response.status, response.content_type, await response.read()


@pytest.mark.parametrize(
    ("plan", "constituents", "bulk"),
    [("free", False, False), ("starter", False, False), ("premium", True, False), ("ultimate", True, True)],
)
async def test_plan_gates_constituents_and_bulk_with_fmps_words(
    served: Callable[..., Awaitable[RunningServer]], plan: str, constituents: bool, bulk: bool
) -> None:
    """sp500-constituent needs Premium, the bulk files Ultimate; below, 402 with FMP's plain text."""
    fake = await served(plan)
    status, kind, body = await get(fake, "sp500-constituent")
    if constituents:
        assert status == 200
        assert len(json.loads(body)) == 80
    else:
        assert (status, kind, body) == (402, "application/json", real("error-402-restricted-endpoint.txt"))
    status, _, body = await get(fake, "profile-bulk", part="0")
    assert (status == 200) is bulk
    if not bulk:
        assert body == real("error-402-restricted-endpoint.txt")


async def test_free_plan_refuses_symbols_limit_quarters_and_old_dates(
    served: Callable[..., Awaitable[RunningServer]],
) -> None:
    """Free: 87 symbols, `limit` up to 5, annual statements, 5 years of prices, no calendar."""
    fake = await served("free")
    assert len(FREE_SYMBOLS) == 87
    assert FREE_SYMBOLS <= {company.symbol for company in load_companies()}
    assert (await get(fake, "profile", symbol="AOS"))[2] == real("error-402-premium-symbol.txt")
    assert (await get(fake, "profile", symbol="MMM"))[0] == 200
    limited = await get(fake, "income-statement", symbol="MMM", period="annual", limit="1000")
    assert limited[:1] == (402,)
    assert limited[2] == real("error-402-premium-limit.txt")
    status, _, body = await get(fake, "income-statement", symbol="MMM", period="annual", limit="5")
    rows = json.loads(body)
    assert status == 200
    assert 1 <= len(rows) <= 5
    assert min(r["date"] for r in rows) >= "2021-08-07"
    status, _, body = await get(fake, "income-statement", symbol="MMM", period="quarter", limit="5")
    assert status == 402
    assert b"value set for 'period'" in body
    status, _, body = await get(fake, "historical-price-eod/full", symbol="MMM", **{"from": SIX_YEARS_AGO})
    assert status == 402
    assert b"value set for 'from'" in body
    status, _, body = await get(fake, "historical-price-eod/full", symbol="MMM", **{"from": FOUR_YEARS_AGO})
    assert status == 200
    assert min(r["date"] for r in json.loads(body)) >= FOUR_YEARS_AGO
    status, _, body = await get(fake, "earnings-calendar", **{"from": "2026-07-01", "to": "2026-08-07"})
    assert status == 402
    assert b"value set for 'from'" in body


async def test_free_plan_stops_at_its_daily_requests(served: Callable[..., Awaitable[RunningServer]]) -> None:
    """The daily count answers FMP's 429 "Limit Reach" once the day's requests are spent."""
    fake = await served("free", daily_limit=3, rate_limit=100)
    statuses = [(await get(fake, "profile", symbol="MMM"))[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert fake.state.stats.refusals["daily limit"] == 1


async def test_starter_unrecorded_behaviour_is_a_switch(
    served: Callable[..., Awaitable[RunningServer]],
) -> None:
    """Starter's old `from` dates and quarters: refused (strict, the default) or clipped (lenient)."""
    strict, lenient = await served("starter"), await served("starter", unrecorded="lenient")
    old = {"symbol": "MMM", "from": SIX_YEARS_AGO}
    assert (await get(strict, "historical-price-eod/full", **old))[0] == 402
    status, _, body = await get(lenient, "historical-price-eod/full", **old)
    assert status == 200
    assert min(r["date"] for r in json.loads(body)) >= "2021-08-07"
    quarters = {"symbol": "MMM", "period": "quarter", "limit": "1000"}
    assert (await get(strict, "income-statement", **quarters))[0] == 402
    status, _, body = await get(lenient, "income-statement", **quarters)
    assert status == 200
    assert 15 <= len(json.loads(body)) <= 21
    assert plan_rules("starter").strict
    assert not plan_rules("starter", unrecorded="lenient").strict


async def test_ultimate_bulk_throttle_answers_200_limit_reach(
    served: Callable[..., Awaitable[RunningServer]],
) -> None:
    """A bulk request soon after another gets HTTP 200 with a JSON "Limit Reach" body, not CSV."""
    fake = await served("ultimate", bulk_interval_s=60.0)
    first = await get(fake, "eod-bulk", date="2026-08-06")
    second = await get(fake, "eod-bulk", date="2026-08-05")
    assert first[0] == 200
    assert first[2].startswith(b'"symbol","date"')
    assert second[0] == 200
    assert "Limit Reach" in json.loads(second[2])["Error Message"]
    assert PLANS["ultimate"].bulk_interval_s > 0


async def test_bulk_csv_is_shaped_as_fmps(served: Callable[..., Awaitable[RunningServer]]) -> None:
    """Strings quoted, numbers bare, as in the recorded eod-bulk and profile-bulk files."""
    fake = await served(None, symbols=5)
    _, _, eod = await get(fake, "eod-bulk", date="2026-08-06")
    header, row = eod.decode().splitlines()[:2]
    assert header == real("eod-bulk.csv").decode().splitlines()[0]
    cells = row.split(",")
    assert cells[0].startswith('"')
    assert cells[1] == '"2026-08-06"'
    assert not cells[2].startswith('"')
    _, _, profiles = await get(fake, "profile-bulk", part="0")
    assert profiles.decode().splitlines()[0] == real("profile-bulk.part0.csv").decode().splitlines()[0]
    assert ",false,false,true,false,false" in profiles.decode()


async def test_bulk_files_come_chunked_without_a_length(
    served: Callable[..., Awaitable[RunningServer]],
) -> None:
    """As FMP sends its whole-market files: no Content-Length, chunked in pieces, the body whole; the
    JSON answers keep theirs."""
    fake = await served(None, symbols=503)
    async with aiohttp.ClientSession() as session:
        for path, params in (("eod-bulk", {"date": "2026-08-06"}), ("profile-bulk", {"part": "0"})):
            async with session.get(f"{fake.base_url}/{path}", params=params, headers=KEY) as response:
                assert response.status == 200
                assert "Content-Length" not in response.headers
                assert response.headers["Transfer-Encoding"] == "chunked"
                pieces = [chunk async for chunk, _ in response.content.iter_chunks()]
            body = b"".join(pieces)
            assert len(body) > BULK_PIECE
            assert body.count(b"\n") > 500, path
        async with session.get(f"{fake.base_url}/profile", params={"symbol": "MMM"}, headers=KEY) as answer:
            assert answer.headers["Content-Length"] == str(len(await answer.read()))


@pytest.mark.parametrize("plan", [None, "ultimate"])
async def test_profile_bulk_past_the_last_part_is_fmps_400(
    served: Callable[..., Awaitable[RunningServer]], plan: str | None
) -> None:
    """Every plan with bulk ends profile-bulk's parts with 400 and FMP's plain text, not an empty 200."""
    fake = await served(plan, symbols=10, profile_part_rows=4, bulk_interval_s=0)
    parts = [await get(fake, "profile-bulk", part=str(part)) for part in range(4)]
    assert [status for status, _, _ in parts] == [200, 200, 200, 400]
    assert parts[3][1:] == ("application/json", real("error-400-profile-bulk-part-past-end.txt"))


async def test_eod_bulk_of_a_weekend_is_empty_json_when_strict(
    served: Callable[..., Awaitable[RunningServer]],
) -> None:
    """A day nobody traded: `[]` (the stricter reading, unrecorded), or the CSV header when lenient."""
    strict = await served("ultimate", bulk_interval_s=0)
    lenient = await served("ultimate", bulk_interval_s=0, unrecorded="lenient")
    assert (await get(strict, "eod-bulk", date="2026-08-01"))[2] == b"[]"
    assert (await get(lenient, "eod-bulk", date="2026-08-01"))[2].count(b"\n") == 1


async def test_global_calendar_is_cut_at_4000_rows_dropping_the_earliest(
    served: Callable[..., Awaitable[RunningServer]],
) -> None:
    """A 90-day range of every exchange comes back as its newest 4,000 rows; a short range whole."""
    fake = await served("premium")
    _, _, body = await get(fake, "earnings-calendar", **{"from": "2026-05-10", "to": "2026-08-07"})
    rows = json.loads(body)
    dates = [row["date"] for row in rows]
    assert len(rows) == 4000
    assert dates == sorted(dates, reverse=True)
    assert dates[0] <= "2026-08-07"
    assert dates[-1] > "2026-05-10"
    assert any(row["symbol"].endswith((".NS", ".BO", ".T")) for row in rows)
    _, _, body = await get(fake, "earnings-calendar", **{"from": "2026-08-06", "to": "2026-08-07"})
    assert 0 < len(json.loads(body)) < 4000


async def test_class_shares_are_spelled_as_fmp_spells_them(
    served: Callable[..., Awaitable[RunningServer]],
) -> None:
    """BRK-B and BF-B are served; the dotted spelling is an unknown symbol (`[]`), as at FMP."""
    fake = await served(None)
    symbols = {row["symbol"] for row in json.loads((await get(fake, "sp500-constituent"))[2])}
    assert {"BRK-B", "BF-B"} <= symbols
    assert not {"BRK.B", "BF.B"} & symbols
    assert json.loads((await get(fake, "profile", symbol="BRK-B"))[2])[0]["symbol"] == "BRK-B"
    assert (await get(fake, "profile", symbol="BRK.B"))[2] == b"[]"
