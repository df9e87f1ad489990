"""Noticing from the incremental window's overlap that FMP rewrote stored prices (dividend, split)."""

from __future__ import annotations

from datetime import date

from engine.db import PriceRow
from engine.runs.readjust import find_rewrite


def row(day: int, close: float, adj_close: float | None) -> PriceRow:
    return PriceRow("KO", date(2026, 6, day), close, close, close, close, adj_close, 1000, None)


STORED = {date(2026, 6, d): (50.0 + d, 49.0 + d) for d in (22, 23, 24)}


def test_find_rewrite_identical_overlap_is_none() -> None:
    """Bit-identical closes and adjusted closes on the stored dates (and new dates) mean no rewrite."""
    fetched = [row(d, 50.0 + d, 49.0 + d) for d in (22, 23, 24, 25, 26)]
    assert find_rewrite(STORED, fetched) is None


def test_find_rewrite_new_dividend_reports_adjusted_dates() -> None:
    """A new ex-dividend date scales every earlier adj_close: each stored date is reported, close unmoved."""
    ratio = 1 - 0.5 / 75.0
    fetched = [row(d, 50.0 + d, round((49.0 + d) * ratio, 4)) for d in (22, 23, 24)] + [row(25, 75.0, 75.0)]
    rewrite = find_rewrite(STORED, fetched)
    assert rewrite is not None
    assert rewrite.dates == (date(2026, 6, 22), date(2026, 6, 23), date(2026, 6, 24))
    assert not rewrite.close_changed
    assert rewrite.reason == "adj_close changed on 3 stored date(s) from 2026-06-22"


def test_find_rewrite_split_reports_close_changed() -> None:
    """A split divides the (split-adjusted) close too: the rewrite says the close moved."""
    fetched = [row(d, (50.0 + d) / 2, (49.0 + d) / 2) for d in (22, 23, 24)]
    rewrite = find_rewrite(STORED, fetched)
    assert rewrite is not None
    assert rewrite.close_changed
    assert len(rewrite.dates) == 3


def test_find_rewrite_tolerance_and_missing_adjusted_values() -> None:
    """Sub-ppm noise is no rewrite, and an adj_close missing on either side is not compared."""
    stored = {date(2026, 6, 22): (72.0, None), date(2026, 6, 23): (73.0, 72.0)}
    fetched = [row(22, 72.0, 71.0), row(23, 73.0 * (1 + 1e-8), None)]
    assert find_rewrite(stored, fetched) is None
    assert find_rewrite(stored, [row(23, 73.0, 72.0 * (1 - 2e-6))]) is not None
