"""A ratio's provenance names exactly the lines its formula reads (#29, point 3), and a close's fetch
window is what the run ledger says the item fetched."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.components import company_data, price_trails, trails
from serving.fundamentals import dupont, ratios

FIELDS = sorted(
    {f for closing, averaged in trails.RATIO_INPUTS.values() for f in (*closing, *averaged)}
    | {"weightedAverageShsOut", "retainedEarnings", "longTermDebt", "operatingCashFlow"}
)


def _frame() -> pd.DataFrame:
    """Three adjacent fiscal years of positive figures (pre-tax income above tax, so every ratio is set)."""
    rng = np.random.default_rng(29)
    values = rng.uniform(100.0, 1000.0, size=(3, len(FIELDS)))
    frame = pd.DataFrame(
        values, columns=FIELDS, index=pd.DatetimeIndex(["2021-12-31", "2022-12-31", "2023-12-31"])
    )
    frame["incomeBeforeTax"] = frame["incomeTaxExpense"] * 4
    return frame


def _table(frame: pd.DataFrame) -> pd.DataFrame:
    return ratios(frame).join(dupont(frame)[company_data.DUPONT_FIELDS])


def test_every_ratio_of_the_company_table_has_its_inputs_named() -> None:
    assert set(_table(_frame()).columns) == set(trails.RATIO_INPUTS)


@pytest.mark.parametrize("field", FIELDS)
def test_a_ratio_moves_with_exactly_the_lines_named_as_its_inputs(field: str) -> None:
    """Moving one line of the latest year moves the ratios naming it (closing or averaged) and no other;
    moving it in the year before moves only those that average it."""
    frame = _frame()
    base = _table(frame).iloc[-1]
    for row in (-1, -2):
        moved = frame.copy()
        moved.iloc[row, moved.columns.get_loc(field)] *= 1.37
        after = _table(moved).iloc[-1]
        for ratio, (closing, averaged) in trails.RATIO_INPUTS.items():
            changed = not np.isclose(after[ratio], base[ratio], rtol=1e-12, equal_nan=True)
            named = field in averaged or (row == -1 and field in closing)
            assert changed == named, (ratio, field, row)


def test_a_price_items_window_follows_its_readjustment_and_its_clip() -> None:
    ran = pd.Timestamp("2026-03-02 06:00", tz="UTC")
    assert price_trails._window({"from": "2026-02-20"}, ran) == (date(2026, 2, 20), date(2026, 3, 2))
    readjusted = {"from": "2026-02-20", "readjusted": {"from": "1990-01-02"}}
    assert price_trails._window(readjusted, ran) == (date(1990, 1, 2), date(2026, 3, 2))
    frozen = {"from": "2009-01-01", "to": "2018-06-18", "clipped": {"from": "2009-01-01", "to": "2011-12-30"}}
    assert price_trails._window(frozen, ran) == (date(2011, 12, 31), date(2018, 6, 18))
    assert price_trails._window({}, ran) is None
