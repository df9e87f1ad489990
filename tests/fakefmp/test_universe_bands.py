"""The generated universe looks like the real S&P 500: cross-section statistics held to bands, for several seeds."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fakefmp.census import census
from fakefmp.data import Universe
from fakefmp.sectors import SECTORS

SEEDS = (3, 42, 2026)
EVERY = 2  # every other constituent: 252 companies, at least 10 per sector, a few seconds each seed
AS_OF = date(2026, 8, 7)


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def stats(request: pytest.FixtureRequest) -> dict[str, Any]:
    universe = Universe(seed=request.param, symbols=503, as_of=AS_OF)
    return census(universe, list(universe.companies)[::EVERY])


def test_market_caps_are_distributed_like_the_index(stats: dict[str, Any]) -> None:
    """A few companies above USD 1 tn, none above 5 tn, the median near USD 35 bn, the smallest near 6 bn."""
    caps = stats["market_cap_bn"]
    assert caps["max"] < 5000, stats
    assert 2 <= stats["above_1tn"] <= 12, stats
    assert 25 <= caps["median"] <= 55, caps
    assert 3 <= caps["min"] <= 12, caps
    assert stats["prices_below_1"] == 0


def test_pe_is_mostly_10_to_40_with_sector_medians_like_the_index(stats: dict[str, Any]) -> None:
    """Most P/Es fall in 10-40 and each sector's median is within -35 %/+50 % of the real sector's."""
    assert stats["pe_10_to_40_share"] >= 0.6
    for sector, median in stats["pe_median_by_sector"].items():
        assert 0.65 * SECTORS[sector].pe <= median <= 1.5 * SECTORS[sector].pe, (sector, median)


def test_volatility_beta_and_correlation_are_in_their_bands(stats: dict[str, Any]) -> None:
    """Five-year volatilities 15-45 %, betas 0.5-1.8 (5th-95th percentile), average correlation about 0.3,
    higher within a sector."""
    vol, beta, corr = stats["volatility"], stats["beta"], stats["correlation"]
    assert vol["p5"] >= 0.15, vol
    assert vol["p95"] <= 0.45, vol
    assert vol["min"] >= 0.12, vol
    assert vol["max"] <= 0.55, vol
    assert beta["p5"] >= 0.5, beta
    assert beta["p95"] <= 1.8, beta
    assert beta["min"] >= 0.35, beta
    assert beta["max"] <= 2.0, beta
    assert 0.2 <= corr["average"] <= 0.4, corr
    assert corr["same_sector"] >= corr["other_sector"] + 0.05, corr


def test_every_series_shows_the_market_crashes(stats: dict[str, Any]) -> None:
    """2008-09 and March 2020 show in (nearly) every series; 2000-02 in the typical one."""
    crash = stats["crash_drawdown"]
    assert crash["gfc"]["p10"] >= 0.25, crash
    assert crash["covid"]["p10"] >= 0.15, crash
    assert crash["dot-com"]["median"] >= 0.3, crash


def test_dividends_follow_the_sector(stats: dict[str, Any]) -> None:
    """Utilities and staples pay; many technology companies do not."""
    payers = stats["payers_by_sector"]
    assert payers["Utilities"] >= 0.8, payers
    assert payers["Consumer Defensive"] >= 0.8, payers
    assert payers["Technology"] <= 0.8, payers


def test_share_counts_drift_both_ways(stats: dict[str, Any]) -> None:
    """Over ten years most share counts move by more than 5 % (split-adjusted): buybacks and issuance."""
    drift = stats["share_drift_10y"]
    assert stats["share_count_moved_5pct"] >= 0.5
    assert drift["p10"] < -0.05, drift
    assert drift["p90"] > 0.05, drift


def test_statements_add_up_and_have_sector_shapes(stats: dict[str, Any]) -> None:
    """Identities hold exactly, quarters sum to years; banks are levered, REITs hold property; a few losses
    and a few negative equities from buybacks."""
    assert stats["identity_residual"] == 0
    assert stats["quarters_vs_annual_residual"] == 0
    assert 0.01 <= stats["loss_year_share"] <= 0.1
    assert stats["negative_equity"] <= 0.05 * stats["symbols"]
    assert 7 <= stats["bank_leverage_median"] <= 14, stats
    assert stats["reit_property_share_median"] >= 0.6, stats


def test_census_is_deterministic_for_a_seed() -> None:
    """The same seed gives the same universe (here: the same statistics of a small slice)."""
    first = census(Universe(seed=5, symbols=503, as_of=AS_OF), ["AAPL", "JPM", "O", "XOM", "KO", "NVDA"])
    again = census(Universe(seed=5, symbols=503, as_of=AS_OF), ["AAPL", "JPM", "O", "XOM", "KO", "NVDA"])
    assert first == again
