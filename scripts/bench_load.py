#!/usr/bin/env python3
"""Benchmark the store's loader against a plain COPY of the same rows, for the backfill and merge paths.

Usage:
    .venv/bin/python scripts/bench_load.py [--symbols 500] [--days 10000] [--statement-years 24]
                                           [--merge-symbols 100] [--keep] [--prices-backfill-only]

Creates a throwaway database (scripts/devdb.py createdb), applies the schema, and for each batch
(one symbol's prices; one symbol's statements of one kind) times our loader (through its pool) and,
on its own connection and from the same in-memory rows, a plain binary COPY (BEGIN, COPY, COMMIT)
into an unindexed, unpartitioned table. Batches are generated one at a time, so memory stays flat;
the peak RSS is printed at the end.

- backfill: every symbol's whole history into empty partitions (auto path must pick backfill);
- merge: the same histories again with 1% of rows changed and 1% new dates (auto picks merge).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devkit.benchrecord import add_record_argument, record  # noqa: E402
from devkit.devcluster import devdb  # noqa: E402
from engine.db import create_pool, load_price_rows, load_statement_rows, migrate  # noqa: E402
from engine.db.rows import PRICE_COLUMNS, STATEMENT_COLUMNS, PriceRow, StatementRow  # noqa: E402
from engine.db.validate import canonical_json, parse_prices  # noqa: E402
from engine.fmp.endpoints import STATEMENT_KINDS as KINDS  # noqa: E402

FIRST_DAY = date(1985, 1, 2)
CHANGED_SHARE = 0.01
NEW_SHARE = 0.01
TARGETS = {"backfill": 0.60, "merge": 0.25}


def trading_days(count: int) -> list[date]:
    days: list[date] = []
    day = FIRST_DAY
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def symbol_name(index: int) -> str:
    return f"S{index:04d}"


def price_history(symbol: str, days: Sequence[date], seed: int) -> list[PriceRow]:
    rng = random.Random(seed)
    price = 20.0 + rng.random() * 100
    rows = []
    for day in days:
        price = max(1.0, price * (1 + rng.gauss(0, 0.02)))
        low, high = price * (1 - rng.random() * 0.03), price * (1 + rng.random() * 0.03)
        rows.append(
            PriceRow(
                symbol,
                day,
                round(price, 4),
                round(high, 4),
                round(low, 4),
                round(price * (1 + rng.gauss(0, 0.005)), 4),
                round(price * 0.97, 4),
                rng.randrange(100_000, 90_000_000),
                round(price, 4),
            )
        )
    return rows


def revise_prices(rows: list[PriceRow], extra_days: Sequence[date], seed: int) -> list[PriceRow]:
    """A merge batch: the stored history with some closes changed and some new dates after it."""
    rng = random.Random(seed)
    out = [row._replace(close=row.close + 0.01) if rng.random() < CHANGED_SHARE else row for row in rows]
    last = rows[-1]
    out.extend(last._replace(date=day) for day in extra_days)
    return out


STATEMENT_FIELDS = tuple(f"field{n:02d}" for n in range(40))


def statement_history(symbol: str, kind: str, years: int, seed: int) -> list[StatementRow]:
    rng = random.Random(seed)
    rows = []
    for year in range(2024 - years + 1, 2025):
        for period, month in (("Q1", 3), ("Q2", 6), ("Q3", 9), ("Q4", 12), ("FY", 12)):
            fiscal_date = date(year, month, 28)
            payload: dict[str, Any] = {
                "symbol": symbol,
                "date": fiscal_date.isoformat(),
                "fiscalYear": str(year),
                "period": period,
                "reportedCurrency": "USD",
                "filingDate": (fiscal_date + timedelta(days=35)).isoformat(),
            }
            payload.update((name, rng.randrange(-(10**11), 10**12)) for name in STATEMENT_FIELDS)
            rows.append(
                StatementRow(
                    symbol,
                    kind,
                    period,
                    fiscal_date,
                    year,
                    "USD",
                    fiscal_date + timedelta(days=35),
                    canonical_json(payload),
                )
            )
    return rows


def revise_statements(rows: list[StatementRow], seed: int) -> list[StatementRow]:
    rng = random.Random(seed)
    out = []
    for row in rows:
        if rng.random() < CHANGED_SHARE:
            payload = json.loads(row.payload)
            payload["field00"] += 1
            row = row._replace(payload=canonical_json(payload))
        out.append(row)
    return out


@dataclass
class Phase:
    """Timings of one path on one dataset: ours and the plain COPY of the same rows."""

    name: str
    rows: int = 0
    ours_s: float = 0.0
    plain_s: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    rss_mb: list[float] = field(default_factory=list)

    def line(self, target: float) -> str:
        ours, plain = self.rows / self.ours_s, self.rows / self.plain_s
        ratio = ours / plain
        verdict = "ok" if ratio >= target else "BELOW TARGET"
        return (
            f"{self.name:<22} {self.rows:>10,} rows  loader {ours:>10,.0f} rows/s  plain COPY {plain:>10,.0f} rows/s"
            f"  ratio {ratio:6.1%}  (target >= {target:.0%}: {verdict})"
        )


async def plain_copy(
    conn: asyncpg.Connection, table: str, rows: Sequence[tuple[Any, ...]], columns: Sequence[str]
) -> float:
    started = time.perf_counter()
    async with conn.transaction():
        await conn.copy_records_to_table(table, records=rows, columns=columns, timeout=600)
    return time.perf_counter() - started


async def run_phase(
    phase: Phase,
    batches: Iterator[tuple[str, str, list[Any]]],
    pool: asyncpg.Pool,
    plain: asyncpg.Connection,
    plain_table: str,
    columns: Sequence[str],
    load: Callable[..., Any],
    expected_path: str,
) -> None:
    process = psutil.Process()
    for number, (symbol, kind, rows) in enumerate(batches):
        # Same rows, same connection settings, interleaved per batch: neither side gets a warmer cache.
        phase.plain_s += await plain_copy(plain, plain_table, rows, columns)
        started = time.perf_counter()
        result = await load(pool, symbol, kind, rows)
        phase.ours_s += time.perf_counter() - started
        if result.path != expected_path:
            raise SystemExit(
                f"{phase.name}: batch {symbol} took the {result.path} path, expected {expected_path}"
            )
        phase.rows += len(rows)
        for name in ("inserted", "updated", "unchanged"):
            phase.counts[name] = phase.counts.get(name, 0) + getattr(result, name)
        if number % 50 == 0:
            phase.rss_mb.append(process.memory_info().rss / 2**20)


async def bench(args: argparse.Namespace, url: str) -> dict[str, Any]:
    print(f"migrations: {', '.join(await migrate(url))}")
    pool = await create_pool(url, min_size=1, max_size=2)
    plain = await asyncpg.connect(url)
    await plain.execute(
        "CREATE TABLE plain_prices (LIKE prices_daily);"
        "CREATE TABLE plain_statements (symbol text, kind text, period text, fiscal_date date,"
        " fiscal_year smallint, reported_currency text, filing_date date, payload jsonb)"
    )
    days = trading_days(args.days)
    extra = trading_days(args.days + max(1, int(args.days * NEW_SHARE)))[args.days :]
    symbols = [symbol_name(i) for i in range(args.symbols)]

    async def load_prices(pool: asyncpg.Pool, symbol: str, _kind: str, rows: list[PriceRow]) -> Any:
        return await load_price_rows(pool, symbol, rows, timeout_s=600)

    async def load_statements(pool: asyncpg.Pool, symbol: str, kind: str, rows: list[StatementRow]) -> Any:
        return await load_statement_rows(pool, symbol, kind, rows, timeout_s=600)

    raw = [
        {
            "symbol": "S0000",
            "date": r.date.isoformat(),
            "open": r.open,
            "high": r.high,
            "low": r.low,
            "close": r.close,
            "volume": r.volume,
            "vwap": r.vwap,
        }
        for r in price_history("S0000", days, 0)
    ]
    started = time.perf_counter()
    parse_prices("S0000", raw)
    parse_rate = len(raw) / (time.perf_counter() - started)

    phases: list[tuple[Phase, float]] = []
    targets: dict[str, tuple[str, Sequence[str], Callable[..., Any]]] = {
        "prices": ("plain_prices", PRICE_COLUMNS, load_prices),
        "statements": ("plain_statements", STATEMENT_COLUMNS, load_statements),
    }

    async def measure(table: str, path: str, batches: Iterator[tuple[str, str, list[Any]]]) -> None:
        phase = Phase(f"{table} {path}")
        await run_phase(phase, batches, pool, plain, *targets[table], path)
        phases.append((phase, TARGETS[path]))

    await measure("prices", "backfill", ((s, "", price_history(s, days, i)) for i, s in enumerate(symbols)))
    await plain.execute("TRUNCATE plain_prices")
    if args.prices_backfill_only:
        await plain.close()
        await pool.close()
        return report(phases, parse_rate)
    merged = symbols[: args.merge_symbols]
    await measure(
        "prices",
        "merge",
        ((s, "", revise_prices(price_history(s, days, i), extra, i)) for i, s in enumerate(merged)),
    )
    await measure(
        "statements",
        "backfill",
        (
            (s, k, statement_history(s, k, args.statement_years, i * 10 + j))
            for i, s in enumerate(symbols)
            for j, k in enumerate(KINDS)
        ),
    )
    await plain.execute("TRUNCATE plain_statements")
    await measure(
        "statements",
        "merge",
        (
            (s, k, revise_statements(statement_history(s, k, args.statement_years, i * 10 + j), i))
            for i, s in enumerate(merged)
            for j, k in enumerate(KINDS)
        ),
    )
    await plain.close()
    await pool.close()
    return report(phases, parse_rate)


def report(phases: list[tuple[Phase, float]], parse_rate: float) -> dict[str, Any]:
    """Print each phase's figures; return them for `--record`."""
    print(f"validation (parse_prices on FMP-shaped dicts, not in the ratios): {parse_rate:,.0f} rows/s")
    figures: dict[str, Any] = {"validation_rows_per_s": round(parse_rate)}
    for phase, target in phases:
        print(phase.line(target))
        rss = ", ".join(f"{mb:.0f}" for mb in phase.rss_mb[:: max(1, len(phase.rss_mb) // 6)])
        print(f"{'':<22} counts {phase.counts}  RSS MB over the phase: {rss}")
        ours, plain = phase.rows / phase.ours_s, phase.rows / phase.plain_s
        figures[phase.name.replace(" ", "_")] = {
            "rows": phase.rows,
            "loader_rows_per_s": round(ours),
            "copy_rows_per_s": round(plain),
            "ratio_pct": round(100 * ours / plain, 1),
            "target_pct": round(100 * target),
        }
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mb:.0f} MB")
    figures["peak_rss_mb"] = round(peak_mb)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--days", type=int, default=10_000, help="price rows per symbol")
    parser.add_argument("--statement-years", type=int, default=24, help="5 rows a year per symbol and kind")
    parser.add_argument("--merge-symbols", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--prices-backfill-only", action="store_true", help="run only the prices backfill phase (quicker)"
    )
    add_record_argument(parser)
    args = parser.parse_args()
    info = json.loads(devdb("start", "--json"))
    name = f"bench_load_{uuid.uuid4().hex[:8]}"
    devdb("createdb", name)
    url = info["owner_url"].rsplit("/", 1)[0] + "/" + name
    print(
        f"database {name}: {args.symbols} symbols x {args.days} days = {args.symbols * args.days:,} price rows; "
        f"{args.symbols} x {len(KINDS)} kinds x {args.statement_years * 5} = "
        f"{args.symbols * len(KINDS) * args.statement_years * 5:,} statement rows"
    )
    try:
        figures = asyncio.run(bench(args, url))
    finally:
        if not args.keep:
            devdb("dropdb", name)
    if args.record:
        record("bench_load", {"symbols": args.symbols, "days": args.days, **figures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
