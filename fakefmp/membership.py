"""S&P 500 membership over time, as FMP's `historical-sp500-constituent` serves it.

Who joined when is real: the constituents' `Date added`. Who left: the well-known departures of
data/sp500_departures.csv (the year each left and why are public record; the day is that of an
addition in the same year) and, for every other addition since 1990, a fictitious former member
removed the same day. Each change since 1990 adds one company and removes one, so the index holds
its ~500 members on every date, and a screen as of a past date finds the companies that left since
(still served: statements, prices, a profile) and not the ones that joined since. Every former
member joined before 1990, except the departures listed after it (Twitter...), whose joins are
changes too. The membership does not depend on the seed.
"""

from __future__ import annotations

import csv
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from fakefmp.constituents import GICS_TO_FMP_SECTOR, Company, load_companies

CHANGES_FROM = date(1990, 1, 2)  # the first day of the fake's price history
REAL_CIK_BASE = 7_000_000_000  # former members' CIKs: past every real one, like the synthetic companies'
FICTITIOUS_CIK_BASE = 8_000_000_000
_NAME_FIRST = (
    "American", "National", "United", "Pacific", "Atlantic", "Continental", "General", "Consolidated", "Allied",
    "Northern", "Southern", "Western", "Eastern", "Central", "Standard", "Midland", "Summit", "Pioneer",
    "Liberty", "Keystone", "Harbor", "Granite", "Meridian", "Cardinal", "Frontier", "Union", "Federal",
)  # fmt: skip
_NAME_SECOND = {
    "Technology": ("Data Systems", "Semiconductor", "Computer", "Software", "Electronics", "Networks"),
    "Communication Services": ("Communications", "Media", "Broadcasting", "Publishing", "Telephone"),
    "Consumer Cyclical": ("Stores", "Apparel", "Motors", "Hotels", "Leisure", "Home Furnishings"),
    "Consumer Defensive": ("Foods", "Beverage", "Brands", "Grocers", "Household Products"),
    "Energy": ("Petroleum", "Oil & Gas", "Pipeline", "Drilling", "Resources"),
    "Financial Services": ("Bancorp", "Financial", "Trust", "Insurance", "Savings", "Capital"),
    "Healthcare": ("Health", "Medical", "Pharmaceuticals", "Laboratories", "Biosciences"),
    "Industrials": ("Industries", "Machinery", "Freight", "Aerospace", "Manufacturing", "Airlines"),
    "Basic Materials": ("Chemical", "Steel", "Paper", "Minerals", "Metals"),
    "Real Estate": ("Realty", "Properties", "Land", "Property Trust"),
    "Utilities": ("Power", "Electric", "Gas & Electric", "Energy", "Water"),
}  # fmt: skip
_SUFFIX = ("Corp.", "Inc.", "Co.", "Group")
CAP_CHANGE = "Market capitalization change"


@dataclass(frozen=True, slots=True)
class Departure:
    """A company that left the index: when, why, and what that means for its data."""

    company: Company
    joined: date
    removed: date
    reason: str
    delisted: bool  # acquired or failed: no prices after `removed`, no filings after it
    distress: bool  # it collapsed first (bankruptcy, failure, conservatorship)
    cap: float  # USD market cap on the day it left
    listed: date | None  # first trading day, when after 1990


@dataclass(frozen=True, slots=True)
class Change:
    """One row of historical-sp500-constituent: an addition, a removal, or both on one day."""

    day: date
    added: Company | None
    removed: Company | None
    reason: str

    def row(self) -> dict[str, Any]:
        """The row as FMP sends it (a removal alone repeats the removed ticker as `symbol`)."""
        added, removed = self.added, self.removed
        symbol = added.symbol if added is not None else removed.symbol if removed is not None else ""
        return {
            "dateAdded": f"{self.day:%B} {self.day.day}, {self.day.year}",
            "addedSecurity": added.name if added is not None else "",
            "removedTicker": removed.symbol if removed is not None else "",
            "removedSecurity": removed.name if removed is not None else "",
            "date": self.day.isoformat(),
            "symbol": symbol,
            "reason": self.reason,
        }


def _hash(text: str) -> int:
    return zlib.crc32(text.encode())


def _former_company(
    symbol: str, name: str, sector: str, sub_sector: str, model: Company, cik: int
) -> Company:
    """A former member's constituent-like facts (headquarters borrowed from a current company)."""
    return Company(
        symbol=symbol,
        name=name,
        sector=sector,
        sub_sector=sub_sector,
        head_quarter=model.head_quarter,
        city=model.city,
        state=model.state,
        country=model.country,
        date_first_added="",
        cik=str(cik).zfill(10),
        founded="",
    )


@dataclass(frozen=True, slots=True)
class _Curated:
    row: dict[str, str]
    company: Company
    listed: date | None


def _curated() -> list[_Curated]:
    text = resources.files("fakefmp").joinpath("data/sp500_departures.csv").read_text(encoding="utf-8")
    current = load_companies()
    out = []
    for i, row in enumerate(csv.DictReader(text.splitlines())):
        model = current[_hash(row["symbol"]) % len(current)]
        sector = GICS_TO_FMP_SECTOR[row["sector"]]
        company = _former_company(
            row["symbol"], row["name"], sector, row["sub_industry"], model, REAL_CIK_BASE + i + 1
        )
        out.append(_Curated(row, company, date.fromisoformat(row["listed"]) if row["listed"] else None))
    return out


def _pick(candidates: list[date], key: str) -> date:
    return candidates[_hash(key) % len(candidates)]


