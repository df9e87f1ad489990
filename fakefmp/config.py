"""The fake server's settings (from the command line or from tests), and FMP's exact error bodies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

# The transient faults are the default set: a client retries them all. The others are opt-in:
# "badjson" is a complete 200 whose JSON is malformed (retried as a bad body), "5xx-html" a 5xx
# with an HTML page for body, "wrongshape" a well-formed JSON object where an array belongs (not
# retried: the client refuses the response).
DEFAULT_FAULTS = ("5xx", "html", "stall", "truncate", "reset")
FAULT_KINDS = (*DEFAULT_FAULTS, "badjson", "wrongshape", "5xx-html")
ROW_CAP = 5000

# Verbatim from recorded FMP responses (tests/fixtures/fmp/error_*.json).
ERROR_401 = (
    b'{\n  "Error Message": "Invalid API KEY. Feel free to create a Free API Key or visit '
    b'https://site.financialmodelingprep.com/faqs?search=why-is-my-api-key-invalid for more information."\n}'
)
ERROR_403_LEGACY = (
    b'{\n  "Error Message": "Legacy Endpoint : Due to Legacy endpoints being no longer supported - This '
    b"endpoint is only available for legacy users who have valid subscriptions prior August 31, 2025. Please "
    b'visit our documentation page https://site.financialmodelingprep.com/developer/docs for our current APIs."\n}'
)
ERROR_429 = (
    b'{\n  "Error Message": "Limit Reach . Please upgrade your plan or visit our documentation for more details '
    b'at https://site.financialmodelingprep.com/"\n}'
)
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>cloudflare</center></body></html>\n"
)


@dataclass(slots=True)
class FakeConfig:
    """How the fake behaves; every field can be changed at run time through POST /__fake/config."""

    host: str = "127.0.0.1"
    port: int = 0
    symbols: int = 503
    seed: int = 42
    rate_limit: int = 300  # requests per key in any `window_s`
    window_s: float = 60.0
    fault_rate: float = 0.0
    faults: tuple[str, ...] = DEFAULT_FAULTS
    stall_s: float = 30.0
    api_key: str | None = None  # None: any non-empty key is accepted
    as_of: date = field(default_factory=date.today)
    row_cap: int = ROW_CAP
    cassettes: Path | None = None
    record_from: str | None = None
    quiet: bool = False
    price_cache: int = 48
    entitlement_denied: tuple[str, ...] = ()  # symbols answered with 402 (a plan without them)
    bulk_denied: bool = False  # eod-bulk and profile-bulk answered 402 (a plan without bulk)
    restatement_rate: float = 0.0  # random restatements per company-year (fakefmp/events.py); 0: none
    # The FMP plan the fake speaks (fakefmp/plans.py): None is the open default, which serves
    # everything; "free", "starter", "premium", "ultimate" refuse what those plans refuse.
    plan: str | None = None
    unrecorded: str | None = None  # "strict" | "lenient"; None: the plan's (strict, open: lenient)
    bulk_interval_s: float | None = None  # None: the plan's bulk throttle (ultimate: 5 s)
    daily_limit: int | None = None  # None: the plan's (free: 250 a day)
    profile_part_rows: int = 1000  # profiles per profile-bulk part
