"""serving.fitting: banks, insurers and REITs get a model that fits them; the formulas as written."""

from __future__ import annotations

import pandas as pd
import pytest

from serving import fitting
from serving.errors import AnalyticsError


@pytest.mark.parametrize(
    ("sub_industry", "kind"),
    [
        ("Diversified Banks", "pb_roe"),
        ("Regional Banks", "pb_roe"),
        ("Property & Casualty Insurance", "pb_roe"),
        ("Consumer Finance", "pb_roe"),
        ("Telecom Tower REITs", "ddm"),
        ("Insurance Brokers", "dcf"),
        ("Transaction & Payment Processing Services", "dcf"),
        ("Soft Drinks & Non-alcoholic Beverages", "dcf"),
        (None, "dcf"),
        (float("nan"), "dcf"),
        (pd.NA, "dcf"),
    ],
)
def test_the_model_follows_the_sub_industry(sub_industry: object, kind: str) -> None:
    assert fitting.model_for(sub_industry).kind == kind


def test_a_missing_sub_industry_read_from_a_frame_counts_as_operating() -> None:
    # A company outside the index has no sub-industry: pandas reads it as NaN, which used to raise TypeError.
    who = pd.DataFrame({"symbol": ["JPM", "ZZZ1"], "sub_industry": ["Diversified Banks", float("nan")]})
    missing = who.set_index("symbol")["sub_industry"].get("ZZZ1")
    assert fitting.model_for(missing) == fitting.Model("dcf", "")
    assert fitting.firm_multiples(missing)
    assert list(fitting.firm_flags(who.set_index("symbol")["sub_industry"])) == [False, True]


def test_justified_pb_and_the_ddm() -> None:
    # ROE 15 %, ke 10 %, g 4 %: (0.15 - 0.04) / (0.10 - 0.04) = 1.8333x book.
    assert fitting.justified_pb(0.15, 0.10, 0.04) == pytest.approx(11 / 6)
    # USD 2 dividend growing 3 % at ke 8 %: 2.06 / 0.05 = 41.2.
    assert fitting.gordon_ddm(2.0, 0.08, 0.03) == pytest.approx(41.2)
    with pytest.raises(AnalyticsError, match="below the cost of equity"):
        fitting.justified_pb(0.15, 0.04, 0.05)
    with pytest.raises(AnalyticsError, match="no dividend"):
        fitting.gordon_ddm(0.0, 0.08, 0.03)


def test_firm_flags_are_each_value_s_own_answer() -> None:
    """Asked once per distinct sub-industry, the flags are still each row's `firm_multiples`, in order."""
    names = ["Diversified Banks", "Soft Drinks", None, "Diversified Banks", float("nan"), "Office REITs"] * 3
    values = pd.Series(names, index=[f"S{i}" for i in range(len(names))], dtype=object)
    flags = fitting.firm_flags(values)
    assert list(flags.index) == list(values.index)
    assert flags.dtype == bool
    assert flags.tolist() == [fitting.firm_multiples(v) for v in names]
    assert fitting.firm_flags(pd.Series([], dtype=object)).empty
