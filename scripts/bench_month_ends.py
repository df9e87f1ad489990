#!/usr/bin/env python3
"""Time a backfill's month-end derive: the SQL statement against the engine's computation, on real histories.

Usage:
    .venv/bin/python scripts/bench_month_ends.py --source URL [--symbols 503] [--keep]

Reads the stored prices of the index's current members (sp500_members, then other companies, up to
--symbols) from the database at --source, one symbol at a time, and replays each symbol's first fill in a
throwaway database of the dev cluster (scripts/devdb.py createdb), on one connection: BEGIN, the backfill
COPY engine/db/load.py sends, the month-end derive, ROLLBACK (the database stays empty). Each symbol is
replayed with both derives, their order alternating (A B, B A, ...): the SQL one (queries.UPSERT_MONTH_END_
CLOSES, what every price batch ran before) and the engine's (month_ends.upsert_month_end_closes given the
COPYed rows). Timed is the derive alone: the engine's CPU (time.process_time) and the CPU of the
connection's backend (/proc/PID/schedstat, nanoseconds). Both must write the same rows, bit for bit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devkit.benchrecord import add_record_argument, record  # noqa: E402
from devkit.devcluster import devdb, with_db  # noqa: E402
from engine.db import migrate, queries  # noqa: E402
from engine.db.month_ends import upsert_month_end_closes  # noqa: E402
from engine.db.rows import PRICE_COLUMNS, PriceRow, copy_order  # noqa: E402

SYMBOLS = """
SELECT symbol FROM companies ORDER BY symbol NOT IN (SELECT symbol FROM sp500_members), symbol LIMIT $1"""
PRICES = f"SELECT {', '.join(PRICE_COLUMNS)} FROM prices_daily WHERE symbol = $1 ORDER BY date"
WRITTEN = "SELECT month, date, close FROM month_end_closes WHERE symbol = $1 ORDER BY month"
TIMEOUT_S = 120.0

Derive = Callable[[asyncpg.Connection, list[PriceRow]], Awaitable[None]]


async def sql_derive(conn: asyncpg.Connection, rows: list[PriceRow]) -> None:
    await conn.execute(queries.UPSERT_MONTH_END_CLOSES, rows[0].symbol, rows[0].date, timeout=TIMEOUT_S)


async def engine_derive(conn: asyncpg.Connection, rows: list[PriceRow]) -> None:
    await upsert_month_end_closes(conn, rows[0].symbol, rows[0].date, rows[-1].date, rows, TIMEOUT_S)


ARMS: dict[str, Derive] = {"sql": sql_derive, "engine": engine_derive}


def backend_ns(pid: int) -> int:
    """Nanoseconds the backend `pid` has run on a CPU (the scheduler's count, not the tick-sampled one)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


async def replay(
    conn: asyncpg.Connection, rows: list[PriceRow], derive: Derive
) -> tuple[float, float, list[Any]]:
    """One first fill, rolled back: the derive's engine and backend CPU seconds, and the rows it wrote."""
    pid = conn.get_server_pid()
    undo = conn.transaction()
    await undo.start()
    try:
        await conn.copy_records_to_table(
            "prices_daily", records=copy_order(rows), columns=PRICE_COLUMNS, timeout=TIMEOUT_S
        )
        engine0, backend0 = time.process_time(), backend_ns(pid)
        await derive(conn, rows)
        engine_s, backend_s = time.process_time() - engine0, (backend_ns(pid) - backend0) / 1e9
        written = [tuple(r) for r in await conn.fetch(WRITTEN, rows[0].symbol)]
    finally:
        await undo.rollback()
    return engine_s, backend_s, written


async def bench(args: argparse.Namespace, url: str) -> dict[str, Any]:
    await migrate(url)
    source = await asyncpg.connect(args.source)
    conn = await asyncpg.connect(url)
    totals = {arm: {"engine_s": 0.0, "postgres_s": 0.0, "rows": 0} for arm in ARMS}
    prices = months = 0
    try:
        await conn.execute("SELECT ensure_price_partitions('1985-01-01', '2030-12-31')")
        symbols = [r["symbol"] for r in await source.fetch(SYMBOLS, args.symbols)]
        for n, symbol in enumerate(symbols):
            rows = [PriceRow(*r) for r in await source.fetch(PRICES, symbol)]
            if not rows:
                continue
            prices += len(rows)
            order = list(ARMS) if n % 2 == 0 else list(reversed(ARMS))
            written: dict[str, list[Any]] = {}
            for arm in order:
                engine_s, backend_s, written[arm] = await replay(conn, rows, ARMS[arm])
                totals[arm]["engine_s"] += engine_s
                totals[arm]["postgres_s"] += backend_s
                totals[arm]["rows"] += len(written[arm])
            if written["sql"] != written["engine"]:
                raise SystemExit(f"{symbol}: the engine's month-end rows differ from the SQL derive's")
            months += len(written["sql"])
    finally:
        await source.close()
        await conn.close()
    print(f"{len(symbols)} symbols, {prices:,} price rows, {months:,} month-end rows (equal in both arms)")
    for arm, t in totals.items():
        print(
            f"  {arm:6s} derive: engine {t['engine_s']:6.2f} CPU-s, Postgres {t['postgres_s']:6.2f} CPU-s, "
            f"together {t['engine_s'] + t['postgres_s']:6.2f}"
        )
    return {"symbols": len(symbols), "price_rows": prices, "month_rows": months, "arms": totals}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", required=True, help="a database holding the prices to replay (read only)")
    parser.add_argument("--symbols", type=int, default=503)
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database afterwards")
    add_record_argument(parser)
    args = parser.parse_args()
    info = json.loads(devdb("start", "--json"))
    name = f"bench_month_ends_{uuid.uuid4().hex[:8]}"
    devdb("createdb", name)
    try:
        figures = asyncio.run(bench(args, with_db(info["owner_url"], name)))
    finally:
        if not args.keep:
            devdb("dropdb", name)
    if args.record:
        record("bench_month_ends", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
