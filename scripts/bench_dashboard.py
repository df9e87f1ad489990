"""CPU per dashboard callback, in-process: where a loaded server's time goes, page by page.

Usage: .venv/bin/python scripts/bench_dashboard.py [--symbols 30] [--database NAME] [--pages a,b]
                                                   [--requests 100] [--warm 40] [--seed 1] [--profile]
                                                   [--memory]

Seeds a database on the local dev cluster (or uses `--database`, e.g. a 503-symbol one), refreshes
its serving tables as an ingest's end does (only what is not yet refreshed: docs/serving.md), builds the
app, logs in through the Flask test client and replays the load test's clicks (devkit/loadmix.py, the
bodies built from the app's own callback map) with random tickers and controls. Prints
CPU and wall milliseconds per request for each page (without the JSON request log line), then their
mean weighted as the load test's mix weighs the pages; `--warm 0` measures cold caches (the first
requests of a fresh per-worker LRU), `--profile` adds a cProfile summary per page (PSORT, PFILT and PN
pick its order, file filter and length: default cumulative, dashboard/, 15). `--memory` prints this
process's RSS before and after the requests and what the answer cache (the per-worker LRU) keeps: its
entries and their pickled size by name.
`scripts/loadtest` measures the served p95 under 100 users; this says which callback costs the CPU.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import logging
import os
import pstats
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dashboard.cli import BLAS_THREAD_VARIABLES  # noqa: E402 (imports neither numpy nor pandas)

# One BLAS thread, as `dashboard serve` starts its workers. OpenBLAS reads this once, when numpy loads
# (the imports below load it), so it is set here: set later, two BLAS threads spin on the measured
# process's CPU clock (~5 ms a cold request of the mix at 503 symbols).
for _name in BLAS_THREAD_VARIABLES:
    os.environ.setdefault(_name, "1")

from devkit import loadmix as mix  # noqa: E402
from devkit import seed  # noqa: E402 (after the path)
from devkit.benchrecord import add_record_argument, record  # noqa: E402
from devkit.devcluster import dashboard_env, devdb, with_db  # noqa: E402

Body = Callable[[], dict[str, Any]]


def request_bodies(deps: list[dict[str, Any]], symbols: list[str]) -> dict[str, Body]:
    """One body maker per page: the load test's clicks (devkit/loadmix.py), same choices."""
    return {click.key: functools.partial(click.body, deps, symbols) for click in mix.CLICKS}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=30, help="tickers to seed / to pick from (default 30)")
    parser.add_argument("--database", help="an existing database of the dev cluster (no seeding)")
    parser.add_argument("--pages", default="", help="comma-separated subset of the pages (default all)")
    parser.add_argument("--requests", type=int, default=100, help="measured requests per page (default 100)")
    parser.add_argument(
        "--warm", type=int, default=40, help="unmeasured requests per page first (default 40)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random choices (default 1)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile summary per page")
    parser.add_argument(
        "--memory", action="store_true", help="also print RSS and the answer cache's contents by name"
    )
    add_record_argument(parser)
    args = parser.parse_args()
    random.seed(args.seed)

    info = json.loads(devdb("start", "--json"))
    name = args.database or f"bench_dash_{secrets.token_hex(4)}"
    work = Path(tempfile.mkdtemp(prefix="mycfa-bench-dashboard-"))
    password = secrets.token_urlsafe(16)
    username = f"bench{secrets.token_hex(3)}"
    owner_url = with_db(info["owner_url"], name)
    if not args.database:
        devdb("createdb", name)
        symbols = tuple(sorted(seed.constituents())[: args.symbols])
        print(f"bench_dashboard: seeding {len(symbols)} symbols into {name}", flush=True)
        seed.seed(owner_url, symbols)
    else:
        symbols = tuple(sorted(seed.constituents())[: args.symbols])
    refreshed = seed.refresh_serving(owner_url)
    print(f"bench_dashboard: serving tables refreshed in {refreshed['seconds']} s", flush=True)
    seed.add_user(owner_url, username, password, "admin")
    # As in production: every callback that reads data is audited (and the app needs it to start).
    os.environ.update(dashboard_env(info, name))
    try:
        return measure(args, username, password, list(symbols))
    finally:
        import psycopg

        with psycopg.connect(owner_url, autocommit=True) as conn:
            conn.execute("DELETE FROM dashboard_users WHERE username = %s", (username,))
        if not args.database:
            devdb("dropdb", name)
        shutil.rmtree(work, ignore_errors=True)


