"""The analysts' workflow universe (#27): the demo companies plus peers, with what real stores hold and the
plain seed does not: fiscal years ending in other months, a stock split in the share counts, a company with
negative equity, a bank. Tests (tests/dashboard/test_browser_workflows.py) and the scratch server of
`python -m devkit.workflow_seed URL` use it.
"""

from __future__ import annotations

import sys
import zlib
from datetime import date
from typing import Any

from devkit import seed

# The plain seed's companies and peers in their sectors (sector medians need more than one member).
SYMBOLS = (*seed.SYMBOLS, "AMZN", "GOOGL", "META", "AVGO", "CVX", "MRK", "PFE", "WMT", "HD", "MA", "V", "BAC")
# AAPL's fiscal year ends in September, MSFT's in June, WMT's in January (their real ends).
FY_MONTHS = {"AAPL": 9, "MSFT": 6, "WMT": 1}
SPLIT = (
    "NVDA",
    date(2021, 7, 20),
    4.0,
)  # a 4-for-1 split: rows ending before it count a quarter of the shares
NEGATIVE_EQUITY = ("HD", date(2022, 1, 1))  # buybacks beyond equity: HD's book value negative from 2022
SHARE_FIELDS = ("weightedAverageShsOut", "weightedAverageShsOutDil")
EPS_FIELDS = ("eps", "epsDiluted")


# Interest expense as a share of revenue (~3.3 % of the seeded debt); AAPL keeps FMP's 0, as Apple reports.
INTEREST_OF_REVENUE = 0.01
NO_INTEREST = ("AAPL",)
PROFIT_FIELDS = ("operatingIncome", "ebitda", "netIncome", "incomeBeforeTax", "incomeTaxExpense")


def profitability(symbol: str, when: date) -> float:
    """A company's own profit level, moving a little each year (0.4 to 1.6 of the plain seed's): the
    plain seed scales one company's statements, so every margin would be the same."""
    base = (zlib.crc32(symbol.encode()) % 1000) / 1000
    drift = ((zlib.crc32(f"{symbol}{when.year}".encode()) % 1000) / 1000 - 0.5) * 0.3
    return 0.4 + 1.2 * base + drift


def tweak(symbol: str, kind: str, period: str, when: date, payload: dict[str, Any]) -> dict[str, Any]:
    """Rows as a store that fetched them when filed holds them: each company's own margins, NVDA's rows
    before its split on the old share basis, HD's equity below zero, interest expense (not AAPL)."""
    if kind == "income":
        level = profitability(symbol, when)
        for name in (*PROFIT_FIELDS, *EPS_FIELDS):
            payload[name] = payload[name] * level
        if symbol not in NO_INTEREST:
            payload["interestExpense"] = round(INTEREST_OF_REVENUE * payload["revenue"], 2)
    split_symbol, split_day, ratio = SPLIT
    if symbol == split_symbol and kind == "income" and when < split_day:
        for name in SHARE_FIELDS:
            payload[name] = payload[name] / ratio
        for name in EPS_FIELDS:
            payload[name] = payload[name] * ratio
    negative_symbol, since = NEGATIVE_EQUITY
    if symbol == negative_symbol and kind == "balance" and when >= since:
        equity = abs(float(payload["totalStockholdersEquity"]))
        payload["totalStockholdersEquity"] = -0.4 * equity
        payload["totalEquity"] = -0.4 * equity
    return payload


def fill(owner_url: str) -> dict[str, Any]:
    """Seed the universe and refresh the serving layer as an ingest's end does; returns the refresh."""
    seed.seed(owner_url, SYMBOLS, fy_months=FY_MONTHS, tweak=tweak)
    return seed.refresh_serving(owner_url)


if __name__ == "__main__":  # pragma: no cover - a developer's scratch database
    print(fill(sys.argv[1]))
