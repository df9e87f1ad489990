#!/usr/bin/env python3
"""Benchmark a whole-universe ingest: fake FMP (N symbols: 503 real, then synthetic; 30+ years) → engine `run --job full` → Postgres.

Usage:
    .venv/bin/python scripts/bench_ingest.py [--symbols 503] [--history-start 1990-01-01]
                                             [--concurrency 16] [--keep]

Creates a throwaway database (scripts/devdb.py createdb), starts `python -m fakefmp` on a free
loopback port with its limit lifted, migrates, and runs `python -m engine run --job full` with the
budget lifted, sampling the engine process's RSS. Prints wall time, requests, rows per dataset,
rows/s and peak RSS; then `plan --job full` at the real budget (120/min) on the loaded database,
i.e. the weekly refresh. The database is dropped at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psutil
import psycopg

REPO = Path(__file__).resolve().parent.parent
DEVDB = [sys.executable, str(REPO / "scripts" / "devdb.py")]
API_KEY = "bench-key"
LIFTED_LIMIT = 1_000_000
RSS_SAMPLE_S = 0.1

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


def devdb(*args: str) -> str:
    return subprocess.run([*DEVDB, *args], check=True, capture_output=True, text=True).stdout


def start_fake(symbols: int) -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "fakefmp", "--port", "0", "--symbols", str(symbols), "--seed", "1",
         "--rate-limit", str(LIFTED_LIMIT), "--price-cache", "16", "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()  # "fakefmp listening on URL base_url=BASE"
    if "base_url=" not in line:
        process.kill()
        raise SystemExit(f"fakefmp did not start: {line!r}")
    url = line.split("listening on ", 1)[1].split()[0]
    return process, url.rstrip("/"), line.rsplit("base_url=", 1)[1].strip()


def engine(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], cwd=REPO, env=env, capture_output=True, text=True
    )


def run_sampled(env: dict[str, str]) -> tuple[int, float, int, str]:
    """Run the full job; returns exit code, wall seconds, peak RSS bytes of the engine, and its EMF line."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "run", "--job", "full"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(RSS_SAMPLE_S)
    stdout = process.communicate()[0]
    wall = time.perf_counter() - started
    emf = next((line for line in stdout.splitlines() if '"_aws"' in line), "{}")
    return process.returncode, wall, peak, emf


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=503)
    parser.add_argument("--history-start", default="1990-01-01")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    args = parser.parse_args()

    cluster = json.loads(devdb("start", "--json"))
    name = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    devdb("createdb", name)
    url = cluster["owner_url"].rsplit("/", 1)[0] + "/" + name
    fake, fake_url, base_url = start_fake(args.symbols)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYCFA_")}
    env.update(
        MYCFA_DATABASE_URL=url,
        MYCFA_FMP_API_KEY=API_KEY,
        MYCFA_FMP_BASE_URL=base_url,
        MYCFA_FMP_RATE_LIMIT=str(LIFTED_LIMIT),
        MYCFA_FMP_CONCURRENCY=str(args.concurrency),
        MYCFA_HISTORY_START=args.history_start,
        MYCFA_LOG_FORMAT="json",
    )
    try:
        migrated = engine(env, "migrate")
        if migrated.returncode != 0:
            raise SystemExit(f"migrate failed: {migrated.stderr}")
        cold = engine({**env, "MYCFA_FMP_RATE_LIMIT": "120"}, "plan", "--job", "full", "--json")
        code, wall, peak, emf_text = run_sampled(env)
        with urllib.request.urlopen(f"{fake_url}/__fake/stats", timeout=10) as response:  # noqa: S310
            served: dict[str, Any] = json.loads(response.read())
        with psycopg.connect(url) as conn:
            rows = {k: conn.execute(sql).fetchone()[0] for k, sql in ROWS_SQL.items()}  # type: ignore[index]
            sizes = {k: float(conn.execute(sql).fetchone()[0]) for k, sql in SIZE_SQL.items()}  # type: ignore[index]
        weekly = engine({**env, "MYCFA_FMP_RATE_LIMIT": "120"}, "plan", "--job", "full", "--json")
        emf = json.loads(emf_text)
        loaded = rows["statements"] + rows["prices_daily"]
        print(
            f"bench_ingest: {args.symbols} symbols, prices from {args.history_start}, concurrency {args.concurrency}"
        )
        print(f"  exit code            {code}")
        print(f"  wall time            {wall:.1f} s")
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
        summary = {
            "symbols": args.symbols, "exit_code": code, "wall_s": round(wall, 1),
            "requests": emf.get("Requests"), "rows": loaded, "rows_per_s": round(loaded / wall),
            "peak_rss_mib": round(peak / 2**20), "database_mib": round(sizes["database"] / 2**20),
            "bytes_per_symbol_year": round((sizes["prices_daily"] + sizes["statements"]) / symbol_years),
        }  # fmt: skip
        print("  json " + json.dumps(summary))
        for label, result in (("empty database", cold), ("weekly refresh", weekly)):
            plan = json.loads(result.stdout) if result.returncode == 0 else {}
            eta = plan.get("eta_seconds", 0)
            print(
                f"  plan at 120/min, {label:<15} {plan.get('requests')} requests, "
                f"ETA {eta // 3600:.0f}h {eta % 3600 // 60:02.0f}m"
            )
        return 0 if code == 0 else 1
    finally:
        fake.terminate()
        try:
            fake.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a loaded machine: never leave the database behind for it
            fake.kill()
            fake.wait()
        if args.keep:
            print(f"  database kept: {name}")
        else:
            devdb("dropdb", name)


if __name__ == "__main__":
    sys.exit(main())
