"""The Portfolio page's answer: the chosen mix's report, the optimised mixes beside it, forward returns,
and the CSV exports of each, cached per request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboard.analytics import evaluate, portfolio
from dashboard.analytics.forward import forward_returns
from dashboard.components import (
    benchmark_data,
    company_data,
    pins,
    point_in_time,
    portfolio_inputs,
    portfolio_trails,
)
from dashboard.components.export import register_export
from dashboard.components.inputs import InvalidInput
from dashboard.components.portfolio_inputs import Request
from dashboard.services import services

OPTIMISERS = {"min_volatility": "Minimum volatility", "max_sharpe": "Maximum Sharpe", "hrp": "HRP"}
CHOSEN = "Chosen"
EXPORTS = (
    "stats",
    "drawdown",
    "correlation",
    "frontier",
    "weights",
    "compare",
    "growth",
    "forward",
    "closes-trail",
)
FORWARD_ROWS = {
    "portfolio": "Chosen mix (buy and hold)",
    "benchmark": "Benchmark",
    "excess": "Chosen - benchmark",
}


@dataclass(frozen=True, slots=True)
class Analysis:
    """The Portfolio page's answer: the chosen mix's report and the side-by-side evaluation."""

    report: portfolio.Report
    side: evaluate.SideBySide
    optimised: dict[str, dict[str, float]]
    notes: tuple[str, ...] = ()  # why the chosen benchmark is missing; the optimisers' bounds
    forward: pd.DataFrame | None = None  # as of a date: what the chosen mix returned next
    closes: pd.DataFrame | None = None  # the aligned closes of the window the report used (their trail)


def analyse(request: Request, as_of: str | None = None, pin: int | None = None) -> Analysis:
    """The report and the side-by-side evaluation on the closes up to the as-of date or the pinned run's
    end (the earlier; all of them when live), windows counted back from there; as of a date also the
    forward returns after it (up to the pinned run's end when pinned)."""
    svc = services()
    weights, window, benchmark, bounds = request.weights, request.window, request.benchmark, request.bounds

    def build() -> Analysis:
        closes = company_data.adjusted_closes(list(weights))
        last = pins.last_day(as_of, pin)
        prices = portfolio_inputs.windowed(
            closes[closes.index <= pd.Timestamp(last)] if last else closes, request
        )
        result = portfolio.report(prices, weights, risk_free=request.rate, bounds=bounds)
        aligned = result.prices if result.prices is not None else portfolio.align_prices(prices)[0]
        optimised = optimised_weights(result.weights)
        mixes = {CHOSEN: weights, **{OPTIMISERS[k]: v for k, v in optimised.items()}}
        bench, note = benchmark_data.returns(benchmark, aligned)
        side = evaluate.side_by_side(
            aligned,
            mixes,
            risk_free=request.rate,
            benchmark=bench,
            benchmark_name=benchmark_data.NAMES.get(benchmark, ""),
            performances={CHOSEN: result.performance} if result.performance is not None else None,
            axes=result.axes,
        )
        notes = tuple(n for n in (note and f"Benchmark: {note}", portfolio_inputs.bounds_note(bounds)) if n)
        forward = None if as_of is None else _forward(closes, weights, as_of, pin, benchmark)
        return Analysis(result, side, optimised, notes, forward, aligned)

    key = (
        tuple(sorted(weights.items())),
        request.rate,
        window,
        request.start,
        request.end,
        benchmark,
        bounds,
        as_of,
        pin,
    )
    return svc.cache.cached("portfolio", key, build)


def optimised_weights(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Each optimiser's weights by symbol from the report's weights table (one row per symbol), from its
    columns as lists: the table indexed by symbol and its items cost ~0.3 ms."""
    symbols = [str(s) for s in table["symbol"].tolist()]
    return {key: dict(zip(symbols, table[key].tolist(), strict=True)) for key in OPTIMISERS if key in table}


def _forward(
    closes: pd.DataFrame, weights: dict[str, float], as_of: str, pin: int | None, benchmark: str
) -> pd.DataFrame:
    """The chosen mix's forward returns from `as_of` against the benchmark (the stored S&P 500 series, or
    the holdings equal weighted), on what the store held by the pinned run's end when pinned."""
    ended = pins.last_day(None, pin)
    held = closes[closes.index <= pd.Timestamp(ended)] if ended else closes
    daily: pd.Series | None = None
    if benchmark in benchmark_data.STORED:
        stored = benchmark_data.stored(benchmark_data.STORED[benchmark])
        daily = stored[stored.index <= pd.Timestamp(ended)] if ended and not stored.empty else stored
    elif benchmark == "equal":
        daily = held.pct_change(fill_method=None).mean(axis=1).dropna()
    try:
        table = forward_returns(held, weights, pd.Timestamp(as_of), daily)
    except ValueError as exc:
        raise InvalidInput(f"as of {as_of}: {exc}") from exc
    return table.rename(index=FORWARD_ROWS).rename_axis("mix").reset_index()


def _export(name: str) -> Any:
    def export(args: Mapping[str, str]) -> pd.DataFrame:
        request = portfolio_inputs.read(
            args.get("holdings", ""),
            args.get("rf"),
            args.get("window"),
            args.get("benchmark"),
            [s for s in args.get("shorts", "").split(",") if s],
            args.get("cap"),
            args.get("from"),
            args.get("to"),
        )
        day = company_data.as_of_date(args.get("as_of"))
        result = analyse(request, day, point_in_time.pinned_run(args.get("pin")))
        if name == "forward":
            if result.forward is None:
                raise InvalidInput("forward returns need an as-of date")
            return result.forward
        if name == "compare":
            return result.side.stats
        if name == "growth":
            return result.side.growth
        if name == "closes-trail":
            return portfolio_trails.closes_trail(
                result.closes if result.closes is not None else pd.DataFrame()
            )
        frame: pd.DataFrame = getattr(result.report, name)
        return frame

    return register_export("portfolio", name)(export)


def register_exports() -> None:
    """Register the page's CSV exports (called once, by the page module)."""
    for name in EXPORTS:
        _export(name)
