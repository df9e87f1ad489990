"""Figure builders: plain plotly figures from pandas, with explicit empty figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

LAYOUT = {"margin": {"l": 50, "r": 20, "t": 40, "b": 40}, "template": "plotly_white", "height": 420}


def _dates(index: pd.Index) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in pd.DatetimeIndex(index)]


def _values(series: pd.Series) -> list[float | None]:
    values = series.astype(float).to_numpy()
    rounded: list[float | None] = np.where(np.isfinite(values), np.round(values, 6), None).tolist()  # type: ignore[attr-defined]
    return rounded


def empty_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        **{**LAYOUT, "height": 240},
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False, "font": {"size": 16}}],
    )
    return fig


def candles(prices: pd.DataFrame, overlays: Mapping[str, pd.Series], title: str) -> dict[str, Any]:
    """Candlesticks with volume below and indicator overlays on the price axis.

    A plain figure dict rather than graph_objects: the price chart is the busiest callback, and
    plotly's validation of ~10k points per trace costs more than the rest of the request.
    """
    x = _dates(prices.index)
    data: list[dict[str, Any]] = [
        {
            "type": "candlestick",
            "x": x,
            "open": _values(prices["open"]),
            "high": _values(prices["high"]),
            "low": _values(prices["low"]),
            "close": _values(prices["close"]),
            "name": "price",
            "xaxis": "x",
            "yaxis": "y",
        }
    ]
    data += [
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": _values(series),
            "name": name,
            "line": {"width": 1},
            "xaxis": "x",
            "yaxis": "y",
        }
        for name, series in overlays.items()
    ]
    data.append(
        {
            "type": "bar",
            "x": x,
            "y": _values(prices["volume"]),
            "name": "volume",
            "marker": {"color": "#7f8c8d"},
            "xaxis": "x",
            "yaxis": "y2",
        }
    )
    layout = {
        **LAYOUT,
        "height": 560,
        "title": {"text": title},
        "showlegend": True,
        "xaxis": {"anchor": "y2", "rangeslider": {"visible": False}, "type": "date"},
        "yaxis": {"domain": [0.28, 1.0]},
        "yaxis2": {"domain": [0.0, 0.22]},
    }
    return {"data": data, "layout": layout}


def _x(index: pd.Index) -> list[str]:
    return _dates(index) if isinstance(index, pd.DatetimeIndex) else [str(v) for v in index]


def lines(frame: pd.DataFrame, title: str, *, percent: bool = False, yaxis: str = "") -> dict[str, Any]:
    """One line per column over the frame's (date) index, as a plain figure dict (no validation cost)."""
    x = _x(frame.index)
    mode = "lines+markers" if len(frame) < 60 else "lines"
    data = [
        {"type": "scatter", "mode": mode, "x": x, "y": _values(frame[col]), "name": str(col)}
        for col in frame.columns
    ]
    layout = {
        **LAYOUT,
        "title": {"text": title},
        "yaxis": {"tickformat": ".0%" if percent else "~s", "title": {"text": yaxis}},
    }
    return {"data": data, "layout": layout}


def bars(frame: pd.DataFrame, title: str) -> dict[str, Any]:
    x = _x(frame.index)
    data = [{"type": "bar", "x": x, "y": _values(frame[col]), "name": str(col)} for col in frame.columns]
    return {
        "data": data,
        "layout": {**LAYOUT, "title": {"text": title}, "barmode": "group", "yaxis": {"tickformat": "~s"}},
    }


def heatmap(matrix: pd.DataFrame, title: str, *, fmt: str = ".2f", colorscale: str = "RdBu") -> go.Figure:
    z = [[None if not np.isfinite(v) else float(v) for v in row] for row in matrix.to_numpy(dtype=float)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in matrix.columns],
            y=[str(i) for i in matrix.index],
            colorscale=colorscale,
            texttemplate="%{z:" + fmt + "}",
        )
    )
    fig.update_layout(**LAYOUT, title=title)
    return fig


def band(forecast: pd.DataFrame, history: pd.Series, title: str) -> go.Figure:
    """History, point forecast and shaded 80%/95% intervals (columns mean, lower_80, upper_80, lower_95, upper_95)."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=_dates(history.index), y=_values(history), name="history", mode="lines+markers")
    )
    x = _dates(forecast.index)
    for level, alpha in (("95", 0.15), ("80", 0.3)):
        lo, hi = f"lower_{level}", f"upper_{level}"
        if lo in forecast and hi in forecast:
            fig.add_trace(
                go.Scatter(
                    x=x + x[::-1],
                    y=_values(forecast[hi]) + _values(forecast[lo])[::-1],
                    fill="toself",
                    fillcolor=f"rgba(31,78,121,{alpha})",
                    line={"width": 0},
                    name=f"{level}% interval",
                )
            )
    fig.add_trace(
        go.Scatter(
            x=x, y=_values(forecast["mean"]), name="forecast", mode="lines+markers", line={"dash": "dash"}
        )
    )
    fig.update_layout(**LAYOUT, title=title, yaxis={"tickformat": "~s"})
    return fig


def scatter(frame: pd.DataFrame, x: str, y: str, title: str, *, text: str | None = None) -> go.Figure:
    fig = go.Figure(
        go.Scatter(
            x=_values(frame[x]),
            y=_values(frame[y]),
            mode="markers+text" if text else "lines+markers",
            text=list(frame[text]) if text else None,
            textposition="top center",
        )
    )
    fig.update_layout(**LAYOUT, title=title, xaxis={"title": x}, yaxis={"title": y})
    return fig
