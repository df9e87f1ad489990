"""Cross-section statistics of a generated universe, read through the same bodies the server sends.

`python -m fakefmp.census --seed 42 --every 2` prints them as JSON; `tests/fakefmp/test_universe_bands.py`
holds each to its band (the real S&P 500's shape: market-cap quantiles, sector P/E medians, volatility,
beta, correlation, crash drawdowns, share-count drift, accounting identities).
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import defaultdict
from datetime import date
from typing import Any

import numpy as np
import orjson

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


def census(universe: Universe, symbols: list[str]) -> dict[str, Any]:
    """The statistics of `symbols` as of the universe's "today" (see the module docstring)."""
    today = universe.as_of.isoformat()
    caps, pes, payers = [], defaultdict(list), defaultdict(list)
    returns, sectors, drawdowns = [], [], defaultdict(list)
    drift, residual, quarter_miss, losses, years = [], 0, 0, 0, 0
    bank_leverage, reit_property, negative_equity, prices_below_1 = [], [], 0, 0
    for symbol in symbols:
        company = universe.companies[symbol]
        profile = _rows(universe.profile_body(symbol))[0]
        caps.append(profile["marketCap"])
        prices_below_1 += profile["price"] < 1
        ratios = _rows(universe.statement_body("ratios", symbol, "annual", 1))[0]
        if ratios["priceToEarningsRatio"] > 0:
            pes[company.sector].append(ratios["priceToEarningsRatio"])
        series = universe.prices(symbol)
        payers[company.sector].append(any(d <= today for d in series.dividends))
        full = _rows(universe.price_body(symbol, adjusted=False, start=None, end=today, cap=100_000)[0])[::-1]
        dates = [row["date"] for row in full]
        close = np.array([row["close"] for row in full])
        if len(close) > RETURNS_FROM:
            returns.append(np.diff(np.log(close[-RETURNS_FROM - 1 :])))
            sectors.append(company.sector)
        for name, (start, end) in CRASHES.items():
            if dates[0] < start:
                lo, hi = np.searchsorted(dates, start), np.searchsorted(dates, end)
                drawdowns[name].append(_drawdown(close[lo:hi]))
        annual = {
            d: _rows(universe.statement_body(d, symbol, "annual", 1000))
            for d in ("income", "balance", "cashflow")
        }
        quarter = {
            d: _rows(universe.statement_body(d, symbol, "quarter", 1000))
            for d in ("income", "balance", "cashflow")
        }
        for period in (annual, quarter):
            for i, b, c in zip(period["income"], period["balance"], period["cashflow"], strict=True):
                residual = max(residual, _identity_residual(i, b, c))
        for dataset, field in FLOWS:
            by_year = defaultdict(list)
            for row in quarter[dataset]:
                by_year[row["fiscalYear"]].append(row[field])
            for row in annual[dataset]:
                parts = by_year[row["fiscalYear"]]
                if len(parts) == 4:
                    quarter_miss = max(quarter_miss, abs(sum(parts) - row[field]))
        losses += sum(row["netIncome"] < 0 for row in annual["income"])
        years += len(annual["income"])
        # share drift: the split-adjusted count ten years ago vs now
        now, then = annual["income"][0], annual["income"][min(10, len(annual["income"]) - 1)]
        split = series.splits_after(then["date"]) / series.splits_after(now["date"])
        drift.append(now["weightedAverageShsOut"] / (then["weightedAverageShsOut"] * split) - 1)
        latest = annual["balance"][0]
        negative_equity += latest["totalStockholdersEquity"] < 0
        if shape(company) == "bank":
            bank_leverage.append(latest["totalAssets"] / latest["totalStockholdersEquity"])
        elif shape(company) == "reit":
            reit_property.append(latest["propertyPlantEquipmentNet"] / latest["totalAssets"])
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
        "symbols": len(symbols),
        "market_cap_bn": dict(
            zip(
                ("min", "p5", "p25", "median", "p75", "p95", "max"),
                q(np.array(caps) / 1e9, [0, 5, 25, 50, 75, 95, 100]),
                strict=True,
            )
        ),
        "above_1tn": int(sum(c > 1e12 for c in caps)),
        "prices_below_1": int(prices_below_1),
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
        "identity_residual": int(residual),
        "quarters_vs_annual_residual": int(quarter_miss),
        "loss_year_share": round(losses / max(years, 1), 3),
        "negative_equity": int(negative_equity),
        "bank_leverage_median": round(float(np.median(bank_leverage)), 1) if bank_leverage else None,
        "reit_property_share_median": round(float(np.median(reit_property)), 2) if reit_property else None,
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
