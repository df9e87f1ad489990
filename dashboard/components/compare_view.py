"""Compare's history: one metric for several companies, lined up by year, as a chart and a table.

FY rows line up by fiscal year (each company's year end shown: AAPL's FY2024 ended in September,
MSFT's in June), CAL rows by calendar year, TTM rows by the calendar quarter their period ends in.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dashboard.components import catalogue, charts, formats, history_data
from serving import basis as period_basis

YEAR_COLUMN = {"FY": "fiscal_year", "CAL": "calendar_year", "TTM": None}
DASHES = ("dash", "dot", "dashdot")


def windowed(frames: Mapping[str, pd.DataFrame], basis: str, years: int) -> dict[str, pd.DataFrame]:
    """Each company's rows of the last `years` years, counted back from the latest period of any of them
    (so the companies share one window)."""
    column = YEAR_COLUMN[basis]
    present = [f for f in frames.values() if not f.empty]
    if not present:
        return {s: f for s, f in frames.items()}
    if column is None:
        last = max(pd.to_datetime(f["fiscal_date"]).max() for f in present)
        start = last - pd.DateOffset(years=years)
        return {
            s: f[pd.to_datetime(f["fiscal_date"]) > start] if not f.empty else f for s, f in frames.items()
        }
    last_year = max(int(f[column].max()) for f in present)
    return {s: f[f[column] > last_year - years] if not f.empty else f for s, f in frames.items()}


def long_table(frames: Mapping[str, pd.DataFrame], basis: str, metric: str) -> pd.DataFrame:
    """symbol, period (the aligned label), period_end, value, not_meaningful (bool): the CSV's rows."""
    rows = []
    key = history_data.ALIGN[basis]
    for symbol, frame in frames.items():
        if frame.empty or metric not in frame.columns:
            continue
        nm = period_basis.not_meaningful(frame).get(metric, pd.Series(False, index=frame.index))
        for (_, row), bad in zip(frame.iterrows(), nm.to_numpy(), strict=True):
            rows.append(
                {
                    "symbol": symbol,
                    "period": label(basis, row[key]),
                    "period_end": row["period_end"],
                    "value": float(row[metric]) if np.isfinite(float(row[metric])) else np.nan,
                    "not_meaningful": bool(bad),
                }
            )
    return pd.DataFrame(rows, columns=["symbol", "period", "period_end", "value", "not_meaningful"])


def label(basis: str, value: Any) -> str:
    if basis == "FY":
        return f"FY{int(value)}"
    return str(int(value)) if basis == "CAL" else str(value)


def year_ends(frames: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Each company's fiscal-year end month (the latest FY's), e.g. "September"."""
    out = {}
    for symbol, frame in frames.items():
        if not frame.empty and "fiscal_year_end" in frame.columns:
            ends = pd.to_datetime(frame["fiscal_year_end"]).dropna()
            if not ends.empty:
                out[symbol] = calendar.month_name[ends.iloc[-1].month]
    return out


def figure(
    long: pd.DataFrame,
    overlays: Sequence[tuple[str, pd.DataFrame]],
    basis: str,
    metric: str,
    ends: Mapping[str, str],
) -> dict[str, Any]:
    """One line per company (hover: its period end), dashed lines for the medians (hover: how many)."""
    spec = catalogue.BY_KEY[metric]
    kind = formats.KINDS[spec.kind]
    fmt, scale = kind.d3, kind.scale
    data: list[dict[str, Any]] = []
    for symbol, rows in long.groupby("symbol", sort=False):
        end = f" (FY ends {ends[str(symbol)]})" if basis == "FY" and str(symbol) in ends else ""
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{symbol}{end}",
                "x": rows["period"].tolist(),
                "y": _scaled(rows["value"], scale),
                "customdata": [str(d) for d in rows["period_end"]],
                "hovertemplate": f"{symbol} %{{x}} (period end %{{customdata}}): %{{y:{fmt}}}<extra></extra>",
            }
        )
    for i, (name, medians) in enumerate(overlays):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"dash": DASHES[i % len(DASHES)], "width": 2},
                "name": name,
                "x": [label(basis, v) for v in medians[history_data.ALIGN[basis]]],
                "y": _scaled(medians["median"], scale),
                "customdata": medians["n"].astype(int).tolist(),
                "hovertemplate": f"{name} %{{x}}: %{{y:{fmt}}} (median of %{{customdata}})<extra></extra>",
            }
        )
    order = sorted({x for trace in data for x in trace["x"]})
    unit = catalogue.UNITS.get(spec.kind, "")
    title = f"{spec.label}: {history_data.BASES[basis].lower()}"
    shown = charts.layout(
        title,
        legend=True,
        xaxis=charts.axis(_x_title(basis), type="category", categoryorder="array", categoryarray=order),
        yaxis=charts.axis(unit, tickformat=fmt),
        meta={"summary": f"{title}, {len(data)} lines"},
    )
    return {"data": data, "layout": shown}


def _x_title(basis: str) -> str:
    return {"FY": "Fiscal year", "CAL": "Calendar year", "TTM": "Quarter the twelve months end in"}[basis]


def _scaled(values: pd.Series, scale: float) -> list[float | None]:
    array = values.to_numpy(dtype=float) * scale
    return [round(float(v), 6) if np.isfinite(v) else None for v in array]


def wide_table(
    long: pd.DataFrame, overlays: Sequence[tuple[str, pd.DataFrame]], basis: str, ends: Mapping[str, str]
) -> pd.DataFrame:
    """Rows: companies then medians; columns: "Year ends", then each period (oldest first); "n/m" cells."""
    records: dict[str, dict[str, Any]] = {}
    for row in long.itertuples(index=False):
        cell: Any = period_basis.NM if row.not_meaningful else row.value
        records.setdefault(str(row.symbol), {})[str(row.period)] = cell
    for name, medians in overlays:
        records[name] = {
            label(basis, k): v
            for k, v in zip(medians[history_data.ALIGN[basis]], medians["median"], strict=True)
        }
    columns = sorted({c for values in records.values() for c in values})
    frame = pd.DataFrame.from_dict(records, orient="index").reindex(columns=columns)
    frame.insert(0, "year_ends", [ends.get(name, "") for name in frame.index])
    frame.insert(0, "company", frame.index)
    return frame.reset_index(drop=True)
