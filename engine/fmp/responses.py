"""Turn one FMP HTTP answer (status + body) into validated rows or a typed FMPError."""

from __future__ import annotations

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
    """Return the decoded JSON of a successful answer (None for "no data"), or raise the typed error.

    Raises:
        FMPAuthError, FMPEntitlementError, FMPRateLimitError, FMPServerError, FMPRequestError,
        FMPBadBodyError: as the status and body say (see engine/errors.py).
    """
    where = _Where(endpoint=spec.path, symbol=symbol)
    if status == 404:
        return None  # a retired path or unknown item: "no data", not an error
    message = _error_message(body) if status >= 400 else None
    text = _clean(message, secret) if message else f"HTTP {status}"
    error: FMPError | None = None
    if status == 401:
        error = FMPAuthError(f"API key rejected ({text})", **where)
    elif status in (402, 403):
        error = FMPEntitlementError(text, status=status, **where)
    elif status == 429:
        error = FMPRateLimitError(f"rate limited ({text})", **where)
    elif status >= 500:
        error = FMPServerError(f"HTTP {status}", **where)
    elif status >= 400 or status < 200:
        error = FMPRequestError(f"HTTP {status}: {text}", **where)
    if error is not None:
        raise error
    decoded = True
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        decoded = False
    if not decoded:
        # raised outside the except block so no decoder exception (holding body text) is chained
        kind = "an HTML page" if _looks_like_html(body, content_type) else f"not JSON ({len(body)} bytes)"
        raise FMPBadBodyError(f"body is {kind}", **where)
    if isinstance(data, dict) and isinstance(data.get("Error Message"), str):
        text = _clean(data["Error Message"], secret)
        if "invalid api key" in text.lower():
            raise FMPAuthError(f"API key rejected ({text})", **where)
        if "limit reach" in text.lower():
            raise FMPRateLimitError(f"rate limited ({text})", **where)
        raise FMPRequestError(f"error body on HTTP {status}: {text}", **where)
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
