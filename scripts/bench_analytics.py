"""Time one company's full analytics over 30 years of data, and a screener pass over 500 symbols.

Usage: .venv/bin/python scripts/bench_analytics.py [--repeat N]

"Full analytics" is everything a company page can show: statement frames built from payload dicts
(30 annual + 120 quarterly rows per kind), rolling TTM, ratios, DuPont, growth, Altman Z, Piotroski F,
multiples over time, DCF with both terminal values and a 5x5 sensitivity grid, forecasts (revenue, net
income, FCF; annual and quarterly; ETS and log-linear; each with a holdout backtest) and a monthly price
forecast, every technical indicator on ~7,560 adjusted daily prices, performance and benchmark statistics,
and a 5-symbol portfolio (correlations, min-vol, max-Sharpe, HRP, a 10-point efficient frontier).
The screener pass builds the per-symbol metrics table from a long frame of 500 symbols * 2 fiscal years
and runs a filtered, sorted screen and a composite score on it (the table build happens once per data
version; the screen on every request, so both are timed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.analytics import forecast, fundamentals, indicators, optimize, portfolio, screener
from dashboard.analytics import statements as st
from dashboard.analytics import valuation as val
from devkit import factories
from devkit.benchrecord import add_record_argument, record

TARGET_COMPANY_S = 0.200
TARGET_SCREEN_S = 1.0


def company(payloads: dict[str, list[dict[str, Any]]], prices: pd.DataFrame, peers: pd.DataFrame) -> None:
    """Everything the company pages compute for one symbol."""
    # Each timed run starts cold: optimisation inputs cached by an earlier run (same prices) must not count.
    optimize.clear_cache()
    quarters = ("Q1", "Q2", "Q3", "Q4")
    annual = st.combine(
        *(st.statement_frame(payloads[k], period="FY") for k in ("income", "balance", "cashflow"))
    )
    q_frames = [st.statement_frame(payloads[k], period=quarters) for k in ("income", "balance", "cashflow")]
    quarterly = st.combine(*q_frames)
    ttm = st.ttm(quarterly, stock_columns=q_frames[1].columns, rolling=True)
    close = prices["adj_close"]
    mcap = val.market_cap_at(prices["close"], annual["weightedAverageShsOutDil"])
    fundamentals.ratios(annual)
    fundamentals.ratios(ttm)
    fundamentals.dupont(annual)
    fundamentals.growth(annual)
    fundamentals.growth(quarterly, periods_per_year=4)
    fundamentals.altman_z(annual, mcap)
    fundamentals.piotroski_f(annual)
    val.multiples(annual, mcap)
    last = annual.iloc[-1]
    w = val.wacc(
        cost_of_equity=val.capm_cost_of_equity(0.04, 1.1, 0.05),
        pre_tax_cost_of_debt=0.05,
        tax_rate=0.21,
        equity_value=float(mcap.iloc[-1]),
        debt_value=float(last["totalDebt"]),
    )
    fcf0, net_debt, shares = (
        float(last["freeCashFlow"]),
        float(last["netDebt"]),
        float(last["weightedAverageShsOutDil"]),
    )
    val.dcf(fcf0, growth=0.06, years=5, wacc=w.value, terminal_growth=0.025, net_debt=net_debt, shares=shares,
            exit_multiple=12.0, price=float(close.iloc[-1]))  # fmt: skip
    val.sensitivity(fcf0, growth=0.06, years=5, net_debt=net_debt, shares=shares,
                    waccs=[w.value + d for d in (-0.02, -0.01, 0, 0.01, 0.02)],
                    terminal_growths=[0.015, 0.02, 0.025, 0.03, 0.035])  # fmt: skip
    for name in ("revenue", "netIncome", "freeCashFlow"):
        forecast.forecast_both(annual[name])
        forecast.forecast_both(quarterly[name], horizon=8, holdout=4)
    forecast.forecast_price(close)
    indicators.all_indicators(prices, adjusted=True)
    stock_returns = close.pct_change().dropna()
    aligned, _ = portfolio.align_prices(peers)
    portfolio.performance(stock_returns, risk_free=0.04)
    portfolio.versus_benchmark(stock_returns, portfolio.equal_weight_index(peers))
    portfolio.performance(
        portfolio.portfolio_returns(aligned, dict.fromkeys(aligned.columns, 1.0)), risk_free=0.04
    )
    portfolio.correlation_matrix(aligned)
    for objective in optimize.OBJECTIVES:
        optimize.optimize(aligned, objective, risk_free=0.02)
    optimize.efficient_frontier(aligned, points=10)


def screen_pass(long: pd.DataFrame, caps: pd.Series, sectors: pd.Series) -> int:
    latest, previous = screener.cross_sections(long)
    table = screener.metrics_table(latest, previous, market_cap=caps, sectors=sectors)
    hits = screener.screen(
        table,
        filters=[screener.Filter("pe", "between", (5.0, 30.0)), screener.Filter("roe", ">", 0.05)],
        sectors=["Information Technology", "Health Care", "Industrials"],
        sort_by="ev_ebitda",
        ascending=True,
        limit=50,
    )
    screener.score(table, {"roe": 1.0, "pe": -1.0, "revenue_growth": 1.0}, within_sector=True)
    return len(hits)


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """(first run wall, median wall, median CPU) seconds; CPU time shows the cost without other load."""
    cold = time.perf_counter()
    fn()
    cold = time.perf_counter() - cold
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return cold, statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed runs after one warm-up run (median shown)"
    )
    add_record_argument(parser)
    opts = parser.parse_args()
    payloads = factories.statement_payloads(years=30, seed=1)
    prices = factories.prices(7560, seed=1)
    peers = pd.DataFrame({f"P{i}": factories.prices(7560, seed=10 + i)["adj_close"] for i in range(4)})
    peers["SYN"] = prices["adj_close"]
    peers.iloc[:750, 0] = float("nan")  # one peer listed three years later: exercises the alignment
    long, caps, sectors = factories.universe(500, seed=2)
    n_rows = {k: len(v) for k, v in payloads.items()}
    print(
        f"data: {len(prices)} daily prices, statement rows per kind {n_rows} (30 FY + 120 quarters), 500 symbols"
    )
    # One BLAS thread, as each dashboard worker should run (OPENBLAS_NUM_THREADS=1): the matrices here are
    # tiny, and on a shared 2-core machine a multi-threaded BLAS spends its time spinning, not computing.
    with threadpool_limits(limits=1):
        cold, warm, cpu = timed(lambda: company(payloads, prices, peers), opts.repeat)
        cold_s, warm_s, cpu_s = timed(lambda: screen_pass(long, caps, sectors), opts.repeat)
    print(
        f"company full analytics: {warm * 1000:.0f} ms wall median of {opts.repeat} ({cpu * 1000:.0f} ms CPU; "
        f"first run {cold * 1000:.0f} ms); target < {TARGET_COMPANY_S * 1000:.0f} ms"
    )
    print(
        f"screener pass, 500 symbols: {warm_s * 1000:.0f} ms wall median ({cpu_s * 1000:.0f} ms CPU; "
        f"first run {cold_s * 1000:.0f} ms); target < {TARGET_SCREEN_S * 1000:.0f} ms"
    )
    # Other engineers share this machine: the load average says how much of the wall time was waiting.
    print(
        f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    ok = warm < TARGET_COMPANY_S and warm_s < TARGET_SCREEN_S
    print("targets met" if ok else "TARGETS MISSED")
    if opts.record:
        record(
            "bench_analytics",
            {
                "repeat": opts.repeat,
                "company_full_analytics": {"wall_ms": round(warm * 1000), "cpu_ms": round(cpu * 1000),
                                           "first_run_ms": round(cold * 1000)},
                "screener_pass": {"wall_ms": round(warm_s * 1000), "cpu_ms": round(cpu_s * 1000),
                                  "first_run_ms": round(cold_s * 1000)},
                "targets_met": ok,
            },
        )  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
