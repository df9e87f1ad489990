"""Parse and validate FMP rows (FMP's field names, as the client returns them) into typed rows.

One module per job: `prices` (its value rules in `price_rules`, applied per row and, for clean
batches, per column by `price_batch`), `statements`, and `common` (the outcome type, the refusal,
date/number/symbol checks). Every input row ends up either in the typed rows or in the quarantine
rows with a reason: nothing is dropped silently, nothing invalid reaches the main tables.
"""

from __future__ import annotations

from engine.db.validate.common import Invalid, Parsed, canonical_json, parse_day
from engine.db.validate.prices import parse_prices
from engine.db.validate.statements import BALANCE_TOLERANCE, parse_statements

__all__ = [
    "BALANCE_TOLERANCE",
    "Invalid",
    "Parsed",
    "canonical_json",
    "parse_day",
    "parse_prices",
    "parse_statements",
]
