"""Callback responses to JSON in one orjson pass, the same JSON Dash's own encoder writes.

Dash serialises every callback answer with plotly's `to_json_plotly`. That tries orjson first, but an
answer holding a component (a table, a card: most of ours) makes orjson refuse it, and plotly then walks
the whole answer in Python (`clean_to_json_compatible`, a call per dict, list and cell) before encoding
it again: 60-70 % of a screener answer's CPU. Here orjson encodes everything it knows natively and asks
`_default` only for what it does not (components, pandas objects, NaT), converted as plotly's walk
converts them; the output is escaped for HTML (`<`, `>`, `/`, U+2028/9) as plotly escapes it.
"""

from __future__ import annotations

import decimal
from typing import Any

import dash._callback
import numpy as np
import orjson
import pandas as pd

OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
# plotly.io._json's _swap_orjson: a response is embedded in pages, so these never appear raw.
ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("/", "\\u002f"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))
# The ASCII ones are replaced in orjson's bytes, the line separators (rarely present) in the text: a
# replace on the decoded text cost ~1 ms each on a Portfolio answer (1.4 MB; a str holding one non-ASCII
# character takes two bytes a character), ~0.07 ms on the bytes, where a search for a three-byte UTF-8
# sequence costs ~1 ms and one for the character in the text nothing.
BYTE_ESCAPES = tuple((raw.encode(), escaped.encode()) for raw, escaped in ESCAPES if raw.isascii())
TEXT_ESCAPES = tuple((raw, escaped) for raw, escaped in ESCAPES if not raw.isascii())
NUMERIC_KINDS = frozenset("biuf")


def _array(values: np.ndarray[Any, Any]) -> Any:
    """A numpy array orjson refused (strings, objects): plain values, as plotly's walk gives them."""
    if values.dtype.kind == "M":
        return np.datetime_as_string(values).tolist()
    return values.tolist()


def _pandas(obj: pd.Series | pd.Index) -> Any:
    if obj.dtype.kind in NUMERIC_KINDS:
        return np.ascontiguousarray(obj.to_numpy())
    if obj.dtype.kind == "M":
        if isinstance(obj, pd.Series):
            return list(obj.dt.to_pydatetime())
        return list(pd.DatetimeIndex(obj).to_pydatetime())
    return obj.tolist()


def _default(obj: Any) -> Any:
    """What orjson cannot encode itself, converted the way plotly's `clean_to_json_compatible` does."""
    if obj is pd.NaT or obj is pd.NA:
        return None
    if isinstance(obj, pd.Timestamp):
        return obj.to_pydatetime(warn=False)
    if isinstance(obj, pd.Series | pd.Index):
        return _pandas(obj)
    if isinstance(obj, np.ndarray):
        return _array(obj)
    if isinstance(obj, decimal.Decimal):
        return float(obj)
    to_plotly_json = getattr(obj, "to_plotly_json", None)  # Dash components and plotly figures
    if to_plotly_json is not None:
        return to_plotly_json()
    tolist = getattr(obj, "tolist", None)
    if tolist is not None:
        return tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def to_json(value: Any) -> str:
    """`value` as the JSON text of a Dash response."""
    data = orjson.dumps(value, default=_default, option=OPTIONS)
    for raw_byte, escaped_bytes in BYTE_ESCAPES:
        if raw_byte in data:
            data = data.replace(raw_byte, escaped_bytes)
    text = data.decode()
    for raw, escaped in TEXT_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return text


def install() -> None:
    """Make Dash answer callbacks through `to_json` (its callback module holds its own reference)."""
    dash._callback.to_json = to_json  # type: ignore[attr-defined]
