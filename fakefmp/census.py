"""Cross-section statistics of a generated universe, read through the same bodies the server sends.

`python -m fakefmp.census --seed 42 --every 2` prints them as JSON; `tests/fakefmp/test_universe_bands.py`
holds each to its band (the real S&P 500's shape: market-cap quantiles, sector P/E medians, volatility,
beta, correlation, crash drawdowns, share-count drift, accounting identities), and the time-series
ones of `census_series.py` under "series" (growth, price levels, P/E history, payouts, equity).
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import orjson

from fakefmp.census_series import SeriesTally
from fakefmp.data import Universe
from fakefmp.sectors import shape

CRASHES = {
    "dot-com": ("2000-03-01", "2002-10-31"),
    "gfc": ("2007-10-01", "2009-03-31"),
    "covid": ("2020-02-14", "2020-04-15"),
}
RETURNS_FROM = 1260  # trading days of returns behind volatility, beta and correlation (5 years)
FLOWS = (
    ("income", "revenue"),
    ("income", "netIncome"),
    ("cashflow", "operatingCashFlow"),
    ("cashflow", "freeCashFlow"),
)


def _rows(body: bytes) -> list[dict[str, Any]]:
    return list(orjson.loads(body))


def _drawdown(close: np.ndarray) -> float:
    return float(1 - (close / np.maximum.accumulate(close)).min())


def _identity_residual(i: dict[str, Any], b: dict[str, Any], c: dict[str, Any]) -> int:
    """The largest absolute miss of the accounting identities in one period's three statements."""
    misses: list[int] = [
        abs(b["totalAssets"] - b["totalLiabilities"] - b["totalEquity"]),
        abs(b["totalAssets"] - b["totalCurrentAssets"] - b["totalNonCurrentAssets"]),
        abs(i["grossProfit"] - i["revenue"] + i["costOfRevenue"]),
        abs(i["netIncome"] - i["incomeBeforeTax"] + i["incomeTaxExpense"]),
        abs(c["freeCashFlow"] - c["operatingCashFlow"] - c["capitalExpenditure"]),
        abs(c["cashAtEndOfPeriod"] - c["cashAtBeginningOfPeriod"] - c["netChangeInCash"]),
        abs(c["cashAtEndOfPeriod"] - b["cashAndCashEquivalents"]),
        abs(c["netIncome"] - i["netIncome"]),
    ]
    return max(misses)


@dataclass
class _Tally:
    """What `census` gathers symbol by symbol before the cross-section is summed up."""

    caps: list[float] = field(default_factory=list)
    pes: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    payers: defaultdict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    returns: list[np.ndarray] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    drawdowns: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    drift: list[float] = field(default_factory=list)
    residual: int = 0
    quarter_miss: int = 0
    losses: int = 0
    years: int = 0
    bank_leverage: list[float] = field(default_factory=list)
    reit_property: list[float] = field(default_factory=list)
    negative_equity: int = 0
    prices_below_1: int = 0
    series: SeriesTally = field(default_factory=SeriesTally)

    def add(self, universe: Universe, symbol: str, today: str) -> None:
        company = universe.companies[symbol]
        profile = _rows(universe.profile_body(symbol))[0]
        self.caps.append(profile["marketCap"])
        self.prices_below_1 += profile["price"] < 1
        ratios = _rows(universe.statement_body("ratios", symbol, "annual", 1000))
        if ratios[0]["priceToEarningsRatio"] > 0:
            self.pes[company.sector].append(ratios[0]["priceToEarningsRatio"])
        series = universe.prices(symbol)
        self.payers[company.sector].append(any(d <= today for d in series.dividends))
        full = _rows(universe.price_body(symbol, adjusted=False, start=None, end=today, cap=100_000)[0])[::-1]
        self._add_prices(
            company.sector, [row["date"] for row in full], np.array([row["close"] for row in full])
        )
        annual = {
            d: _rows(universe.statement_body(d, symbol, "annual", 1000))
            for d in ("income", "balance", "cashflow")
        }
        quarter = {
            d: _rows(universe.statement_body(d, symbol, "quarter", 1000))
            for d in ("income", "balance", "cashflow")
        }
        self._add_accounts(annual, quarter)
        self.series.add(symbol, profile["price"], annual, quarter, ratios)
        # share drift: the count ten years ago vs now (both on the latest filing's basis)
        now, then = annual["income"][0], annual["income"][min(10, len(annual["income"]) - 1)]
        self.drift.append(now["weightedAverageShsOut"] / then["weightedAverageShsOut"] - 1)
        latest = annual["balance"][0]
        self.negative_equity += latest["totalStockholdersEquity"] < 0
        if shape(company) == "bank":
            self.bank_leverage.append(latest["totalAssets"] / latest["totalStockholdersEquity"])
        elif shape(company) == "reit":
            self.reit_property.append(latest["propertyPlantEquipmentNet"] / latest["totalAssets"])

    def _add_prices(self, sector: str, dates: list[str], close: np.ndarray) -> None:
        if len(close) > RETURNS_FROM:
            self.returns.append(np.diff(np.log(close[-RETURNS_FROM - 1 :])))
            self.sectors.append(sector)
        for name, (start, end) in CRASHES.items():
            if dates[0] < start:
                lo, hi = np.searchsorted(dates, start), np.searchsorted(dates, end)
                self.drawdowns[name].append(_drawdown(close[lo:hi]))

    def _add_accounts(
        self, annual: dict[str, list[dict[str, Any]]], quarter: dict[str, list[dict[str, Any]]]
    ) -> None:
        for period in (annual, quarter):
            for i, b, c in zip(period["income"], period["balance"], period["cashflow"], strict=True):
                self.residual = max(self.residual, _identity_residual(i, b, c))
        for dataset, field_name in FLOWS:
            by_year = defaultdict(list)
            for row in quarter[dataset]:
                by_year[row["fiscalYear"]].append(row[field_name])
            for row in annual[dataset]:
                parts = by_year[row["fiscalYear"]]
                if len(parts) == 4:
                    self.quarter_miss = max(self.quarter_miss, abs(sum(parts) - row[field_name]))
        self.losses += sum(row["netIncome"] < 0 for row in annual["income"])
        self.years += len(annual["income"])


