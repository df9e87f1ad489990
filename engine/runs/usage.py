"""FMP requests per UTC day (`fmp_usage`), so the free plan's 250 a day hold across runs and commands."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import asyncpg

from engine.db.pool import store_boundary
from engine.fmp import FMPClient
from engine.fmp.quota import DailyQuota, utc_today

USAGE_TIMEOUT_S = 30.0


@store_boundary
async def usage_on(pool: asyncpg.Pool, day: date) -> int:
    """Requests recorded for `day`."""
    value = await pool.fetchval("SELECT requests FROM fmp_usage WHERE day = $1", day, timeout=USAGE_TIMEOUT_S)
    return int(value or 0)


@store_boundary
async def record_usage(pool: asyncpg.Pool, counts: Mapping[date, int]) -> None:
    """Add requests per day (what `DailyQuota.unsaved` returns)."""
    for day, requests in counts.items():
        if requests:
            await pool.execute(
                "INSERT INTO fmp_usage AS u (day, requests) VALUES ($1, $2) ON CONFLICT (day) DO UPDATE"
                " SET requests = u.requests + EXCLUDED.requests, updated_at = now()",
                day,
                requests,
                timeout=USAGE_TIMEOUT_S,
            )


async def start_quota(pool: asyncpg.Pool, fmp: FMPClient, limit: int | None) -> DailyQuota:
    """Count the client's requests from what the store says was spent today (UTC: FMP's day, not a
    run's simulated one), refusing past `limit` (None: count only)."""
    quota = DailyQuota(limit, spent_today=await usage_on(pool, utc_today()))
    fmp.quota = quota
    return quota


async def save_usage(pool: asyncpg.Pool, fmp: FMPClient) -> None:
    """Write the client's unsaved request counts (call at the end of every command that used FMP)."""
    if fmp.quota is not None:
        await record_usage(pool, fmp.quota.unsaved())
