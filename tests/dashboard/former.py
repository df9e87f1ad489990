"""The dashboard's former implementations of computations rewritten for CPU, kept as test oracles.

Each rewrite must give what its predecessor gave on real-shaped data; the tests beside the rewrites
compare the two. Copied verbatim from the commit before each rewrite (named per function).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dashboard.components import tables


def records(frame: pd.DataFrame, *, digits: int = 4) -> list[dict[str, Any]]:
    """tables.records before the float columns were converted as one block (bac11a1)."""
    if frame.columns.has_duplicates:
        raise ValueError(f"records: duplicate column names {list(frame.columns[frame.columns.duplicated()])}")
    names = list(frame.columns)
    columns = [tables._cells(column, digits) for _, column in frame.items()]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)] if names else []


def transpose_by_date(frame: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """tables.transpose_by_date before its dates were formatted in numpy (bac11a1)."""
    present = [f for f in fields if f in frame.columns]
    if frame.empty or not present:
        return pd.DataFrame()
    body = frame[present].sort_index(ascending=False).T
    body.columns = [d.strftime("%Y-%m-%d") for d in body.columns]
    body.insert(0, "field", body.index)
    return body.reset_index(drop=True)
