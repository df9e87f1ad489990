#!/usr/bin/env python3
"""Benchmark the serving layer's refresh (docs/serving.md) on a loaded database: what a run's end costs.

Usage:
    .venv/bin/python scripts/bench_serving.py --database NAME [--scope prices|statements|all]
                                              [--companies 50] [--record]
    .venv/bin/python scripts/bench_serving.py --database NAME --table benchmark_returns|screener_rows|statements

`--scope prices` (default) records a synthetic `prices` run in which every current member's item changed
rows from a week before its last stored price (what a daily prices run leaves: a former member whose
prices are stored is not planned again), then runs the refresh a
run's end runs: the screener rows and sector medians whole, the S&P 500 series from the week's first
day (each price load keeps its month-end closes itself).
`--scope statements` records a synthetic `fundamentals` run in which `--companies` companies (default
50, a busy reporting week) changed a quarterly income statement: their metric_history, statement_lines
and restatement rows, the screener whole, and the S&P 500 series from the earliest of their latest
share counts (each company's last count is taken out of what the series was computed from,
benchmark_inputs: as if it were newly reported; the refresh writes it back).
`--scope all` times `refresh --all`: every table for every symbol (a full ingest's end, or the
first refresh of a store). Prints wall seconds per table, the refresh's own CPU seconds (this process:
the computation) and PostgreSQL's (the dev cluster's primary and replica), the process's peak RSS, and
the machine's load.
`--table` rebuilds one table alone, whole, from a current store (`statements`: metric_history and
statement_lines, one pass): what each costs, its memory included (the peak RSS of this process, whose
imports and pool take the figure printed as "before").
The synthetic run is deleted at the end. NAME is a database of the dev cluster (MYCFA_DEVDB_DIR picks
the cluster), e.g. one `scripts/bench_ingest.py --keep` loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devkit.benchrecord import add_record_argument, record  # noqa: E402 (after the path it needs)
from devkit.devcluster import devdb  # noqa: E402
from scripts.bench_ingest import postgres_cpu  # noqa: E402

MARK_PRICES_RUN = """
WITH run AS (INSERT INTO runs (job, state, finished_at) VALUES ('prices', 'succeeded', now()) RETURNING run_id)
INSERT INTO run_items (run_id, symbol, dataset, state, rows_changed, params, finished_at)
SELECT run.run_id, c.symbol, 'prices', 'done', 5,
       jsonb_build_object('from', (p.last - 7)::text), clock_timestamp()
  FROM run, sp500_members c
  CROSS JOIN LATERAL (SELECT max(date) AS last FROM prices_daily d WHERE d.symbol = c.symbol) p
 WHERE p.last IS NOT NULL
RETURNING run_id"""


# What a fundamentals run in a reporting week leaves: `$1` companies (the first with income statements,
# by symbol) with a quarterly income item that changed rows. The statements themselves are left as they
# are: the refresh recomputes those companies exactly as for a real change (same reads, same work).
MARK_STATEMENTS_RUN = """
WITH run AS (INSERT INTO runs (job, state, finished_at) VALUES ('fundamentals', 'succeeded', now())
             RETURNING run_id),
     chosen AS (SELECT DISTINCT symbol FROM statements WHERE kind = 'income' ORDER BY symbol LIMIT $1)
INSERT INTO run_items (run_id, symbol, dataset, state, rows_changed, params, finished_at)
SELECT run.run_id, chosen.symbol, 'income_quarter', 'done', 1, '{}'::jsonb, clock_timestamp()
  FROM run, chosen
RETURNING run_id, symbol"""
# Their latest share count as if the series had not seen it yet (schema 111).
FORGET_LATEST_COUNTS = """
DELETE FROM benchmark_inputs b USING (
    SELECT DISTINCT ON (symbol) symbol, since FROM benchmark_inputs
     WHERE kind = 'shares' AND symbol = ANY($1::text[]) ORDER BY symbol, since DESC) latest
 WHERE b.symbol = latest.symbol AND b.kind = 'shares' AND b.since = latest.since"""


TABLES_ALONE = ("benchmark_returns", "screener_rows", "statements")


def peak_rss_mib() -> float:
    """This process's peak resident set so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _started() -> tuple[float, float, float]:
    return time.process_time(), postgres_cpu(), time.perf_counter()


