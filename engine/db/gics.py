"""The S&P 500 list shipped with the engine: GICS classification by symbol, and the universe of a run
whose FMP plan refuses `sp500-constituent` (Free and Starter: HTTP 402).

`engine/data/sp500_constituents.csv` is the list of 2026-08-08 (PDDL, see fakefmp/data/README.md)
with symbols spelled as FMP spells them (`BRK-B`, `BF-B`) and CIKs zero-padded as FMP sends them.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from typing import Any

SHIPPED_LIST = "sp500_constituents.csv"
SHIPPED_AS_OF = "2026-08-08"


@cache
def _shipped_rows() -> tuple[dict[str, str], ...]:
    text = resources.files("engine.data").joinpath(SHIPPED_LIST).read_text(encoding="utf-8")
    return tuple(
        {key: value.strip() for key, value in row.items()} for row in csv.DictReader(text.splitlines())
    )


@cache
def gics_by_symbol() -> dict[str, tuple[str, str]]:
    """symbol → (GICS sector, GICS sub-industry), from the list shipped in engine/data."""
    return {row["symbol"].upper(): (row["gics_sector"], row["gics_sub_industry"]) for row in _shipped_rows()}


def shipped_constituents() -> list[dict[str, Any]]:
    """The shipped list as FMP's `sp500-constituent` rows (FMP's keys; GICS sector names, which
    `classify` keeps), in the list's order."""
    return [
        {
            "symbol": row["symbol"].upper(),
            "name": row["name"],
            "sector": row["gics_sector"],
            "subSector": row["gics_sub_industry"],
            "headQuarter": row["headquarters"],
            "dateFirstAdded": row["date_added"],
            "cik": row["cik"],
            "founded": row["founded"],
        }
        for row in _shipped_rows()
    ]


def classify(
    symbol: str, fmp_sector: str | None, fmp_sub_sector: str | None
) -> tuple[str | None, str | None]:
    """The GICS sector and sub-industry of `symbol`; FMP's classification for a symbol not in the list.

    The dashboard compares companies with their GICS sector's median, so a constituent must not be
    grouped under FMP's names ("Technology", "Healthcare") next to GICS ones.
    """
    known = gics_by_symbol().get(symbol.upper())
    return known if known is not None else (fmp_sector, fmp_sub_sector)


# FMP's sector names beside GICS's (the eleven sectors; FMP keeps the other four as GICS spells them).
FMP_TO_GICS_SECTOR = {
    "Technology": "Information Technology",
    "Healthcare": "Health Care",
    "Financial Services": "Financials",
    "Consumer Cyclical": "Consumer Discretionary",
    "Consumer Defensive": "Consumer Staples",
    "Basic Materials": "Materials",
}


def gics_sector(fmp_sector: str | None) -> str | None:
    """The GICS sector an FMP profile's sector names: how a former member, on no constituent list we
    hold, is grouped with its sector's companies."""
    if fmp_sector is None:
        return None
    return FMP_TO_GICS_SECTOR.get(fmp_sector, fmp_sector)
