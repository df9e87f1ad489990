"""Demo data for the dashboard's tests and benchmarks: real constituents, 12 years of prices, annual + quarterly statements.

Statements start from the recorded AAPL rows (FMP field names) and are scaled per company and per
year, keeping the accounting identities (assets = liabilities + equity, FCF = OCF + capex).
"""

from __future__ import annotations

import asyncio
import calendar
import csv
import json
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from engine.db.migrate import migrate
from engine.runs.bulk import weekdays as business_days

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "fmp"
SYMBOLS = ("AAPL", "MSFT", "JNJ", "XOM", "JPM", "KO", "NVDA", "PG")
YEARS = 12
LAST_DAY = date(2024, 12, 31)
RESTATED_FISCAL_DATE = date(2023, 12, 31)
RESTATED_ON = date(2024, 6, 15)


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"stable_{name}_AAPL_annual.json").read_text())[0]  # type: ignore[no-any-return]


def constituents() -> dict[str, dict[str, str]]:
    with open(REPO / "fakefmp" / "data" / "sp500_constituents.csv", newline="") as handle:
        return {row["Symbol"]: row for row in csv.DictReader(handle)}


def price_rows(symbol: str, seed: int) -> list[tuple[Any, ...]]:
    rng = np.random.default_rng(seed)
    days = business_days(date(LAST_DAY.year - YEARS + 1, 1, 1), LAST_DAY)
    returns = rng.normal(0.0004, 0.016, len(days))
    close = 40.0 * (1 + seed % 5) * np.exp(np.cumsum(returns))
    # Dividends: the adjusted series is the close scaled down the further back we go (~1.5%/year).
    years_back = np.array([(LAST_DAY - d).days / 365.25 for d in days])
    adj = close * (1.015**-years_back)
    rows = []
    for i, day in enumerate(days):
        c = float(close[i])
        o = c * (1 + rng.normal(0, 0.004))
        hi = max(o, c) * (1 + abs(rng.normal(0, 0.006)))
        lo = min(o, c) * (1 - abs(rng.normal(0, 0.006)))
        rows.append(
            (symbol, day, o, hi, lo, c, float(adj[i]), int(rng.integers(5_000_000, 90_000_000)), None)
        )
    return rows


def _scaled(base: dict[str, Any], factor: float, symbol: str, when: date, period: str) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in base.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and key not in ("fiscalYear",):
            row[key] = round(value * factor, 2) if abs(value) > 10 else value
        else:
            row[key] = value
    row.update({"symbol": symbol, "date": when.isoformat(), "period": period, "fiscalYear": str(when.year)})
    return row


# A payload changed before it is stored: (symbol, kind, period, period end, payload) -> payload.
Tweak = Callable[[str, str, str, date, dict[str, Any]], dict[str, Any]]


def period_ends(year: int, fy_month: int) -> list[tuple[str, date]]:
    """The FY row's and its four quarters' period ends of fiscal year `year` ending in `fy_month`."""

    def month_end(y: int, m: int) -> date:
        while m <= 0:
            y, m = y - 1, m + 12
        return date(y, m, calendar.monthrange(y, m)[1])

    quarters = [(f"Q{q + 1}", month_end(year, fy_month - 9 + 3 * q)) for q in range(4)]
    return [("FY", month_end(year, fy_month)), *quarters]


def statement_rows(
    symbol: str, seed: int, *, fy_month: int = 12, tweak: Tweak | None = None
) -> list[tuple[Any, ...]]:
    income, balance, cashflow = (
        _fixture("income-statement"),
        _fixture("balance-sheet-statement"),
        _fixture("cash-flow-statement"),
    )
    ratios, metrics = _fixture("ratios"), _fixture("key-metrics")
    rng = np.random.default_rng(seed + 1000)
    size = 0.05 + (seed % 7) * 0.04
    rows: list[tuple[Any, ...]] = []
    for k in range(YEARS):
        year = LAST_DAY.year - YEARS + 1 + k
        growth = size * (1.07**k) * float(rng.uniform(0.95, 1.05))
        for period, when in period_ends(year, fy_month):
            share = 1.0 if period == "FY" else 0.25
            flow = growth * share
            for kind, base, factor in (
                ("income", income, flow),
                ("cashflow", cashflow, flow),
                ("balance", balance, growth),
                ("ratios", ratios, 1.0),
                ("key_metrics", metrics, growth),
            ):
                payload = _scaled(base, factor, symbol, when, period)
                if kind in ("ratios",):
                    payload = {
                        **base,
                        "symbol": symbol,
                        "date": when.isoformat(),
                        "period": period,
                        "fiscalYear": str(year),
                    }
                if kind == "income":
                    for share_field in (
                        "weightedAverageShsOut",
                        "weightedAverageShsOutDil",
                        "eps",
                        "epsDiluted",
                    ):
                        payload[share_field] = base[share_field] * (
                            size if share_field.startswith("weighted") else growth * share / size
                        )
                if tweak is not None:
                    payload = tweak(symbol, kind, period, when, payload)
                rows.append(
                    (symbol, kind, period, when, year, "USD", when + timedelta(days=30), json.dumps(payload))
                )
    return rows


