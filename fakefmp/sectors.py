"""What a sector looks like: risk (beta, volatility, crisis sensitivity), payouts, valuation and margins.

One table, keyed by FMP's sector names, read by the price model (`market.py`, `prices.py`), the
company outlines (`outline.py`) and the accounts (`accounts.py`). The figures are rough medians and
ranges of the real S&P 500 around 2025 (trailing P/E per sector, margins, returns on equity, payout
ratios, betas, 15-year revenue growth); the generated universe is held to them by
`tests/fakefmp/test_universe_bands.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fakefmp.constituents import Company

Shape = Literal["industrial", "bank", "reit"]


@dataclass(frozen=True, slots=True)
class Sector:
    """One sector's model parameters (annualised figures; ranges are (low, high) of a uniform draw)."""

    beta: tuple[float, float]
    vol: tuple[float, float]  # total volatility of a calm year (crises add their own)
    factor_vol: float  # the sector factor's volatility: what makes names of a sector move together
    crises: tuple[float, float, float]  # extra log move vs the market in 2000-02, 2008-09, March 2020
    payers: float  # share of companies paying a dividend
    payout: tuple[
        float, float
    ]  # dividends / earnings of a payer (a REIT's exceed its earnings, not its cash)
    pe: float  # median trailing P/E of the sector in the real index
    net_margin: tuple[float, float]
    gross_margin: tuple[float, float]
    roe: tuple[float, float]
    leverage: tuple[float, float]  # assets / equity
    rnd: tuple[float, float]  # R&D / revenue
    cyclical: float  # how hard recessions hit revenue and margins (1 = the market's average)
    buyback: tuple[float, float]  # yearly change of the share count (negative: buybacks)
    growth: tuple[float, float]  # mean and spread of revenue's yearly log growth over 15 years


SECTORS: dict[str, Sector] = {
    "Technology": Sector((1.0, 1.5), (0.26, 0.42), 0.10, (-0.55, 0.0, 0.10), 0.55, (0.15, 0.4), 38.0,
                         (0.12, 0.32), (0.45, 0.75), (0.18, 0.45), (1.6, 2.6), (0.08, 0.2), 1.2, (-0.03, 0.01), (0.08, 0.05)),
    "Communication Services": Sector((0.8, 1.3), (0.24, 0.40), 0.09, (-0.35, 0.0, 0.05), 0.5, (0.2, 0.5), 24.0,
                                     (0.08, 0.28), (0.4, 0.7), (0.1, 0.3), (1.8, 3.2), (0.0, 0.12), 1.0, (-0.03, 0.01), (0.05, 0.04)),
    "Consumer Cyclical": Sector((1.0, 1.4), (0.25, 0.40), 0.08, (0.0, -0.2, -0.05), 0.6, (0.2, 0.45), 28.0,
                                (0.05, 0.14), (0.3, 0.55), (0.15, 0.40), (2.2, 3.5), (0.0, 0.02), 1.4, (-0.04, 0.0), (0.055, 0.04)),
    "Consumer Defensive": Sector((0.6, 0.85), (0.17, 0.26), 0.07, (0.35, 0.35, 0.15), 0.92, (0.45, 0.75), 24.0,
                                 (0.04, 0.14), (0.25, 0.55), (0.15, 0.35), (2.5, 4.0), (0.0, 0.02), 0.4, (-0.025, 0.0), (0.04, 0.03)),
    "Energy": Sector((0.8, 1.3), (0.27, 0.40), 0.18, (0.3, 0.0, -0.5), 0.95, (0.3, 0.6), 15.0,
                     (0.06, 0.16), (0.25, 0.5), (0.1, 0.22), (1.8, 2.6), (0.0, 0.01), 1.8, (-0.04, 0.01), (0.02, 0.04)),
    "Financial Services": Sector((0.9, 1.4), (0.22, 0.36), 0.10, (0.1, -0.8, -0.15), 0.88, (0.2, 0.4), 18.0,
                                 (0.15, 0.32), (0.55, 0.85), (0.09, 0.2), (3.0, 6.0), (0.0, 0.0), 1.2, (-0.035, 0.0), (0.05, 0.035)),
    "Healthcare": Sector((0.6, 1.0), (0.20, 0.36), 0.08, (0.25, 0.2, 0.1), 0.6, (0.3, 0.6), 24.0,
                         (0.06, 0.22), (0.4, 0.75), (0.12, 0.35), (1.8, 3.0), (0.02, 0.18), 0.5, (-0.025, 0.01), (0.065, 0.04)),
    "Industrials": Sector((0.9, 1.3), (0.22, 0.34), 0.07, (0.1, -0.05, -0.1), 0.85, (0.25, 0.5), 26.0,
                          (0.07, 0.16), (0.25, 0.45), (0.15, 0.35), (2.4, 3.6), (0.0, 0.04), 1.3, (-0.03, 0.0), (0.045, 0.035)),
    "Basic Materials": Sector((0.9, 1.3), (0.24, 0.36), 0.10, (0.15, -0.1, 0.0), 0.9, (0.3, 0.6), 22.0,
                              (0.07, 0.16), (0.2, 0.4), (0.1, 0.25), (2.0, 3.0), (0.0, 0.02), 1.5, (-0.03, 0.0), (0.035, 0.03)),
    "Real Estate": Sector((0.7, 1.1), (0.20, 0.30), 0.10, (0.35, -0.5, -0.15), 0.95, (0.9, 1.4), 34.0,
                          (0.18, 0.4), (0.55, 0.75), (0.04, 0.1), (1.9, 2.5), (0.0, 0.0), 0.8, (0.0, 0.04), (0.065, 0.04)),
    "Utilities": Sector((0.6, 0.8), (0.16, 0.22), 0.09, (0.2, 0.1, 0.0), 1.0, (0.55, 0.75), 20.0,
                        (0.09, 0.16), (0.35, 0.6), (0.08, 0.12), (3.4, 4.2), (0.0, 0.0), 0.3, (0.0, 0.03), (0.035, 0.02)),
}  # fmt: skip
SECTOR_NAMES = tuple(SECTORS)
# Revenue's yearly log growth from 1995 to 2010 of the companies in today's index, by sector (rough):
# faster than since, with inflation, globalisation and the commodity boom; mature companies that
# barely grow today (Exxon, Coca-Cola, Procter & Gamble, GE) still grew several-fold then.
EARLY_GROWTH = {
    "Technology": 0.11, "Communication Services": 0.07, "Consumer Cyclical": 0.075, "Consumer Defensive": 0.055,
    "Energy": 0.09, "Financial Services": 0.07, "Healthcare": 0.08, "Industrials": 0.06, "Basic Materials": 0.065,
    "Real Estate": 0.08, "Utilities": 0.045,
}  # fmt: skip


def shape(company: Company) -> Shape:
    """Banks and REITs have their own statement shapes (leverage, interest, property, payouts)."""
    if "Bank" in company.sub_sector:
        return "bank"
    if company.sector == "Real Estate" and "REIT" in company.sub_sector:
        return "reit"
    return "industrial"


def sector_of(company: Company) -> Sector:
    return SECTORS[company.sector]
