"""Builders of realistic synthetic inputs: daily prices with dividends, FMP-shaped statement payloads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

INCOME_FLOWS = (
    "revenue",
    "costOfRevenue",
    "grossProfit",
    "operatingIncome",
    "ebitda",
    "interestExpense",
    "incomeBeforeTax",
    "incomeTaxExpense",
    "netIncome",
    "bottomLineNetIncome",
)


def prices(
    n_days: int = 7560, *, seed: int = 0, start: str = "1995-01-03", drift: float = 0.0004
) -> pd.DataFrame:
    """Daily OHLCV with a quarterly dividend: adj_close below close before each ex-date, as FMP adjusts."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range(start, periods=n_days, name="date")
    close = 40.0 * np.exp(np.cumsum(rng.normal(drift, 0.017, n_days)))
    open_ = np.concatenate([[close[0]], close[:-1]]) * (1 + rng.normal(0, 0.004, n_days))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.006, n_days)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.006, n_days)))
    volume = np.round(rng.lognormal(15, 0.4, n_days))
    # Dividend of 0.5% of the price every 63 trading days; the adjustment factor compounds backwards.
    factor = np.ones(n_days)
    for ex in range(63, n_days, 63):
        factor[:ex] *= 1 - 0.005
    return pd.DataFrame(
        {
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "adj_close": close * factor,
            "volume": volume,
        },
        index=index,
    )


def _quarter_dates(n_quarters: int, first_year: int) -> list[pd.Timestamp]:
    return list(pd.date_range(f"{first_year - 1}-12-31", periods=n_quarters, freq="QE-SEP"))


def statement_payloads(
    symbol: str = "SYN", *, years: int = 30, seed: int = 0, first_year: int = 1995
) -> dict[str, list[dict[str, Any]]]:
    """FMP-shaped payloads for `years` fiscal years (Sept year-end): FY and Q1..Q4 rows per kind.

    Returns:
        {"income": [...], "balance": [...], "cashflow": [...]}; FY flows are the sums of their quarters
        and FY balances equal Q4's, as in real filings.
    """
    rng = np.random.default_rng(seed)
    n = years * 4
    dates = _quarter_dates(n, first_year)
    revenue = 1e9 * np.exp(np.cumsum(rng.normal(0.015, 0.03, n)))
    gross = revenue * rng.uniform(0.35, 0.45, n)
    op_income = revenue * rng.uniform(0.12, 0.22, n)
    interest = revenue * 0.01
    ebt = op_income - interest
    tax = ebt * 0.21
    net = ebt - tax
    shares = 5e8 * np.exp(np.cumsum(rng.normal(-0.003, 0.002, n)))
    assets = revenue * 4 * rng.uniform(0.95, 1.05, n)
    current_assets = assets * 0.35
    current_liabilities = assets * 0.25
    equity = assets * 0.4
    debt = assets * 0.3
    cash = assets * 0.08
    ocf = net * rng.uniform(1.0, 1.4, n)
    capex = -revenue * 0.05
    out: dict[str, list[dict[str, Any]]] = {"income": [], "balance": [], "cashflow": []}

    def meta(i: int, period: str) -> dict[str, Any]:
        return {
            "date": dates[i].date().isoformat(),
            "symbol": symbol,
            "period": period,
            "fiscalYear": str(dates[i].year),
        }

    def income(sl: slice) -> dict[str, float]:
        values = {
            "revenue": revenue[sl].sum(),
            "costOfRevenue": (revenue - gross)[sl].sum(),
            "grossProfit": gross[sl].sum(),
            "operatingIncome": op_income[sl].sum(),
            "ebitda": (op_income + revenue * 0.04)[sl].sum(),
            "interestExpense": interest[sl].sum(),
            "incomeBeforeTax": ebt[sl].sum(),
            "incomeTaxExpense": tax[sl].sum(),
            "netIncome": net[sl].sum(),
            "bottomLineNetIncome": net[sl].sum(),
            "weightedAverageShsOut": shares[sl].mean(),
            "weightedAverageShsOutDil": shares[sl].mean() * 1.01,
        }
        values["epsDiluted"] = values["netIncome"] / values["weightedAverageShsOutDil"]
        return values

    def balance(i: int) -> dict[str, float]:
        return {
            "totalAssets": assets[i],
            "totalCurrentAssets": current_assets[i],
            "totalCurrentLiabilities": current_liabilities[i],
            "totalLiabilities": assets[i] - equity[i],
            "totalStockholdersEquity": equity[i],
            "totalEquity": equity[i],
            "totalDebt": debt[i],
            "longTermDebt": debt[i] * 0.8,
            "netDebt": debt[i] - cash[i],
            "cashAndCashEquivalents": cash[i],
            "shortTermInvestments": assets[i] * 0.03,
            "netReceivables": revenue[i] * 0.7,
            "inventory": revenue[i] * 0.3,
            "accountPayables": revenue[i] * 0.5,
            "retainedEarnings": equity[i] * 0.6,
        }

    def cashflow(sl: slice) -> dict[str, float]:
        first, last = range(n)[sl][0], range(n)[sl][-1]
        opening = cash[first - 1] if first > 0 else cash[0]
        return {
            "cashAtBeginningOfPeriod": opening,
            "cashAtEndOfPeriod": cash[last],
            "netChangeInCash": cash[last] - opening,
            "netIncome": net[sl].sum(),
            "operatingCashFlow": ocf[sl].sum(),
            "capitalExpenditure": capex[sl].sum(),
            "freeCashFlow": (ocf + capex)[sl].sum(),
            "inventory": -1.0,  # a *change* in inventory, as FMP's cash-flow statement reports it
        }

    for i in range(n):
        period = f"Q{i % 4 + 1}"
        out["income"].append({**meta(i, period), **income(slice(i, i + 1))})
        out["balance"].append({**meta(i, period), **balance(i)})
        out["cashflow"].append({**meta(i, period), **cashflow(slice(i, i + 1))})
        if i % 4 == 3:
            year = slice(i - 3, i + 1)
            out["income"].append({**meta(i, "FY"), **income(year)})
            out["balance"].append({**meta(i, "FY"), **balance(i)})
            out["cashflow"].append({**meta(i, "FY"), **cashflow(year)})
    return out


