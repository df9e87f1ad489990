"""What a company is, whatever the seed: fiscal-year end, primary exchange, listing date, scale and payouts.

The best-known constituents' facts are public and live in data/company_facts.csv (rounded; see
data/README.md). Every other company follows its sector's norms, picked by a hash of its symbol, so
a company keeps its fiscal year and exchange across seeds, as a real one does:

- fiscal year: retailers end in January; other sectors mostly in December, with the minority of
  September, June, March... year ends each sector has (technology and staples have the most);
- exchange: Nasdaq for a share of each sector (most biotechs, about half of technology), else NYSE.
"""

from __future__ import annotations

import csv
import zlib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from fakefmp.constituents import Company, issuer_of

NASDAQ, NYSE = "NASDAQ", "NYSE"
EXCHANGE_NAMES = {NASDAQ: "NASDAQ Global Select", NYSE: "New York Stock Exchange"}
JANUARY_RETAIL = {
    "Apparel Retail", "Broadline Retail", "Computer & Electronics Retail", "Consumer Staples Merchandise Retail",
    "Food Retail", "Home Improvement Retail", "Homefurnishing Retail", "Other Specialty Retail",
}  # fmt: skip
# Fiscal-year-end months by sector (FMP's names) and their weights: December dominates everywhere.
YEAR_ENDS: dict[str, tuple[tuple[int, float], ...]] = {
    "Technology": ((12, 0.62), (9, 0.1), (6, 0.1), (1, 0.06), (3, 0.06), (10, 0.06)),
    "Consumer Defensive": ((12, 0.7), (6, 0.12), (5, 0.1), (9, 0.08)),
    "Industrials": ((12, 0.8), (9, 0.1), (6, 0.05), (5, 0.05)),
    "Healthcare": ((12, 0.86), (6, 0.05), (9, 0.05), (3, 0.04)),
    "Consumer Cyclical": ((12, 0.85), (9, 0.08), (6, 0.07)),
    "Basic Materials": ((12, 0.88), (9, 0.12)),
}
OTHER_YEAR_ENDS = ((12, 0.95), (9, 0.05))
NASDAQ_SHARE = {
    "Technology": 0.45, "Communication Services": 0.4, "Healthcare": 0.3, "Consumer Cyclical": 0.25,
    "Consumer Defensive": 0.2, "Industrials": 0.15, "Financial Services": 0.12, "Utilities": 0.1,
    "Real Estate": 0.08, "Energy": 0.08, "Basic Materials": 0.05,
}  # fmt: skip
BIOTECH_NASDAQ_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class Known:
    """One row of data/company_facts.csv: what the fake copies from the real company."""

    fye: int | None
    exchange: str | None
    listed: date | None  # first trading day, when after 1990
    price: float  # USD per share, end of 2025
    cap: float  # USD market cap, end of 2025
    revenue: float  # USD, the latest fiscal year before 2026
    margin: float  # net margin of that year
    revenue_2010: float | None  # USD, fiscal 2010 (None: not public then)
    dividends_from: int | None  # first year of dividends; 0: since before 1990; None: pays none
    negative_equity: bool


def _float(text: str) -> float | None:
    return float(text) if text else None


@cache
def known_facts() -> dict[str, Known]:
    """The table of data/company_facts.csv, by symbol."""
    text = resources.files("fakefmp").joinpath("data/company_facts.csv").read_text(encoding="utf-8")
    known = {}
    for row in csv.DictReader(text.splitlines()):
        dividends = row["dividends"]
        revenue_2010 = _float(row["revenue_2010_bn"])
        known[row["symbol"]] = Known(
            fye=int(row["fye"]) if row["fye"] else None,
            exchange=row["exchange"] or None,
            listed=date.fromisoformat(row["listed"]) if row["listed"] else None,
            price=float(row["price"]),
            cap=float(row["cap_bn"]) * 1e9,
            revenue=float(row["revenue_bn"]) * 1e9,
            margin=float(row["net_margin"]) / 100,
            revenue_2010=revenue_2010 * 1e9 if revenue_2010 else None,
            dividends_from=None if dividends == "none" else int(dividends or 0),
            negative_equity=row["negative_equity"] == "yes",
        )
    return known


def _unit(symbol: str, purpose: str) -> float:
    """A stable number in [0, 1) per company and purpose (no seed: these are the company's facts; a second
    share class, such as FOX of FOXA, shares its company's)."""
    return zlib.crc32(f"{purpose}:{issuer_of(symbol)}".encode()) / 2**32


def fiscal_year_end(company: Company) -> int:
    """The month the company's fiscal year ends in (1-12)."""
    known = known_facts().get(company.symbol)
    if known is not None and known.fye is not None:
        return known.fye
    if company.sub_sector in JANUARY_RETAIL:
        return 1
    draw, total = _unit(company.symbol, "fye"), 0.0
    for month, weight in YEAR_ENDS.get(company.sector, OTHER_YEAR_ENDS):
        total += weight
        if draw < total:
            return month
    return 12


def exchange(company: Company) -> str:
    """The primary exchange's short code, as FMP's profile `exchange` sends it."""
    known = known_facts().get(company.symbol)
    if known is not None and known.exchange is not None:
        return known.exchange
    share = BIOTECH_NASDAQ_SHARE if company.sub_sector == "Biotechnology" else NASDAQ_SHARE[company.sector]
    return NASDAQ if _unit(company.symbol, "exchange") < share else NYSE


def negative_equity(company: Company) -> bool:
    """Whether the real company is known for negative shareholders' equity (the documented list)."""
    known = known_facts().get(company.symbol)
    return known is not None and known.negative_equity
