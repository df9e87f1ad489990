"""What a line trace plots, whichever way its figure encodes it: dated lists (x, y), or a grid of days
(x0, dx and a typed array of values, NaN on the days without one; `charts.lines(day_grid=True)`)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np

DAY_MS = 86_400_000


def values(array: Any) -> np.ndarray:
    """A list of numbers (None for null) or a plotly typed array ({dtype: "f8", bdata}) as float64."""
    if isinstance(array, Mapping):
        assert array["dtype"] == "f8", array["dtype"]
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype="<f8")
    return np.array([np.nan if v is None else v for v in array], dtype=float)


def points(trace: Mapping[str, Any]) -> tuple[list[str], np.ndarray]:
    """The trace's x (ISO dates on a grid of days) and y, as the dated lists give them."""
    y = values(trace["y"])
    if "x" in trace:
        return [str(x) for x in trace["x"]], y
    assert trace["dx"] == DAY_MS, trace["dx"]
    assert trace.get("connectgaps") is True  # the line runs across the days without a value
    days = np.flatnonzero(~np.isnan(y))
    dates = np.datetime64(trace["x0"], "D") + days
    return np.datetime_as_string(dates, unit="D").tolist(), y[days]
