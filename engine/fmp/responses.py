"""Turn one FMP HTTP answer (status + body) into validated rows or a typed FMPError."""

from __future__ import annotations

import csv
import functools
import io
import operator
import re
from collections.abc import Callable
from itertools import chain, repeat
from typing import Any, TypedDict

import orjson

from engine.errors import (
    FMPAuthError,
    FMPBadBodyError,
    FMPEntitlementError,
    FMPError,
    FMPMalformedResponseError,
    FMPRateLimitError,
    FMPRequestError,
    FMPServerError,
)
from engine.fmp.endpoints import EndpointSpec

Row = dict[str, Any]


class _Where(TypedDict):
    endpoint: str
    symbol: str | None


MAX_MESSAGE_CHARS = 200
_INTEGER = re.compile(r"-?\d+")
_REDACTED = "***"


def _clean(text: str, secret: str) -> str:
    """FMP's own message, shortened, with the key masked should FMP ever echo it."""
    text = " ".join(text.split())[:MAX_MESSAGE_CHARS]
    return text.replace(secret, _REDACTED) if secret else text


def _error_message(body: bytes) -> str | None:
    """The text of FMP's `{"Error Message": ...}` body, if that is what the body is."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict):
        message = data.get("Error Message")
        if isinstance(message, str):
            return message
    return None


def _looks_like_html(body: bytes, content_type: str) -> bool:
    return "html" in content_type or body.lstrip()[:1] == b"<"


def classify(
    status: int, body: bytes, content_type: str, *, spec: EndpointSpec, symbol: str | None, secret: str
) -> Any:
    """Return the decoded JSON of a successful answer (None for "no data"; the body bytes for a CSV
    endpoint), or raise the typed error.

    Raises:
        FMPAuthError, FMPEntitlementError, FMPRateLimitError, FMPServerError, FMPRequestError,
        FMPBadBodyError: as the status and body say (see engine/errors.py).
    """
    where = _Where(endpoint=spec.path, symbol=symbol)
    if status == 404:
        return None  # a retired path or unknown item: "no data", not an error
    error = _status_error(status, body, where, secret)
    if error is not None:
        raise error
    if spec.csv and body.lstrip()[:1] not in (b"{", b"[", b"<"):
        return body  # CSV text, parsed by csv_rows; a JSON error body or an HTML page goes on below
    data = _decoded(body, content_type, where)
    if isinstance(data, dict) and isinstance(data.get("Error Message"), str):
        raise _error_body(status, _clean(data["Error Message"], secret), where)
    return data


def _status_error(status: int, body: bytes, where: _Where, secret: str) -> FMPError | None:
    """The typed error an HTTP status means (None for a 2xx)."""
    message = _error_message(body) if status >= 400 else None
    text = _clean(message, secret) if message else f"HTTP {status}"
    if status == 401:
        return FMPAuthError(f"API key rejected ({text})", **where)
    if status in (402, 403):
        return FMPEntitlementError(text, status=status, **where)
    if status == 429:
        return FMPRateLimitError(f"rate limited ({text})", **where)
    if status >= 500:
        return FMPServerError(f"HTTP {status}", **where)
    if status >= 400 or status < 200:
        return FMPRequestError(f"HTTP {status}: {text}", **where)
    return None


def _error_body(status: int, text: str, where: _Where) -> FMPError:
    """The typed error for an `{"Error Message": ...}` body on a 2xx."""
    if "invalid api key" in text.lower():
        return FMPAuthError(f"API key rejected ({text})", **where)
    if "limit reach" in text.lower():
        return FMPRateLimitError(f"rate limited ({text})", **where)
    return FMPRequestError(f"error body on HTTP {status}: {text}", **where)


def _decoded(body: bytes, content_type: str, where: _Where) -> Any:
    decoded = True
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        decoded = False
    if not decoded:
        # raised outside the except block so no decoder exception (holding body text) is chained
        kind = "an HTML page" if _looks_like_html(body, content_type) else f"not JSON ({len(body)} bytes)"
        raise FMPBadBodyError(f"body is {kind}", **where)
    return data


_PLAIN_TYPES = frozenset({int, float, type(None)})  # what orjson gives a JSON number or null (bool excluded)


class UncheckedRow(dict[str, Any]):
    """A row with a value of the wrong type in a numeric field (a `"NaN"` string, a bool, a list).

    A bad value is that row's problem, not the response's: the row travels on, marked, so the
    parser checks it in full and quarantines it with its reason while the other rows load.
    """

    __slots__ = ()


def validate_rows(data: Any, *, spec: EndpointSpec, symbol: str | None) -> list[Row]:
    """Check the decoded body has the spec's shape; rows are returned with FMP's names and values.

    Only what breaks the response's shape is refused. A row whose numeric field holds something
    other than a number or null is handed on as an `UncheckedRow` (a dict), for the parser's
    quarantine; every other row is returned untouched.

    Raises:
        FMPMalformedResponseError: not a list of objects, or a required key missing. Names the
            endpoint and symbol.
    """
    if data is None:
        return []
    where = _Where(endpoint=spec.path, symbol=symbol)
    if not isinstance(data, list):
        raise FMPMalformedResponseError(f"expected a JSON array, got {type(data).__name__}", **where)
    if _all_plain(data, spec.required, spec.numeric):
        return data
    required = frozenset(spec.required)
    numeric = spec.numeric
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise FMPMalformedResponseError(f"row {index} is {type(row).__name__}, not an object", **where)
        # Fast paths run in C (key-view comparison, map): this check runs on every price row, and
        # the slow path below only runs once a row has failed.
        if not row.keys() >= required:
            missing = [key for key in spec.required if key not in row]
            raise FMPMalformedResponseError(f"row {index} lacks {', '.join(missing)}", **where)
        if not _PLAIN_TYPES.issuperset(map(type, map(row.get, numeric))):
            data[index] = UncheckedRow(row)
    return data


@functools.cache
def _numeric_getter(numeric: tuple[str, ...]) -> Callable[[Row], tuple[Any, ...]]:
    """All `numeric` values of a row as one tuple (KeyError when one is absent)."""
    if len(numeric) == 1:
        (name,) = numeric
        return lambda row: (row[name],)
    return operator.itemgetter(*numeric)


def _all_plain(data: list[Any], required: tuple[str, ...], numeric: tuple[str, ...]) -> bool:
    """Whether every row is an object with every required and every numeric key, each numeric value
    a number or null: validate_rows' per-row rules, run as one C-level pass per rule over the whole
    answer (a price answer holds thousands of rows). False sends the answer through the per-row
    loop, which finds the row to refuse or mark (a missing optional key only costs that loop)."""
    if not set(map(type, data)) <= {dict}:
        return False
    absent = [key for key in required if key not in numeric]
    if not all(all(map(dict.__contains__, data, repeat(key))) for key in absent):
        return False
    if not numeric:
        return True
    try:
        values = chain.from_iterable(map(_numeric_getter(numeric), data))
        return set(map(type, values)) <= _PLAIN_TYPES
    except KeyError:
        return False


def csv_rows(
    data: Any, *, spec: EndpointSpec, booleans: tuple[str, ...] = (), symbol: str | None = None
) -> list[Row]:
    """Rows of a bulk CSV answer, typed like the JSON endpoints': the spec's numeric columns become
    numbers (an integer where the text is one; empty: null), `booleans` become true/false, the rest
    stays text.

    Raises:
        FMPMalformedResponseError: not CSV text, a required column missing, a non-numeric number.
    """
    if data is None:
        return []
    where = _Where(endpoint=spec.path, symbol=symbol)
    if not isinstance(data, bytes):
        raise FMPMalformedResponseError(f"expected CSV, got {type(data).__name__}", **where)
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig", errors="replace")))
    header = reader.fieldnames or []
    missing = [key for key in spec.required if key not in header]
    if missing and header not in ([], ["symbol"]):  # no body, or a bare header: an empty answer
        raise FMPMalformedResponseError(f"CSV lacks column(s) {', '.join(missing)}", **where)
    numeric = [key for key in spec.numeric if key in header]
    flags = [key for key in booleans if key in header]
    rows: list[Row] = []
    for index, raw in enumerate(reader):
        row: Row = dict(raw)
        for key in numeric:
            text = (row.get(key) or "").strip()
            try:
                row[key] = None if not text else int(text) if _INTEGER.fullmatch(text) else float(text)
            except ValueError:
                raise FMPMalformedResponseError(f"row {index} field {key} is not numeric", **where) from None
        for key in flags:
            row[key] = (row.get(key) or "").strip().lower() == "true"
        rows.append(row)
    return rows
