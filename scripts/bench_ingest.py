#!/usr/bin/env python3
"""Benchmark a whole-universe ingest: fake FMP (N symbols: 503 real, then synthetic; 30+ years) → engine `run --job full` → Postgres.

Usage:
    .venv/bin/python scripts/bench_ingest.py [--symbols 503 | --symbols 500,1000,2000,5000]
                                             [--history-start 1990-01-01] [--concurrency 16] [--keep]
                                             [--without-upkeep]
                                             [--dashboard [--dashboard-users 20] [--dashboard-duration 60]]
                                             [--json FILE]

Per symbol count: creates a throwaway database (scripts/devdb.py createdb), starts `python -m fakefmp`
on a free loopback port with its limit lifted, migrates, and runs `python -m engine run --job full`
with the budget lifted, sampling the engine process's RSS. Prints wall time, CPU seconds of the engine
and of the fake, requests, rows per dataset, rows/s and peak RSS; then `plan --job full` at the real
budget (120/min) on the loaded database, i.e. the weekly refresh. With --dashboard, after the largest
count's ingest, `scripts/loadtest --all-pages --database` runs against that database and p50/p95/p99
per page (the screener's among them) are printed. --without-upkeep runs the engine with the serving
layer's upkeep taken out (devkit/without_upkeep.py): the upkeep's cost is a pair of runs, without then
with, back to back (docs/scaling.md). The database is dropped at the end (unless
--keep). Several counts run one after another in the order given (each from empty) and end with one
table in docs/scaling.md's shape, by symbol count; Ctrl-C prints the table of the points finished.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devkit.benchrecord import add_record_argument, record  # noqa: E402 (after the path it needs)
from devkit.devcluster import devdb  # noqa: E402
from devkit.runs import engine_env  # noqa: E402
from fakefmp.process import FakeFMPProcess, stop_process  # noqa: E402

API_KEY = "bench-key"
LIFTED_LIMIT = 1_000_000
RSS_SAMPLE_S = 0.1
DASHBOARD_USERS = 20  # scripts/loadtest users (every page, as an admin) after the largest ingest
DASHBOARD_SECONDS = 60  # of load, after every user has logged in (the ramp is a few seconds)
WITHOUT_UPKEEP = "devkit.without_upkeep"  # the engine's entry with the upkeep taken out
SCREENER = "screener: universe table"  # tests/load/locustfile.py's name for the screener callback

ROWS_SQL = {
    "companies": "SELECT count(*) FROM companies",
    "profiles": "SELECT count(*) FROM companies WHERE profile IS NOT NULL",
    "statements": "SELECT count(*) FROM statements",
    "prices_daily": "SELECT count(*) FROM prices_daily",
    "quarantine": "SELECT count(*) FROM quarantine",
}
SIZE_SQL = {
    "database": "SELECT pg_database_size(current_database())",
    "prices_daily": "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits"
    " WHERE inhparent = 'prices_daily'::regclass",
    "statements": "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits"
    " WHERE inhparent = 'statements'::regclass",
    "symbol_years": "SELECT coalesce(sum(extract(epoch FROM age(hi, lo)) / 31557600.0), 0) FROM"
    " (SELECT symbol, min(date)::timestamp AS lo, max(date)::timestamp AS hi FROM prices_daily GROUP BY symbol) s",
}


def start_fake(symbols: int) -> FakeFMPProcess:
    return FakeFMPProcess(
        ["--symbols", str(symbols), "--seed", "1", "--rate-limit", str(LIFTED_LIMIT), "--price-cache", "16"]
    ).start()


def engine(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], cwd=REPO, env=env, capture_output=True, text=True
    )


def run_sampled(env: dict[str, str], entry: str = "engine") -> tuple[int, float, int, str]:
    """Run the full job with `entry` (a module run as `python -m`); returns exit code, wall seconds, peak
    RSS bytes of the engine, and its EMF line."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", entry, "run", "--job", "full"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    watched = psutil.Process(process.pid)
    peak = 0
    try:
        while process.poll() is None:
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(RSS_SAMPLE_S)
    except BaseException:  # Ctrl-C: the engine stops too, so its database can be dropped
        stop_process(process)
        raise
    stdout = process.communicate()[0]
    wall = time.perf_counter() - started
    emf = next((line for line in stdout.splitlines() if '"_aws"' in line), "{}")
    return process.returncode, wall, peak, emf


def postgres_cpu() -> float:
    """CPU seconds the dev cluster's PostgreSQL has used so far (primary and replica): each postmaster,
    the backends it reaped and those still running."""
    root = Path(os.environ.get("MYCFA_DEVDB_DIR", REPO / ".devdb"))
    total = 0.0
    for node in ("primary", "replica"):
        try:
            postmaster = psutil.Process(int((root / node / "postmaster.pid").read_text().split()[0]))
            times = postmaster.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
            for child in postmaster.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child_times = child.cpu_times()
                    total += child_times.user + child_times.system
        except (OSError, ValueError, psutil.NoSuchProcess):
            continue
    return total


