"""Time-series statistics of a generated universe: does each company look like itself over the decades?

`census.census` feeds it the rows it already read (the served bodies); tests/fakefmp/test_universe_bands.py
holds the summary to bands: revenue growth over 15 and 20 years and in the 15 years before, price levels, the P/E through
history, payouts against free cash flow, equity's sign, share-count jumps and filing dates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

Rows = list[dict[str, Any]]
PAYOUT_YEARS = 5
COVERED = 1.2  # dividends + buybacks at most this share of free cash flow over PAYOUT_YEARS: covered


def _days(later: str, earlier: str) -> int:
    return (date.fromisoformat(later[:10]) - date.fromisoformat(earlier[:10])).days


@dataclass
class SeriesTally:
    """Per-company facts gathered for the time-series summary."""

    cagr_15y: list[float] = field(default_factory=list)
    grew_20y: list[bool] = field(default_factory=list)
    grew_before: list[bool] = field(default_factory=list)  # the 15 years before the last 15
    prices: list[float] = field(default_factory=list)
    pe_years: list[float] = field(default_factory=list)
    payout: list[float] = field(default_factory=list)
    negative_equity: list[str] = field(default_factory=list)
    share_jump: float = 0.0
    filing_lags: list[int] = field(default_factory=list)
    accepted_off: int = 0

    def add(
        self, symbol: str, price: float, annual: dict[str, Rows], quarter: dict[str, Rows], ratios: Rows
    ) -> None:
        """One company's rows (newest first, as served)."""
        self.prices.append(price)
        revenue = [row["revenue"] for row in annual["income"]]
        if len(revenue) > 15 and revenue[15] > 0 and revenue[0] > 0:
            self.cagr_15y.append(math.exp(math.log(revenue[0] / revenue[15]) / 15) - 1)
        if len(revenue) > 20:
            self.grew_20y.append(revenue[0] > revenue[20])
        if len(revenue) > 30:
            self.grew_before.append(revenue[15] > revenue[30])
        self.pe_years += [r["priceToEarningsRatio"] for r in ratios if r["priceToEarningsRatio"] > 0]
        flows = annual["cashflow"][:PAYOUT_YEARS]
        fcf = sum(row["freeCashFlow"] for row in flows)
        paid = -sum(row["commonDividendsPaid"] + row["commonStockRepurchased"] for row in flows)
        self.payout.append(paid / fcf if fcf > 0 else math.inf)
        if annual["balance"] and annual["balance"][0]["totalStockholdersEquity"] < 0:
            self.negative_equity.append(symbol)
        shares = np.array([row["weightedAverageShsOut"] for row in quarter["income"]], dtype=float)
        if len(shares) > 1 and shares.min() > 0:
            self.share_jump = max(self.share_jump, float(np.abs(np.diff(np.log(shares))).max()))
        for rows in (*annual.values(), *quarter.values()):
            for row in rows:
                self.filing_lags.append(_days(row["filingDate"], row["date"]))
                self.accepted_off += not row["acceptedDate"].startswith(row["filingDate"])

    def summary(self) -> dict[str, Any]:
        def q(values: list[float], ps: list[int]) -> list[float]:
            return [round(float(v), 3) for v in np.percentile(values, ps)]

        payout = np.array(self.payout)
        prices = np.array(self.prices)
        pe = np.array(self.pe_years)
        return {
            "revenue_cagr_15y": dict(
                zip(("p10", "median", "p90"), q(self.cagr_15y, [10, 50, 90]), strict=True)
            ),
            "revenue_grew_20y": round(float(np.mean(self.grew_20y)), 3),
            "revenue_grew_15y_before": round(float(np.mean(self.grew_before)), 3),
            "price": {
                "median": round(float(np.median(prices)), 2),
                "above_1500": int((prices > 1500).sum()),
                "max": round(float(prices.max()), 2),
            },
            "pe_history": {
                "median": round(float(np.median(pe)), 1),
                "in_5_to_60": round(float(np.mean((pe >= 5) & (pe <= 60))), 3),
            },
            "payout_5y": {
                "median": round(float(np.median(payout)), 3),
                "covered": round(float(np.mean(payout <= COVERED)), 3),
            },
            "negative_equity_symbols": sorted(self.negative_equity),
            "max_share_jump": round(self.share_jump, 4),
            "filing_lag_days": {"min": min(self.filing_lags), "max": max(self.filing_lags)},
            "accepted_not_filing_day": self.accepted_off,
        }
