"""Figure builders: plain figure dicts from pandas (no plotly validation cost), units on every axis.

Dicts rather than graph_objects: plotly's validation of thousands of points costs more than the rest of
a request. Legends sit above the plot area, never over the data.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dashboard.components import formats

DAY_MS = 86_400_000  # a day on a date axis: plotly counts x0 and dx there in milliseconds
# A day grid holds each calendar day from the first to the last: it pays off for daily closes (~1.45
# days a close), not for sparse dates (month ends, fiscal years), which keep their list of dates.
GRID_DAYS_PER_POINT = 2
LEGEND = {"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "left", "x": 0.0}
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12, "color": "#212529"}
BAND_RGB = "31,78,121"


def layout(title: str, *, height: int = 420, legend: bool = True, **extra: Any) -> dict[str, Any]:
    """The shared layout: a left-aligned title, the legend (if any) under it, room for axis titles."""
    base: dict[str, Any] = {
        "title": {
            "text": title,
            "x": 0.0,
            "xanchor": "left",
            "y": 0.98,
            "yanchor": "top",
            "font": {"size": 15},
        },
        "margin": {"l": 70, "r": 20, "t": 80 if legend else 45, "b": 50},
        "showlegend": legend,
        "height": height,
        "font": FONT,
        "legend": LEGEND,
        "hovermode": "closest",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
    }
    base.update(extra)
    return base


def axis(title: str = "", **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "gridcolor": "#e9ecef", "zerolinecolor": "#adb5bd", **extra}


def _values(series: pd.Series, scale: float = 1.0) -> np.ndarray:
    """Values divided by `scale`, rounded to 6 decimals; non-finite ones become NaN, which the JSON
    encoder (orjson) writes as null. An array, not a list: Dash's encoder passes numeric arrays
    through whole, where it walks a list element by element."""
    values: np.ndarray = np.round(series.to_numpy(dtype=float, na_value=np.nan) / scale, 6)
    values[~np.isfinite(values)] = np.nan
    return values


def _x(index: pd.Index) -> list[str]:
    return formats.iso_dates(index) if isinstance(index, pd.DatetimeIndex) else [str(v) for v in index]


def typed_array(values: np.ndarray) -> dict[str, str]:
    """`values` as plotly.js' typed array (little-endian float64, base64), as plotly.py writes numpy
    arrays: 10.7 characters a value that orjson writes as ~12 and formats one by one."""
    data = np.ascontiguousarray(values, dtype="<f8").tobytes()
    return {"dtype": "f8", "bdata": base64.b64encode(data).decode("ascii")}


def _day_offsets(index: pd.Index) -> np.ndarray | None:
    """Each date's day count from the first, when `index` holds ascending dates at midnight (no time
    zone) spanning at most GRID_DAYS_PER_POINT days a date; else None."""
    if not isinstance(index, pd.DatetimeIndex) or index.tz is not None or not len(index):
        return None
    stamps = index.to_numpy()
    days = stamps.astype("datetime64[D]")
    if not (days.astype(stamps.dtype) == stamps).all():
        return None
    offsets: np.ndarray = (days - days[0]).astype(np.int64)
    if (np.diff(offsets) <= 0).any() or offsets[-1] >= GRID_DAYS_PER_POINT * len(offsets):
        return None
    return offsets


def _grid_traces(
    frame: pd.DataFrame, names: Mapping[str, str] | None, scale: float = 1.0, **trace: Any
) -> list[dict[str, Any]] | None:
    """`_column_traces` on a grid of calendar days: each trace's x is its first date (x0) and a day's
    step (dx), its values a typed array with NaN on the days without a value, their line drawn across
    them (connectgaps). The same points as the dated lists, without a list of dates in every trace (six
    of ~10,000 dates each made half of a Portfolio answer's 1.1 MB). None where it does not apply: dates
    that are not days, or a value that is not finite (a gap it must keep)."""
    offsets = _day_offsets(frame.index)
    if offsets is None:
        return None
    # All columns at once, as `_values` converts each: the same element-wise division and rounding.
    values = np.round(frame.to_numpy(dtype=float, na_value=np.nan) / scale, 6)
    if not np.isfinite(values).all():
        return None
    grid = np.full((values.shape[1], int(offsets[-1]) + 1), np.nan)
    grid[:, offsets] = values.T
    first = formats.iso_dates(frame.index[:1])[0]
    labels = names or {}
    return [
        {
            **trace,
            "x0": first,
            "dx": DAY_MS,
            "y": typed_array(row),
            "connectgaps": True,
            "name": labels.get(str(col), str(col)),
        }
        for col, row in zip(frame.columns, grid, strict=True)
    ]


def _column_traces(
    frame: pd.DataFrame, names: Mapping[str, str] | None, scale: float = 1.0, **trace: Any
) -> list[dict[str, Any]]:
    """One trace per column over the frame's index (values divided by `scale`), named by `names`."""
    x = _x(frame.index)
    labels = names or {}
    return [
        {**trace, "x": x, "y": _values(frame[col], scale), "name": labels.get(str(col), str(col))}
        for col in frame.columns
    ]


def _figure(data: list[dict[str, Any]], title: str, **layout_extra: Any) -> dict[str, Any]:
    """A figure whose legend shows only when it has more than one trace."""
    return {"data": data, "layout": layout(title, legend=len(data) > 1, **layout_extra)}


def empty_figure(message: str) -> dict[str, Any]:
    """A figure that only says why there is no chart (no data, invalid input)."""
    return {
        "data": [],
        "layout": layout(
            "",
            height=240,
            xaxis={"visible": False},
            yaxis={"visible": False},
            annotations=[{"text": message, "showarrow": False, "font": {"size": 15, "color": "#6c757d"}}],
        ),
    }


# Distinct line colours (no green or red: the candles use them), handed out in order across every panel,
# so no two series of one chart share a colour.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79",
    "#7f7f7f", "#637939", "#ad494a", "#3182bd", "#e6550d", "#756bb1", "#636363", "#843c39",
)  # fmt: skip
PRICE_PX, VOLUME_PX, PANEL_PX, GAP_PX = 360, 80, 130, 34  # fixed heights: the price keeps its size
LEGEND_PER_ROW = 7  # legend entries that fit a row of the Company chart at 1280 px (estimated)


