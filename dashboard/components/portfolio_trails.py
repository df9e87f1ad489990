"""Where a Portfolio holding's figures come from: the dividend-adjusted closes the analysis used (its
window, the return over it), the runs whose price items fetched them, the last close's own trail, and
the same trail per close as the closes CSV's `provenance_*` columns (docs/dashboard.md, "Point in time")."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import html

from dashboard.components import point_in_time, price_trails, trails

ID = "portfolio-provenance"


def holding_card(symbol: str, closes: pd.DataFrame, last: str | None, pin: int | None) -> Any:
    """The trail of one holding's closes in `closes` (the aligned, windowed frame the analysis used);
    `last` the day the view may use closes up to (the as-of date or the pinned run's end; None: live)."""
    if symbol not in closes.columns or closes.empty:
        return None
    series = closes[symbol].dropna()
    start, end = series.index[0], series.index[-1]
    fetched = price_trails.price_trail(symbol, series.index)
    bound = (
        f", up to the day run #{pin} ended"
        if pin is not None
        else f", up to {last}"
        if last is not None
        else ""
    )
    inputs = [
        html.Li(
            f"Window: {start:%Y-%m-%d} to {end:%Y-%m-%d}, {len(series)} trading days common to the"
            f" holdings{bound}"
        ),
        html.Li(
            f"Return over it: USD {series.iloc[0]:,.2f} on {start:%Y-%m-%d} to USD {series.iloc[-1]:,.2f}"
            f" on {end:%Y-%m-%d} = {series.iloc[-1] / series.iloc[0] - 1:+.2%}"
        ),
        html.Li([html.B("Fetched by: "), html.Ul(_runs(fetched))]),
    ]
    start_text, end_text = f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"
    withheld = point_in_time.withheld_text(
        symbol, lambda r: r["dataset"] == "prices" and start_text <= str(r["day"] or "") <= end_text
    )
    return trails.figure_card(
        symbol,
        f"Where {symbol}'s closes in this portfolio come from",
        id_=ID,
        formula="its dividend-adjusted close of each day of the window (the traded close where FMP gave no"
        " adjusted one); the statistics, weights and charts use their daily returns.",
        inputs=inputs,
        close=end_text,
        notes=[html.Li([html.B("Withheld in the window: "), withheld or "nothing"])],
    )


def _runs(fetched: pd.DataFrame) -> list[Any]:
    """One line per run of consecutive closes one price item fetched: the run, its days, the endpoint."""
    if fetched.empty:
        return [html.Li("no close in the window")]
    keys = fetched["provenance_run_id"].astype("object").where(fetched["provenance_run_id"].notna(), None)
    spans = (keys != keys.shift()).cumsum()
    out = []
    for _, part in fetched.groupby(spans.to_numpy(), sort=True):
        row = part.iloc[-1]
        days = f"{part.index[0]:%Y-%m-%d} to {part.index[-1]:%Y-%m-%d} ({len(part)} closes)"
        out.append(
            html.Li(
                f"{days}: run #{int(row['provenance_run_id'])} ({row['provenance_job']}), its item done"
                f" {pd.Timestamp(row['provenance_fetched_at']):%Y-%m-%d %H:%M} UTC; FMP {row['provenance_endpoint']}"
                if pd.notna(row["provenance_run_id"])
                else f"{days}: no run recorded (loaded outside a run)"
            )
        )
    return out


def closes_trail(closes: pd.DataFrame) -> pd.DataFrame:
    """The closes the analysis used, one row per day and holding (date, symbol, adj_close), with each
    close's fetch: provenance_run_id, _job, _fetched_at, _endpoint (as the Company page's price CSV)."""
    parts = []
    for symbol in closes.columns:
        series = closes[symbol].dropna()
        trail = price_trails.price_trail(str(symbol), series.index)
        parts.append(
            trail.assign(symbol=str(symbol), adj_close=series.to_numpy())
            .rename_axis("date")
            .reset_index()[["date", "symbol", "adj_close", *price_trails.COLUMNS]]
        )
    if not parts:
        return pd.DataFrame(columns=["date", "symbol", "adj_close", *price_trails.COLUMNS])
    return pd.concat(parts, ignore_index=True).sort_values(["date", "symbol"], kind="stable")
