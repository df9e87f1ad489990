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

from fakefmp.config import FAULT_KINDS, FakeConfig
from fakefmp.plans import PLAN_NAMES, UNRECORDED, plan_rules
from fakefmp.server import start_server


def parse_args(argv: Sequence[str] | None = None) -> FakeConfig:
    """The configuration the command line asks for; each option's default is FakeConfig's."""
    d = FakeConfig()
    parser = argparse.ArgumentParser(prog="python -m fakefmp", description=__doc__)
    # Each option's dest is the FakeConfig field it sets (deny-symbols and as-of are converted below).
    parser.add_argument("--host", default=d.host)
    parser.add_argument("--port", type=int, default=d.port, help="0 picks a free port (printed on start)")
    parser.add_argument(
        "--symbols",
        type=int,
        default=d.symbols,
        help="serve the first N companies (503 real constituents, then synthetic ones)",
    )
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument(
        "--plan",
        choices=PLAN_NAMES,
        default=None,
        help="speak this FMP plan (what it refuses, its limits); default: serve everything",
    )
    parser.add_argument(
        "--unrecorded",
        choices=UNRECORDED,
        default=None,
        help="what FMP does where nobody recorded it (fakefmp/plans.py); default: strict for a --plan",
    )
    parser.add_argument(
        "--bulk-interval",
        dest="bulk_interval_s",
        type=float,
        default=None,
        help="seconds between bulk requests before the bulk throttle answers Limit Reach (default: the plan's)",
    )
    parser.add_argument(
        "--daily-limit", type=int, default=None, help="requests per key a day (default: the plan's)"
    )
    parser.add_argument(
        "--bulk-part-rows",
        dest="profile_part_rows",
        type=int,
        default=d.profile_part_rows,
        help="profiles per profile-bulk part",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        help=f"requests per key in any window (default: the plan's; {d.rate_limit} without one)",
    )
    parser.add_argument(
        "--window",
        dest="window_s",
        metavar="WINDOW",
        type=float,
        default=d.window_s,
        help="rate window in seconds",
    )
    parser.add_argument(
        "--fault-rate", type=float, default=d.fault_rate, help="share of API requests that fail"
    )
    parser.add_argument(
        "--faults",
        default=",".join(d.faults),
        help=f"comma list of {', '.join(FAULT_KINDS)} (default: {','.join(d.faults)})",
    )
    parser.add_argument("--stall-s", type=float, default=d.stall_s, help="how long a stalled request hangs")
    parser.add_argument(
        "--api-key", default=d.api_key, help="the only key accepted (default: any non-empty key)"
    )
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="'today' for the data (YYYY-MM-DD)"
    )
    parser.add_argument(
        "--row-cap", type=int, default=d.row_cap, help="price rows per request (oldest dropped)"
    )
    parser.add_argument(
        "--cassettes", type=Path, default=d.cassettes, help="replay (or, with --record-from, record) here"
    )
    parser.add_argument("--record-from", default=d.record_from, help="upstream base URL to proxy and record")
    parser.add_argument("--deny-symbols", default="", help="comma list of symbols answered with 402")
    parser.add_argument(
        "--price-cache", type=int, default=d.price_cache, help="symbols whose price rows stay in memory"
    )
    parser.add_argument(
        "--restatement-rate",
        type=float,
        default=d.restatement_rate,
        help="random restatements per company-year (0: none)",
    )
    parser.add_argument(
        "--deny-bulk",
        dest="bulk_denied",
        action="store_true",
        help="answer eod-bulk and profile-bulk with 402",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the URL line")
    options = vars(parser.parse_args(argv))
    options["faults"] = tuple(k.strip() for k in options["faults"].split(",") if k.strip())
    unknown = set(options["faults"]) - set(FAULT_KINDS)
    if unknown:
        parser.error(f"unknown fault kinds: {', '.join(sorted(unknown))}")
    if options["record_from"] and not options["cassettes"]:
        parser.error("--record-from needs --cassettes DIR")
    deny = options.pop("deny_symbols")
    options["entitlement_denied"] = tuple(s.strip().upper() for s in deny.split(",") if s.strip())
    options["as_of"] = options["as_of"] or d.as_of
    if options["rate_limit"] is None:
        options["rate_limit"] = plan_rules(options["plan"]).rate_limit if options["plan"] else d.rate_limit
    return FakeConfig(**options)


async def run(config: FakeConfig) -> None:
    # resets and truncations are deliberate here; aiohttp would log each one as a server error
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    server = await start_server(config)
    # scripts parse this first line: keep its shape stable
    print(f"fakefmp listening on {server.url} base_url={server.base_url}", flush=True)
    if not config.quiet:
        print(
            f"fakefmp: {config.plan or 'open'} plan, {config.symbols} symbols, seed {config.seed}, "
            f"{config.rate_limit}/{config.window_s:g}s, "
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