@cache
def history() -> tuple[tuple[Change, ...], dict[str, Departure]]:
    """Every membership change (newest first) and every former member by symbol."""
    current = load_companies()
    old_days = sorted(
        {
            date.fromisoformat(c.date_first_added)
            for c in current
            if "" < c.date_first_added < CHANGES_FROM.isoformat()
        }
    )
    curated = _curated()
    adds, joined = _additions(current, curated, old_days)
    partner, alone = _pairs(adds, curated, joined)
    departures: dict[str, Departure] = {}
    changes: list[Change] = []
    rng = np.random.default_rng(0x5B500)
    taken = {c.symbol for c in current} | {item.company.symbol for item in curated}
    for index, (day, company) in enumerate(adds):
        item = partner.get(index)
        if item is None:
            departure = _fictitious(rng, company, day, len(changes) + 1, taken, old_days)
        else:
            departure = _departure_of(item, joined[item.company.symbol], day)
        departures[departure.company.symbol] = departure
        changes.append(Change(day, company, departure.company, departure.reason))
    for day, item in alone:
        departures[item.company.symbol] = _departure_of(item, joined[item.company.symbol], day)
        changes.append(Change(day, None, item.company, item.row["reason"]))
    early = [(date.fromisoformat(c.date_first_added), c) for c in current if c.date_first_added]
    early += [(d.joined, d.company) for d in departures.values()]
    changes += [Change(day, company, None, "") for day, company in early if day < CHANGES_FROM]
    changes.sort(
        key=lambda c: (c.day, c.added.symbol if c.added else "", c.removed.symbol if c.removed else "")
    )
    return tuple(reversed(changes)), departures


def _additions(
    current: tuple[Company, ...], curated: list[_Curated], old_days: list[date]
) -> tuple[list[tuple[date, Company]], dict[str, date]]:
    """The additions since 1990 that need a removal the same day (the constituents', then the joins of
    departures listed after 1990: two to six years after their listing, before they left), and when
    each departure joined."""
    since = CHANGES_FROM.isoformat()
    adds = [(date.fromisoformat(c.date_first_added), c) for c in current if c.date_first_added >= since]
    joined: dict[str, date] = {}
    for item in curated:
        symbol = item.company.symbol
        if item.listed is not None and item.listed > CHANGES_FROM:
            latest = date(int(item.row["removed"]) - 1, 6, 30)
            day = min(item.listed + timedelta(days=730 + _hash(symbol) % 1460), latest)
            joined[symbol] = max(day, item.listed + timedelta(days=90))
            adds.append((joined[symbol], item.company))
        else:
            joined[symbol] = _pick(old_days, symbol)
    adds.sort(key=lambda pair: (pair[0], pair[1].symbol))
    return adds, joined


def _pairs(
    adds: list[tuple[date, Company]], curated: list[_Curated], joined: dict[str, date]
) -> tuple[dict[int, _Curated], list[tuple[date, _Curated]]]:
    """Which addition each real departure pairs with (one in the year it left, or the next or previous);
    and the departures left alone (a removal on July 1 of their year)."""
    partner: dict[int, _Curated] = {}
    alone: list[tuple[date, _Curated]] = []
    for item in sorted(curated, key=lambda c: (int(c.row["removed"]), c.company.symbol)):
        year, symbol = int(item.row["removed"]), item.company.symbol
        for near in (year, year + 1, year - 1):
            free = [
                i
                for i, (day, company) in enumerate(adds)
                if day.year == near and i not in partner and day > joined[symbol] and company.symbol != symbol
            ]
            if free:
                partner[free[_hash(symbol) % len(free)]] = item
                break
        else:
            alone.append((date(year, 7, 1), item))
    return partner, alone


def _departure_of(item: _Curated, joined: date, day: date) -> Departure:
    row = item.row
    return Departure(
        company=item.company,
        joined=joined,
        removed=day,
        reason=row["reason"],
        delisted=row["delisted"] == "yes",
        distress=row["distress"] == "yes",
        cap=float(row["cap_bn"]) * 1e9,
        listed=item.listed,
    )


def _fictitious(
    rng: np.random.Generator, added: Company, day: date, index: int, taken: set[str], old_days: list[date]
) -> Departure:
    """A made-up former member of the added company's sector, removed on `day`."""
    while True:
        symbol = "".join(chr(65 + int(k)) for k in rng.integers(0, 26, int(rng.integers(3, 5))))
        if symbol not in taken and not symbol.startswith("XA"):
            break
    taken.add(symbol)
    first = _NAME_FIRST[int(rng.integers(len(_NAME_FIRST)))]
    seconds = _NAME_SECOND[added.sector]
    name = f"{first} {seconds[int(rng.integers(len(seconds)))]} {_SUFFIX[int(rng.integers(len(_SUFFIX)))]}"
    company = _former_company(
        symbol, name, added.sector, added.sub_sector, added, FICTITIOUS_CIK_BASE + index
    )
    acquired = rng.random() < 0.25
    cap = float(np.exp(rng.normal(np.log(10e9 if acquired else 4e9), 0.4)))
    reason = (
        f"Acquired by {_NAME_FIRST[int(rng.integers(len(_NAME_FIRST)))]} Holdings" if acquired else CAP_CHANGE
    )
    joined = old_days[int(rng.integers(len(old_days)))]
    return Departure(company, joined, day, reason, acquired, False, cap, None)


def departure_of(symbol: str) -> Departure | None:
    """The departure of a former member (None for a company that never left)."""
    return history()[1].get(symbol)


def members_on(day: date) -> set[str]:
    """The symbols in the index at the close of `day` (changes take effect on their day)."""
    members: set[str] = set()
    for change in reversed(history()[0]):
        if change.day > day:
            break
        if change.removed is not None:
            members.discard(change.removed.symbol)
        if change.added is not None:
            members.add(change.added.symbol)
    return members
