"""The fake's HTTP behaviour: FMP's exact error bodies, the sliding limit, admin endpoints, cassettes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import aiohttp
import pytest

from fakefmp import FakeConfig, FakeFMPProcess, RunningServer, serve
from fakefmp.process import fakefmp_running

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fmp"
KEY = {"apikey": "test-key"}


@pytest.fixture
async def fake() -> AsyncIterator[RunningServer]:
    async with serve(
        FakeConfig(symbols=5, seed=1, rate_limit=5, window_s=60, as_of=date(2026, 8, 7))
    ) as server:
        yield server


async def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, await response.read()


def _fixture_body(name: str) -> object:
    return json.loads((FIXTURES / name).read_text())


async def test_server_missing_key_gets_fmps_401_body(fake: RunningServer) -> None:
    """No key: 401 with FMP's exact "Invalid API KEY" body."""
    status, body = await _get(f"{fake.base_url}/profile?symbol=MMM")
    assert status == 401
    assert json.loads(body) == _fixture_body("error_401_invalid-api-key_stable-quote.json")


async def test_server_legacy_path_gets_fmps_403_body(fake: RunningServer) -> None:
    """A v3 path with a key: 403 with FMP's "Legacy Endpoint" body."""
    status, body = await _get(f"{fake.url}/api/v3/historical-price-full/AAPL", KEY)
    assert status == 403
    assert json.loads(body) == _fixture_body("error_403_legacy-endpoint_v3-historical-price-full.json")


async def test_server_sliding_limit_answers_429_limit_reach(fake: RunningServer) -> None:
    """The sixth request within the window gets 429 "Limit Reach"; stats count all six."""
    statuses = [(await _get(f"{fake.base_url}/profile?symbol=MMM", KEY))[0] for _ in range(5)]
    status, body = await _get(f"{fake.base_url}/profile?symbol=MMM", KEY)
    assert statuses == [200] * 5
    assert status == 429
    assert json.loads(body) == _fixture_body("error_429_limit-reach.json")
    _, raw = await _get(f"{fake.url}/__fake/stats")
    stats = json.loads(raw)
    assert stats["requests"] == 6
    assert stats["max_in_window"] == 6
    assert stats["statuses"] == {"200": 5, "429": 1}


async def test_server_key_in_query_is_accepted_too(fake: RunningServer) -> None:
    """Like FMP, the key may come as the `apikey` query parameter."""
    status, body = await _get(f"{fake.base_url}/sp500-constituent?apikey=x")
    assert status == 200
    assert len(json.loads(body)) == 5


async def test_server_serves_the_index_history_and_its_former_members(fake: RunningServer) -> None:
    """historical-sp500-constituent answers FMP's rows; a company it says left has a profile."""
    status, body = await _get(f"{fake.base_url}/historical-sp500-constituent", KEY)
    rows = json.loads(body)
    recorded = _fixture_body("stable_historical-dowjones-constituent.json")
    assert status == 200
    assert rows
    assert all(list(row) == list(recorded[0]) for row in rows)  # type: ignore[index]
    gone = next(row["removedTicker"] for row in rows if row["removedTicker"])
    status, body = await _get(f"{fake.base_url}/profile?symbol={gone}", KEY)
    assert status == 200
    assert json.loads(body)[0]["symbol"] == gone


async def test_server_replays_recorded_cassettes_without_the_key(tmp_path: Path) -> None:
    """Recording through the fake stores the answer with the key stripped; replay serves it back."""
    async with serve(FakeConfig(symbols=3, seed=2, as_of=date(2026, 8, 7))) as upstream:
        recorder = FakeConfig(cassettes=tmp_path, record_from=upstream.base_url)
        async with serve(recorder) as proxy:
            status, recorded = await _get(f"{proxy.base_url}/profile?symbol=MMM", {"apikey": "SECRET-KEY-1"})
    assert status == 200
    files = list(tmp_path.glob("*.json"))  # noqa: ASYNC240 - a tiny local directory
    assert [f.name for f in files] == ["profile__symbol=MMM.json"]
    assert "SECRET-KEY-1" not in files[0].read_text()
    async with serve(FakeConfig(cassettes=tmp_path)) as replay:
        status, replayed = await _get(f"{replay.base_url}/profile?symbol=MMM", KEY)
        missing, _ = await _get(f"{replay.base_url}/profile?symbol=AOS", KEY)
    assert status == 200
    assert json.loads(replayed) == json.loads(recorded)
    assert missing == 404


@pytest.mark.e2e
def test_server_subprocess_prints_url_and_serves_admin() -> None:
    """`python -m fakefmp` prints its URL; as-of and restate admin calls take effect."""
    with FakeFMPProcess(["--symbols", "3", "--as-of", "2026-06-01"]) as fake:
        assert fake.base_url.startswith("http://127.0.0.1:")
        assert fake.base_url.endswith("/stable")
        assert fake.admin("as-of", {"date": "2026-06-10"}) == {"as_of": "2026-06-10"}
        assert fake.stats()["as_of"] == "2026-06-10"
        assert fake.admin("restate", {"symbol": "MMM", "dataset": "income", "period": "annual",
                                      "date": "2025-12-31", "field": "revenue", "value": 1}) == {"ok": True}  # fmt: skip


@pytest.mark.e2e
def test_fakefmp_running_stops_the_fake_when_its_block_fails() -> None:
    """`fakefmp_running` yields a started fake with the given args and stops it even when the block raises."""
    seen: list[FakeFMPProcess] = []

    def fail_inside() -> None:
        with fakefmp_running("--symbols", "3", "--as-of", "2026-06-01") as fake:
            seen.append(fake)
            assert fake.stats()["as_of"] == "2026-06-01"
            raise LookupError

    with pytest.raises(LookupError):
        fail_inside()
    assert seen[0].proc is not None
    assert seen[0].proc.poll() is not None


async def _post(url: str, payload: dict[str, object]) -> dict[str, object]:
    async with aiohttp.ClientSession() as session, session.post(url, json=payload) as response:
        return dict(await response.json())


async def test_server_hold_keeps_named_paths_waiting_until_released(fake: RunningServer) -> None:
    """A hold on one path keeps its answers back (others pass) until the release, then they all arrive."""
    await _post(f"{fake.url}/__fake/hold", {"paths": ["income-statement"]})
    held = asyncio.ensure_future(_get(f"{fake.base_url}/income-statement?symbol=MMM", KEY))
    status, _ = await _get(f"{fake.base_url}/profile?symbol=MMM", KEY)
    assert status == 200
    while json.loads((await _get(f"{fake.url}/__fake/stats"))[1])["held"] < 1:  # noqa: ASYNC110 - the server's count
        await asyncio.sleep(0.01)
    assert not held.done()
    assert await _post(f"{fake.url}/__fake/hold", {"release": True}) == {"held": 1}
    status, body = await held
    assert status == 200
    assert json.loads(body)
    assert json.loads((await _get(f"{fake.url}/__fake/stats"))[1])["held"] == 0
