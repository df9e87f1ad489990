"""Time generating the fake FMP universe (every symbol's prices and fundamentals) and its memory.

Usage: .venv/bin/python scripts/bench_fakefmp.py [--symbols 503] [--seed 42] [--as-of 2026-08-07]

Generation is what the fake pays on the first request for a symbol: its price series (the factor
model, splits, dividends) and its fundamentals (statements, ratios, key metrics, serialised rows).
Serving then only slices cached bytes; the serialisation of one full price history per symbol is
timed separately. Peak RSS comes from getrusage; the RSS after the pass shows what the bounded
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
    args = parser.parse_args()
    before = rss_mib()
    universe = Universe(seed=args.seed, symbols=args.symbols, as_of=args.as_of)
    symbols = list(universe.companies)
    started = time.perf_counter()
    for symbol in symbols:
        universe.fundamentals(symbol)  # generates the prices too
        universe.profile_body(symbol)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    rows = 0
    for symbol in symbols:
        for adjusted in (False, True):
            rows += universe.price_body(symbol, adjusted=adjusted, start=None, end=None, cap=10**6)[1]
    served = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"symbols {len(symbols)}, seed {args.seed}, as of {args.as_of}")
    print(
        f"generate prices + fundamentals + profile: {generated:.1f} s ({generated / len(symbols) * 1000:.0f} ms/symbol)"
    )
    print(f"serialise every full and adjusted price history: {served:.1f} s ({rows:,} rows)")
    print(f"RSS before {before:.0f} MiB, after {rss_mib():.0f} MiB, peak {peak:.0f} MiB")


if __name__ == "__main__":
    main()
