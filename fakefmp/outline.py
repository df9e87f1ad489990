"""A company's outline for one seed: when it trades, what it is worth on its anchor date, how it grows and pays.

The anchor is the day the market cap and the price level hold: ANCHOR (2026-09-30) for a
constituent, the day it left the index for a former member. The revenue at the anchor is the
real one for the companies of data/company_facts.csv (their market cap ranked like the index,
their price like the real stock's); else it follows from the cap, a P/E around the sector's and a
sector margin. Growth over the last 15 years is the real company's where the table has its 2010
revenue, else drawn around its sector's; before that, around its sector's faster growth of
1995-2010 (sectors.EARLY_GROWTH), at least 2.5 % a year for a company in today's index. Dividends
and buybacks are set so that, over a few years, most companies pay out less than they earn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from fakefmp.constituents import Company
from fakefmp.draws import symbol_rng
from fakefmp.extended import find_company
from fakefmp.facts import exchange, fiscal_year_end, known_facts, negative_equity
from fakefmp.market import ANCHOR, HISTORY_START, market_cap_of
from fakefmp.membership import CAP_CHANGE, departure_of
from fakefmp.sectors import EARLY_GROWTH, Sector, Shape, sector_of, shape

# The table's revenue is of the latest fiscal year before 2026: centred about here; its prices and
# market caps are of the end of 2025, so that is a known company's anchor.
TABLE_MIDYEAR = date(2025, 6, 30)
TABLE_DAY = date(2025, 12, 31)
GROWTH_YEARS = 15  # the table's 2010 revenue sets growth over this many years
PAYOUT_CEILING = 0.9  # dividends + buybacks as a share of earnings a company aims to stay under
BANK_MARGIN, BANK_ROE, BANK_LEVERAGE = (0.2, 0.32), (0.08, 0.15), (9.0, 12.0)
EARLY_FLOOR = 0.025  # the slowest yearly revenue growth before the last 15 years of a company in the index
DISTRESS_SIZE = 40.0  # a collapsed company was worth this multiple of its cap a year before it left


@dataclass(frozen=True, slots=True)
class Outline:
    """What the price and statement generators need to know about one company under one seed."""

    symbol: str
    sector_name: str  # FMP's
    sector: Sector
    kind: Shape
    fye_month: int
    exchange: str
    first_day: date  # first trading day
    last_day: date | None  # the last one, for a company delisted (acquired, failed)
    anchor: date
    market_cap: float  # USD on the anchor
    price: float  # USD per share on the anchor
    never_split: bool
    revenue: float  # USD a year, at `revenue_t`
    revenue_t: float  # years from the anchor
    margin: float  # net margin now
    growth: float  # revenue's yearly log growth over the last 15 years
    growth_early: float  # before that
    pays_from: int | None  # first year with dividends (None: never)
    payout: float  # dividends / earnings
    share_drift: float  # yearly log change of the share count (negative: buybacks)
    negative_equity: bool
    distress: bool  # the company collapses in its last year (bankruptcy, bank failure)
    known: bool  # from data/company_facts.csv: its price on the anchor is the real one

    @property
    def pe(self) -> float:
        """Price / earnings on the anchor (earnings at the revenue's growth)."""
        earnings = self.revenue * math.exp(-self.growth * self.revenue_t) * max(self.margin, 0.02)
        return self.market_cap / earnings


def first_trading_day(seed: int, symbol: str) -> date:
    """A known company's listing date (HISTORY_START when listed earlier); about one in six others listed
    between 1991 and 2012 (an IPO), at least a year before it joined the index."""
    known = known_facts().get(symbol)
    if known is not None:
        return max(known.listed or HISTORY_START, HISTORY_START)
    departure = departure_of(symbol)
    if departure is not None:
        return max(departure.listed or HISTORY_START, HISTORY_START)
    rng = symbol_rng(seed, symbol, "ipo")
    if rng.random() < 0.83:
        return HISTORY_START
    listed = date(int(rng.integers(1991, 2013)), int(rng.integers(1, 13)), 1)
    company = find_company(symbol)
    if company is not None and company.date_first_added:
        # it traded a year or more before it joined the index
        joined = date.fromisoformat(company.date_first_added)
        listed = min(listed, joined - timedelta(days=int(rng.integers(365, 3000))))
    return max(listed, HISTORY_START)


@lru_cache(maxsize=8192)
def outline(seed: int, company: Company) -> Outline:
    """The company's outline under `seed` (cached: every generator asks for it)."""
    rng = symbol_rng(seed, company.symbol, "outline")
    sector, kind = sector_of(company), shape(company)
    known = known_facts().get(company.symbol)
    departure = departure_of(company.symbol)
    anchor, last_day, distress = ANCHOR, None, False
    cap = market_cap_of(seed, company.symbol)
    if departure is not None:
        anchor, distress = departure.removed, departure.distress
        last_day = departure.removed - timedelta(days=1) if departure.delisted else None
        cap = departure.cap * float(np.exp(rng.normal(0, 0.1)))
        if departure.reason == CAP_CHANGE:
            cap = min(cap, 9e9)
    price = float(np.clip(np.exp(rng.normal(np.log(150.0), 0.7)), 18.0, 900.0))
    never_split = rng.random() < 0.005  # the odd stock that never split (the known ones are in the table)
    if never_split:
        price = float(rng.uniform(1000.0, 2500.0))
    pe = sector.pe * float(np.exp(np.clip(rng.normal(0.0, 0.3), -0.6, 0.6)))
    margin = float(rng.uniform(*(BANK_MARGIN if kind == "bank" else sector.net_margin)))
    growth = float(np.clip(rng.normal(*sector.growth), -0.03, 0.25))
    if departure is not None:
        growth = float(rng.uniform(-0.04, 0.04))  # why it left: it stopped growing (or was bought)
    revenue, revenue_t = cap * (DISTRESS_SIZE if distress else 1.0) / pe / margin, 0.0
    pays = rng.random() < sector.payers
    pays_from: int | None = HISTORY_START.year if rng.random() < 0.6 else int(rng.integers(1995, 2021))
    if distress:
        price = float(rng.uniform(0.5, 5.0))
    if known is not None:
        anchor = TABLE_DAY
        price, never_split = known.price, known.price > 1500
        revenue, margin = known.revenue, known.margin
        revenue_t = (TABLE_MIDYEAR - anchor).days / 365.25
        if known.revenue_2010:
            growth = math.log(known.revenue / known.revenue_2010) / GROWTH_YEARS
        pays = known.dividends_from is not None
        pays_from = max(known.dividends_from or 0, HISTORY_START.year)
    # before the last 15 years: the sector's growth then, half of the company's lead (or lag) today
    early = EARLY_GROWTH[company.sector] + 0.5 * (growth - sector.growth[0]) + float(rng.normal(0.0, 0.015))
    if departure is None:  # a company in today's index was larger in 2010 than in 1995
        early = max(early, EARLY_FLOOR)
    payout = float(rng.uniform(*sector.payout)) if pays else 0.0
    sized = Outline(
        symbol=company.symbol,
        sector_name=company.sector,
        sector=sector,
        kind=kind,
        fye_month=fiscal_year_end(company),
        exchange=exchange(company),
        first_day=first_trading_day(seed, company.symbol),
        last_day=last_day,
        anchor=anchor,
        market_cap=cap,
        price=price,
        never_split=never_split,
        revenue=revenue,
        revenue_t=revenue_t,
        margin=margin,
        growth=growth,
        growth_early=float(np.clip(early, -0.03, 0.35)),
        pays_from=pays_from if pays else None,
        payout=payout,
        share_drift=0.0,
        negative_equity=negative_equity(company),
        distress=distress,
        known=known is not None,
    )
    # buybacks only as far as earnings left after dividends allow, at today's valuation
    room = max(PAYOUT_CEILING - payout, 0.0) / max(sized.pe, 5.0)
    drift = float(rng.uniform(*sector.buyback))
    return replace(sized, share_drift=max(drift, -room))