def apply_schema(owner_url: str) -> None:
    asyncio.run(migrate(owner_url))


# Apple's own facts: other companies must not show Apple's CEO, website or market cap on their profile.
APPLE_ONLY = ("ceo", "website", "description", "image", "phone", "address", "fullTimeEmployees", "marketCap")


def _generic(profile: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in profile.items() if k not in APPLE_ONLY}


def seed(
    owner_url: str,
    symbols: tuple[str, ...] = SYMBOLS,
    *,
    first_seed: int = 1,
    fy_months: Mapping[str, int] | None = None,
    tweak: Tweak | None = None,
) -> None:
    """Apply the schema and load companies, prices and statements for `symbols` (the i-th company's
    series drawn from seed `first_seed + i`); `fy_months` moves a company's fiscal year end (December by
    default), `tweak` changes payloads before they are stored."""
    apply_schema(owner_url)
    listing = constituents()
    with psycopg.connect(owner_url, autocommit=False) as conn:
        conn.execute("SELECT ensure_price_partitions(%s, %s)", (date(LAST_DAY.year - YEARS, 1, 1), LAST_DAY))
        conn.execute(
            "SELECT ensure_statement_partitions(%s, %s)", (date(LAST_DAY.year - YEARS, 1, 1), LAST_DAY)
        )
        profile = json.loads((FIXTURES / "stable_profile_AAPL.json").read_text())[0]
        for i, symbol in enumerate(symbols):
            row = listing[symbol]
            conn.execute(
                "INSERT INTO companies (symbol, name, sector, sub_industry, headquarters, cik, founded, index_added,"
                " profile, in_index) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, true) ON CONFLICT (symbol) DO NOTHING",
                (
                    symbol,
                    row["Security"],
                    row["GICS Sector"],
                    row["GICS Sub-Industry"],
                    row["Headquarters Location"],
                    row["CIK"].zfill(10),
                    row["Founded"],
                    row["Date added"] or None,
                    json.dumps(
                        {
                            **(profile if symbol == "AAPL" else _generic(profile)),
                            "symbol": symbol,
                            "companyName": row["Security"],
                            "sector": row["GICS Sector"],
                        }
                    ),
                ),
            )
            with conn.cursor().copy(
                "COPY prices_daily (symbol, date, open, high, low, close, adj_close, volume, vwap) FROM STDIN"
            ) as copy:
                for price in price_rows(symbol, i + first_seed):
                    copy.write_row(price)
            with conn.cursor().copy(
                "COPY statements (symbol, kind, period, fiscal_date, fiscal_year, reported_currency, filing_date, payload)"
                " FROM STDIN"
            ) as copy:
                fy_month = (fy_months or {}).get(symbol, 12)
                for statement in statement_rows(symbol, i + first_seed, fy_month=fy_month, tweak=tweak):
                    copy.write_row(statement)
        # Known since filing (not since seeding), and one restatement, for the as-of views: AAPL's FY2023
        # revenue as filed (2024-01-30) was restated 2 % higher on RESTATED_ON.
        conn.execute("UPDATE statements SET first_seen = filing_date, updated_at = filing_date")
        if "AAPL" in symbols:
            conn.execute(
                "UPDATE statements SET updated_at = %s, payload = jsonb_set(payload, '{revenue}',"
                " to_jsonb(round((payload->>'revenue')::numeric * 1.02, 2)))"
                " WHERE symbol = 'AAPL' AND kind = 'income' AND period = 'FY' AND fiscal_date = %s",
                (RESTATED_ON, RESTATED_FISCAL_DATE),
            )
        conn.execute(
            "INSERT INTO runs (job, state, finished_at, exit_code, items_total, requests, rows_changed)"
            " VALUES ('full', 'succeeded', now(), 0, %s, %s, %s)",
            (len(symbols) * 11, len(symbols) * 11, len(symbols) * 4000),
        )
        conn.commit()


def refresh_serving(owner_url: str, *, full: bool = False) -> dict[str, Any]:
    """Migrate, then refresh the serving layer's tables (docs/serving.md) as the end of an ingest does:
    what is not yet refreshed (everything on a store never refreshed, or with `full`). Returns the
    refresh's outcome per table and its seconds."""
    import time

    from engine.db import create_pool
    from engine.runs.refresh import refresh

    async def run() -> dict[str, Any]:
        await migrate(owner_url)
        pool = await create_pool(owner_url)
        try:
            return (await refresh(pool, full=full)).as_dict()
        finally:
            await pool.close()

    started = time.monotonic()
    tables = asyncio.run(run())
    return {"seconds": round(time.monotonic() - started, 1), "tables": tables}


def add_user(owner_url: str, username: str, password: str, role: str) -> None:
    from dashboard.auth import hash_password

    with psycopg.connect(owner_url) as conn:
        conn.execute(
            "INSERT INTO dashboard_users (username, password_hash, role) VALUES (%s, %s, %s)"
            " ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, role = EXCLUDED.role",
            (username, hash_password(password), role),
        )
