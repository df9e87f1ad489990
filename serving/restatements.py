"""Restatements per company as screener columns: how often its statements were restated over the last
1, 3 and 5 years, and the largest change (signed: its direction) in each window.

A restatement is one restated statement period seen once (schema 173's `statement_changes` rows of one
symbol, kind, period, fiscal date and `seen_at`), as the Point in time page counts them; revisions that
moved only share counts and per-share figures (splits) are left out. Windows end at the reference day
(the latest close the screener table reflects, not the wall clock) and look back from it by
`restated_on` (the restating filing's date when later than the replaced one, else the day seen).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

YEARS = (1, 3, 5)
COUNTS = tuple(f"restatements_{n}y" for n in YEARS)
CHANGES = tuple(f"restatement_change_{n}y" for n in YEARS)
COLUMNS = (*COUNTS, *CHANGES)
# statement_changes' columns this module reads.
EVENT_COLUMNS = ("symbol", "kind", "period", "fiscal_date", "seen_at", "restated_on", "change")
_EVENT_KEY = ["symbol", "kind", "period", "fiscal_date", "seen_at"]


def events(changes: pd.DataFrame) -> pd.DataFrame:
    """One row per restatement: symbol, its `restated_on` (the earliest of its lines) and `largest`, the
    change of its line that moved most (NaN when no line had a measurable change: old was 0 or absent).

    Args:
        changes: statement_changes rows without the split-only ones (EVENT_COLUMNS).
    """
    if changes.empty:
        return pd.DataFrame(
            {
                "symbol": pd.Series(dtype=object),
                "restated_on": pd.Series(dtype="datetime64[ns]"),
                "largest": pd.Series(dtype=float),
            }
        )
    frame = changes[list(EVENT_COLUMNS)].copy()
    frame["change"] = pd.to_numeric(frame["change"], errors="coerce").astype(float)
    frame["size"] = frame["change"].abs().fillna(-1.0)
    frame["restated_on"] = pd.to_datetime(frame["restated_on"])
    ordered = frame.sort_values([*_EVENT_KEY, "size"], ascending=[True] * len(_EVENT_KEY) + [False])
    grouped = ordered.groupby(_EVENT_KEY, sort=False)
    out = pd.DataFrame(
        {"restated_on": grouped["restated_on"].min(), "largest": grouped["change"].first()}
    ).reset_index()
    return out[["symbol", "restated_on", "largest"]]


def restatement_columns(
    changes: pd.DataFrame, symbols: pd.Index, reference: pd.Timestamp | None
) -> pd.DataFrame:
    """COLUMNS for each of `symbols` (float, the counts 0 for a company never restated, the changes NaN).

    Args:
        changes: statement_changes rows without the split-only ones (EVENT_COLUMNS).
        symbols: the screener table's index.
        reference: the day the windows end (None: every restatement counts in every window).
    """
    table = events(changes)
    out = pd.DataFrame(index=symbols)
    for years, count, change in zip(YEARS, COUNTS, CHANGES, strict=True):
        if reference is None:
            inside = table
        else:
            start = pd.Timestamp(reference) - pd.DateOffset(years=years)
            inside = table[table["restated_on"] > start]
        out[count] = inside.groupby("symbol").size().reindex(symbols).fillna(0).astype(float)
        out[change] = _largest(inside).reindex(symbols).astype(float)
    return out[list(COLUMNS)]


def _largest(table: pd.DataFrame) -> pd.Series:
    """Per symbol, the signed change of largest size (NaN when none is measurable)."""
    measured = table[np.isfinite(table["largest"].astype(float))]
    if measured.empty:
        return pd.Series(dtype=float)
    ordered = measured.assign(size=measured["largest"].abs()).sort_values(
        ["symbol", "size"], ascending=[True, False], kind="stable"
    )
    return ordered.groupby("symbol", sort=True)["largest"].first().astype(float)
