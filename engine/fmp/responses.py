"""Turn one FMP HTTP answer (status + body) into validated rows or a typed FMPError."""

from __future__ import annotations

import functools
import operator
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
_REDACTED = "***"


def _clean(text: str, secret: str) -> str:
    """FMP's own message, shortened, with the key masked should FMP ever echo it."""
    text = " ".join(text.split())
    # masked before the cut: a cut through the key would leave part of it unmasked
    return (text.replace(secret, _REDACTED) if secret else text)[:MAX_MESSAGE_CHARS]


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


def _refusal_text(body: bytes, content_type: str) -> str | None:
    """FMP's own words on a 4xx: the `Error Message` of a JSON body, or else a plain-text body.

    FMP sends its 400 and 402 refusals as plain text under `application/json` ("Restricted
    Endpoint: ...", "Premium Query Parameter: 'limit' must be between 0 and 5"); an HTML page is
    an edge's, not FMP's, and says nothing useful.
    """
    message = _error_message(body)
    if message is not None:
        return message
    if not body.strip() or _looks_like_html(body, content_type):
        return None
    head = body.lstrip()[:1]
    if head in (b"{", b"["):
        return None  # JSON without a message: nothing to quote
    return body[: MAX_MESSAGE_CHARS * 4].decode("utf-8", errors="replace")


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
    error = _status_error(status, body, content_type, where, secret)
    if error is not None:
        raise error
    if spec.csv and body.lstrip()[:1] not in (b"{", b"[", b"<"):
        return body  # CSV text, parsed by csv_rows; a JSON error body or an HTML page goes on below
    data = _decoded(body, content_type, where)
    if isinstance(data, dict) and isinstance(data.get("Error Message"), str):
        raise _error_body(status, _clean(data["Error Message"], secret), where)
    return data


def _status_error(status: int, body: bytes, content_type: str, where: _Where, secret: str) -> FMPError | None:
    """The typed error an HTTP status means (None for a 2xx), quoting FMP's words when it gave any."""
    message = _refusal_text(body, content_type) if 400 <= status < 500 else None
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
        return FMPRequestError(f"HTTP {status}: {text}", status=status, **where)
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
