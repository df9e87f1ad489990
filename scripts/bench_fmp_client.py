"""Benchmark the FMP client's rate budget against `python -m fakefmp`: achieved rate vs budget, 429s.

.venv/bin/python scripts/bench_fmp_client.py --rate-limit 600 --duration 180 --fault-rate 0.02
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from pathlib import Path

import aiohttp
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # devkit

from devkit.benchrecord import add_record_argument, record
from engine.errors import FMPError
from engine.fmp.budget import RateBudget
from engine.fmp.client import FMPClient, RetryPolicy
from engine.fmp.endpoints import CONSTITUENTS, ENDPOINTS, PRICES, PRICES_ADJUSTED
from fakefmp import FakeFMPProcess


async def drive(base_url: str, args: argparse.Namespace) -> FMPClient:
    async with aiohttp.ClientSession() as session:
        fmp = FMPClient(
            session,
            RateBudget(args.rate_limit),
            api_key=SecretStr("bench-key"),
            base_url=base_url,
            concurrency=args.concurrency,
            retry=RetryPolicy(attempts=6, initial_s=0.5, cap_s=5.0),
            timeout_s=args.timeout,
        )
        symbols = [row["symbol"] for row in await fmp.fetch(CONSTITUENTS)]
        specs = [s for s in ENDPOINTS.values() if s.per_symbol]
        jobs = itertools.cycle((spec, symbol) for symbol in symbols for spec in specs)
        deadline = time.monotonic() + args.duration
        failures = 0

        async def worker() -> None:
            nonlocal failures
            while time.monotonic() < deadline:
                spec, symbol = next(jobs)
                try:
                    if spec in (PRICES, PRICES_ADJUSTED):
                        await fmp.fetch(spec, symbol=symbol)  # the newest 5,000 rows: a heavy body
                    else:
                        await fmp.fetch(spec, symbol=symbol, period=spec.periods[0] if spec.periods else None)
                except FMPError:
                    failures += 1

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        fmp.counters.failures["items_failed_after_retries"] = failures
        return fmp


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate-limit", type=int, default=600, help="requests per 60 s (client and fake)")
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of load")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--fault-rate", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--symbols", type=int, default=503)
    add_record_argument(parser)
    args = parser.parse_args()
    fake_args = ["--rate-limit", str(args.rate_limit), "--fault-rate", str(args.fault_rate),
                 "--faults", "5xx,html,truncate,reset", "--symbols", str(args.symbols)]  # fmt: skip
    with FakeFMPProcess(fake_args) as fake:
        fmp = asyncio.run(drive(fake.base_url, args))
        server = fake.stats()
    counters = fmp.counters
    span = (counters.last_send or 0) - (counters.first_send or 0)
    rate = (counters.requests - 1) / span * 60 if span > 0 else 0.0
    print(
        f"duration            {span:.1f} s of sends, concurrency {args.concurrency}, fault rate {args.fault_rate}"
    )
    print(f"budget              {args.rate_limit} requests / any 60 s")
    print(f"achieved rate       {rate:.1f} requests / 60 s = {rate / args.rate_limit:.1%} of budget")
    print(f"requests sent       {counters.requests} (retries {counters.retries})")
    print(f"max in any 60 s     client {counters.max_in_window}, server {server['max_in_window']}")
    print(f"429 responses       client {counters.rate_limited}, server {server['statuses'].get('429', 0)}")
    print(f"statuses (client)   {dict(sorted(counters.statuses.items()))}")
    print(f"transport failures  {dict(counters.failures)}")
    print(f"server faults       {server['faults']}, rows served {server['rows_served']}")
    if args.record:
        record(
            "bench_fmp_client",
            {
                "rate_limit": args.rate_limit, "concurrency": args.concurrency, "fault_rate": args.fault_rate,
                "sends_s": round(span, 1), "requests_per_60s": round(rate, 1),
                "utilisation_pct": round(100 * rate / args.rate_limit, 1),
                "max_window_client": counters.max_in_window, "max_window_server": server["max_in_window"],
                "http_429": counters.rate_limited, "requests": counters.requests, "retries": counters.retries,
                "items_failed": counters.failures.get("items_failed_after_retries", 0),
            },
        )  # fmt: skip


if __name__ == "__main__":
    main()
