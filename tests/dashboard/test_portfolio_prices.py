"""The Portfolio page's price matrix, built from cached per-symbol histories, equals the SQL pivot it replaced."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pandas as pd
import psycopg
import pytest

from dashboard.data import queries
from tests.conftest import Cluster, Database, throwaway_database, wait_for_replica
from tests.dashboard import seed
from tests.dashboard.conftest import make_settings

# What the page ran for every request before (one query over k symbols, pivoted): the oracle.
PIVOT_SQL = (
    "SELECT symbol, date, coalesce(adj_close, close) AS price FROM prices_daily"
    " WHERE symbol = ANY(%s) ORDER BY date"
)


def sql_pivot(url: str, symbols: list[str]) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        rows = conn.execute(PIVOT_SQL, (symbols,)).fetchall()
    frame = pd.DataFrame(rows, columns=["symbol", "date", "price"])
    if frame.empty:
        return pd.DataFrame(columns=symbols, dtype=float)
    wide = frame.pivot(index="date", columns="symbol", values="price")
    wide.index = pd.DatetimeIndex(pd.to_datetime(wide.index), name="date")
    return wide.astype(float).reindex(columns=[s for s in symbols if s in wide.columns])


@pytest.fixture(scope="module")
def ragged_db(pg_cluster: Cluster) -> Iterator[Database]:
    """Seeded prices made ragged: a late listing, gaps, rows without an adjusted close, a symbol without prices."""
    with throwaway_database(pg_cluster, "portfolio_prices") as db:
        seed.seed(db.owner_url, ("AAPL", "MSFT", "KO", "JNJ"))
        with psycopg.connect(db.owner_url) as conn:
            conn.execute("DELETE FROM prices_daily WHERE symbol = 'AAPL' AND date < '2016-03-01'")
            conn.execute(
                "DELETE FROM prices_daily WHERE symbol = 'MSFT' AND date BETWEEN '2020-01-10' AND '2020-02-20'"
            )
            conn.execute("DELETE FROM prices_daily WHERE symbol = 'MSFT' AND date > '2024-11-15'")
            conn.execute(
                "UPDATE prices_daily SET adj_close = NULL WHERE symbol = 'KO' AND date BETWEEN '2019-05-01' AND '2019-08-01'"
            )
            conn.execute("DELETE FROM prices_daily WHERE symbol = 'JNJ'")
        wait_for_replica(pg_cluster)
        yield db


@pytest.fixture(scope="module")
def page(ragged_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    from dashboard.app import create_app

    app = create_app(make_settings(ragged_db, tmp_path_factory.mktemp("cache")))
    yield app, importlib.import_module("dashboard.pages.portfolio")
    app.server.extensions["mycfa"].router.dispose()


@pytest.mark.parametrize(
    "symbols",
    [
        ["MSFT", "NOPE", "AAPL", "KO", "JNJ"],
        ["KO", "AAPL"],
        ["AAPL", "MSFT"],
        ["JNJ", "NOPE"],
    ],
)
def test_adjusted_closes_equal_the_sql_pivot(
    page: tuple[Any, Any], ragged_db: Database, symbols: list[str]
) -> None:
    """Coalesced closes, date index, columns in the order asked, symbols without prices left out: as the SQL."""
    app, portfolio_page = page
    with app.server.test_request_context():
        built = portfolio_page.adjusted_closes(symbols)
    expected = sql_pivot(ragged_db.reader_url, symbols)
    pd.testing.assert_frame_equal(built, expected)
    if not expected.empty:
        assert built.notna().sum().min() > 2000  # the ragged rows are really there
        assert built.isna().any().any()


def test_adjusted_closes_need_no_query_for_a_new_combination_once_warm(
    page: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once each symbol's history is cached, another combination of the same symbols reads no prices."""
    app, portfolio_page = page
    with app.server.test_request_context():
        portfolio_page.adjusted_closes(["AAPL", "MSFT", "KO"])

        def no_query(*_: Any) -> pd.DataFrame:
            raise AssertionError("prices queried again")

        monkeypatch.setattr(queries, "prices", no_query)
        assert list(portfolio_page.adjusted_closes(["KO", "MSFT"]).columns) == ["KO", "MSFT"]
