"""Tables: dash-ag-grid from DataFrames, numbers formatted for reading."""

from __future__ import annotations

import math
from typing import Any

import dash_ag_grid as dag
import numpy as np
import pandas as pd


def records(frame: pd.DataFrame, *, digits: int = 4) -> list[dict[str, Any]]:
    """JSON-safe rows: NaN → None, numbers rounded, dates as ISO text."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    rows = out.to_dict("records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float | np.floating):
                row[key] = None if not math.isfinite(value) else round(float(value), digits)
            elif isinstance(value, np.integer):
                row[key] = int(value)
            elif isinstance(value, pd.Timestamp):
                row[key] = value.strftime("%Y-%m-%d")
            elif value is not None and not isinstance(value, str | int | float | bool):
                row[key] = str(value)
    return rows


def grid(id_: str, frame: pd.DataFrame | None = None, *, height: int = 360) -> dag.AgGrid:
    frame = frame if frame is not None else pd.DataFrame()
    return dag.AgGrid(
        id=id_,
        rowData=records(frame),
        columnDefs=column_defs(frame),
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 90},
        dashGridOptions={"animateRows": False, "pagination": len(frame) > 50, "paginationPageSize": 50},
        style={"height": f"{height}px"},
        className="ag-theme-alpine",
    )


def column_defs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    defs: list[dict[str, Any]] = []
    for i, col in enumerate(frame.columns):
        spec: dict[str, Any] = {"field": str(col), "headerName": str(col)}
        if i == 0:
            spec["pinned"] = "left"
        if pd.api.types.is_numeric_dtype(frame[col]):
            spec["type"] = "numericColumn"
            spec["valueFormatter"] = {
                "function": "params.value == null ? '' : Number(params.value).toLocaleString('en-US', {maximumFractionDigits: 4})"
            }
        defs.append(spec)
    return defs


def transpose_by_date(frame: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """Statement table: one row per field, one column per fiscal date (newest first)."""
    present = [f for f in fields if f in frame.columns]
    if frame.empty or not present:
        return pd.DataFrame()
    body = frame[present].sort_index(ascending=False).T
    body.columns = [d.strftime("%Y-%m-%d") for d in body.columns]
    body.insert(0, "field", body.index)
    return body.reset_index(drop=True)
