"""The Company page's price chart (bars, overlays, oscillator panels, withheld days) and the line
above it: the last close, its change and the 52-week range."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from dash import html

from dashboard.analytics.indicators import REGISTRY
from dashboard.components import (
    bars,
    charts,
    company_data,
    formats,
    glossary,
    withheld,
)

SPANS = {**{k: k for k in company_data.RANGES if k != "MAX"}, "YTD": "YTD", "MAX": "MAX", "custom": "Custom"}
SPANS = {k: SPANS[k] for k in ("1M", "6M", "YTD", "1Y", "5Y", "10Y", "MAX", "custom")}
BASES = {"adj": "Adjusted", "raw": "Unadjusted"}
SCALES = {"linear": "Linear", "log": "Log"}
OVERLAY_CHOICES = {o: REGISTRY[o].label for o in company_data.OVERLAYS}
OSCILLATOR_CHOICES = {o: REGISTRY[o].label for o in company_data.OSCILLATORS}


def span_dates(index: pd.Index, span: str, dates: tuple[str | None, str | None]) -> tuple[Any, Any]:
    """The window's (start, end) for year-to-date and custom ranges (None: `window`'s own rule)."""
    if span == "YTD" and len(index):
        return pd.Timestamp(index[-1].year, 1, 1), None
    if span == "custom":
        return (pd.Timestamp(dates[0]) if dates[0] else None, pd.Timestamp(dates[1]) if dates[1] else None)
    return None, None


def price_figure(
    symbol: str,
    adjusted: str,
    chosen: tuple[str, ...],
    span: str,
    panels: tuple[str, ...],
    scale: str,
    size: str,
    dates: tuple[str | None, str | None],
) -> dict[str, Any]:
    """The price chart: the window's bars (daily, weekly or monthly), overlays and oscillator panels."""
    history = company_data.prices(symbol)
    start, end = span_dates(history.index, span, dates)
    shown, lines, oscillator_lines = company_data.price_view(
        symbol,
        adjusted=adjusted == "adj",
        overlays=chosen,
        span=span,
        oscillators=panels,
        start=start,
        end=end,
    )
    if shown.empty:
        return charts.empty_figure(
            f"No prices stored for {symbol}." if history.empty else f"No prices for {symbol} in this range."
        )
    bar = bars.auto(shown.index) if size == "auto" else size
    rows = bars.last_rows(shown.index, bar)
    basis = "dividend-adjusted" if adjusted == "adj" else "traded"
    title = f"{symbol} · {basis} prices, {bars.NAMES[bar]} bars"
    axis = "Price (USD, dividend-adjusted)" if adjusted == "adj" else "Price (USD)"
    candles = bars.resample(shown, bar)
    figure = charts.candles(
        candles,
        {name: s.iloc[rows] for name, s in lines.items()},
        title,
        price_axis=axis,
        panels=[
            charts.Panel(
                indicator.axis,
                {name: s.iloc[rows] for name, s in series.items()},
                indicator.guides,
                indicator.bars,
            )
            for indicator, series in oscillator_lines
        ],
        log=scale == "log",
    )
    return withheld.mark_prices(figure, candles, withheld.rows(symbol))


def no_close() -> Any:
    """The line above the chart without a close: the close's button stays on the page, hidden, because
    the close's provenance callback listens to it (Dash logs an error for an input missing from the page)."""
    return html.Button(id="company-last-close", hidden=True)


def price_header(symbol: str) -> Any:
    """Last close, its change, the 52-week range and the close's date (traded prices), or None."""
    history = company_data.prices(symbol)
    # In numpy (the stored closes are float64): the Series' dropna and mask cost ~0.5 ms a request.
    values = history["close"].to_numpy(dtype=float) if not history.empty else np.array([])
    known = ~np.isnan(values)
    if not known.any():
        return None
    closes, days = values[known], history.index[known]
    last, day = float(closes[-1]), days[-1]
    year = closes[days > day - pd.Timedelta(days=365)]
    change = last / float(closes[-2]) - 1 if len(closes) > 1 and closes[-2] else None
    parts = [
        html.Button(
            f"USD {last:,.2f}",
            className="btn btn-link p-0 border-0 align-baseline text-reset text-decoration-none fs-5 fw-semibold me-2",
            id="company-last-close",
            title="Where this close comes from",
        ),
        html.Span(
            formats.pct(change, digits=2, signed=True) if change is not None else "",
            className=("text-success" if (change or 0) >= 0 else "text-danger") + " me-3",
        ),
        html.Span(
            [glossary.term("52-week range", "week52"), f" {year.min():,.2f} to {year.max():,.2f}"],
            className="me-3",
        ),
        html.Span(f"close of {day:%Y-%m-%d} (traded)", className="text-muted"),
    ]
    return html.P(parts, className="mb-1 small")
