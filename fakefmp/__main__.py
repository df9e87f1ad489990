"""`python -m fakefmp`: run the fake FMP server until interrupted; prints its URL first."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from fakefmp.config import DEFAULT_FAULTS, FAULT_KINDS, FakeConfig
from fakefmp.server import start_server


def parse_args(argv: Sequence[str] | None = None) -> FakeConfig:
    parser = argparse.ArgumentParser(prog="python -m fakefmp", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    parser.add_argument(
        "--symbols",
        type=int,
        default=503,
        help="serve the first N companies (503 real constituents, then synthetic ones)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rate-limit", type=int, default=300, help="requests per key in any window")
    parser.add_argument("--window", type=float, default=60.0, help="rate window in seconds")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of API requests that fail")
    parser.add_argument(
        "--faults",
        default=",".join(DEFAULT_FAULTS),
        help=f"comma list of {', '.join(FAULT_KINDS)} (default: {','.join(DEFAULT_FAULTS)})",
    )
    parser.add_argument("--stall-s", type=float, default=30.0, help="how long a stalled request hangs")
    parser.add_argument("--api-key", default=None, help="the only key accepted (default: any non-empty key)")
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="'today' for the data (YYYY-MM-DD)"
    )
    parser.add_argument("--row-cap", type=int, default=5000, help="price rows per request (oldest dropped)")
    parser.add_argument(
        "--cassettes", type=Path, default=None, help="replay (or, with --record-from, record) here"
    )
    parser.add_argument("--record-from", default=None, help="upstream base URL to proxy and record")
    parser.add_argument("--deny-symbols", default="", help="comma list of symbols answered with 402")
    parser.add_argument("--price-cache", type=int, default=48, help="symbols whose price rows stay in memory")
    parser.add_argument(
        "--restatement-rate", type=float, default=0.0, help="random restatements per company-year (0: none)"
    )
    parser.add_argument("--deny-bulk", action="store_true", help="answer eod-bulk and profile-bulk with 402")
    parser.add_argument("--quiet", action="store_true", help="print only the URL line")
    args = parser.parse_args(argv)
    faults = tuple(k.strip() for k in args.faults.split(",") if k.strip())
    unknown = set(faults) - set(FAULT_KINDS)
    if unknown:
        parser.error(f"unknown fault kinds: {', '.join(sorted(unknown))}")
    if args.record_from and not args.cassettes:
        parser.error("--record-from needs --cassettes DIR")
    config = FakeConfig(
        host=args.host,
        port=args.port,
        symbols=args.symbols,
        seed=args.seed,
        rate_limit=args.rate_limit,
        window_s=args.window,
        fault_rate=args.fault_rate,
        faults=faults,
        stall_s=args.stall_s,
        api_key=args.api_key,
        row_cap=args.row_cap,
        cassettes=args.cassettes,
        record_from=args.record_from,
        quiet=args.quiet,
        price_cache=args.price_cache,
        restatement_rate=args.restatement_rate,
        bulk_denied=args.deny_bulk,
        entitlement_denied=tuple(s.strip().upper() for s in args.deny_symbols.split(",") if s.strip()),
    )
    if args.as_of:
        config.as_of = args.as_of
    return config


async def run(config: FakeConfig) -> None:
    # resets and truncations are deliberate here; aiohttp would log each one as a server error
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    server = await start_server(config)
    # scripts parse this first line: keep its shape stable
    print(f"fakefmp listening on {server.url} base_url={server.base_url}", flush=True)
    if not config.quiet:
        print(
            f"fakefmp: {config.symbols} symbols, seed {config.seed}, {config.rate_limit}/{config.window_s:g}s, "
            f"fault rate {config.fault_rate}, as of {config.as_of}",
            file=sys.stderr,
            flush=True,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    asyncio.run(run(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