def bench(n: int, args: argparse.Namespace, owner_url: str) -> dict[str, Any]:
    """One point of the curve: ingest `n` symbols from empty; prints its figures and returns them."""
    name = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    devdb("createdb", name)
    url = owner_url.rsplit("/", 1)[0] + "/" + name
    fake: FakeFMPProcess | None = None
    try:
        fake = start_fake(n)
        env = engine_env(
            url,
            fake,
            (),  # the whole universe
            api_key=API_KEY,
            rate_limit=str(LIFTED_LIMIT),
            history_start=args.history_start,
            MYCFA_FMP_CONCURRENCY=str(args.concurrency),
        )
        migrated = engine(env, "migrate")
        if migrated.returncode != 0:
            raise SystemExit(f"migrate failed: {migrated.stderr}")
        cold = engine({**env, "MYCFA_FMP_RATE_LIMIT": "120"}, "plan", "--job", "full", "--json")
        before, pg_before = resource.getrusage(resource.RUSAGE_CHILDREN), postgres_cpu()
        code, wall, peak, emf_text = run_sampled(env, WITHOUT_UPKEEP if args.without_upkeep else "engine")
        after, pg_cpu = resource.getrusage(resource.RUSAGE_CHILDREN), postgres_cpu() - pg_before
        engine_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        assert fake.proc is not None
        fake_times = psutil.Process(fake.proc.pid).cpu_times()
        served = fake.stats()
        with psycopg.connect(url) as conn:
            rows = {k: conn.execute(sql).fetchone()[0] for k, sql in ROWS_SQL.items()}  # type: ignore[index]
            sizes = {k: float(conn.execute(sql).fetchone()[0]) for k, sql in SIZE_SQL.items()}  # type: ignore[index]
            metrics = conn.execute("SELECT metrics FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()
        serving = (metrics[0] if metrics else {}).get("serving", {})
        weekly = engine({**env, "MYCFA_FMP_RATE_LIMIT": "120"}, "plan", "--job", "full", "--json")
        emf = json.loads(emf_text)
        loaded = rows["statements"] + rows["prices_daily"]
        print(
            f"bench_ingest: {n} symbols, prices from {args.history_start}, concurrency {args.concurrency}"
            + (" (without the upkeep)" if args.without_upkeep else "")
        )
        print(f"  exit code            {code}")
        print(f"  wall time            {wall:.1f} s")
        print(
            f"  CPU                  engine {engine_cpu:,.0f} s, Postgres {pg_cpu:,.0f} s (primary + replica; the"
            f" whole cluster's), fake FMP {fake_times.user + fake_times.system:,.0f} s"
        )
        print(
            "  serving refresh      "
            + (", ".join(f"{t} {v.get('seconds', 0):.1f} s" for t, v in serving.items()) or "none")
        )
        print(
            f"  requests (engine)    {emf.get('Requests')}  429s {emf.get('Http429')}  retries {emf.get('Retries')}"
        )
        print(f"  requests (server)    {served.get('requests')}")
        for key, value in rows.items():
            print(f"  rows {key:<15} {value:>12,}")
        print(f"  rows/s               {loaded / wall:,.0f} (statements + prices over wall time)")
        print(f"  peak RSS (engine)    {peak / 2**20:,.0f} MiB")
        symbol_years = sizes["symbol_years"] or 1.0
        print(
            f"  database size        {sizes['database'] / 2**20:,.0f} MiB (prices {sizes['prices_daily'] / 2**20:,.0f}"
            f" MiB, statements {sizes['statements'] / 2**20:,.0f} MiB); {symbol_years:,.0f} symbol-years of"
            f" prices: {(sizes['prices_daily'] + sizes['statements']) / symbol_years / 1024:,.1f} KiB per symbol-year"
        )
        summary: dict[str, Any] = {
            "symbols": n, "upkeep": not args.without_upkeep, "exit_code": code, "wall_s": round(wall, 1),
            "requests": emf.get("Requests"), "rows": loaded, "rows_per_s": round(loaded / wall),
            "peak_rss_mib": round(peak / 2**20), "database_mib": round(sizes["database"] / 2**20),
            "prices_mib": round(sizes["prices_daily"] / 2**20), "statements_mib": round(sizes["statements"] / 2**20),
            "bytes_per_symbol_year": round((sizes["prices_daily"] + sizes["statements"]) / symbol_years),
            "engine_cpu_s": round(engine_cpu), "fake_cpu_s": round(fake_times.user + fake_times.system),
            "postgres_cpu_s": round(pg_cpu), "serving_refresh_s": {t: v.get("seconds") for t, v in serving.items()},
        }  # fmt: skip
        for label, result in (("empty database", cold), ("weekly refresh", weekly)):
            plan = json.loads(result.stdout) if result.returncode == 0 else {}
            eta = plan.get("eta_seconds", 0)
            print(
                f"  plan at 120/min, {label:<15} {plan.get('requests')} requests, "
                f"ETA {eta // 3600:.0f}h {eta % 3600 // 60:02.0f}m"
            )
        fake.stop()
        if args.dashboard and n == max(args.symbols):
            summary["dashboard"] = dashboard(name, args)
        print("  json " + json.dumps(summary), flush=True)
        return summary
    finally:
        if fake is not None:
            fake.stop()
        if args.keep:
            print(f"  database kept: {name}")
        else:
            devdb("dropdb", name)


def dashboard(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """`scripts/loadtest --all-pages` against the ingested database: p50/p95/p99 per page."""
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as work:
        out = Path(work) / "loadtest.json"
        print(
            f"bench_ingest: dashboard load test on {name}: {args.dashboard_users} users, "
            f"{args.dashboard_duration} s, every page (scripts/loadtest --all-pages)",
            flush=True,
        )
        done = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "loadtest"), "--all-pages", "--database", name,
             "--users", str(args.dashboard_users), "--spawn-rate", str(args.dashboard_users),
             "--duration", str(args.dashboard_duration), "--json", str(out)],
            cwd=REPO, capture_output=True, text=True,
        )  # fmt: skip
        if not out.exists():
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
            raise SystemExit("bench_ingest: the dashboard load test wrote no figures")
        figures = json.loads(out.read_text())
    pages = {
        row["Name"]: {"count": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                      "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"])}
        for row in figures["rows"] if ":" in row["Name"] and int(row["Request Count"]) > 0
    }  # fmt: skip
    print(f"  {'page (callback)':40} {'count':>6} {'fail':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for page, row in sorted(pages.items(), key=lambda item: -item[1]["p95_ms"]):
        print(
            f"  {page[:40]:40} {row['count']:>6} {row['failures']:>5} {row['p50_ms']:>7.0f} {row['p95_ms']:>7.0f}"
            f" {row['p99_ms']:>7.0f}"
        )
    slowest = max(pages, key=lambda page: pages[page]["p95_ms"])
    screener = pages.get(SCREENER, {})
    print(
        f"  slowest page: {slowest} p95 {pages[slowest]['p95_ms']:.0f} ms; screener p95 "
        f"{ms(screener.get('p95_ms'))}; {figures['failures']} errors "
        f"(loadtest's own verdict, p95 < 500 ms everywhere: {'PASS' if figures['ok'] else 'FAIL'})"
    )
    return {"users": args.dashboard_users, "duration_s": args.dashboard_duration, "slowest": slowest,
            "slowest_p95_ms": pages[slowest]["p95_ms"], "screener_p95_ms": screener.get("p95_ms"),
            "failures": figures["failures"], "pages": pages}  # fmt: skip


def ms(value: float | None) -> str:
    return "not reached in the run" if value is None else f"{value:.0f} ms"


def table(results: list[dict[str, Any]]) -> None:
    """The curve in docs/scaling.md's table shape."""
    print("\n| symbols | wall | requests | rows (prices + statements) | rows/s | engine peak RSS | database |"
          " bytes per symbol-year |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['symbols']:,} | {r['wall_s']:,.0f} s | {r['requests']:,} | {r['rows']:,} | {r['rows_per_s']:,} |"
            f" {r['peak_rss_mib']} MiB | {r['database_mib']:,} MiB (prices {r['prices_mib']:,}, statements"
            f" {r['statements_mib']:,}) | {r['bytes_per_symbol_year']:,} ({r['bytes_per_symbol_year'] / 1024:.1f} KiB) |"
        )
    for r in results:
        if "dashboard" in r:
            d = r["dashboard"]
            print(
                f"\nDashboard at {r['symbols']:,} symbols ({d['users']} users, {d['duration_s']} s, every page):"
                f" slowest page {d['slowest']} p95 {d['slowest_p95_ms']:.0f} ms; screener p95"
                f" {ms(d['screener_p95_ms'])}; {d['failures']} errors"
            )


def symbol_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("one or more symbol counts, comma-separated: 500,1000,2000,5000")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--symbols", type=symbol_counts, default=[503], help="N, or N1,N2,... for a curve (run in that order)"
    )
    parser.add_argument("--history-start", default="1990-01-01")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    parser.add_argument(
        "--without-upkeep",
        action="store_true",
        help="the engine without the serving layer's upkeep (devkit/without_upkeep.py): the other arm of the pair",
    )
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="after the largest ingest, load-test every dashboard page on it",
    )
    parser.add_argument("--dashboard-users", type=int, default=DASHBOARD_USERS)
    parser.add_argument("--dashboard-duration", type=int, default=DASHBOARD_SECONDS, help="seconds of load")
    parser.add_argument("--json", type=Path, help="also write every point's figures here")
    add_record_argument(parser)
    args = parser.parse_args()

    cluster = json.loads(devdb("start", "--json"))
    results: list[dict[str, Any]] = []
    try:
        for n in args.symbols:
            results.append(bench(n, args, cluster["owner_url"]))
            if args.json:  # after every point: an interrupted curve keeps the points it took
                args.json.write_text(json.dumps(results, indent=1))
    except KeyboardInterrupt:
        print(f"\nbench_ingest: interrupted; the table has the {len(results)} finished point(s)")
    table(sorted(results, key=lambda r: int(r["symbols"])))
    if args.record and results:
        record(
            "bench_ingest",
            {"history_start": args.history_start, "concurrency": args.concurrency, "points": results},
        )
    return 0 if results and all(r["exit_code"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
