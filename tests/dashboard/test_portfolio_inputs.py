"""The Portfolio page's window: the fixed ones count back from the latest date, the custom one keeps exactly
its days, and a custom window outside the holdings' common prices is refused beside the dates."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics.bounded import Bounds
from dashboard.components import holdings
from dashboard.components.portfolio_inputs import CUSTOM, FieldError, Request, bounds_note, windowed

DAYS = pd.bdate_range("2019-01-01", "2024-12-31")
PRICES = pd.DataFrame(
    {"A": np.linspace(10, 20, len(DAYS)), "B": np.where(DAYS >= "2020-01-01", 5.0, np.nan)}, index=DAYS
)


def _request(window: str, start: date | None = None, end: date | None = None) -> Request:
    return Request(holdings.Holdings({"A": 0.5, "B": 0.5}), 0.04, window, "none", Bounds(), start, end)


def test_fixed_windows_count_back_and_the_custom_one_keeps_its_days() -> None:
    """3Y keeps the dates from three years before the latest; Custom keeps from..to inclusive."""
    three = windowed(PRICES, _request("3Y"))
    assert three.index[0] >= pd.Timestamp("2021-12-31")
    custom = windowed(PRICES, _request(CUSTOM, date(2021, 3, 1), date(2021, 6, 30)))
    assert custom.index[0] == pd.Timestamp("2021-03-01")
    assert custom.index[-1] == pd.Timestamp("2021-06-30")


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2019, 6, 3), date(2021, 1, 1), "before these holdings' common prices begin (2020-01-01)"),
        (date(2025, 3, 3), date(2025, 6, 1), "after these holdings' last common price (2024-12-31)"),
        (date(2021, 3, 1), date(2021, 3, 20), "holds 15 common trading days; at least 30"),
    ],
)
def test_a_custom_window_outside_the_common_prices_is_named_beside_the_dates(
    start: date, end: date, message: str
) -> None:
    """B starts in 2020: a window from 2019 starts before the data; one after the last price, or of 15
    days, is refused too; each names the dates field."""
    with pytest.raises(FieldError, match=re.escape(message)) as caught:
        windowed(PRICES, _request(CUSTOM, start, end))
    assert caught.value.field == "dates"


def test_the_bounds_note_says_the_range_and_hrp() -> None:
    """Long-only says nothing; a cap with shorts says -25% to 25% and that HRP has no bounds."""
    assert bounds_note(Bounds()) is None
    note = bounds_note(Bounds.of(cap=0.25, shorts=True))
    assert note is not None
    assert "from -25% to 25%" in note
    assert "HRP has no bounds" in note