@dataclass(frozen=True, slots=True)
class Panel:
    """An oscillator under the volume: its axis title, its lines, guide levels and lines drawn as bars."""

    axis: str
    lines: Mapping[str, pd.Series]
    guides: tuple[float, ...] = ()
    bars: tuple[str, ...] = ()


def blank_figure() -> dict[str, Any]:
    """An empty, unlabelled figure for a panel whose page already says why it has nothing (one message
    per failure, not one per panel)."""
    return {
        "data": [],
        "layout": layout(
            "",
            height=40,
            legend=False,
            xaxis={"visible": False},
            yaxis={"visible": False},
            margin={"l": 0, "r": 0, "t": 0, "b": 0},
        ),
    }


def candles(
    prices: pd.DataFrame,
    overlays: Mapping[str, pd.Series],
    title: str,
    *,
    price_axis: str = "Price (USD)",
    panels: Sequence[Panel] = (),
    log: bool = False,
) -> dict[str, Any]:
    """Candlesticks with volume below, indicator overlays on the price axis and one axis per oscillator.

    Every trace is on the one x-axis, so zooming the price zooms the oscillators with it. Each panel has
    a fixed height in pixels (the price's never shrinks as panels are added); `log` puts prices on a log
    scale (30 years read as growth rates, not squashed near zero). The title is the figure's text summary
    (`meta`); the page shows it as the chart's header, and the legend has the top margin to itself.
    """
    x = formats.iso_dates(prices.index)
    colours = iter(PALETTE * 2)
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
            "line": {"width": 1.2, "color": next(colours)},
            "hovertemplate": f"{name} %{{y:,.2f}} USD<extra></extra>",
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
            "marker": {"color": "#adb5bd"},
            "hovertemplate": "%{x|%Y-%m-%d}: %{y:,.0f} shares<extra>volume</extra>",
            "xaxis": "x",
            "yaxis": "y2",
        }
    )
    shapes: list[dict[str, Any]] = []
    extra_axes: dict[str, Any] = {}
    area = PRICE_PX + GAP_PX + VOLUME_PX + len(panels) * (GAP_PX + PANEL_PX)
    top = area  # pixels from the bottom of the plot area, going down panel by panel
    domains = []
    for size in (PRICE_PX, VOLUME_PX, *[PANEL_PX] * len(panels)):
        domains.append([max(top - size, 0) / area, top / area])
        top -= size + GAP_PX
    for i, panel in enumerate(panels):
        name = f"y{i + 3}"
        extra_axes[f"yaxis{i + 3}"] = axis(panel.axis, domain=domains[i + 2], hoverformat=",.2f")
        for label, series in panel.lines.items():
            trace: dict[str, Any] = {
                "x": x,
                "y": _values(series),
                "name": label,
                "hovertemplate": f"{label} %{{y:,.2f}}<extra></extra>",
                "xaxis": "x",
                "yaxis": name,
            }
            if label in panel.bars:
                trace.update(type="bar", marker={"color": next(colours)}, opacity=0.6)
            else:
                trace.update(type="scatter", mode="lines", line={"width": 1.1, "color": next(colours)})
            data.append(trace)
        shapes += [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": name,
                "y0": level,
                "y1": level,
                "line": {"color": "#6c757d", "width": 1, "dash": "dot"},
            }
            for level in panel.guides
        ]
    rows = -(-len(data) // LEGEND_PER_ROW)
    margin_top = 16 + 22 * rows
    bottom = f"y{len(panels) + 2}" if panels else "y2"
    frame = layout(
        "",
        height=area + margin_top + 50,
        hovermode="x",
        margin={"l": 70, "r": 20, "t": margin_top, "b": 50},
        meta={"summary": title},
        shapes=shapes,
        bargap=0.1,
        xaxis=axis(anchor=bottom, rangeslider={"visible": False}, type="date"),
        yaxis=axis(
            price_axis + (" (log scale)" if log else ""),
            domain=domains[0],
            type="log" if log else "linear",
            tickformat=",.0f" if not log else ",~r",
            hoverformat=",.2f",
        ),
        yaxis2=axis("Volume (shares)", domain=domains[1], tickformat="~s"),
        **extra_axes,
    )
    frame["legend"] = {**LEGEND, "y": 1.0, "yref": "container", "yanchor": "top"}
    return {"data": data, "layout": frame}


def lines(
    frame: pd.DataFrame,
    title: str,
    *,
    percent: bool = False,
    yaxis: str = "",
    names: Mapping[str, str] | None = None,
    hover: str = ",.1f",
    day_grid: bool = False,
) -> dict[str, Any]:
    """One line per column over the frame's index; `percent` for fractions shown as %. `day_grid`: daily
    dates are sent as a grid of days (`_grid_traces`), the same points in ~2/3 of the bytes."""
    mode = "lines+markers" if len(frame) < 60 else "lines"
    value = ".1%" if percent else hover
    date_hover = "%{x|%Y-%m-%d}" if isinstance(frame.index, pd.DatetimeIndex) else "%{x}"
    trace: dict[str, Any] = {
        "type": "scatter",
        "mode": mode,
        "hovertemplate": f"{date_hover}: %{{y:{value}}}",
    }
    gridded = _grid_traces(frame, names, **trace) if day_grid else None
    data = gridded if gridded is not None else _column_traces(frame, names, **trace)
    return _figure(
        data,
        title,
        yaxis=axis(yaxis, tickformat=".0%" if percent else ",~r"),
        xaxis=axis(type="date") if gridded is not None else axis(),
    )


def bars(
    frame: pd.DataFrame,
    title: str,
    *,
    names: Mapping[str, str] | None = None,
    scale: float = 1e9,
    unit: str = "USD bn",
    x_title: str = "",
) -> dict[str, Any]:
    """Grouped bars per column, values divided by `scale` and shown in `unit`; the index labels the bars."""
    data = _column_traces(frame, names, scale, type="bar", hovertemplate=f"%{{x}}: %{{y:,.1f}} {unit}")
    return _figure(
        data,
        title,
        barmode="group",
        xaxis=axis(x_title, type="category"),
        yaxis=axis(unit, tickformat=",.0f"),
    )


def heatmap(
    matrix: pd.DataFrame,
    title: str,
    *,
    fmt: str = ".2f",
    colorscale: str | list[list[Any]] = "RdBu",
    zmin: float | None = None,
    zmax: float | None = None,
    zmid: float | None = None,
    x_title: str = "",
    y_title: str = "",
    value_title: str = "",
    height: int = 420,
) -> dict[str, Any]:
    """A labelled heatmap; the first row is drawn at the top, as in a table."""
    z = [[None if not np.isfinite(v) else float(v) for v in row] for row in matrix.to_numpy(dtype=float)]
    trace: dict[str, Any] = {
        "type": "heatmap",
        "z": z,
        "x": [str(c) for c in matrix.columns],
        "y": [str(i) for i in matrix.index],
        "colorscale": colorscale,
        "texttemplate": "%{z:" + fmt + "}",
        "hovertemplate": f"{y_title} %{{y}}, {x_title} %{{x}}: %{{z:{fmt}}}<extra></extra>",
        "colorbar": {"title": {"text": value_title}},
        "xgap": 1,
        "ygap": 1,
    }
    for key, value in (("zmin", zmin), ("zmax", zmax), ("zmid", zmid)):
        if value is not None:
            trace[key] = value
    return {
        "data": [trace],
        "layout": layout(
            title,
            height=height,
            legend=False,
            xaxis=axis(x_title, type="category", side="bottom"),
            yaxis=axis(y_title, type="category", autorange="reversed"),
        ),
    }


def fiscal_year_labels(index: pd.Index) -> list[str]:
    """ "FY" and the year of each date (as `strftime("FY%Y")` writes it, without a call per date)."""
    return [f"FY{year:04d}" for year in pd.DatetimeIndex(index).year.tolist()]


def band(
    forecast: pd.DataFrame,
    history: pd.Series,
    title: str,
    *,
    scale: float = 1.0,
    unit: str = "USD",
    fiscal_years: bool = False,
) -> dict[str, Any]:
    """History, point forecast and shaded 80%/95% intervals (columns mean, lower_80, upper_80, lower_95, upper_95).

    `fiscal_years` labels periods as categories "FY2024" (the year each period ends) instead of placing
    them on a date axis.
    """
    if not fiscal_years:
        hx, x, when, x_axis = (
            formats.iso_dates(history.index),
            formats.iso_dates(forecast.index),
            "%{x|%Y-%m-%d}",
            axis(type="date"),
        )
    else:
        hx, x = fiscal_year_labels(history.index), fiscal_year_labels(forecast.index)
        when, x_axis = "%{x}", axis(type="category")
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": hx,
            "y": _values(history, scale),
            "name": "history",
            "mode": "lines+markers" if len(history) < 60 else "lines",
            "hovertemplate": f"{when}: %{{y:,.2f}} {unit}<extra>actual</extra>",
        }
    ]
    for level, alpha in (("95", 0.15), ("80", 0.3)):
        lo, hi = f"lower_{level}", f"upper_{level}"
        if lo in forecast and hi in forecast:
            data.append(
                {
                    "type": "scatter",
                    "x": x + x[::-1],
                    "y": np.concatenate([_values(forecast[hi], scale), _values(forecast[lo], scale)[::-1]]),
                    "fill": "toself",
                    "fillcolor": f"rgba({BAND_RGB},{alpha})",
                    "mode": "lines",
                    "line": {"width": 0},
                    "hoverinfo": "skip",
                    "name": f"{level}% interval",
                }
            )
    bounds = [c for c in ("lower_80", "upper_80", "lower_95", "upper_95") if c in forecast]
    custom = (forecast[bounds].to_numpy(dtype=float) / scale).round(6).tolist() if len(bounds) == 4 else None
    point: dict[str, Any] = {
        "type": "scatter",
        "x": x,
        "y": _values(forecast["mean"], scale),
        "name": "forecast",
        "mode": "lines+markers",
        "line": {"dash": "dash", "color": f"rgb({BAND_RGB})"},
        "hovertemplate": f"{when}: %{{y:,.2f}} {unit}<extra>forecast</extra>",
    }
    if custom is not None:
        point["customdata"] = custom
        point["hovertemplate"] = (
            f"{when}: %{{y:,.2f}} {unit}<br>80%: %{{customdata[0]:,.2f}} to %{{customdata[1]:,.2f}}"
            f"<br>95%: %{{customdata[2]:,.2f}} to %{{customdata[3]:,.2f}}<extra>forecast</extra>"
        )
    data.append(point)
    return {
        "data": data,
        "layout": layout(title, xaxis=x_axis, yaxis=axis(unit, tickformat=",~r")),
    }


