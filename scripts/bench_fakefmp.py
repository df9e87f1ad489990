"""Time generating the fake FMP universe (every symbol's prices and fundamentals) and its memory.

Usage: .venv/bin/python scripts/bench_fakefmp.py [--symbols 503] [--seed 42] [--as-of 2026-08-07]

Generation is what the fake pays on the first request for a symbol: its price series (the factor
model, splits, dividends) and its fundamentals (statements, ratios, key metrics, serialised rows).
Serving then only slices cached bytes; the serialisation of one full price history per symbol is
timed separately. CPU seconds are printed beside wall seconds (on a shared machine only the CPU
figure compares).
Peak RSS comes from getrusage; the RSS after the pass shows what the bounded
caches hold (a flat figure: the caches are LRUs, so memory does not grow with the universe).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devkit.benchrecord import add_record_argument, record
from fakefmp.data import Universe


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=503)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 8, 7))
    add_record_argument(parser)
    args = parser.parse_args()
    before = rss_mib()
    universe = Universe(seed=args.seed, symbols=args.symbols, as_of=args.as_of)
    symbols = list(universe.companies)
    started, cpu = time.perf_counter(), time.process_time()
    for symbol in symbols:
        universe.fundamentals(symbol)  # generates the prices too
        universe.profile_body(symbol)
    generated, generated_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    rows = 0
    for symbol in symbols:
        for adjusted in (False, True):
            rows += universe.price_body(symbol, adjusted=adjusted, start=None, end=None, cap=10**6)[1]
    served, served_cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"symbols {len(symbols)}, seed {args.seed}, as of {args.as_of}")
    per = generated_cpu / len(symbols) * 1000
    print(
        f"generate prices + fundamentals + profile: {generated:.1f} s wall, {generated_cpu:.1f} s CPU ({per:.0f} ms/symbol)"
    )
    print(
        f"serialise every full and adjusted price history: {served:.1f} s wall, {served_cpu:.1f} s CPU ({rows:,} rows)"
    )
    print(f"RSS before {before:.0f} MiB, after {rss_mib():.0f} MiB, peak {peak:.0f} MiB")
    if args.record:
        record(
            "bench_fakefmp",
            {
                "symbols": len(symbols), "seed": args.seed, "generate_cpu_s": round(generated_cpu, 1),
                "ms_per_symbol": round(per), "serialise_prices_cpu_s": round(served_cpu, 1), "price_rows": rows,
                "peak_rss_mib": round(peak),
            },
        )  # fmt: skip


if __name__ == "__main__":
    main()