def universe(n_symbols: int = 500, *, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """A long FY frame (symbol column, two fiscal years each), market caps and GICS sectors for a universe."""
    rng = np.random.default_rng(seed)
    sectors = ["Information Technology", "Health Care", "Financials", "Industrials", "Energy", "Utilities"]
    rows = []
    caps, sector_of = {}, {}
    for k in range(n_symbols):
        symbol = f"S{k:03d}"
        revenue = rng.lognormal(22, 1.0)
        for year, scale in ((2023, 1.0), (2024, rng.normal(1.06, 0.08))):
            r = revenue * scale
            assets = r * rng.uniform(0.8, 3.0)
            equity = assets * rng.uniform(0.1, 0.6)
            debt = assets * rng.uniform(0.0, 0.4)
            cash = assets * rng.uniform(0.02, 0.2)
            net = r * rng.normal(0.1, 0.08)
            rows.append(
                {
                    "symbol": symbol,
                    "date": pd.Timestamp(f"{year}-12-31"),
                    "revenue": r,
                    "costOfRevenue": r * 0.6,
                    "grossProfit": r * 0.4,
                    "operatingIncome": r * rng.uniform(0.0, 0.3),
                    "ebitda": r * rng.uniform(0.05, 0.35),
                    "interestExpense": debt * 0.04,
                    "incomeBeforeTax": net / 0.79,
                    "incomeTaxExpense": net / 0.79 * 0.21,
                    "netIncome": net,
                    "weightedAverageShsOut": 1e8,
                    "weightedAverageShsOutDil": 1.01e8,
                    "totalAssets": assets,
                    "totalCurrentAssets": assets * 0.3,
                    "totalCurrentLiabilities": assets * 0.2,
                    "totalLiabilities": assets - equity,
                    "totalStockholdersEquity": equity,
                    "totalEquity": equity,
                    "totalDebt": debt,
                    "longTermDebt": debt * 0.8,
                    "netDebt": debt - cash,
                    "cashAndCashEquivalents": cash,
                    "netReceivables": r * 0.15,
                    "inventory": r * 0.1,
                    "accountPayables": r * 0.1,
                    "retainedEarnings": equity * 0.5,
                    "operatingCashFlow": net * 1.2,
                    "freeCashFlow": net * 0.9,
                }
            )
        caps[symbol] = r * rng.uniform(1, 8)
        sector_of[symbol] = sectors[k % len(sectors)]
    long = pd.DataFrame(rows).set_index("date")
    return long, pd.Series(caps), pd.Series(sector_of)


# Eight seeded symbols for the optimiser's comparisons with PyPortfolioOpt (the `closes` fixture).
RAGGED_SYMBOLS = ("AAPL", "MSFT", "JNJ", "XOM", "JPM", "KO", "NVDA", "PG")


def factor_prices(
    seed: int,
    *,
    assets: int,
    days: int,
    factors: int,
    loading: tuple[float, float],
    noise: float,
    drift: tuple[float, float],
) -> pd.DataFrame:
    """Daily closes (from 100) of `assets` symbols S00, S01, ... driven by common factors: daily returns
    f @ B + e + d with factor returns f ~ N(0.0003, 0.01), loadings B ~ N(loading), noise e ~ N(0, noise)
    and a drift d ~ N(drift) per symbol."""
    rng = np.random.default_rng(seed)
    f = rng.normal(0.0003, 0.01, (days - 1, factors))
    b = rng.normal(loading[0], loading[1], (factors, assets))
    returns = f @ b + rng.normal(0.0, noise, (days - 1, assets)) + rng.normal(drift[0], drift[1], assets)
    closes = 100.0 * np.vstack([np.ones(assets), np.cumprod(1.0 + returns, axis=0)])
    index = pd.bdate_range("2015-01-01", periods=days, name="date")
    return pd.DataFrame(
        closes, index=index, columns=pd.Index([f"S{i:02d}" for i in range(assets)], name="symbol")
    )


def random_portfolio(seed: int) -> pd.DataFrame:
    """An ordinary portfolio: 3-15 symbols, 250-1,500 days, 1-3 factors, noise 0.3-2 % a day."""
    rng = np.random.default_rng(10_000 + seed)
    return factor_prices(
        seed,
        assets=int(rng.integers(3, 16)),
        days=int(rng.integers(250, 1500)),
        factors=int(rng.integers(1, 4)),
        loading=(0.8, 0.5),
        noise=float(rng.uniform(0.003, 0.02)),
        drift=(0.0002, 0.0006),
    )


def correlated_portfolio(seed: int) -> pd.DataFrame:
    """45 symbols over 751 days on two factors with near-equal loadings: pairwise correlation ~0.995."""
    return factor_prices(
        seed, assets=45, days=751, factors=2, loading=(0.5, 0.025), noise=0.0004, drift=(0.0, 0.0004)
    )


def forecast_series(seed: int) -> np.ndarray:
    """10-39 yearly values of one of four shapes (by seed modulo 4): noisy exponential growth, a noisy
    linear trend, a step change, a random walk with drift."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 40))
    t = np.arange(n)
    kind = seed % 4
    if kind == 0:
        return np.asarray(10 * np.exp(rng.uniform(0.02, 0.2) * t + rng.normal(0, 0.05, n)))
    if kind == 1:
        return np.asarray(100 + rng.uniform(1, 10) * t + rng.normal(0, rng.uniform(2, 20), n))
    if kind == 2:
        return np.asarray(1000 + 300 * (t > n // 2) + rng.normal(0, 40, n))
    return np.asarray(np.cumsum(rng.normal(rng.uniform(-1, 3), rng.uniform(1, 5), n)) + 50)
