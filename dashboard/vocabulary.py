"""The dashboard's statement vocabulary in one place: statement kinds, fiscal period labels, period views.

The dashboard image ships without the engine, so these are not imported from `engine.fmp.endpoints`;
tests/test_vocabulary.py proves that they agree with the engine's and with the `statements` CHECKs.
"""

from __future__ import annotations

STATEMENT_KINDS = ("income", "balance", "cashflow", "ratios", "key_metrics")
QUARTERS = ("Q1", "Q2", "Q3", "Q4")
FISCAL_PERIODS = ("FY", *QUARTERS)
"""`statements.period`: the label FMP gives each row."""

# What a page can show: the FY rows, the quarters, or trailing twelve months built from the quarters.
VIEWS = {"FY": "Annual", "Q": "Quarterly", "TTM": "TTM"}
VIEW_NOUNS = {"FY": "annual", "Q": "quarterly", "TTM": "TTM"}


def fiscal_labels(view: str) -> tuple[str, ...]:
    """The stored period labels a view reads: ("FY",) for "FY", the four quarters for "Q" and "TTM"."""
    return ("FY",) if view == "FY" else QUARTERS
