"""serving.fitting: banks, insurers and REITs get a model that fits them; the formulas as written."""

from __future__ import annotations

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
    ],
)
def test_the_model_follows_the_sub_industry(sub_industry: str | None, kind: str) -> None:
    assert fitting.model_for(sub_industry).kind == kind


def test_justified_pb_and_the_ddm() -> None:
    # ROE 15 %, ke 10 %, g 4 %: (0.15 - 0.04) / (0.10 - 0.04) = 1.8333x book.
    assert fitting.justified_pb(0.15, 0.10, 0.04) == pytest.approx(11 / 6)
    # USD 2 dividend growing 3 % at ke 8 %: 2.06 / 0.05 = 41.2.
    assert fitting.gordon_ddm(2.0, 0.08, 0.03) == pytest.approx(41.2)
    with pytest.raises(AnalyticsError, match="below the cost of equity"):
        fitting.justified_pb(0.15, 0.04, 0.05)
    with pytest.raises(AnalyticsError, match="no dividend"):
        fitting.gordon_ddm(0.0, 0.08, 0.03)
