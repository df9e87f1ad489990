"""The serving layer's refresh on the demo universe: what it writes, its scope, its failures, its locks."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import date
from typing import Any

import asyncpg
import numpy as np
import orjson
import pandas as pd
import psycopg
import pytest

from devkit import seed
from engine.db import PriceRow, load_price_rows, queries
from engine.db.pool import outage_bound
from engine.runs import refresh as serving_refresh
from engine.runs.refresh import TABLES, refresh, refresh_benchmark, refresh_month_end_closes
from engine.runs.status import collect_status, render_status
from serving import benchmark, company, fitting, fundamentals, lines, restatements, universe
from tests.conftest import Cluster, Database, throwaway_database
from tests.serving import former_benchmark

# Two demo universes: the dashboard's seeds, and the same companies drawn from other seeds.
SEEDS = (1, 11)


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def demo(pg_cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[Database]:
    with throwaway_database(pg_cluster, f"serving_{request.param}") as db:
        seed.seed(db.owner_url, first_seed=request.param)
        yield db


def _payloads(db: Database, symbol: str, periods: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """Every kind's whole payloads, as the Company page reads them (dashboard/data/queries.py)."""
    out: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("income", "balance", "cashflow", "ratios", "key_metrics")
    }
    with psycopg.connect(db.owner_url) as conn:
        for kind, payload in conn.execute(
            "SELECT kind, payload FROM statements WHERE symbol = %s AND period = ANY(%s) ORDER BY fiscal_date",
            (symbol, list(periods)),
        ):
            out[kind].append(payload)
    return out


async def test_full_refresh_fills_every_table_from_whole_payloads(pool: asyncpg.Pool, demo: Database) -> None:
    """A full refresh writes each table; the FY ratios and FY/Q figures equal what the pages computed
    from the whole payloads (the refresh keeps only the fields they need)."""
    report = await refresh(pool, full=True)
    assert report.ok, report.as_dict()
    assert {t.name for t in report.tables} == set(TABLES)
    for symbol in seed.SYMBOLS:
        stored = pd.DataFrame(
            [dict(r) for r in await pool.fetch("SELECT * FROM metric_history WHERE symbol = $1", symbol)]
        )
        for basis, labels in (("FY", ("FY",)), ("Q", company.QUARTERS)):
            frame = company.combined(company.statement_frames(_payloads(demo, symbol, labels), basis))
            rows = stored[stored["basis"] == basis].sort_values("fiscal_date")
            assert [d.isoformat() for d in rows["fiscal_date"]] == [d.date().isoformat() for d in frame.index]
            for column, name in company.FIGURES.items():
                expected = frame[name].to_numpy(dtype=float) if name in frame else np.full(len(frame), np.nan)
                np.testing.assert_array_equal(rows[column].to_numpy(dtype=float), expected, err_msg=column)
            if basis == "FY":
                ratios = fundamentals.ratios(frame)
                for column in company.RATIOS:
                    got = rows[column].to_numpy(dtype=float)
                    want = np.array(ratios[column], dtype=float)
                    want[~np.isfinite(want)] = np.nan  # stored as NULL
                    np.testing.assert_array_equal(got, want, err_msg=column)
                # DuPont's factors as the ratio table joined them: income statement and balance sheet only.
                kinds = _payloads(demo, symbol, labels)
                two = company.statement_frames({k: kinds[k] for k in company.DUPONT_KINDS}, basis)
                factors = fundamentals.dupont(company.combined(two)).reindex(frame.index)
                for column in company.DUPONT:
                    np.testing.assert_array_equal(
                        rows[column].to_numpy(dtype=float),
                        factors[column].to_numpy(dtype=float),
                        err_msg=column,
                    )
            else:
                assert rows[list(company.DUPONT)].isna().all().all()
    state = {r["name"]: r for r in await pool.fetch("SELECT * FROM serving_refreshes")}
    assert {r["state"] for r in state.values()} == {"ok"}
    assert state["screener_rows"]["data_as_of"] == seed.LAST_DAY.isoformat()


async def test_statement_lines_hold_the_company_pages_tables(pool: asyncpg.Pool, demo: Database) -> None:
    """Every statement table the Company page built from the whole payloads (FY, Q, TTM) is one
    statement_lines row that gives it back value for value, with each period's fiscal year and label;
    the TTM balance sheet is the quarterly one, stored once; the cells view lists the same values."""
    report = await refresh(pool, full=True)
    assert report.ok, report.as_dict()
    stored = {
        (r["symbol"], r["statement"], r["basis"]): r
        for r in await pool.fetch("SELECT * FROM statement_lines")
    }
    assert {k[1:] for k in stored if k[0] == "AAPL"} == {
        (kind, basis) for kind in company.KINDS for basis in ("FY", "Q")
    } | {("income", "TTM"), ("cashflow", "TTM")}
    for symbol in seed.SYMBOLS:
        for period in ("FY", "Q"):
            frames = company.statement_frames(_payloads(demo, symbol, company.PERIOD_LABELS[period]), period)
            built = {(kind, period): frames[kind] for kind in company.KINDS}
            if period == "Q":
                ttm = company.ttm_frames(frames)
                built |= {(kind, "TTM"): ttm[kind] for kind in lines.TTM_KINDS}
            for (kind, basis), frame in built.items():
                row = stored[(symbol, kind, basis)]
                got = lines.table_frame(row["fiscal_dates"], row["lines"], row["line_values"])
                pd.testing.assert_frame_equal(got, frame)
                assert len(row["periods"]) == len(row["fiscal_years"]) == len(frame)
                assert set(row["periods"]) == ({"FY"} if basis == "FY" else set(company.QUARTERS))
                assert row["fiscal_years"][-1] == seed.LAST_DAY.year
    cells = await pool.fetch(
        "SELECT fiscal_date, period, line, value FROM statement_line_values"
        " WHERE symbol = 'AAPL' AND statement = 'income' AND basis = 'FY' AND line = 'revenue'"
        " ORDER BY fiscal_date"
    )
    aapl = stored[("AAPL", "income", "FY")]
    at = list(aapl["lines"]).index("revenue")
    assert [c["fiscal_date"] for c in cells] == list(aapl["fiscal_dates"])
    assert {c["period"] for c in cells} == {"FY"}
    assert [c["value"] for c in cells] == list(aapl["line_values"][at :: len(aapl["lines"])])