def census(universe: Universe, symbols: list[str]) -> dict[str, Any]:
    """The statistics of `symbols` as of the universe's "today" (see the module docstring)."""
    today = universe.as_of.isoformat()
    tally = _Tally()
    for symbol in symbols:
        tally.add(universe, symbol, today)
    return _summary(tally, len(symbols))


def _summary(t: _Tally, symbols: int) -> dict[str, Any]:
    """The cross-section statistics of a finished tally."""
    caps, pes, payers, drawdowns, drift = t.caps, t.pes, t.payers, t.drawdowns, t.drift
    returns, sectors, bank_leverage, reit_property = t.returns, t.sectors, t.bank_leverage, t.reit_property
    r = np.array(returns)
    market = r.mean(axis=0)
    vol = r.std(axis=1) * np.sqrt(252)
    beta = np.array([np.cov(x, market)[0, 1] for x in r]) / market.var(ddof=1)
    corr = np.corrcoef(r)
    same = np.array([[a == b for b in sectors] for a in sectors])
    off = ~np.eye(len(r), dtype=bool)
    all_pe = np.array(list(itertools.chain.from_iterable(pes.values())))

    def q(values: Any, ps: list[int]) -> list[float]:
        return [round(float(v), 3) for v in np.percentile(values, ps)]

    return {
        "symbols": symbols,
        "market_cap_bn": dict(
            zip(
                ("min", "p5", "p25", "median", "p75", "p95", "max"),
                q(np.array(caps) / 1e9, [0, 5, 25, 50, 75, 95, 100]),
                strict=True,
            )
        ),
        "above_1tn": int(sum(c > 1e12 for c in caps)),
        "prices_below_1": int(t.prices_below_1),
        "pe_median_by_sector": {s: round(float(np.median(v)), 1) for s, v in sorted(pes.items())},
        "pe_10_to_40_share": round(float(np.mean((all_pe >= 10) & (all_pe <= 40))), 3),
        "payers_by_sector": {s: round(float(np.mean(v)), 2) for s, v in sorted(payers.items())},
        "volatility": dict(
            zip(("min", "p5", "median", "p95", "max"), q(vol, [0, 5, 50, 95, 100]), strict=True)
        ),
        "beta": dict(zip(("min", "p5", "median", "p95", "max"), q(beta, [0, 5, 50, 95, 100]), strict=True)),
        "correlation": {
            "average": round(float(corr[off].mean()), 3),
            "same_sector": round(float(corr[off & same].mean()), 3),
            "other_sector": round(float(corr[~same].mean()), 3),
        },
        "crash_drawdown": {
            k: dict(zip(("p10", "median"), q(v, [10, 50]), strict=True)) for k, v in drawdowns.items()
        },
        "share_drift_10y": dict(zip(("p10", "median", "p90"), q(drift, [10, 50, 90]), strict=True)),
        "share_count_moved_5pct": round(float(np.mean(np.abs(drift) > 0.05)), 3),
        "identity_residual": int(t.residual),
        "quarters_vs_annual_residual": int(t.quarter_miss),
        "loss_year_share": round(t.losses / max(t.years, 1), 3),
        "negative_equity": int(t.negative_equity),
        "bank_leverage_median": round(float(np.median(bank_leverage)), 1) if bank_leverage else None,
        "reit_property_share_median": round(float(np.median(reit_property)), 2) if reit_property else None,
        "series": t.series.summary(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--every", type=int, default=1, help="take every N-th constituent")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 8, 7))
    args = parser.parse_args()
    universe = Universe(seed=args.seed, symbols=503, as_of=args.as_of)
    print(json.dumps(census(universe, list(universe.companies)[:: args.every]), indent=1))


if __name__ == "__main__":
    main()
