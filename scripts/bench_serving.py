#!/usr/bin/env python3
"""Benchmark the serving layer's refresh (docs/serving.md) on a loaded database: what a run's end costs.

Usage:
    .venv/bin/python scripts/bench_serving.py --database NAME [--scope prices|statements|all]
                                              [--companies 50] [--record]

`--scope prices` (default) records a synthetic `prices` run in which every current member's item changed
rows from a week before its last stored price (what a daily prices run leaves: a former member whose
prices are stored is not planned again), then runs the refresh a
run's end runs: the screener rows and sector medians whole, the S&P 500 series from the week's first
day (each price load keeps its month-end closes itself).
`--scope statements` records a synthetic `fundamentals` run in which `--companies` companies (default
50, a busy reporting week) changed a quarterly income statement: their metric_history, statement_lines
and restatement rows, then the screener and the S&P 500 series whole (share counts moved).
`--scope all` times `refresh --all`: every table for every symbol (a full ingest's end, or the
first refresh of a store). Prints wall seconds per table, the refresh's own CPU seconds (this process:
the computation) and PostgreSQL's (the dev cluster's primary and replica), and the machine's load.
The synthetic run is deleted at the end. NAME is a database of the dev cluster (MYCFA_DEVDB_DIR picks
the cluster), e.g. one `scripts/bench_ingest.py --keep` loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
RETURNING run_id"""


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
        cpu, pg, wall = time.process_time(), postgres_cpu(), time.perf_counter()
        report = await refresh(pool, full=scope == "all")
        return {
            "scope": scope,
            "wall_s": round(time.perf_counter() - wall, 1),
            "refresh_cpu_s": round(time.process_time() - cpu, 1),
            "postgres_cpu_s": round(postgres_cpu() - pg, 1),
            "tables": report.as_dict(),
            "load": os.getloadavg()[0],
        }
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
    add_record_argument(parser)
    args = parser.parse_args()
    info = json.loads(devdb("start", "--json"))
    url = info["owner_url"].rsplit("/", 1)[0] + "/" + args.database
    figures = asyncio.run(measure(url, args.scope, args.companies))
    symbols = max((t.get("symbols", 0) for t in figures["tables"].values()), default=0)
    print(
        f"bench_serving: refresh of {args.scope} on {args.database} ({symbols} symbols), load {figures['load']:.1f}"
    )
    print(
        f"  wall {figures['wall_s']} s, refresh CPU {figures['refresh_cpu_s']} s, Postgres CPU"
        f" {figures['postgres_cpu_s']} s (the whole cluster's)"
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