async def test_one_statement_pass_writes_what_two_separate_ones_write(pool: asyncpg.Pool) -> None:
    """metric_history and statement_lines from one read and parse of each batch (their scopes agree)
    equal the rows each table's own pass writes (one of them behind the other: read apart)."""
    tables = ("metric_history", "statement_lines")

    async def contents() -> dict[str, list[asyncpg.Record]]:
        order = {
            "metric_history": "symbol, basis, fiscal_date",
            "statement_lines": "symbol, statement, basis",
        }
        return {t: await pool.fetch(f"SELECT * FROM {t} ORDER BY {order[t]}") for t in tables}

    assert (await refresh(pool, full=True)).ok
    together = await contents()
    assert all(together.values())
    await pool.execute("TRUNCATE metric_history, statement_lines")
    await pool.execute("DELETE FROM serving_refreshes WHERE name = 'statement_lines'")  # behind: apart
    report = {t.name: t for t in (await refresh(pool)).tables}
    assert report["statement_lines"].rows == len(together["statement_lines"])
    await pool.execute("DELETE FROM serving_refreshes WHERE name = 'metric_history'")
    await refresh(pool)
    assert await contents() == together


async def test_month_end_closes_equal_the_former_per_request_query(pool: asyncpg.Pool) -> None:
    """month_end_closes holds each month's last finite close, as the Forecast page's query gave it."""
    await refresh(pool, full=True)
    former = await pool.fetch(
        "SELECT symbol, date, value FROM (SELECT DISTINCT ON (symbol, date_trunc('month', date)) symbol, date,"
        " value FROM (SELECT symbol, date, CASE WHEN adj_close IS NULL OR adj_close = 'NaN' THEN close"
        " ELSE adj_close END AS value FROM prices_daily) p WHERE value NOT IN ('NaN', 'Infinity', '-Infinity')"
        " ORDER BY symbol, date_trunc('month', date), date DESC) m ORDER BY symbol, date"
    )
    stored = await pool.fetch("SELECT symbol, date, close FROM month_end_closes ORDER BY symbol, date")
    assert [tuple(r) for r in stored] == [tuple(r) for r in former]
    assert len(stored) == len(seed.SYMBOLS) * seed.YEARS * 12


MONTH_ENDS = "SELECT * FROM month_end_closes ORDER BY symbol, month"
# What a trigger on MSFT's month-end rows does to the batch writing them: fail it, or end its connection.
REFUSE = "RAISE EXCEPTION 'refused %', NEW.symbol"
KILL_SELF = "PERFORM pg_terminate_backend(pg_backend_pid())"
ON_MSFT = """
CREATE FUNCTION on_msft() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.symbol = 'MSFT' THEN {action}; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER on_msft BEFORE INSERT ON month_end_closes FOR EACH ROW EXECUTE FUNCTION on_msft()"""


@contextlib.asynccontextmanager
async def on_msft(pool: asyncpg.Pool, action: str) -> AsyncIterator[None]:
    await pool.execute(ON_MSFT.format(action=action))
    try:
        yield
    finally:
        await pool.execute("DROP TRIGGER on_msft ON month_end_closes; DROP FUNCTION on_msft()")


async def fresh_then_stale(pool: asyncpg.Pool) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """Every symbol's month-end closes as a pass writes them, then the same moved (what a pass replaces)."""
    await refresh_month_end_closes(pool, dict.fromkeys(seed.SYMBOLS, date.min))
    fresh = await pool.fetch(MONTH_ENDS)
    await pool.execute("UPDATE month_end_closes SET close = close + 1")
    return fresh, await pool.fetch(MONTH_ENDS)


def written_only(
    fresh: list[asyncpg.Record], stale: list[asyncpg.Record], written: Sequence[str]
) -> list[asyncpg.Record]:
    """The `written` symbols' fresh rows, the others' stale ones, as MONTH_ENDS orders them."""
    rows = [*(r for r in fresh if r["symbol"] in written), *(r for r in stale if r["symbol"] not in written)]
    return sorted(rows, key=lambda r: (r["symbol"], r["month"]))


