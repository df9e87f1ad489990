"""The engine's exception tree: every error the engine raises on purpose is a MycfaError.

    MycfaError
    ├── ConfigError         a missing or malformed setting (one line, never a secret)
    ├── UsageError          the command line asks for something impossible (an unknown symbol)
    ├── RunLockedError      another run holds the run lock: exit at once, touching nothing
    ├── ItemFailed          one run item failed; carries its cause and the requests it spent
    ├── FMPError            anything from the FMP boundary (carries endpoint and symbol, never the key)
    │   ├── FMPAuthError              401 / "Invalid API KEY": fatal for the run
    │   ├── FMPEntitlementError       402 / 403: skip the item, record `status` and `reason`
    │   ├── FMPQuotaError             the plan's requests a day are spent: stop the run, resume tomorrow
    │   ├── FMPRequestError           other 4xx: a bug in the request
    │   ├── FMPMalformedResponseError JSON of the wrong shape / missing keys (a bad value: that row is quarantined)
    │   └── FMPTransientError         retried at the boundary, raised only when retries run out
    │       ├── FMPRateLimitError         429 "Limit Reach"
    │       ├── FMPServerError            5xx
    │       ├── FMPTimeoutError           stalled response
    │       ├── FMPConnectionError        refused / reset connection
    │       ├── FMPTruncatedBodyError     body shorter than announced
    │       └── FMPBadBodyError           HTML or other non-JSON body on a 200
    └── StoreError          anything from the database boundary (a statement failed or timed out)
        ├── StoreUnavailable          unreachable, or the connection dropped (batch retries spent)
        ├── MigrationError            a schema file failed or changed after being applied
        └── LoadError                 a batch failed; none of it was committed

Low-level exceptions are translated at the boundary that owns the library, with `raise ... from exc`
(or `from None` where the original text could carry a secret): aiohttp's in engine/fmp/client.py,
asyncpg's (and the socket's OSError) in engine/db/pool.py (`run_batch`, `create_pool`, `store_boundary`).
So the run loop and the CLI catch only this tree.
"""

from __future__ import annotations


def _located(message: str, place: str, symbol: str | None) -> str:
    """`message` behind where it happened: `place [SYMBOL]: message` (as much of it as is known)."""
    where = place + (f" [{symbol}]" if symbol else "")
    return f"{where}: {message}" if where else message


class MycfaError(Exception):
    """Base of every error the engine raises on purpose."""


class ConfigError(MycfaError):
    """A missing or malformed setting; its message is one line and never holds a secret."""


class UsageError(MycfaError):
    """The command asks for something that cannot be done (e.g. `--symbols` names a non-constituent)."""


class RunLockedError(MycfaError):
    """Another run holds the lock: this one must exit at once without touching anything."""


class ItemFailed(MycfaError):
    """Raised by a run item's handler to fail the item while still reporting the requests it spent."""

    def __init__(self, cause: BaseException, requests: int) -> None:
        self.cause = cause
        self.requests = requests
        super().__init__(str(cause))


# --- FMP boundary ------------------------------------------------------------------------------


class FMPError(MycfaError):
    """An FMP request failed; `endpoint` and `symbol` say which (the API key never appears)."""

    def __init__(self, message: str, *, endpoint: str = "", symbol: str | None = None) -> None:
        self.endpoint = endpoint
        self.symbol = symbol
        super().__init__(_located(message, endpoint, symbol))


class FMPAuthError(FMPError):
    """FMP rejected the API key (401 or an "Invalid API KEY" body): fatal for the whole run."""


class FMPEntitlementError(FMPError):
    """402/403: this item is outside the plan (or a legacy path); skip it and record `reason`."""

    def __init__(
        self, message: str, *, endpoint: str = "", symbol: str | None = None, status: int = 0
    ) -> None:
        self.status = status
        self.reason = message
        super().__init__(f"HTTP {status}: {message}", endpoint=endpoint, symbol=symbol)


class FMPQuotaError(FMPError):
    """The plan's daily requests (less a reserve) are spent: raised before sending, so the run stops
    with this message instead of meeting FMP's 429s; its items stay pending for the next run."""


class FMPRequestError(FMPError):
    """Any other 4xx: the request itself is wrong (a bug, not retried); `status` 0 for a 2xx error body."""

    def __init__(
        self, message: str, *, endpoint: str = "", symbol: str | None = None, status: int = 0
    ) -> None:
        self.status = status
        super().__init__(message, endpoint=endpoint, symbol=symbol)


class FMPMalformedResponseError(FMPError):
    """A 200 whose JSON has the wrong shape or lacks required keys (not retried); bad values are per row."""


class FMPTransientError(FMPError):
    """Retried at the HTTP boundary; raised to callers only once the retries are exhausted."""


class FMPRateLimitError(FMPTransientError):
    """429 "Limit Reach": the plan's rate (or daily quota) was hit; backs off for about a window."""


class FMPServerError(FMPTransientError):
    """5xx from FMP."""


class FMPTimeoutError(FMPTransientError):
    """No response (or no complete body) within the client's timeout."""


class FMPConnectionError(FMPTransientError):
    """The connection failed or was reset before a complete response arrived."""


class FMPTruncatedBodyError(FMPTransientError):
    """The body ended before its announced length (or mid-chunk)."""


class FMPBadBodyError(FMPTransientError):
    """A 200 whose body is not JSON (an HTML page, garbage): retried, as FMP's edge sometimes does this."""


# --- Database boundary -------------------------------------------------------------------------


class StoreError(MycfaError):
    """A database operation failed."""


class StoreUnavailable(StoreError):
    """The database could not be reached, or the connection kept dropping after the batch retries."""


class MigrationError(StoreError):
    """A schema file failed to apply (or changed after it was applied); `filename` says which."""

    def __init__(self, message: str, *, filename: str = "") -> None:
        self.filename = filename
        super().__init__(f"{filename}: {message}" if filename else message)


class LoadError(StoreError):
    """A batch could not be loaded (nothing of it was committed); `dataset` and `symbol` say which."""

    def __init__(self, message: str, *, dataset: str = "", symbol: str | None = None) -> None:
        self.dataset = dataset
        self.symbol = symbol
        super().__init__(_located(message, dataset, symbol))
