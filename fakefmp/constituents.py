"""The real S&P 500 list (data/sp500_constituents.csv) mapped to FMP's `sp500-constituent` rows."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

# FMP names sectors its own way (see the recorded dowjones-constituent body), not GICS's.
GICS_TO_FMP_SECTOR = {
    "Communication Services": "Communication Services",
    "Consumer Discretionary": "Consumer Cyclical",
    "Consumer Staples": "Consumer Defensive",
    "Energy": "Energy",
    "Financials": "Financial Services",
    "Health Care": "Healthcare",
    "Industrials": "Industrials",
    "Information Technology": "Technology",
    "Materials": "Basic Materials",
    "Real Estate": "Real Estate",
    "Utilities": "Utilities",
}

_STATES = {
    "Alabama": "AL", "Arizona": "AZ", "Arkansas": "AR", "California": "CA", "Colorado": "CO",
    "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA", "Idaho": "ID",
    "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME",
    "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Missouri": "MO",
    "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ",
    "New York": "NY", "North Carolina": "NC", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR",
    "Pennsylvania": "PA", "Rhode Island": "RI", "Tennessee": "TN", "Texas": "TX", "Utah": "UT",
    "Virginia": "VA", "Washington": "WA", "Wisconsin": "WI", "D.C.": "DC",
}  # fmt: skip
_COUNTRIES = {
    "Ireland": "IE",
    "Bermuda": "BM",
    "Netherlands": "NL",
    "United Kingdom": "GB",
    "Switzerland": "CH",
    "Canada": "CA",
}


@dataclass(frozen=True, slots=True)
class Company:
    """One constituent, with the facts the generators and the profile need."""

    symbol: str
    name: str
    sector: str  # FMP's sector name
    sub_sector: str
    head_quarter: str
    city: str
    state: str
    country: str
    date_first_added: str
    cik: str  # zero-padded to 10 digits, as FMP sends it
    founded: str

    def constituent_row(self) -> dict[str, str]:
        """The row exactly as FMP's `sp500-constituent` sends it."""
        return {
            "symbol": self.symbol,
            "name": self.name,
            "sector": self.sector,
            "subSector": self.sub_sector,
            "headQuarter": self.head_quarter,
            "dateFirstAdded": self.date_first_added,
            "cik": self.cik,
            "founded": self.founded,
        }


def _place(location: str) -> tuple[str, str, str, str]:
    """'Saint Paul, Minnesota' → ('Saint Paul, MN', city, state, country) in FMP's style."""
    parts = [re.sub(r"\[\d+\]", "", part).strip() for part in location.split(",")]
    city, region = parts[0], parts[-1] if len(parts) > 1 else ""
    if region in _STATES:
        return f"{city}, {_STATES[region]}", city, _STATES[region], "US"
    return location, city, "", _COUNTRIES.get(region, "US")


def fmp_symbol(listed: str) -> str:
    """FMP's spelling of a ticker: class shares with a hyphen (`BRK-B`, `BF-B`) where the published
    list writes a dot (`BRK.B`); FMP answers `[]` for the dotted spelling."""
    return listed.strip().upper().replace(".", "-")


@cache
def load_companies() -> tuple[Company, ...]:
    """All 503 constituents in the CSV's order, their symbols spelled as FMP spells them."""
    text = resources.files("fakefmp").joinpath("data/sp500_constituents.csv").read_text(encoding="utf-8")
    companies = []
    for row in csv.DictReader(text.splitlines()):
        head_quarter, city, state, country = _place(row["Headquarters Location"])
        year = re.search(r"\d{4}", row["Founded"] or "")
        companies.append(
            Company(
                symbol=fmp_symbol(row["Symbol"]),
                name=row["Security"],
                sector=GICS_TO_FMP_SECTOR[row["GICS Sector"]],
                sub_sector=row["GICS Sub-Industry"],
                head_quarter=head_quarter,
                city=city,
                state=state,
                country=country,
                date_first_added=row["Date added"],
                cik=row["CIK"].zfill(10),
                founded=f"{year.group(0)}-01-01" if year else "",
            )
        )
    return tuple(companies)


@cache
def _issuers() -> dict[str, str]:
    """Each constituent's issuer: the first listed symbol with its CIK (GOOG -> GOOGL, FOX -> FOXA, NWS -> NWSA)."""
    first: dict[str, str] = {}
    return {c.symbol: first.setdefault(c.cik, c.symbol) for c in load_companies()}


def issuer_of(symbol: str) -> str:
    """The symbol whose company `symbol` is a share class of (itself for a single-class company): both
    classes are one company, with one set of statements, one price course and one market cap."""
    return _issuers().get(symbol, symbol)