async def test_month_end_closes_in_batches_equal_one_transaction_of_every_symbol(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The month-end pass three symbols a transaction writes the rows and counts of the former pass (one
    transaction of every symbol)."""
    since = dict.fromkeys(seed.SYMBOLS, date.min)
    monkeypatch.setattr("engine.runs.refresh.MONTH_END_BATCH", len(seed.SYMBOLS))
    whole = await refresh_month_end_closes(pool, since)
    former = await pool.fetch(MONTH_ENDS)
    await pool.execute("UPDATE month_end_closes SET close = close + 1")  # the pass must write every row again
    monkeypatch.setattr("engine.runs.refresh.MONTH_END_BATCH", 3)
    batched = await refresh_month_end_closes(pool, since)
    assert (whole.symbols, whole.rows, whole.failed) == (len(seed.SYMBOLS), len(former), [])
    assert (batched.symbols, batched.rows, batched.failed) == (whole.symbols, whole.rows, whole.failed)
    assert await pool.fetch(MONTH_ENDS) == former


async def test_a_failed_month_end_batch_is_named_and_the_others_commit(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`refresh --all` whose middle month-end batch fails in the database (a trigger refuses MSFT's rows):
    that batch's symbols keep their previous rows whole, the table fails naming the batch and what
    committed, the batches before and after it are written; the next refresh repairs it."""
    fresh, stale = await fresh_then_stale(pool)
    monkeypatch.setattr("engine.runs.refresh.MONTH_END_BATCH", 3)  # AAPL JNJ JPM | KO MSFT NVDA | PG XOM
    async with on_msft(pool, REFUSE):
        report = {t.name: t for t in (await refresh(pool, full=True)).tables}
    written = ("AAPL", "JNJ", "JPM", "PG", "XOM")
    month_ends = report["month_end_closes"]
    assert month_ends.state == "failed"
    assert (month_ends.error or "").startswith(
        "StoreError: 5 of 8 symbols committed; left as they were: KO..NVDA (3 symbols): "
    )
    assert "refused MSFT" in (month_ends.error or "")
    assert month_ends.rows == sum(r["symbol"] in written for r in fresh)
    assert await pool.fetch(MONTH_ENDS) == written_only(fresh, stale, written)
    assert (await refresh(pool, full=True)).ok
    assert await pool.fetch(MONTH_ENDS) == fresh


async def test_the_month_end_pass_stops_when_the_database_goes_away(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month-end batch whose connection is lost past the outage bound (here its backend ends itself on
    MSFT's rows) ends the pass: the batch before it committed, it and the rest are named and kept whole
    until the next pass."""
    fresh, stale = await fresh_then_stale(pool)
    monkeypatch.setattr("engine.runs.refresh.MONTH_END_BATCH", 3)  # AAPL JNJ JPM | KO MSFT NVDA | PG XOM
    since = dict.fromkeys(seed.SYMBOLS, date.min)
    async with on_msft(pool, KILL_SELF):
        with outage_bound(0):
            done = await refresh_month_end_closes(pool, since)
    written = ("AAPL", "JNJ", "JPM")
    assert (done.symbols, done.rows) == (3, sum(r["symbol"] in written for r in fresh))
    assert [line.split(": ", 1)[0] for line in done.failed] == ["KO..NVDA (3 symbols)", "PG..XOM (2 symbols)"]
    assert "no database connection" in done.failed[0]
    assert done.failed[1].endswith(": not tried")
    assert await pool.fetch(MONTH_ENDS) == written_only(fresh, stale, written)
    assert not (await refresh_month_end_closes(pool, since)).failed  # the next pass repairs them
    assert await pool.fetch(MONTH_ENDS) == fresh


async def _run_changed(pool: asyncpg.Pool, items: list[tuple[str, str, dict[str, Any]]]) -> None:
    run_id = await pool.fetchval(
        "INSERT INTO runs (job, state) VALUES ('full', 'succeeded') RETURNING run_id"
    )
    for symbol, dataset, params in items:
        await pool.execute(
            "INSERT INTO run_items (run_id, symbol, dataset, state, rows_changed, params, finished_at)"
            " VALUES ($1, $2, $3, 'done', 1, $4::jsonb, clock_timestamp())",
            run_id,
            symbol,
            dataset,
            json.dumps(params),
        )


async def test_refresh_recomputes_only_what_runs_changed(pool: asyncpg.Pool) -> None:
    """After a restatement of one company, the next refresh recomputes that company only, and its
    restated figure replaces the old one; a refresh with nothing changed writes nothing."""
    await refresh(pool, full=True)
    idle = await refresh(pool)
    assert [(t.name, t.symbols, t.rows) for t in idle.tables] == [(name, 0, 0) for name in TABLES]
    await pool.execute(
        "UPDATE statements SET updated_at = now(), payload = jsonb_set(payload, '{revenue}', '123456789.0')"
        " WHERE symbol = 'KO' AND kind = 'income' AND period = 'FY' AND fiscal_date = '2024-12-31'"
    )
    await _run_changed(pool, [("KO", "income_annual", {}), ("MSFT", "prices", {"from": "2024-12-02"})])
    report = {t.name: t for t in (await refresh(pool)).tables}
    assert report["metric_history"].symbols == report["statement_lines"].symbols == 1
    assert report["month_end_closes"].symbols == 0  # the price loads keep it current themselves
    assert report["screener_rows"].symbols == len(seed.SYMBOLS)  # prices moved: every row again
    assert report["benchmark_returns"].symbols == len(seed.SYMBOLS)  # the S&P 500 series from MSFT's window
    revenue = await pool.fetchval(
        "SELECT revenue FROM metric_history WHERE symbol = 'KO' AND basis = 'FY' AND fiscal_date = '2024-12-31'"
    )
    assert revenue == 123456789.0
    income = await pool.fetchrow(
        "SELECT fiscal_dates, lines, line_values FROM statement_lines"
        " WHERE symbol = 'KO' AND statement = 'income' AND basis = 'FY'"
    )
    assert lines.table_frame(*income).loc["2024-12-31", "revenue"] == 123456789.0
    # ... and the restatement is a restated figure, KO's first-reported history keeps the revenue as filed
    assert (report["statement_changes"].symbols, report["metric_history_first"].symbols) == (1, 1)
    moved = await pool.fetchrow(
        "SELECT old_value, new_value FROM statement_changes WHERE symbol = 'KO' AND field = 'revenue'"
    )
    assert moved["new_value"] == 123456789.0
    first = await pool.fetchval(
        "SELECT revenue FROM metric_history_first"
        " WHERE symbol = 'KO' AND basis = 'FY' AND fiscal_date = '2024-12-31'"
    )
    assert first == moved["old_value"] != revenue


async def test_a_member_leaving_the_index_drops_out_at_the_next_refresh(pool: asyncpg.Pool) -> None:
    """JNJ missing from the constituent list (marked as a run marks it, queries.MARK_REMOVED) is a change
    the next refresh picks up with no run item: its screener row and its sector's medians go, its
    metric_history (point-in-time reads) stays; back on the list, it is screened again."""
    await refresh(pool, full=True)
    kept = [s for s in seed.SYMBOLS if s != "JNJ"]
    try:
        await pool.execute(queries.MARK_REMOVED, kept, date(2024, 12, 31))
        report = {t.name: t for t in (await refresh(pool)).tables}
        assert report["screener_rows"].symbols == len(kept)
        assert report["metric_history"].symbols == 0
        screened = {r["symbol"] for r in await pool.fetch("SELECT symbol FROM screener_rows")}
        assert screened == set(kept)
        assert await pool.fetchval("SELECT count(*) FROM sector_medians WHERE sector = 'Health Care'") == 0
        assert await pool.fetchval("SELECT count(*) FROM metric_history WHERE symbol = 'JNJ'") > 0
    finally:
        await pool.execute(
            "UPDATE companies SET in_index = true, index_removed = NULL, updated_at = now() WHERE symbol = 'JNJ'"
        )
    await refresh(pool)
    screened = {r["symbol"] for r in await pool.fetch("SELECT symbol FROM screener_rows")}
    assert screened == set(seed.SYMBOLS)
    assert await pool.fetchval("SELECT max(n) FROM sector_medians WHERE sector = 'Health Care'") == 1


async def test_the_sp500_benchmark_is_each_member_weighted_by_its_market_cap(
    pool: asyncpg.Pool, demo: Database
) -> None:
    """benchmark_returns on a day equals the members' returns weighted by the previous close times the
    latest reported share count, read straight from the store (and their plain mean for equal weight)."""
    await refresh(pool, full=True)
    day = date(2024, 6, 14)
    with psycopg.connect(demo.owner_url) as conn:
        members = [
            s
            for (s,) in conn.execute(
                "SELECT symbol FROM companies WHERE (index_added IS NULL OR index_added <= %s)"
                " AND (index_removed IS NULL OR index_removed > %s)",
                (day, day),
            )
        ]
        rets, caps = {}, {}
        for symbol in members:
            found = conn.execute(
                "SELECT d.adj_close, p.adj_close, p.close, p.date FROM prices_daily d"
                " JOIN LATERAL (SELECT adj_close, close, date FROM prices_daily WHERE symbol = d.symbol"
                " AND date < d.date ORDER BY date DESC LIMIT 1) p ON true WHERE d.symbol = %s AND d.date = %s",
                (symbol, day),
            ).fetchone()
            assert found is not None
            now, prev, prev_close, prev_day = found
            counted = conn.execute(
                "SELECT (payload->>'weightedAverageShsOut')::float8 FROM statements WHERE symbol = %s"
                " AND kind = 'income' AND fiscal_date <= %s ORDER BY fiscal_date DESC, period = 'FY' DESC"
                " LIMIT 1",
                (symbol, prev_day),
            ).fetchone()
            assert counted is not None
            shares = counted[0]
            rets[symbol], caps[symbol] = now / prev - 1, prev_close * shares
    stored = {
        r["benchmark"]: r for r in await pool.fetch("SELECT * FROM benchmark_returns WHERE date = $1", day)
    }
    total = sum(caps.values())
    assert len(members) == len(seed.SYMBOLS)
    assert stored["sp500_cap"]["daily_return"] == pytest.approx(
        sum(caps[s] * rets[s] for s in members) / total, rel=1e-12
    )
    assert stored["sp500_equal"]["daily_return"] == pytest.approx(sum(rets.values()) / len(rets), rel=1e-12)
    assert stored["sp500_cap"]["members"] == len(members)
    assert stored["sp500_cap"]["coverage"] == 1.0


async def test_a_price_load_keeps_its_month_end_closes_current(pool: asyncpg.Pool) -> None:
    """A price batch rewrites, in its own transaction, the month-end closes from its first row's month on:
    a new last day and a re-adjusted close replace the month's row; earlier months are left alone."""
    await refresh(pool, full=True)
    before = {
        r["month"]: tuple(r) for r in await pool.fetch("SELECT * FROM month_end_closes WHERE symbol = 'PG'")
    }
    rows = [
        PriceRow("PG", date(2024, 12, 30), 10.0, 12.0, 9.0, 11.0, 10.5, 1000, None),
        PriceRow("PG", date(2025, 1, 2), 11.0, 13.0, 10.0, 12.0, None, 1000, None),
    ]
    await load_price_rows(pool, "PG", rows, path="merge")
    after = {
        r["month"]: tuple(r) for r in await pool.fetch("SELECT * FROM month_end_closes WHERE symbol = 'PG'")
    }
    assert after[date(2024, 12, 1)] == (
        "PG",
        date(2024, 12, 1),
        date(2024, 12, 31),
        before[date(2024, 12, 1)][3],
    )
    assert after[date(2025, 1, 1)] == ("PG", date(2025, 1, 1), date(2025, 1, 2), 12.0)  # no adjusted: traded
    assert {m: v for m, v in after.items() if m < date(2024, 12, 1)} == {
        m: v for m, v in before.items() if m < date(2024, 12, 1)
    }
    await pool.execute("DELETE FROM prices_daily WHERE symbol = 'PG' AND date = '2024-12-31'")
    await load_price_rows(pool, "PG", [rows[0]._replace(adj_close=10.6)], path="merge")
    december = await pool.fetchrow(
        "SELECT date, close FROM month_end_closes WHERE symbol = 'PG' AND month = '2024-12-01'"
    )
    assert tuple(december) == (date(2024, 12, 30), 10.6)  # the adjusted close of the month's new last day
    await refresh(pool, full=True)  # the whole-table path agrees with what the loads left
    assert (
        await pool.fetchrow(
            "SELECT date, close FROM month_end_closes WHERE symbol = 'PG' AND month = '2024-12-01'"
        )
        == december
    )


async def test_a_failed_table_is_recorded_and_reported_without_stopping_the_others(
    pool: asyncpg.Pool,
) -> None:
    """A table whose refresh fails is marked failed with its reason (status shows it), keeps its rows and
    its scope for the next refresh; the other tables refresh."""
    await refresh(pool, full=True)
    before = await pool.fetchval("SELECT count(*) FROM screener_rows")
    await pool.execute("ALTER TABLE sector_medians RENAME TO sector_medians_away")
    try:
        report = {t.name: t for t in (await refresh(pool, full=True)).tables}
    finally:
        await pool.execute("ALTER TABLE sector_medians_away RENAME TO sector_medians")
    assert report["screener_rows"].state == "failed"
    assert "sector_medians" in (report["screener_rows"].error or "")
    assert report["metric_history"].state == "ok"
    assert await pool.fetchval("SELECT count(*) FROM screener_rows") == before
    status = await collect_status(pool)
    failed = [t for t in status["serving"] if t["state"] == "failed"]
    # The TTM basis is written in screener_rows' transaction: it fails with it, and keeps its rows too.
    assert [t["name"] for t in failed] == ["screener_basis_rows", "screener_rows"]
    assert report["screener_basis_rows"].state == "failed"
    assert "FAILED" in render_status(status)
    assert (await refresh(pool)).ok  # its scope did not move on: the next refresh rebuilds it
    assert await pool.fetchval("SELECT state FROM serving_refreshes WHERE name = 'screener_rows'") == "ok"


async def test_the_ttm_basis_is_rebuilt_when_screener_rows_moved_without_it(pool: asyncpg.Pool) -> None:
    """An engine of the previous release refreshes screener_rows alone (its scope moves on, the basis's
    does not): the next refresh, with nothing else changed, rebuilds both; in step, an idle refresh
    rebuilds neither."""
    await refresh(pool, full=True)
    rows = await pool.fetchval("SELECT count(*) FROM screener_basis_rows")
    assert rows == await pool.fetchval("SELECT count(*) FROM screener_rows") > 0
    idle = {t.name: t for t in (await refresh(pool)).tables}
    assert (idle["screener_rows"].symbols, idle["screener_basis_rows"].symbols) == (0, 0)
    await pool.execute("DELETE FROM screener_basis_rows")  # what a stale basis would hold is not read
    await pool.execute(
        "UPDATE serving_refreshes SET scope_from = scope_from + interval '1 second', succeeded_at = now()"
        " WHERE name IN ('screener_rows', 'metric_history')"  # as a whole refresh records them
    )
    report = {t.name: t for t in (await refresh(pool)).tables}
    assert report["screener_rows"].symbols == rows
    assert report["screener_basis_rows"].state == "ok"
    assert await pool.fetchval("SELECT count(*) FROM screener_basis_rows") == rows


async def test_a_refresh_never_makes_a_reader_wait(pool: asyncpg.Pool, demo: Database) -> None:
    """While a refresh's replacement is uncommitted, readers see the previous rows at once (no lock
    stronger than ROW EXCLUSIVE is taken on what pages read)."""
    await refresh(pool, full=True)
    async with pool.acquire() as writer, writer.transaction():
        await writer.execute("DELETE FROM screener_rows")
        await writer.execute("DELETE FROM metric_history WHERE symbol = 'AAPL'")
        modes = await writer.fetch(
            "SELECT DISTINCT mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE l.pid = pg_backend_pid() AND c.relname IN ('screener_rows', 'metric_history')"
        )
        assert {r["mode"] for r in modes} <= {"RowExclusiveLock", "AccessShareLock"}
        with psycopg.connect(demo.reader_url, autocommit=True) as reader:
            reader.execute("SET lock_timeout = '1s'")
            rows = reader.execute("SELECT count(*) FROM screener_rows").fetchone()
            history = reader.execute("SELECT count(*) FROM metric_history WHERE symbol = 'AAPL'").fetchone()
        assert rows is not None
        assert rows[0] == len(seed.SYMBOLS)
        assert history is not None
        assert history[0] > 0


async def test_restated_figures_and_first_reported_history(pool: asyncpg.Pool) -> None:
    """The seed's restatement (AAPL's FY2023 revenue, 2 % higher) is one statement_changes row with old,
    new, change and when; metric_history_first has AAPL (and no company never restated), with the revenue
    as filed, and its other figures equal metric_history's."""
    report = await refresh(pool, full=True)
    assert report.ok, report.as_dict()
    changes = await pool.fetch("SELECT * FROM statement_changes WHERE symbol = 'AAPL'")
    assert [(r["symbol"], r["kind"], r["period"], r["fiscal_date"], r["field"]) for r in changes] == [
        ("AAPL", "income", "FY", seed.RESTATED_FISCAL_DATE, "revenue")
    ]
    row = changes[0]
    assert row["new_value"] == pytest.approx(row["old_value"] * 1.02, rel=1e-9)
    assert row["change"] == pytest.approx(0.02, rel=1e-6)
    assert (row["restated_on"], row["per_share_only"]) == (seed.RESTATED_ON, False)
    restated = await pool.fetchval("SELECT array_agg(DISTINCT symbol) FROM statement_revisions")
    assert await pool.fetchval("SELECT array_agg(DISTINCT symbol) FROM metric_history_first") == restated
    first, latest = [
        {
            r["fiscal_date"]: r
            for r in await pool.fetch(f"SELECT * FROM {table} WHERE symbol = 'AAPL' AND basis = 'FY'")
        }
        for table in ("metric_history_first", "metric_history")
    ]
    assert first.keys() == latest.keys()
    day = seed.RESTATED_FISCAL_DATE
    assert first[day]["revenue"] == pytest.approx(row["old_value"])
    assert latest[day]["revenue"] == pytest.approx(row["new_value"])
    assert first[day]["net_income"] == latest[day]["net_income"]
    assert first[day]["net_margin"] > latest[day]["net_margin"]  # the same income over less revenue
    earlier = [d for d in first if d < day]
    assert all(first[d]["revenue"] == latest[d]["revenue"] for d in earlier)
    # The Screener's restatement columns, counted back from the latest close (seed.LAST_DAY).
    screened = {
        r["symbol"]: r
        for r in await pool.fetch(
            "SELECT symbol, restatements_1y, restatements_3y, restatements_5y, restatement_change_1y,"
            " restatement_change_5y FROM screener_rows"
        )
    }
    aapl = screened["AAPL"]
    assert (aapl["restatements_1y"], aapl["restatements_3y"], aapl["restatements_5y"]) == (1, 1, 1)
    assert aapl["restatement_change_1y"] == pytest.approx(0.02, rel=1e-6)
    assert aapl["restatement_change_5y"] == pytest.approx(0.02, rel=1e-6)
    never = [r for s, r in screened.items() if s not in restated]
    assert never
    assert all(r["restatements_5y"] == 0 and r["restatement_change_5y"] is None for r in never)


def test_refresh_verb_prints_each_table_and_exits_by_their_state(demo: Database) -> None:
    """`mycfa-engine refresh --all` rebuilds every table and prints each one's outcome as JSON (exit 0);
    a table that fails makes it exit 1, with the reason in its JSON."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "MYCFA_DATABASE_URL": demo.owner_url,
        "MYCFA_FMP_API_KEY": "unused-by-refresh",
        "MYCFA_LOG_LEVEL": "ERROR",
    }

    def refresh_all() -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "engine", "refresh", "--all"]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    done = refresh_all()
    assert done.returncode == 0, done.stderr[-2000:]
    tables = json.loads(done.stdout.strip().splitlines()[-1])
    assert {name: t["state"] for name, t in tables.items()} == dict.fromkeys(TABLES, "ok")
    with psycopg.connect(demo.owner_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE month_end_closes RENAME TO month_end_closes_away")
        try:
            failed = refresh_all()
        finally:
            conn.execute("ALTER TABLE month_end_closes_away RENAME TO month_end_closes")
    assert failed.returncode == 1
    assert json.loads(failed.stdout.strip().splitlines()[-1])["month_end_closes"]["state"] == "failed"


async def test_a_store_never_refreshed_rebuilds_only_the_months_its_loads_did_not_keep(
    pool: asyncpg.Pool,
) -> None:
    """A first refresh recomputes the month-end closes of the symbols that have none (prices loaded
    before schema 100), not those every price load already kept."""
    await refresh(pool, full=True)
    kept = await pool.fetch("SELECT * FROM month_end_closes WHERE symbol = 'JNJ' ORDER BY month")
    await pool.execute("DELETE FROM month_end_closes WHERE symbol = 'JNJ'")
    await pool.execute("TRUNCATE serving_refreshes")
    report = {t.name: t for t in (await refresh(pool)).tables}
    assert report["month_end_closes"].symbols == 1
    assert await pool.fetch("SELECT * FROM month_end_closes WHERE symbol = 'JNJ' ORDER BY month") == kept


# The month-end pass's scope as it was read before the probes: every priced company, less those with rows.
FORMER_PRICED = (
    "SELECT symbol FROM companies c WHERE EXISTS (SELECT 1 FROM prices_daily p WHERE p.symbol = c.symbol)"
)
FORMER_KEPT = "SELECT DISTINCT symbol FROM month_end_closes"


async def test_the_month_end_scope_equals_the_former_set_difference(pool: asyncpg.Pool) -> None:
    """The probed scopes name the companies the former queries named: with prices (`--all`), and of them
    those without a month-end row (a first refresh); a company without prices is in neither."""
    await refresh(pool, full=True)
    async with pool.acquire() as conn:
        undo = conn.transaction()
        await undo.start()
        try:
            await conn.execute("DELETE FROM month_end_closes WHERE symbol = ANY('{JNJ,PG}')")
            await conn.execute("INSERT INTO companies (symbol, name) VALUES ('NOPX', 'No prices')")
            priced = {r["symbol"] for r in await conn.fetch(FORMER_PRICED)}
            kept = {r["symbol"] for r in await conn.fetch(FORMER_KEPT)}
            assert {r["symbol"] for r in await conn.fetch(queries.SERVING_PRICE_SYMBOLS)} == priced
            missing = {r["symbol"] for r in await conn.fetch(queries.SERVING_MONTH_END_MISSING)}
            assert missing == priced - kept == {"JNJ", "PG"}
        finally:
            await undo.rollback()


async def test_a_prices_run_recomputes_the_benchmark_from_its_first_day_only(pool: asyncpg.Pool) -> None:
    """A run that changed prices only recomputes benchmark_returns from the earliest day its price items
    loaded, not every member's whole history: those days equal a whole rebuild's bit for bit (the
    returns over the close before them included), the days before are left as they were."""
    await refresh(pool, full=True)
    before = [tuple(r) for r in await pool.fetch("SELECT * FROM benchmark_returns ORDER BY benchmark, date")]
    start = date(2024, 12, 20)
    moved = await pool.fetch(
        "SELECT * FROM prices_daily WHERE symbol = 'KO' AND date >= $1 ORDER BY date", start
    )
    rows = [PriceRow(*r)._replace(close=r["close"] * 1.03, adj_close=r["adj_close"] * 1.03) for r in moved]
    await load_price_rows(pool, "KO", rows, path="merge")
    await _run_changed(
        pool, [("KO", "prices", {"from": start.isoformat()}), ("MSFT", "prices", {"from": "2024-12-23"})]
    )
    report = {t.name: t for t in (await refresh(pool)).tables}
    after = [tuple(r) for r in await pool.fetch("SELECT * FROM benchmark_returns ORDER BY benchmark, date")]
    recent = [r for r in after if r[1] >= start]
    assert report["benchmark_returns"].rows == len(recent) < len(after) // 100
    assert [r for r in after if r[1] < start] == [r for r in before if r[1] < start]
    assert recent != [r for r in before if r[1] >= start]  # KO's closes moved them
    await refresh_benchmark(pool)  # the whole rebuild
    assert [
        tuple(r) for r in await pool.fetch("SELECT * FROM benchmark_returns ORDER BY benchmark, date")
    ] == after
    # A price item without a window (its whole history) or a statement change: the whole table again.
    await _run_changed(pool, [("KO", "prices", {})])
    assert {t.name: t for t in (await refresh(pool)).tables}["benchmark_returns"].rows == len(after)


async def _benchmark_rows(pool: asyncpg.Pool) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await pool.fetch("SELECT * FROM benchmark_returns ORDER BY benchmark, date")]


async def test_a_restated_share_count_recomputes_the_benchmark_from_its_period_end(
    pool: asyncpg.Pool,
) -> None:
    """A fundamentals run that restated a quarter's share count recomputes benchmark_returns from that
    quarter's end only: those days equal a whole rebuild's bit for bit, the days before are left as they
    were; a statement change that moves no count (revenue) recomputes nothing; a restated first count (it
    also stands for the days before the first report) rebuilds the series whole."""
    await refresh(pool, full=True)
    before = await _benchmark_rows(pool)
    end = await pool.fetchval(
        "UPDATE statements SET updated_at = now(), payload = jsonb_set(payload, '{weightedAverageShsOut}',"
        " to_jsonb((payload->>'weightedAverageShsOut')::float8 * 1.5))"
        " WHERE symbol = 'KO' AND kind = 'income' AND period <> 'FY' AND fiscal_date = (SELECT max(fiscal_date)"
        " FROM statements WHERE symbol = 'KO' AND kind = 'income' AND period <> 'FY' AND fiscal_date <= '2024-06-30')"
        " RETURNING fiscal_date"
    )
    assert end is not None
    await _run_changed(pool, [("KO", "income_quarter", {}), ("KO", "balance_quarter", {})])
    report = {t.name: t for t in (await refresh(pool)).tables}
    after = await _benchmark_rows(pool)
    recent = [r for r in after if r[1] >= end]
    assert report["benchmark_returns"].rows == len(recent) < len(after) // 10
    assert [r for r in after if r[1] < end] == [r for r in before if r[1] < end]
    assert recent != [r for r in before if r[1] >= end]  # KO's larger cap moved the cap-weighted days
    await refresh_benchmark(pool)  # the whole rebuild
    assert await _benchmark_rows(pool) == after

    await pool.execute(
        "UPDATE statements SET updated_at = now(), payload = jsonb_set(payload, '{revenue}', '1.0')"
        " WHERE symbol = 'KO' AND kind = 'income' AND period <> 'FY' AND fiscal_date = $1",
        end,
    )
    await _run_changed(pool, [("KO", "income_quarter", {})])
    assert {t.name: t for t in (await refresh(pool)).tables}["benchmark_returns"].rows == 0

    first = await pool.fetchval(
        "UPDATE statements SET updated_at = now(), payload = jsonb_set(payload, '{weightedAverageShsOut}',"
        " to_jsonb((payload->>'weightedAverageShsOut')::float8 * 2))"
        " WHERE symbol = 'KO' AND kind = 'income' AND (period, fiscal_date) = (SELECT period, fiscal_date"
        " FROM statements WHERE symbol = 'KO' AND kind = 'income' ORDER BY fiscal_date, period = 'FY' LIMIT 1)"
        " RETURNING fiscal_date"
    )
    assert first is not None
    await _run_changed(pool, [("KO", "income_annual", {})])
    report = {t.name: t for t in (await refresh(pool)).tables}
    whole = await _benchmark_rows(pool)
    assert report["benchmark_returns"].rows == len(whole) == len(after)
    await refresh_benchmark(pool)
    assert await _benchmark_rows(pool) == whole


# The former read of a batch's prices: every stored price of each company, packed the same way.
FORMER_BENCHMARK_PRICES = """
SELECT p.symbol, string_agg(int4send(p.date - DATE '1970-01-01') || float8send(p.close)
       || float8send(CASE WHEN p.adj_close IS NULL OR p.adj_close = 'NaN' THEN p.close ELSE p.adj_close END),
       ''::bytea) AS packed
  FROM prices_daily p WHERE p.symbol = ANY($1::text[]) GROUP BY p.symbol"""


async def test_the_benchmark_equals_the_former_read_and_sums_bit_for_bit(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """benchmark_returns as the refresh writes it, prices read only while their companies are in the index
    and batches read ahead, equals the former path's: every stored price, one batch at a time, summed by
    the former functions (tests/serving/former_benchmark.py). KO is a member from 2018 to mid-2024 and JPM
    twice (2015-2017, from 2019) of the demo's prices since 2013: the read leaves out their other days."""
    monkeypatch.setattr(serving_refresh, "BENCHMARK_BATCH", 2)  # several batches with prices
    spells = await pool.fetchrow("SELECT index_added, index_removed FROM companies WHERE symbol = 'KO'")
    await pool.execute(
        "UPDATE companies SET index_added = '2018-03-15', index_removed = '2024-06-03' WHERE symbol = 'KO'"
    )
    await pool.execute(
        "INSERT INTO sp500_changes (day, added_symbol, removed_symbol, payload) VALUES"
        " ('2015-01-02', 'JPM', NULL, '{}'), ('2017-06-01', NULL, 'JPM', '{}'), ('2019-01-02', 'JPM', NULL, '{}')"
    )
    try:
        await serving_refresh.refresh_benchmark(pool)
        got = await _benchmark_rows(pool)
        inputs = await serving_refresh.benchmark_inputs(pool)
        symbols = [r["symbol"] for r in await pool.fetch(queries.SERVING_BENCHMARK_SYMBOLS)]
        parts, read, kept = [], 0, 0
        for at in range(0, len(symbols), 2):
            batch = symbols[at : at + 2]
            priced = await pool.fetch(FORMER_BENCHMARK_PRICES, batch)
            kept += sum(len(r["packed"]) for r in await pool.fetch(queries.SERVING_BENCHMARK_PRICES, batch))
            read += sum(len(r["packed"]) for r in priced)
            reported = serving_refresh._reported(await pool.fetch(queries.SERVING_REPORTED_SHARES, batch))
            frame = serving_refresh.price_frame(sorted(priced, key=lambda r: r["symbol"]))
            steps = former_benchmark.share_steps(reported, inputs.profile, batch)
            parts.append(former_benchmark.partial_sums(frame, inputs.spells, steps=steps))
        want = benchmark.finish(pd.concat(parts))
        assert 0 < kept < read
        assert got == sorted(tuple(r) for r in serving_refresh._records(want))
    finally:
        await pool.execute("DELETE FROM sp500_changes WHERE added_symbol = 'JPM' OR removed_symbol = 'JPM'")
        await pool.execute(
            "UPDATE companies SET index_added = $1, index_removed = $2 WHERE symbol = 'KO'", *spells
        )
        await serving_refresh.refresh_benchmark(pool)


async def _screener_tables(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted((tuple(r) for r in await pool.fetch(f"SELECT * FROM {table}")), key=repr)
        for table in ("screener_rows", "sector_medians", "screener_basis_rows")
    }


async def test_the_screener_from_its_reads_at_once_equals_the_reads_one_by_one(pool: asyncpg.Pool) -> None:
    """screener_rows, sector_medians and the TTM basis written from the screener's reads made at once
    equal, bit for bit, those written from the same reads made one after another (the former path)."""
    await refresh(pool, full=True)
    await serving_refresh.refresh_screener(pool)
    at_once = await _screener_tables(pool)

    raw = serving_refresh._frame(
        await pool.fetch(queries.SERVING_RECENT_ANNUAL, list(universe.KINDS), universe.DEPTH),
        ("kind", "symbol", "fiscal_date", "payload"),
    )
    raw["payload"] = [orjson.loads(p) for p in raw["payload"]]
    closes = serving_refresh._frame(
        await pool.fetch(queries.SERVING_LATEST_CLOSES), ("symbol", "date", "close")
    )
    counts = serving_refresh._frame(
        await pool.fetch(queries.SERVING_SHARE_COUNTS), ("symbol", "profile_shares", "quarter_shares")
    ).set_index("symbol")
    for name in ("profile_shares", "quarter_shares"):
        counts[name] = pd.to_numeric(counts[name], errors="coerce").astype(float)
    companies = serving_refresh._frame(
        await pool.fetch(queries.SERVING_COMPANIES), ("symbol", "name", "sector", "sub_industry")
    )
    stats = serving_refresh._frame(
        await pool.fetch(queries.SERVING_PRICE_STATS), ("symbol", *universe.PRICE_STATS)
    ).set_index("symbol")
    for name in universe.PRICE_STATS[1:]:
        stats[name] = pd.to_numeric(stats[name], errors="coerce").astype(float)
    changes = serving_refresh._frame(
        await pool.fetch(queries.SERVING_RESTATEMENTS), restatements.EVENT_COLUMNS
    )
    rows, medians = serving_refresh.screener_frames(raw, closes, counts, companies, stats, changes)
    firm = fitting.firm_flags(companies.set_index("symbol")["sub_industry"])
    await serving_refresh._replace_screener(pool, rows, medians, firm)
    one_by_one = await _screener_tables(pool)
    assert all(one_by_one.values())
    assert at_once == one_by_one
