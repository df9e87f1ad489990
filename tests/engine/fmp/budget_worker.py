"""One engine process's share of the shared-budget test: `python -m tests.engine.fmp.budget_worker N`.

Reads the engine's settings from MYCFA_* (MYCFA_FMP_BUDGET_URL included), opens the engine's FMP
client with a shrunk window (BUDGET_WINDOW_S, BUDGET_MARGIN_S) and fetches N profiles at the
configured concurrency; prints one JSON line: wall-clock start and end, requests, 429s.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import orjson

from engine.config import load_engine_settings
from engine.fmp.client import FMPClient
from engine.fmp.endpoints import PROFILE

SYMBOLS = ("MMM", "AOS", "ABT", "ABBV", "ACN", "ADBE")


async def main(count: int) -> None:
    settings = load_engine_settings()
    window_s = float(os.environ["BUDGET_WINDOW_S"])
    margin_s = float(os.environ["BUDGET_MARGIN_S"])
    async with FMPClient.open(settings, window_s=window_s, margin_s=margin_s) as fmp:
        started = time.time()
        await asyncio.gather(*(fmp.fetch(PROFILE, symbol=SYMBOLS[i % len(SYMBOLS)]) for i in range(count)))
        ended = time.time()
    line = {
        "start": started,
        "end": ended,
        "requests": fmp.counters.requests,
        "http_429": fmp.counters.rate_limited,
    }
    print(orjson.dumps(line).decode())


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
