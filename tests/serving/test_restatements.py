"""Restatements per company for the Screener: one per restated period and time seen, counted in windows
that end at the reference day, with the largest change signed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from serving import restatements

REFERENCE = pd.Timestamp("2024-12-31")


def _line(
    symbol: str, fiscal: str, seen: str, restated_on: str, change: float | None, *, kind: str = "income"
) -> dict[str, object]:
    return {
        "symbol": symbol,
        "kind": kind,
        "period": "FY",
        "fiscal_date": date.fromisoformat(fiscal),
        "seen_at": datetime.fromisoformat(seen).replace(tzinfo=UTC),
        "restated_on": date.fromisoformat(restated_on),
        "change": change,
    }


@pytest.fixture
def changes() -> pd.DataFrame:
    return pd.DataFrame(
        [
            # AAPL: one restatement of FY2023 in 2024 moving two lines (the larger, -8 %, counts) ...
            _line("AAPL", "2023-09-30", "2024-06-15T10:00", "2024-06-15", 0.02),
            _line("AAPL", "2023-09-30", "2024-06-15T10:00", "2024-06-15", -0.08),
            # ... its balance sheet restated the same day (a restatement of its own) ...
            _line("AAPL", "2023-09-30", "2024-06-15T10:00", "2024-06-15", None, kind="balance"),
            # ... and FY2020 restated in 2022 (+30 %: only in the 3- and 5-year windows).
            _line("AAPL", "2020-09-30", "2022-03-01T08:00", "2022-03-01", 0.30),
            # MSFT: restated in 2019 only (inside 5 years of 2024-12-31? no: 2019-06-01 is more than 5 back).
            _line("MSFT", "2018-06-30", "2019-06-01T08:00", "2019-06-01", 0.5),
            # JPM: a line that appeared (old absent): counted, its change unknown.
            _line("JPM", "2024-12-31", "2024-12-31T23:00", "2024-12-31", None),
        ]
    )


def test_counts_and_largest_change_per_window(changes: pd.DataFrame) -> None:
    """Each window counts the restatements restated after its start; the largest change keeps its sign;
    a company never restated counts 0 with no change; one restated only long ago counts 0 too."""
    symbols = pd.Index(["AAPL", "JPM", "MSFT", "XOM"], name="symbol")
    out = restatements.restatement_columns(changes, symbols, REFERENCE)
    assert list(out.columns) == list(restatements.COLUMNS)
    assert out.loc["AAPL", ["restatements_1y", "restatements_3y", "restatements_5y"]].tolist() == [2, 3, 3]
    assert out.loc["AAPL", "restatement_change_1y"] == pytest.approx(-0.08)
    assert out.loc["AAPL", "restatement_change_3y"] == pytest.approx(0.30)
    assert out.loc["AAPL", "restatement_change_5y"] == pytest.approx(0.30)
    assert out.loc["JPM", "restatements_1y"] == 1
    assert np.isnan(out.loc["JPM", "restatement_change_1y"])
    assert out.loc["MSFT"].fillna(0).tolist() == [0] * 6
    assert out.loc["XOM", list(restatements.COUNTS)].tolist() == [0, 0, 0]
    assert out.loc["XOM", list(restatements.CHANGES)].isna().all()
    assert all(dtype.kind == "f" for dtype in out.dtypes)


def test_without_a_reference_every_restatement_counts(changes: pd.DataFrame) -> None:
    """No reference day (no close stored): every window holds every restatement."""
    out = restatements.restatement_columns(changes, pd.Index(["MSFT"]), None)
    assert out.loc["MSFT", list(restatements.COUNTS)].tolist() == [1, 1, 1]
    assert out.loc["MSFT", "restatement_change_1y"] == pytest.approx(0.5)


def test_no_restated_line_gives_zero_counts() -> None:
    """An empty statement_changes: counts 0, changes blank, for every symbol."""
    empty = pd.DataFrame(columns=list(restatements.EVENT_COLUMNS))
    out = restatements.restatement_columns(empty, pd.Index(["A", "B"]), REFERENCE)
    assert out[list(restatements.COUNTS)].to_numpy().tolist() == [[0, 0, 0], [0, 0, 0]]
    assert out[list(restatements.CHANGES)].isna().all().all()
