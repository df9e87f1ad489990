"""The price matrix of the Portfolio and Compare pages, from cached per-symbol histories, equals what they used before:
the SQL pivot (Portfolio) and Compare's own frame of coalesced closes."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest

from dashboard.components import company_data
from dashboard.data import queries
from devkit import seed
from tests.conftest import Cluster, Database, throwaway_database, wait_for_replica
from tests.dashboard.conftest import make_settings

# What the page ran for every request before (one query over k symbols, pivoted): the oracle.
PIVOT_SQL = (
    "SELECT symbol, date, coalesce(adj_close, close) AS price FROM prices_daily"
    " WHERE symbol = ANY(%s) ORDER BY date"
)

# Late listing, gaps, coalesced rows, no prices at all (JNJ) and an unknown ticker, in several orders.
SYMBOL_SETS = [["MSFT", "NOPE", "AAPL", "KO", "JNJ"], ["KO", "AAPL"], ["AAPL", "MSFT"], ["JNJ", "NOPE"]]


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

    app = create_app(make_settings(ragged_db))
    yield app, company_data
    app.server.extensions["mycfa"].router.dispose()


@pytest.mark.parametrize("symbols", SYMBOL_SETS)
def test_adjusted_closes_equal_the_sql_pivot(
    page: tuple[Any, Any], ragged_db: Database, symbols: list[str]
) -> None:
    """Coalesced closes, date index, columns in the order asked, symbols without prices left out: as the SQL."""
    app, data = page
    with app.server.test_request_context():
        built = data.adjusted_closes(symbols)
    expected = sql_pivot(ragged_db.reader_url, symbols)
    pd.testing.assert_frame_equal(built, expected)
    if not expected.empty:
        assert built.notna().sum().min() > 2000  # the ragged rows are really there
        assert built.isna().any().any()


def test_adjusted_closes_need_no_query_for_a_new_combination_once_warm(
    page: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once each symbol's history is cached, another combination of the same symbols reads no prices."""
    app, data = page
    with app.server.test_request_context():
        data.adjusted_closes(["AAPL", "MSFT", "KO"])

        def no_query(*_: Any) -> pd.DataFrame:
            raise AssertionError("prices queried again")

        monkeypatch.setattr(queries, "prices", no_query)
        assert list(data.adjusted_closes(["KO", "MSFT"]).columns) == ["KO", "MSFT"]


def _previous_compare(symbols: list[str], span: str) -> pd.DataFrame:
    """What the Compare page built before (the oracle): its own frame of coalesced closes, cut and rebased."""
    series = {}
    for symbol in symbols:
        prices = company_data.prices(symbol)
        if not prices.empty:
            series[symbol] = prices["adj_close"].fillna(prices["close"])
    if not series:
        return pd.DataFrame()
    wide = pd.DataFrame(series)
    wide = wide[wide.index >= wide.index[-1] - pd.Timedelta(days=_compare().SPANS[span])]
    return wide / wide.bfill().iloc[0] * 100.0


@pytest.mark.parametrize("span", ["1Y", "5Y", "10Y"])
@pytest.mark.parametrize("symbols", [*SYMBOL_SETS, ["KO", "NOPE"]])
def test_compare_normalised_equals_its_previous_build(
    page: tuple[Any, Any], symbols: list[str], span: str
) -> None:
    """Compare's rebased closes from the shared `adjusted_closes` equal its own earlier frame (an empty
    frame, not one with the asked columns, when no ticker has prices)."""
    app, _ = page
    with app.server.test_request_context():
        built = _compare().normalised(symbols, span)
        expected = _previous_compare(symbols, span)
    # The union of the dates used to infer a business-day frequency here; no chart or export shows it.
    pd.testing.assert_frame_equal(built, expected, check_freq=False)
    assert list(built.columns) == [s for s in symbols if s in ("MSFT", "AAPL", "KO")]  # JNJ has no prices
    if not built.empty:
        assert (built.bfill().iloc[0] == 100.0).all()


def _compare() -> Any:
    return importlib.import_module("dashboard.pages.compare")


def _days(start: str, periods: int, unit: str = "s") -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.bdate_range(start, periods=periods).as_unit(unit), name="date")


FULL = _days("1990-01-02", 9552)
DATE_SETS = {
    "equal": [FULL, FULL.copy()],
    "late listing": [FULL, FULL[4000:]],
    "gap and early end": [FULL[:-300].delete(slice(2000, 2030)), FULL],
    "neither holds the other": [FULL[:-300], FULL[3000:]],
    "empty after a cut": [FULL, FULL[:0]],
    "other date unit": [FULL, _days("1990-01-02", 9552, "ns")[5000:]],
}


@pytest.mark.parametrize("name", DATE_SETS)
def test_date_union_equals_the_sorted_union(name: str) -> None:
    """The union of the histories' dates and each one's rows in it equal np.unique and a search in it."""
    indexes = DATE_SETS[name]
    union, rows = company_data._date_union(indexes)
    expected = pd.DatetimeIndex(np.unique(np.concatenate([i.to_numpy() for i in indexes])))
    assert union.equals(expected)
    assert union.name == "date"
    if rows is None:
        assert all(i.equals(union) for i in indexes)
    else:
        for index, at in zip(indexes, rows, strict=True):
            assert union[at].equals(index)


@pytest.mark.parametrize("symbols", [*SYMBOL_SETS, ["KO", "NOPE"], ["NOPE"]])
def test_compare_ratio_table_equals_its_previous_build(page: tuple[Any, Any], symbols: list[str]) -> None:
    """Compare's ratio rows, in the order asked and without unknown tickers, equal the screener table on
    the TTM basis (#27) cut with `loc`, with the basis label and the n/m column."""
    from dashboard.components import universe_data
    from dashboard.components.screener_grid import with_labels

    app, _ = page
    with app.server.test_request_context():
        built = _compare().ratio_table(symbols)
        table = with_labels(universe_data.on_basis("ttm"))
    present = [s for s in symbols if s in table.index]
    wanted = [c for c in [*_compare().COLUMNS, "not_meaningful"] if c in table.columns]
    expected = table.loc[present, wanted].reset_index()
    pd.testing.assert_frame_equal(built, expected)
    assert {"basis_shown", "period_end", "operating_margin", "roe"} <= set(built.columns)
    assert list(built["symbol"]) == [s for s in symbols if s != "NOPE"]


def test_company_field_equals_the_universe_indexed_by_symbol(page: tuple[Any, Any]) -> None:
    """A company's sector or sub-industry from the kept index by symbol equals the universe's own row
    (`set_index("symbol")[column].get`), and an unknown ticker has none."""
    from dashboard.components.inputs import company_field, universe

    app, _ = page
    with app.server.test_request_context():
        frame = universe()
        for column in ("name", "sector", "sub_industry", "member"):
            indexed = frame.set_index("symbol")[column]
            assert [company_field(s, column) for s in frame["symbol"]] == [
                indexed.get(s) for s in frame["symbol"]
            ]
        assert company_field("NOPE", "sector") is None
        assert not frame.empty
