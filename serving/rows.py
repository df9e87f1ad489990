"""Rows of a derived table as the pages read them: one conversion both programs use, so a table the
engine computes from what it read back equals the one the dashboard computes from the same rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

OBJECT_TEXT = ("shares_source",)
NOT_FLOAT = frozenset(
    {
        "symbol",
        "basis",
        "fiscal_date",
        "fiscal_year",
        "period",
        "fiscal_year_end",
        "known_since",
        "sector",
        "metric",
        "n",
        "altman_model",
        "name",
        "shares_source",
        "price_date",
        "period_end",
        "stale",
        "not_meaningful",
    }
)


def typed(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """The rows of a derived table as a frame, its double-precision columns as float64 (NULL → NaN): every
    column but the keys and texts of NOT_FLOAT, which pandas types as it would from the rows.

    The floats go through one numpy array: converting ~50 object columns one by one (`pd.to_numeric`
    each) cost most of a metric_history read.
    """
    names = list(columns)
    floats = [at for at, name in enumerate(names) if name not in NOT_FLOAT]
    matrix = np.array([[row[at] for at in floats] for row in rows], dtype=float).reshape(
        len(rows), len(floats)
    )
    where = {at: j for j, at in enumerate(floats)}
    data = {
        name: matrix[:, where[at]]
        if at in where
        # labels the analytics build as Python objects stay objects (None where absent)
        else pd.Series([row[at] for row in rows], dtype=object if name in OBJECT_TEXT else None)
        for at, name in enumerate(names)
    }
    return pd.DataFrame(data, columns=names)
