"""The engine's exception tree: every error the engine raises on purpose is a MycfaError.

    MycfaError
    ├── FMPError            anything from the FMP boundary (carries endpoint and symbol, never the key)
    │   └── ...             (see the FMP section below)
    └── StoreError          anything from the database boundary
        └── ...             (see the store section below)

Low-level exceptions (aiohttp, asyncpg) are translated at their boundary with `raise ... from exc`
(or `from None` where the original text could carry a secret).
"""

from __future__ import annotations


class MycfaError(Exception):
    """Base of every error the engine raises on purpose."""


# --- FMP boundary ------------------------------------------------------------------------------


class FMPError(MycfaError):
    """An FMP request failed; `endpoint` and `symbol` say which (the API key never appears)."""

    def __init__(self, message: str, *, endpoint: str = "", symbol: str | None = None) -> None:
        self.endpoint = endpoint
        self.symbol = symbol
        where = endpoint + (f" [{symbol}]" if symbol else "")
        super().__init__(f"{where}: {message}" if where else message)


# --- Database boundary -------------------------------------------------------------------------


class StoreError(MycfaError):
    """A database operation failed."""
