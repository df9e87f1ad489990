"""Companies: GICS sector from the constituent list beside FMP's, membership kept when a symbol leaves."""

from __future__ import annotations

from datetime import date

import asyncpg

from engine.db import load_profiles, upsert_companies
from engine.db.companies import parse_constituent
from tests.engine.db.conftest import fixture_rows


def constituent(symbol: str, sector: str = "Technology", **overrides: object) -> dict[str, object]:
    """An sp500-constituent row: FMP sends its own sector names ("Technology"), not GICS ones."""
    row: dict[str, object] = {
        "symbol": symbol,
        "name": f"{symbol} Inc.",
        "sector": sector,
        "subSector": "Technology Hardware",
        "headQuarter": "Cupertino, California",
        "dateFirstAdded": "1982-11-30",
        "cik": 320193,
        "founded": "1977",
    }
    row.update(overrides)
    return row


async def test_upsert_companies_rerun_changes_nothing(pool: asyncpg.Pool) -> None:
    """The same list twice: inserted once, then 0 changed."""
    rows = [constituent("CA1"), constituent("CA2", dateFirstAdded="sometime")]
    first = await upsert_companies(pool, rows, complete=False)
    again = await upsert_companies(pool, rows, complete=False)
    assert (first.inserted, again.changed, again.unchanged) == (2, 0, 2)
    stored = await pool.fetchrow("SELECT cik, index_added, in_index FROM companies WHERE symbol = 'CA2'")
    assert tuple(stored) == ("0000320193", None, True)


async def test_upsert_companies_leaver_marked_not_deleted(pool: asyncpg.Pool) -> None:
    """A member missing from a complete list is marked removed on that day and kept; it can rejoin."""
    await upsert_companies(pool, [constituent("LV1"), constituent("LV2")], as_of=date(2024, 1, 1))
    result = await upsert_companies(pool, [constituent("LV1")], as_of=date(2024, 6, 3))
    assert result.updated >= 1
    gone = await pool.fetchrow("SELECT in_index, index_removed FROM companies WHERE symbol = 'LV2'")
    assert tuple(gone) == (False, date(2024, 6, 3))
    members = {r["symbol"] for r in await pool.fetch("SELECT symbol FROM sp500_members")}
    assert "LV1" in members
    assert "LV2" not in members
    await upsert_companies(pool, [constituent("LV1"), constituent("LV2")], as_of=date(2025, 1, 2))
    back = await pool.fetchrow("SELECT in_index, index_removed FROM companies WHERE symbol = 'LV2'")
    assert tuple(back) == (True, None)


async def test_load_profiles_keeps_gics_and_fmp_sectors(pool: asyncpg.Pool) -> None:
    """The profile's FMP sector goes beside the GICS sector from the list, which stays `sector`."""
    await upsert_companies(pool, [constituent("AAPL")], complete=False)
    result = await load_profiles(pool, fixture_rows("stable_profile_AAPL.json"))
    assert result.updated == 1
    row = await pool.fetchrow(
        "SELECT sector, fmp_sector, fmp_industry, profile->>'ceo' AS ceo FROM companies WHERE symbol = 'AAPL'"
    )
    assert tuple(row) == ("Information Technology", "Technology", "Consumer Electronics", "Timothy D. Cook")
    assert (await load_profiles(pool, fixture_rows("stable_profile_AAPL.json"))).changed == 0


async def test_upsert_companies_row_without_symbol_quarantined(pool: asyncpg.Pool) -> None:
    """A constituent row with no symbol is quarantined, never loaded."""
    result = await upsert_companies(
        pool, [constituent("QC1"), constituent("", name="Ghost Corp")], complete=False
    )
    assert (result.inserted, result.quarantined) == (1, 1)
    reason = await pool.fetchval("SELECT reason FROM quarantine WHERE dataset = 'companies'")
    assert reason == "missing symbol"


def test_parse_constituent_uses_gics_for_a_listed_symbol() -> None:
    """A listed symbol gets its GICS sector and sub-industry, whatever names FMP's row carries."""
    company = parse_constituent(constituent("A", sector="Healthcare", subSector="Medical - Diagnostics"))
    assert (company.sector, company.sub_industry) == ("Health Care", "Life Sciences Tools & Services")
    assert '"Healthcare"' in company.constituent  # FMP's own names stay in the raw row


def test_parse_constituent_keeps_fmp_names_for_an_unlisted_symbol() -> None:
    """A symbol missing from the shipped GICS list keeps FMP's classification rather than none."""
    company = parse_constituent(constituent("ZZZZ", sector="Technology", subSector="Software"))
    assert (company.sector, company.sub_industry) == ("Technology", "Software")
