"""GICS classification by symbol: FMP's constituent rows carry FMP's own sector names, not GICS."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

CLASSIFICATION_FILE = (
    "gics_classification.csv"  # from the S&P 500 list of 2026-08-08 (PDDL), see fakefmp/data
)


@cache
def gics_by_symbol() -> dict[str, tuple[str, str]]:
    """symbol → (GICS sector, GICS sub-industry), from the list shipped in engine/data."""
    text = resources.files("engine.data").joinpath(CLASSIFICATION_FILE).read_text(encoding="utf-8")
    return {
        row["symbol"].strip().upper(): (row["gics_sector"].strip(), row["gics_sub_industry"].strip())
        for row in csv.DictReader(text.splitlines())
    }


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