def _costs(started: tuple[float, float, float]) -> dict[str, Any]:
    """Wall and CPU seconds (this process, the cluster's Postgres) since `_started`, peak RSS, load."""
    cpu, pg, wall = started
    return {
        "wall_s": round(time.perf_counter() - wall, 1),
        "refresh_cpu_s": round(time.process_time() - cpu, 1),
        "postgres_cpu_s": round(postgres_cpu() - pg, 1),
        "peak_rss_mib": peak_rss_mib(),
        "load": os.getloadavg()[0],
    }


async def measure_alone(url: str, table: str) -> dict[str, Any]:
    """One table's whole rebuild alone: wall, CPU (this process, Postgres) and this process's peak RSS."""
    from engine.db import create_pool, queries
    from engine.runs import refresh as serving

    pool = await create_pool(url, max_size=4)
    try:
        symbols = sorted(r["symbol"] for r in await pool.fetch(queries.SERVING_STATEMENT_SYMBOLS))
        before = peak_rss_mib()
        started = _started()
        if table == "benchmark_returns":
            await serving.refresh_benchmark(pool)
        elif table == "screener_rows":
            await serving.refresh_screener(pool)
        else:
            await serving.refresh_statement_pass(pool, symbols)
        return {"table": table, **_costs(started), "rss_before_mib": before}
    finally:
        await pool.close()


async def measure(url: str, scope: str, companies: int = 50) -> dict[str, Any]:
    from engine.db import create_pool
    from engine.runs.refresh import refresh

    pool = await create_pool(url, max_size=4)
    run_id = None
    try:
        await refresh(pool)  # whatever earlier runs left: the measured refresh starts from a current store
        if scope in ("prices", "statements"):
            marked = await (
                pool.fetch(MARK_PRICES_RUN)
                if scope == "prices"
                else pool.fetch(MARK_STATEMENTS_RUN, companies)
            )
            run_id = marked[0]["run_id"] if marked else None
            if scope == "statements":
                await pool.execute(FORGET_LATEST_COUNTS, [r["symbol"] for r in marked])
        started = _started()
        report = await refresh(pool, full=scope == "all")
        return {"scope": scope, **_costs(started), "tables": report.as_dict()}
    finally:
        if run_id is not None:
            await pool.execute("DELETE FROM runs WHERE run_id = $1", run_id)
        await pool.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True, help="a loaded database of the dev cluster")
    parser.add_argument("--scope", choices=("prices", "statements", "all"), default="prices")
    parser.add_argument(
        "--companies", type=int, default=50, help="--scope statements: companies that reported (default 50)"
    )
    parser.add_argument("--table", choices=TABLES_ALONE, help="rebuild this table alone, whole")
    add_record_argument(parser)
    args = parser.parse_args()
    info = json.loads(devdb("start", "--json"))
    url = info["owner_url"].rsplit("/", 1)[0] + "/" + args.database
    if args.table:
        alone = asyncio.run(measure_alone(url, args.table))
        print(
            f"bench_serving: {args.table} alone on {args.database}, load {alone['load']:.1f}: wall"
            f" {alone['wall_s']} s, refresh CPU {alone['refresh_cpu_s']} s, Postgres CPU"
            f" {alone['postgres_cpu_s']} s, peak RSS {alone['peak_rss_mib']} MiB"
            f" ({alone['rss_before_mib']} before)"
        )
        if args.record:
            record("bench_serving", {"database": args.database, **alone})
        return 0
    figures = asyncio.run(measure(url, args.scope, args.companies))
    symbols = max((t.get("symbols", 0) for t in figures["tables"].values()), default=0)
    print(
        f"bench_serving: refresh of {args.scope} on {args.database} ({symbols} symbols), load {figures['load']:.1f}"
    )
    print(
        f"  wall {figures['wall_s']} s, refresh CPU {figures['refresh_cpu_s']} s, Postgres CPU"
        f" {figures['postgres_cpu_s']} s (the whole cluster's), peak RSS {figures['peak_rss_mib']} MiB"
    )
    for name, table in figures["tables"].items():
        print(
            f"  {name:<18} {table['state']:<7} {table['symbols']:>6} symbols {table['rows']:>9} rows {table['seconds']:7.1f} s"
        )
    if args.record:
        record("bench_serving", {"database": args.database, "symbols": symbols, **figures})
    return 0 if all(t["state"] == "ok" for t in figures["tables"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