def percent_tick(values: pd.Series) -> str:
    """A percent tick format with as many decimals as the values' spread needs, so that ticks over a
    narrow range (11.0 % to 11.5 %) never read alike ("11 %, 11 %"); trailing zeros are trimmed."""
    array = values.to_numpy(dtype=float)  # on the array: the Series' mask, max and min cost ~0.1 ms
    finite = array[np.isfinite(array)]
    span = float(finite.max() - finite.min()) * 100 if len(finite) > 1 else 0.0
    if span <= 0:
        return ".1~%"
    step = span / 10  # plotly draws up to about ten ticks on a tall axis
    return f".{min(max(0, -math.floor(math.log10(step))), 4)}~%"


def scatter(
    frame: pd.DataFrame,
    x: str,
    y: str,
    title: str,
    *,
    x_title: str = "",
    y_title: str = "",
    percent: bool = False,
    name: str = "",
) -> dict[str, Any]:
    """A line through points (e.g. the efficient frontier); `percent` for fractions on both axes."""
    hover = ".1%" if percent else ",.2f"
    x_tick, y_tick = (percent_tick(frame[x]), percent_tick(frame[y])) if percent else (",~r", ",~r")
    trace = {
        "type": "scatter",
        "x": _values(frame[x]),
        "y": _values(frame[y]),
        "mode": "lines+markers",
        "name": name or y,
        "hovertemplate": f"{x_title or x} %{{x:{hover}}}<br>{y_title or y} %{{y:{hover}}}<extra></extra>",
    }
    return {
        "data": [trace],
        "layout": layout(
            title,
            legend=False,
            xaxis=axis(x_title or x, tickformat=x_tick),
            yaxis=axis(y_title or y, tickformat=y_tick),
        ),
    }
