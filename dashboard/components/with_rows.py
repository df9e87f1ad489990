"""Which companies have a restatement or a withheld row at all, once per data version: the per-company
reads of those (`queries.restatements`, `company_changes`, `withheld_rows`: three queries of a cold
Company statements request, one of a price chart) are sent only for them, and the others get the same
empty frame without a round trip. Most companies on most stores have neither (on the 503-symbol bench
store, none restated and two with withheld rows)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from dashboard.data import queries
from dashboard.services import services


def has_rows(part: str, symbol: str) -> bool:
    """Whether `symbol` has rows in `part` ("revised", "changed" or "withheld": `queries.companies_with_rows`)."""
    svc = services()
    found = svc.cache.cached("companies-with-rows", (), lambda: queries.companies_with_rows(svc.router))
    return symbol in found[part]


def read(part: str, symbol: str, columns: Sequence[str], query: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """`query()` for a company with rows in `part`; for the others what it would give, no rows of
    `columns`, without asking the database."""
    return query() if has_rows(part, symbol) else queries.no_rows(columns)
