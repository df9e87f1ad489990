"""The dashboard's read-only queries on a real Postgres: the same answers as the frames they replace."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pandas as pd
import psycopg
import pytest

from dashboard.analytics import forecast as fc
from dashboard.data import queries
from dashboard.data.router import ReplicaRouter
from devkit import seed
from tests.conftest import Database

SYMBOL = sorted(seed.constituents())[0]


@pytest.fixture(scope="module")
def router(pg_database: Database) -> Iterator[ReplicaRouter]:
    seed.seed(pg_database.owner_url, (SYMBOL,))
    with psycopg.connect(pg_database.owner_url) as conn:
        last_days = [
            row[0]
            for row in conn.execute(
                "SELECT max(date) FROM prices_daily WHERE symbol = %s GROUP BY date_trunc('month', date)"
                " ORDER BY 1 LIMIT 4",
                (SYMBOL,),
            )
        ]
        # Month ends with no adjusted close, a NaN one, no finite value at all; and a month with none.
        updates = [
            ("adj_close = NULL", "date = %s"),
            ("adj_close = 'NaN'", "date = %s"),
            ("adj_close = 'Infinity', close = 'NaN'", "date = %s"),
            ("adj_close = 'NaN', close = 'NaN'", "date_trunc('month', date) = date_trunc('month', %s::date)"),
        ]
        for (change, where), day in zip(updates, last_days, strict=True):
            conn.execute(f"UPDATE prices_daily SET {change} WHERE symbol = %s AND {where}", (SYMBOL, day))
    out = ReplicaRouter(pg_database.reader_url, [])
    yield out
    out.dispose()


def test_prices_unpacked_from_binary_columns_equal_the_rows(
    router: ReplicaRouter, pg_database: Database
) -> None:
    """The packed read gives exactly the frame of the plain rows: dates, order, NULL adj_close as NaN,
    NaN and infinite values kept, volumes as floats; an unknown symbol gives the same empty shape."""
    with psycopg.connect(pg_database.owner_url) as conn:
        rows = conn.execute(
            "SELECT date, open, high, low, close, adj_close, volume FROM prices_daily WHERE symbol = %s"
            " ORDER BY date",
            (SYMBOL,),
        ).fetchall()
    expected = pd.DataFrame(rows, columns=["date", *queries.PRICE_COLUMNS]).astype(
        {name: "float64" for name in queries.PRICE_COLUMNS}
    )
    expected = expected.set_index(pd.DatetimeIndex(pd.to_datetime(expected.pop("date")), name="date"))
    frame = queries.prices(router, SYMBOL)
    pd.testing.assert_frame_equal(frame, expected, check_exact=True, check_freq=False)
    assert frame["adj_close"].isna().any()
    assert np.isinf(frame["adj_close"]).any()
    empty = queries.prices(router, "NOPE")
    assert empty.empty
    assert list(empty.columns) == list(queries.PRICE_COLUMNS)
    assert empty.index.dtype == frame.index.dtype  # seconds, as pandas makes dates of Python dates
    assert empty.index.name == "date"
    assert (empty.dtypes == "float64").all()


def test_month_end_closes_resample_like_the_daily_history(router: ReplicaRouter) -> None:
    """Month ends from the slim query equal month ends of the full daily adj_close.fillna(close), exactly,
    across missing, NaN and infinite values; one row per month comes back."""
    daily = queries.prices(router, SYMBOL)
    expected = fc.monthly(daily["adj_close"].fillna(daily["close"]))
    slim = queries.month_end_closes(router, SYMBOL)
    pd.testing.assert_series_equal(fc.monthly(slim), expected, check_exact=True)
    assert len(slim) == len(expected) < len(daily) / 15
    assert queries.month_end_closes(router, "NOPE").empty


def test_runs_and_failures_in_one_query_equal_their_own_queries(
    router: ReplicaRouter, pg_database: Database
) -> None:
    """The Status page's single query gives exactly the frames of recent_runs and recent_failures
    (values, dtypes, order, limits), with NULLs, JSON metrics and more rows than the limits."""
    with psycopg.connect(pg_database.owner_url) as conn:
        for i in range(25):
            run_id = conn.execute(
                "INSERT INTO runs (job, state, finished_at, exit_code, requests, metrics, error)"
                " VALUES ('full', %s, CASE WHEN %s THEN now() END, %s, %s, %s, %s) RETURNING run_id",
                (
                    "failed" if i % 3 else "succeeded",
                    i % 2 == 0,
                    None if i % 4 == 0 else i % 3,
                    i * 10,
                    psycopg.types.json.Jsonb({"budget_used": i, "http_429": i % 2}),
                    None if i % 3 == 0 else f"boom {i}",
                ),
            ).fetchone()[0]  # type: ignore[index]
            for j in range(3):
                conn.execute(
                    "INSERT INTO run_items (run_id, symbol, dataset, state, attempts, error_class,"
                    " error_message, finished_at) VALUES (%s, %s, 'prices', %s, %s, %s, %s, now())",
                    (run_id, f"S{j}{i:02d}", ("failed", "skipped", "done")[j], j, "HTTPError", None),
                )
    runs, failures = queries.recent_runs_and_failures(router)
    pd.testing.assert_frame_equal(runs, queries.recent_runs(router), check_exact=True)
    pd.testing.assert_frame_equal(failures, queries.recent_failures(router), check_exact=True)
    assert (len(runs), len(failures)) == (20, 50)
    runs, failures = queries.recent_runs_and_failures(router, runs=3, failures=4)
    pd.testing.assert_frame_equal(runs, queries.recent_runs(router, 3), check_exact=True)
    pd.testing.assert_frame_equal(failures, queries.recent_failures(router, 4), check_exact=True)


def test_dated_serving_series_read_as_floats_by_date(router: ReplicaRouter, pg_database: Database) -> None:
    """A benchmark's returns and a symbol's stored month ends come back as float Series on a date index,
    in date (month) order, named after the benchmark and adj_close; unknown keys give an empty float
    Series."""
    with psycopg.connect(pg_database.owner_url) as conn:
        for day, value in (("2024-01-03", -0.25), ("2024-01-02", 0.5), ("2024-01-04", 1e-9)):
            conn.execute(
                "INSERT INTO benchmark_returns (benchmark, date, daily_return, members, coverage)"
                " VALUES ('sp500_equal', %s, %s, 503, 1.0)",
                (day, value),
            )
        for month, day, close in (("2024-02-01", "2024-02-29", 12.5), ("2024-01-01", "2024-01-31", 10.0)):
            conn.execute(
                "INSERT INTO month_end_closes (symbol, month, date, close) VALUES ('ZZQ', %s, %s, %s)",
                (month, day, close),
            )
    # As pandas makes dates of the driver's Python dates (seconds), like the price reads above.
    dates = pd.DatetimeIndex(
        pd.to_datetime([date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)]), name="date"
    )
    pd.testing.assert_series_equal(
        queries.benchmark_returns(router, "sp500_equal"),
        pd.Series([0.5, -0.25, 1e-9], index=dates, name="sp500_equal"),
        check_exact=True,
    )
    month_ends = pd.DatetimeIndex(pd.to_datetime([date(2024, 1, 31), date(2024, 2, 29)]), name="date")
    pd.testing.assert_series_equal(
        queries.stored_month_end_closes(router, "ZZQ"),
        pd.Series([10.0, 12.5], index=month_ends, name="adj_close"),
        check_exact=True,
    )
    for empty in (
        queries.benchmark_returns(router, "sp500_cap"),
        queries.stored_month_end_closes(router, "NOPE"),
    ):
        assert empty.empty
        assert empty.dtype == "float64"


def test_profile_shares_equal_share_counts_profile_column(
    router: ReplicaRouter, pg_database: Database
) -> None:
    """The picker's slim read of the profiles' share counts gives share_counts' profile_shares value for
    value: market cap over price, NaN without a market cap or with a zero price (not infinite)."""
    with psycopg.connect(pg_database.owner_url) as conn:
        conn.execute(
            "INSERT INTO companies (symbol, name, profile) VALUES ('CAPPED', 'Capped', %s),"
            " ('NOCAP', 'No cap', %s), ('ZERO', 'Zero', %s)"
            " ON CONFLICT (symbol) DO UPDATE SET profile = EXCLUDED.profile",
            (
                psycopg.types.json.Jsonb({"marketCap": 2e9, "price": 40.0}),
                psycopg.types.json.Jsonb({"price": 10.0}),
                psycopg.types.json.Jsonb({"marketCap": 5e9, "price": 0}),
            ),
        )
    slim = queries.profile_shares(router)
    full = queries.share_counts(router)["profile_shares"]
    pd.testing.assert_series_equal(slim.sort_index(), full.sort_index(), check_exact=True, check_names=False)
    assert slim["CAPPED"] == 5e7
    assert np.isnan(slim["NOCAP"])
    assert np.isnan(slim["ZERO"])


def test_companies_with_rows_name_every_company_the_per_company_reads_find(
    router: ReplicaRouter, pg_database: Database
) -> None:
    """The one query of which companies have a revision, a restated line or a withheld row holds exactly
    the DISTINCT symbols of those tables; for a company it leaves out, each per-company read gives the
    very frame `no_rows` stands in for it (columns, no rows)."""
    with psycopg.connect(pg_database.owner_url) as conn:
        kind, period, day = conn.execute(
            "SELECT kind, period, fiscal_date FROM statements WHERE symbol = %s LIMIT 1", (SYMBOL,)
        ).fetchone()  # type: ignore[misc]
        conn.execute(  # a restatement: the trigger keeps the old payload in statement_revisions
            "UPDATE statements SET payload = payload || '{\"restated\": 1}'"
            " WHERE symbol = %s AND kind = %s AND period = %s AND fiscal_date = %s",
            (SYMBOL, kind, period, day),
        )
        conn.execute(
            "INSERT INTO statement_changes (symbol, kind, period, fiscal_date, field, seen_at, restated_on,"
            " per_share_only) VALUES (%s, %s, %s, %s, 'revenue', now(), %s, false)",
            (SYMBOL, kind, period, day, day),
        )
        conn.execute(
            "INSERT INTO quarantine (dataset, symbol, reason, payload)"
            " VALUES ('prices', 'ZZW', 'non-finite close', '{\"date\": \"2024-01-02\"}'),"
            " ('companies', NULL, 'missing symbol', '{}')"
        )
        expected = {
            part: frozenset(row[0] for row in conn.execute(sql))
            for part, sql in (
                ("revised", "SELECT DISTINCT symbol FROM statement_revisions"),
                ("changed", "SELECT DISTINCT symbol FROM statement_changes"),
                ("withheld", "SELECT DISTINCT symbol FROM withheld_values WHERE symbol IS NOT NULL"),
            )
        }
    found = queries.companies_with_rows(router)
    assert found == expected
    assert SYMBOL in found["revised"]
    assert SYMBOL in found["changed"]
    assert "ZZW" in found["withheld"]
    for frame, columns in (
        (queries.withheld_rows(router, "NOPE"), queries.WITHHELD_COLUMNS),
        (queries.restatements(router, "NOPE", None), queries.RESTATEMENT_COLUMNS),
        (queries.company_changes(router, "NOPE", "income", ["FY"]), queries.CHANGE_COLUMNS),
    ):
        pd.testing.assert_frame_equal(frame, queries.no_rows(columns))
    assert not queries.withheld_rows(router, "ZZW").empty
    assert not queries.company_changes(router, SYMBOL, kind, [period]).empty


def test_company_row_equals_the_one_row_frames_values(router: ReplicaRouter) -> None:
    """`company` gives the row itself: equal, value for value and type for type, to what the one-row
    frame it replaced gave (`iloc[0].to_dict()`), NULLs as None; an unknown company gives None."""
    result = router.read(
        "SELECT symbol, name, sector, sub_industry, headquarters, cik, founded, index_added,"
        " index_removed, profile FROM companies WHERE symbol = :symbol",
        {"symbol": SYMBOL},
    )
    framed = result.frame.iloc[0].to_dict()
    row = queries.company(router, SYMBOL)
    assert row == framed
    assert row is not None
    assert {k: type(v) for k, v in row.items()} == {k: type(v) for k, v in framed.items()}
    assert queries.company(router, "NOPE") is None


def test_dashboard_reads_plan_no_parallel_workers(router: ReplicaRouter) -> None:
    """Every connection of the router plans without parallel workers (their start cost the per-company
    reads more than they saved), and stays read-only with its statement timeout."""
    row = router.read(
        "SELECT current_setting('max_parallel_workers_per_gather'), current_setting('transaction_read_only'),"
        " current_setting('statement_timeout')"
    ).rows[0]
    assert row[0] == "0"
    assert row[1] == "on"
    assert row[2] != "0"