def logged_in(username: str, password: str) -> tuple[Any, dict[str, str]]:
    """The app's Flask test client, logged in, and the CSRF header its callbacks need."""
    from dashboard.app import server

    client = server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if token is None:
        raise SystemExit("bench_dashboard: no CSRF token on the login page")
    form = {"username": username, "password": password, "csrf_token": token.group(1), "next": "/"}
    if client.post("/login", data=form).status_code != 302:
        raise SystemExit("bench_dashboard: login failed")
    cookie = client.get_cookie("mycfa_csrf")
    return client, {"X-CSRF-Token": cookie.value if cookie else ""}


def measure(args: argparse.Namespace, username: str, password: str, symbols: list[str]) -> int:
    out = sys.stdout
    client, headers = logged_in(username, password)
    # Not the JSON request line per request (a fraction of a millisecond): the figures, readably.
    logging.getLogger("dashboard.request").setLevel(logging.WARNING)
    deps: list[dict[str, Any]] = client.get("/_dash-dependencies").get_json()
    bodies = request_bodies(deps, symbols)
    chosen = [p for p in args.pages.split(",") if p] or list(bodies)
    unknown = sorted(set(chosen) - set(bodies))
    if unknown:
        raise SystemExit(f"bench_dashboard: unknown pages {unknown}; choose from {sorted(bodies)}")

    def call(page: str) -> None:
        response = client.post("/_dash-update-component", json=bodies[page](), headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"bench_dashboard: {page} answered {response.status_code}")

    rss_before = psutil.Process().memory_info().rss
    for page in chosen:
        for _ in range(args.warm):
            call(page)
    print(
        f"\n{'page':12} {'CPU ms':>8} {'wall ms':>8}   ({args.requests} requests each, {args.warm} warm-up)",
        file=out,
    )
    cpu_ms = {
        page: time_page(page, functools.partial(call, page), args.requests, args.profile, out)
        for page in chosen
    }
    weights = {click.key: click.weight for click in mix.CLICKS if click.key in cpu_ms}
    mean = sum(cpu_ms[p] * w for p, w in weights.items()) / sum(weights.values()) if weights else 0.0
    print(f"{'mix':12} {mean:8.2f}            (CPU ms, weighted as the load test's mix)", file=out)
    if args.memory:
        memory_report(rss_before, out)
    out.flush()
    if args.record:
        record(
            "bench_dashboard",
            {
                "symbols": len(symbols), "database": args.database, "requests": args.requests, "warm": args.warm,
                "cpu_ms_per_request": cpu_ms, "mix_cpu_ms": round(mean, 2),
            },
        )  # fmt: skip
    return 0


def memory_report(rss_before: int, out: Any) -> None:
    """This process's RSS before and after the requests, and the answer cache's entries by name with
    their pickled size (a lower bound of what they hold in memory)."""
    from dashboard.app import server

    kept = server.extensions["mycfa"].cache.entries_by_name()
    total = sum(size for _, size in kept.values())
    rss = psutil.Process().memory_info().rss
    print(f"\nRSS {rss_before / 2**20:,.0f} MiB before the requests, {rss / 2**20:,.0f} MiB after", file=out)
    print(
        f"answer cache: {sum(n for n, _ in kept.values())} entries, {total / 2**20:.1f} MiB pickled", file=out
    )
    for name, (count, size) in sorted(kept.items(), key=lambda item: -item[1][1])[:12]:
        print(f"  {name:28} {count:4} entries {size / 2**20:7.2f} MiB", file=out)


def time_page(page: str, call: Callable[[], None], requests: int, profile: bool, out: Any) -> float:
    """CPU and wall milliseconds per request of `requests` calls (and a cProfile summary if asked);
    returns the CPU milliseconds."""
    profiler = (
        cProfile.Profile(time.process_time) if profile else None
    )  # CPU, not the wall a busy machine inflates
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(requests):
        call()
    if profiler:
        profiler.disable()
    cpu_ms = (time.process_time() - cpu) / requests * 1000
    wall_ms = (time.perf_counter() - wall) / requests * 1000
    print(
        f"{page:12} {cpu_ms:8.2f} {wall_ms:8.2f}{'   (profiled)' if profiler else ''}", file=out, flush=True
    )
    if profiler:
        pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("PSORT", "cumulative")).print_stats(
            os.environ.get("PFILT", "dashboard/"), int(os.environ.get("PN", "15"))
        )
    return round(cpu_ms, 2)


if __name__ == "__main__":
    sys.exit(main())
