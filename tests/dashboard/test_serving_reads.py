"""The pages read the serving layer's tables and answer exactly what they computed per request before.

Two demo universes (two seeds) are refreshed by the engine; each page's callbacks run once reading the
derived tables and once computing from the statements and prices (the path of a store without them),
and their whole answers (Dash components and figures as JSON) must be equal, as-of dates and the
seeded restatement included.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest
from plotly.io.json import to_json_plotly  # type: ignore[import-untyped]

from dashboard.components import (
    company_data,
    history_data,
    inputs,
    serving_state,
    universe_data,
)
from dashboard.data import queries
from devkit import callbacks, seed
from engine.db import create_pool
from engine.runs.refresh import refresh
from serving import restatements, valuation
from serving.basis import NM, not_meaningful
from tests.conftest import Cluster, Database, throwaway_database, wait_for_replica
from tests.dashboard.conftest import make_settings

SEEDS = (1, 11)
AS_OF = "2024-03-01"  # before AAPL's FY2023 restatement (seed.RESTATED_ON)
# A former member beside the demo's eight, marked as the engine marks one (in_index false, index_removed
# set), with its statements and prices kept for point-in-time reads. Energy, like XOM.
FORMER, FORMER_LEFT = "CVX", date(2022, 6, 30)


async def _refresh(url: str) -> None:
    pool = await create_pool(url)
    try:
        assert (await refresh(pool, full=True)).ok
    finally:
        await pool.close()


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def served_db(pg_cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[Database]:
    with throwaway_database(pg_cluster, f"reads_{request.param}") as db:
        seed.seed(db.owner_url, (*seed.SYMBOLS, FORMER), first_seed=request.param)
        with psycopg.connect(db.owner_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE companies SET in_index = false, index_removed = %s WHERE symbol = %s",
                (FORMER_LEFT, FORMER),
            )
        asyncio.run(_refresh(db.owner_url))
        wait_for_replica(pg_cluster)
        yield db


@pytest.fixture(scope="module")
def app(served_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from dashboard.app import create_app

    dash_app = create_app(make_settings(served_db))
    yield dash_app
    dash_app.server.extensions["mycfa"].router.dispose()


def _json(value: Any) -> str:
    text: str = to_json_plotly(value)
    return text


def _both(app: Any, answer: Callable[[], Any]) -> tuple[Any, Any]:
    """`answer()` reading the derived tables, then computing as a store without them (caches cleared)."""
    services = app.server.extensions["mycfa"]
    with app.server.test_request_context("/"):
        services.cache.clear()
        assert serving_state.usable(serving_state.SCREENER_ROWS)
        stored = answer()
        kept = {
            name: table
            for name, table in serving_state.state().items()
            if name == serving_state.BENCHMARK_RETURNS
        }
        # One clear between the paths: the live one must compute, not reuse the stored path's answers.
        # `state()` keeps its own read in the cache ("serving-state"), but only `state()` reads that
        # entry, and the patch below replaces it: a second clear after reading `kept` changes nothing.
        services.cache.clear()
        with pytest.MonkeyPatch.context() as patch:
            # Only what the pages can compute without its table is taken away: the S&P 500 series has no
            # per-request computation (a store without it draws no line; Compare draws it since P5).
            patch.setattr(serving_state, "state", lambda: dict(kept))
            live = answer()
        services.cache.clear()
    return stored, live


def test_screener_table_equals_the_one_computed_per_request(app: Any) -> None:
    """screener_rows holds the screener table as the pages computed it (same columns, dtypes, order)."""
    stored, live = _both(app, universe_data.metrics)
    assert set(stored.index) == set(seed.SYMBOLS)
    pd.testing.assert_frame_equal(stored[list(live.columns)], live)
    assert stored["perf_1y"].notna().all()
    assert stored["volatility_1y"].gt(0).all()
    # The seed's one restatement (AAPL, 2024-06-15) in every window to the last close, on both paths.
    assert set(restatements.COLUMNS) <= set(live.columns)
    assert stored.loc["AAPL", list(restatements.COUNTS)].tolist() == [1, 1, 1]
    assert stored.drop(index="AAPL")["restatements_5y"].eq(0).all()


def test_the_stored_ttm_basis_equals_the_one_computed_from_the_stored_tables(app: Any) -> None:
    """screener_basis_rows (written by the refresh) is `on_basis("ttm")` as the pages computed it from
    screener_rows and metric_history: same rows, columns, dtypes and order; read only while it is no older
    than screener_rows (an engine of the previous release refreshes screener_rows alone)."""
    services = app.server.extensions["mycfa"]
    with app.server.test_request_context("/"):
        services.cache.clear()
        assert universe_data.stored_basis()
        stored = universe_data.on_basis("ttm")
        pd.testing.assert_frame_equal(stored, queries.screener_basis_rows(services.router))
        tables = serving_state.state()
        services.cache.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(universe_data, "stored_basis", lambda: False)
            computed = universe_data.on_basis("ttm")
        later = dict(tables)
        later[serving_state.SCREENER_ROWS] = {
            **tables[serving_state.SCREENER_ROWS],
            "succeeded_at": tables[serving_state.SCREENER_BASIS_ROWS]["succeeded_at"] + timedelta(seconds=1),
        }
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(serving_state, "state", lambda: later)
            assert not universe_data.stored_basis()
        services.cache.clear()
    pd.testing.assert_frame_equal(stored, computed)
    assert set(stored.index) == set(seed.SYMBOLS)
    assert set(stored["basis"]) == {"TTM"}
    assert stored["not_meaningful"].map(type).eq(str).all()


def test_figures_as_first_reported_on_the_screener_and_compare(app: Any) -> None:
    """As first reported, AAPL's FY2023 revenue is the one filed (the seed restated it 2 % higher): in
    Compare's history, and in the Screener's FY2024 revenue growth over it; every other company's rows
    are those held now; read from the tables or computed from the statements, the same."""
    chosen = ["AAPL", "MSFT"]

    def read() -> tuple[Any, ...]:
        return (
            universe_data.on_basis("fy"),
            universe_data.on_basis("fy", "first"),
            universe_data.on_basis("ttm", "first"),
            history_data.histories(chosen, "FY"),
            history_data.histories(chosen, "FY", first=True),
        )

    stored, live = _both(app, read)
    for held, computed in zip(stored[:3], live[:3], strict=True):
        pd.testing.assert_frame_equal(held[list(computed.columns)], computed)
    for held, computed in zip(stored[3:], live[3:], strict=True):
        for symbol in chosen:
            pd.testing.assert_frame_equal(held[symbol][list(computed[symbol].columns)], computed[symbol])
    now, first = stored[0], stored[1]
    growth = now.loc["AAPL", "revenue_growth"]
    assert first.loc["AAPL", "revenue_growth"] == pytest.approx((1 + growth) * 1.02 - 1, rel=1e-9)
    others = now.index.drop("AAPL")
    pd.testing.assert_frame_equal(first.loc[others], now.loc[others])
    held, as_filed = stored[3]["AAPL"], stored[4]["AAPL"]
    year = seed.RESTATED_FISCAL_DATE.year
    revenue = {f: h.set_index("fiscal_year")["revenue"] for f, h in (("now", held), ("first", as_filed))}
    assert revenue["first"][year] == pytest.approx(revenue["now"][year] / 1.02, rel=1e-9)
    assert revenue["first"].drop(year).equals(revenue["now"].drop(year))
    pd.testing.assert_frame_equal(stored[4]["MSFT"], stored[3]["MSFT"])


def test_sector_medians_equal_the_groupby(app: Any) -> None:
    stored, live = _both(app, lambda: universe_data.sector_medians(universe_data.metrics()))
    pd.testing.assert_frame_equal(stored, live, check_names=False)
    table = universe_data.metrics
    with app.server.test_request_context("/"):
        frame = table()
        pd.testing.assert_frame_equal(
            stored, valuation.sector_medians(frame, frame["sector"], valuation.MULTIPLES), check_names=False
        )


def test_a_former_member_is_neither_screened_nor_in_the_medians_but_kept_for_history(app: Any) -> None:
    """Stored and computed alike, the Screener's rows (both bases), the sector medians and Compare's
    sector overlay cover the index's current members only: the Energy median is XOM's own figure, not
    one over XOM and the former member. The former member's Company page, metric_history and the
    point-in-time screen of a day it was a member still have it."""

    def read() -> tuple[Any, ...]:
        table = universe_data.metrics()
        return (
            table,
            universe_data.sector_medians(table),
            universe_data.on_basis("ttm"),
            universe_data.on_basis("fy"),
            history_data.group_members("sector", "Energy"),
        )

    for table, medians, ttm, fy, energy in _both(app, read):
        assert set(table.index) == set(ttm.index) == set(fy.index) == set(seed.SYMBOLS)
        assert energy == ["XOM"]
        own = table.loc["XOM", list(valuation.MULTIPLES)].astype(float)
        pd.testing.assert_series_equal(medians.loc["Energy"], own, check_names=False)
    with app.server.test_request_context("/"):
        router = app.server.extensions["mycfa"].router
        app.server.extensions["mycfa"].cache.clear()
        stored = queries.sector_medians(router)
        assert set(stored.loc[stored["sector"] == "Energy", "n"]) <= {0, 1}
        assert FORMER in inputs.known_symbols()
        assert FORMER not in set(inputs.members()["symbol"])
        assert not queries.metric_history(router, FORMER, "FY").empty
        assert FORMER in set(queries.members_on(router, "2020-06-30")["symbol"])
        assert FORMER not in set(queries.members_on(router, "2024-06-28")["symbol"])


def _by_symbol(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("symbol") if "symbol" in frame.columns else frame


def test_a_bank_gets_no_enterprise_value_multiple_anywhere(app: Any) -> None:
    """JPM (GICS "Diversified Banks": deposits are no financing debt) reads "n/m" for its EV, EV/EBITDA
    and EV/Sales on the Screener (both bases, the grid's rows and the CSV), Compare (latest figures and
    the EV/EBITDA history), and Valuation's multiples vs sector, and counts in no Financials median;
    stored and computed alike. XOM, an operating company, keeps its numbers."""
    from dashboard.pages import compare, screener
    from dashboard.pages import valuation as page

    ev = ("enterprise_value", "ev_ebitda", "ev_ebitda_fmp", "ev_sales")
    screen = {"where": "", "rank": "market_cap", "order": "desc"}

    def read() -> tuple[Any, ...]:
        table = universe_data.metrics()
        return (
            table,
            universe_data.sector_medians(table),
            screener.export_results({**screen, "basis": "ttm"}),
            screener.export_results({**screen, "basis": "fy"}),
            compare.export_ratios({"symbols": "JPM,XOM"}),
            compare.export_history(
                {"symbols": "JPM,XOM", "metric": "ev_ebitda", "basis": "FY", "years": "12"}
            ),
            page.export_multiples({"symbol": "JPM"}),
            page.export_multiples({"symbol": "JPM", "as_of": AS_OF}),
            page.export_multiples({"symbol": "XOM"}),
        )

    for table, medians, ttm, fy, ratios, history, bank, bank_then, oil in _both(app, read):
        assert table.loc["JPM", list(ev)].isna().all()
        assert table.loc["XOM", "ev_ebitda"] > 0
        assert np.isnan(medians.loc["Financials", "ev_ebitda"])  # JPM is the demo's only Financials company
        for shown in (ttm, fy, ratios):
            rows = _by_symbol(shown)
            assert rows.loc["JPM", "ev_ebitda"] == NM
            assert float(rows.loc["XOM", "ev_ebitda"]) > 0
        jpm, xom = history[history["symbol"] == "JPM"], history[history["symbol"] == "XOM"]
        assert len(jpm) >= 10
        assert jpm["not_meaningful"].all()
        assert jpm["value"].isna().all()
        assert not xom["not_meaningful"].any()
        for versus in (bank.set_index("multiple"), bank_then.set_index("multiple")):
            for name in ("ev_ebitda", "ev_ebitda_fmp", "ev_sales"):
                assert versus.loc[name, "not_meaningful"]
                assert np.isnan(versus.loc[name, "value"])
            assert not versus.loc["pb", "not_meaningful"]
            assert versus.loc["pb", "value"] > 0
        assert np.isnan(bank.set_index("multiple").loc["ev_ebitda", "premium_fraction"])
        own = oil.set_index("multiple").loc["ev_ebitda"]
        assert not own["not_meaningful"]
        assert own["value"] > 0
    with app.server.test_request_context("/"):
        stored = queries.sector_medians(app.server.extensions["mycfa"].router)
    financials = stored[(stored["sector"] == "Financials") & stored["metric"].isin(ev)]
    assert set(financials["n"]) == {0}


@pytest.mark.parametrize("symbol", seed.SYMBOLS)
def test_ratio_history_and_forecast_series_equal_the_statements(app: Any, symbol: str) -> None:
    """The Company page's ratio history and ratio table, the Forecast page's series (FY, Q) and month-end
    closes."""
    from dashboard.pages import forecast

    def read() -> tuple[Any, ...]:
        return (
            company_data.ratio_history(symbol, "FY"),
            forecast._statement_series(symbol, "FY"),
            forecast._statement_series(symbol, "Q"),
            forecast._monthly(symbol),
            company_data.ratio_table(symbol),
            company_data.ratio_table(symbol, figures="first"),
        )

    stored, live = _both(app, read)
    pd.testing.assert_frame_equal(stored[0], live[0])
    # The ratio table with DuPont's factors (metric_history's FY rows, schema 102), as restated and as
    # first reported (AAPL's restated year included).
    for table in (4, 5):
        pd.testing.assert_frame_equal(stored[table], live[table])
        assert list(stored[table].columns[-4:]) == company_data.DUPONT_FIELDS
        assert stored[table]["equity_multiplier"].notna().any()
    for period in (1, 2):
        assert stored[period].keys() == live[period].keys()
        for name in live[period]:
            pd.testing.assert_series_equal(stored[period][name], live[period][name], check_freq=False)
    pd.testing.assert_series_equal(stored[3], live[3])


@pytest.mark.parametrize("symbol", [*seed.SYMBOLS, FORMER, "NOPE"])
def test_metric_history_from_the_float_matrix_equals_the_former_frame(app: Any, symbol: str) -> None:
    """company_data.history (built from the rows' float matrix) equals the former frame of the rows cut
    to the columns (tests/dashboard/former.py): values, dtypes, index and the float block's memory
    order, for every caller's columns, basis and as restated or first reported (AAPL's restated year)."""
    from dashboard.components import valuation_base
    from dashboard.pages import forecast
    from serving import company as derive
    from tests.dashboard import former

    column_sets = (
        derive.RATIOS,
        (*derive.RATIOS, *derive.DUPONT),
        tuple(forecast.STORED_SERIES),
        (*valuation_base.BASE_FIGURES, "effective_tax_rate"),
    )
    services = app.server.extensions["mycfa"]
    rows = 0
    with app.server.test_request_context("/"):
        for basis in ("FY", "Q", "TTM"):
            for columns in column_sets:
                for first in (False, True):
                    services.cache.clear()
                    built = company_data.history(symbol, basis, columns, first=first)
                    expected = former.metric_history(services.router, symbol, basis, columns, first=first)
                    assert built is not None
                    pd.testing.assert_frame_equal(built, expected, check_exact=True)
                    assert built.index.dtype == expected.index.dtype
                    assert built.columns.dtype == expected.columns.dtype
                    # The same C-ordered float block: pandas' reductions sum in the same order.
                    assert built.to_numpy().flags.f_contiguous == expected.to_numpy().flags.f_contiguous
                    rows += len(built)
        services.cache.clear()
    assert (rows == 0) == (symbol == "NOPE")


def test_metric_history_values_refuse_a_column_that_is_not_a_double(app: Any) -> None:
    """A key or a label column is not read into the float matrix (it would turn into NaN silently)."""
    with app.server.test_request_context("/"), pytest.raises(ValueError, match="double-precision"):
        queries.metric_history_values(app.server.extensions["mycfa"].router, "AAPL", "FY", ("roe", "period"))


@pytest.mark.parametrize("symbol", [*seed.SYMBOLS, FORMER, "NOPE"])
def test_forecast_series_equal_the_former_frame_lookups(app: Any, symbol: str) -> None:
    """The Forecast page's stored series, read off the history frame's array, equal those its columns
    gave when looked up one by one (values, fiscal-date index, name, bit for bit), annual and quarterly;
    empty for a symbol without rows."""
    from dashboard.pages import forecast
    from tests.dashboard import former

    services = app.server.extensions["mycfa"]
    with app.server.test_request_context("/"):
        for frequency in ("FY", "Q"):
            services.cache.clear()
            new = forecast._statement_series(symbol, frequency)
            old = former.forecast_series(symbol, frequency)
            assert list(new) == list(old)
            for name, series in old.items():
                pd.testing.assert_series_equal(new[name], series, check_exact=True)
                assert (len(series) == 0) == (symbol == "NOPE")
        services.cache.clear()


@pytest.mark.parametrize("symbol", seed.SYMBOLS)
def test_valuation_base_inputs_equal_the_statements(app: Any, symbol: str) -> None:
    """The DCF's base year from metric_history's last annual row and one-row reads equals the one taken
    from the combined statements and the whole price history (latest, and as of a date)."""
    from dashboard.pages import valuation as page

    stored, live = _both(app, lambda: (page.base_inputs(symbol), page.base_inputs(symbol, AS_OF)))
    assert stored == live
    assert stored[0]["shares_source"] is not None


@pytest.mark.parametrize("symbol", [*seed.SYMBOLS, FORMER, "NOPE"])
def test_valuation_multiples_from_arrays_equal_the_former_frame(app: Any, symbol: str) -> None:
    """Valuation's multiples vs the sector (built from the row's arrays) equal the former build through
    pandas' label lookups (tests/dashboard/former.py): the frame, its dtypes and the meta, latest and as
    of a date; a ticker without multiples fails with the same message either way."""
    from dashboard.analytics.errors import AnalyticsError
    from dashboard.components import valuation_multiples
    from tests.dashboard import former

    checked = 0
    for as_of in (None, AS_OF):
        with app.server.test_request_context():
            try:
                expected = former.multiples_vs_sector(symbol, as_of)
            except AnalyticsError as exc:
                with pytest.raises(AnalyticsError, match=re.escape(str(exc))):
                    valuation_multiples.multiples_vs_sector(symbol, as_of)
                continue
            built = valuation_multiples.multiples_vs_sector(symbol, as_of)
        pd.testing.assert_frame_equal(built[0], expected[0])
        assert built[1] == expected[1]
        checked += 1
    if symbol in seed.SYMBOLS:  # current members: latest and as of the date
        assert checked == 2
    if symbol == "NOPE":
        assert checked == 0


@pytest.mark.parametrize("symbol", seed.SYMBOLS)
def test_adjusted_closes_read_alone_equal_those_of_the_history(app: Any, symbol: str) -> None:
    """Compare's and Portfolio's adjusted closes, read alone, equal those cut from the Company page's
    whole history (what a worker that already holds it uses)."""
    with app.server.test_request_context("/"):
        services = app.server.extensions["mycfa"]
        services.cache.clear()
        alone = company_data.adjusted_close(symbol)
        services.cache.clear()
        company_data.prices(symbol)
        from_history = company_data.adjusted_close(symbol)
        services.cache.clear()
    assert len(alone) > 1000
    pd.testing.assert_series_equal(alone, from_history)


def test_compare_reads_the_closes_of_every_ticker_in_one_query(app: Any) -> None:
    """Compare's adjusted closes of several tickers come from one query (a ticker without prices left
    out), equal those read one ticker at a time, and are kept per ticker for the next request."""
    chosen = [*seed.SYMBOLS[:4], "NOPRICE"]
    services = app.server.extensions["mycfa"]
    reads: list[str] = []
    with app.server.test_request_context("/"), pytest.MonkeyPatch.context() as patch:
        for name in ("adjusted_close", "adjusted_closes"):
            original = getattr(queries, name)

            def counted(*args: Any, _name: str = name, _read: Any = original) -> Any:
                reads.append(_name)
                return _read(*args)

            patch.setattr(queries, name, counted)
        services.cache.clear()
        together = company_data.adjusted_closes(chosen, days=365)
        again = company_data.adjusted_closes(list(reversed(chosen)), days=3 * 365)
        assert reads == ["adjusted_closes"]
        services.cache.clear()
        alone = [company_data.adjusted_close(symbol) for symbol in chosen]
        one_by_one = company_data.adjusted_closes(chosen, days=365)
        services.cache.clear()
    assert reads == ["adjusted_closes", *["adjusted_close"] * len(chosen)]
    assert list(together.columns) == list(seed.SYMBOLS[:4])
    assert alone[-1].empty
    pd.testing.assert_frame_equal(together, one_by_one)
    assert list(again.columns) == list(reversed(seed.SYMBOLS[:4]))
    assert len(again) > len(together) > 200


@pytest.mark.parametrize("symbol", seed.SYMBOLS)
def test_one_statement_kind_equals_the_three_read_together(app: Any, symbol: str) -> None:
    """The Company page's one kind, read and built alone, equals that kind among the three read
    together, and is taken from them when a worker holds them (each period, latest and as of a date)."""
    services = app.server.extensions["mycfa"]
    kinds = ("income", "balance", "cashflow")
    with app.server.test_request_context("/"):
        for period in ("FY", "Q", "TTM"):
            for as_of in (None, AS_OF):
                services.cache.clear()
                alone = {kind: company_data.statement(symbol, kind, period, as_of) for kind in kinds}
                services.cache.clear()
                together = company_data.statements(symbol, period, as_of)
                held = {kind: company_data.statement(symbol, kind, period, as_of) for kind in kinds}
                for kind in kinds:
                    pd.testing.assert_frame_equal(alone[kind], together.get(kind, pd.DataFrame()))
                    assert held[kind] is together[kind]
                assert not alone["income"].empty
        services.cache.clear()


@pytest.mark.parametrize("symbol", seed.SYMBOLS)
def test_statement_tables_from_statement_lines_equal_those_built_from_payloads(app: Any, symbol: str) -> None:
    """The Company page's latest statement tables (each kind and period, alone and the three together)
    read from statement_lines, without a payload read, equal those built from the payloads; as of a
    date and as first reported they are still built from the payloads (statement_lines holds none)."""
    kinds = ("income", "balance", "cashflow")

    def latest() -> list[pd.DataFrame]:
        frames = [company_data.statement(symbol, k, p) for p in ("FY", "Q", "TTM") for k in kinds]
        together = [company_data.statements(symbol, p)[k] for p in ("FY", "Q", "TTM") for k in kinds]
        return frames + together

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the latest statements were read from their payloads")

    services = app.server.extensions["mycfa"]
    with app.server.test_request_context("/"), pytest.MonkeyPatch.context() as patch:
        services.cache.clear()
        patch.setattr(queries, "statement_payloads", refused)
        stored = latest()
        services.cache.clear()
    _, live = _both(app, latest)
    for got, want in zip(stored, live, strict=True):
        assert not want.empty
        pd.testing.assert_frame_equal(got, want)

    def past() -> list[pd.DataFrame]:
        return [
            company_data.statement(symbol, k, p, as_of, figures)
            for p in ("FY", "TTM")
            for k in kinds
            for as_of, figures in ((AS_OF, "pit"), (None, "first"))
        ]

    stored, live = _both(app, past)
    for got, want in zip(stored, live, strict=True):
        pd.testing.assert_frame_equal(got, want)
    if symbol == "AAPL":  # the restatement: as first reported is not the latest
        day = pd.Timestamp(seed.RESTATED_FISCAL_DATE)
        with app.server.test_request_context("/"):
            services.cache.clear()
            filed = company_data.statement(symbol, "income", "FY", None, "first").loc[day, "revenue"]
            now = company_data.statement(symbol, "income", "FY").loc[day, "revenue"]
            services.cache.clear()
        assert now == pytest.approx(filed * 1.02, rel=1e-6)


@pytest.mark.parametrize("as_of", [None, AS_OF])
def test_statement_kinds_read_together_in_one_query(app: Any, as_of: str | None) -> None:
    """The DuPont factors' income statement and balance sheet come from one read when the worker holds
    neither, each equal to the kind read alone, and kept as that kind alone is."""
    services = app.server.extensions["mycfa"]
    reads: list[str] = []
    with app.server.test_request_context("/"), pytest.MonkeyPatch.context() as patch:
        for name in ("statement_lines", "statement_payloads"):
            original = getattr(queries, name)

            def counted(*args: Any, _name: str = name, _read: Any = original, **kwargs: Any) -> Any:
                reads.append(_name)
                return _read(*args, **kwargs)

            patch.setattr(queries, name, counted)
        services.cache.clear()
        together = company_data.statement_kinds("JPM", ("income", "balance"), "FY", as_of)
        assert len(reads) == 1
        assert company_data.statement("JPM", "balance", "FY", as_of) is together["balance"]
        services.cache.clear()
        alone = {kind: company_data.statement("JPM", kind, "FY", as_of) for kind in together}
        services.cache.clear()
    assert len(reads) == 3
    for kind, frame in together.items():
        assert not frame.empty
        pd.testing.assert_frame_equal(frame, alone[kind])


def _page_answers(symbol: str) -> list[str]:
    """Every page's callbacks with their defaults (and an as-of date) for one symbol, as JSON."""
    from dashboard.pages import company, compare, forecast, screener
    from dashboard.pages import valuation as page

    other = "MSFT" if symbol != "MSFT" else "AAPL"
    answers = [
        inspect.unwrap(company.company_statements)(symbol, "FY", "income", None),
        inspect.unwrap(company.company_statements)(symbol, "FY", "balance", AS_OF),
        inspect.unwrap(compare.compare_update)([symbol, other], "5Y", "linear"),
        inspect.unwrap(compare.compare_history)([symbol, other], "operating_margin", "FY", 10, ["sector"]),
        inspect.unwrap(compare.compare_history)([symbol, other], "pe", "CAL", 5, []),
        inspect.unwrap(page.valuation_update)(symbol, None, None, *callbacks.VALUATION_TYPED.values()),
        inspect.unwrap(page.valuation_update)(symbol, AS_OF, None, *callbacks.VALUATION_TYPED.values()),
    ]
    for series in forecast.SERIES:
        for frequency in forecast.FREQUENCIES:
            answers.append(inspect.unwrap(forecast.forecast_update)(symbol, series, frequency, "ets"))
    for where, rank, basis in (("roe >= 5", "market_cap", "ttm"), ("pe <= 40", "roe", "fy")):
        answers.append(inspect.unwrap(screener.screener_update)([], where, rank, "desc", basis, []))
    return [_json(a) for a in answers]


@pytest.mark.parametrize("symbol", ["AAPL", "JPM", "XOM"])
def test_every_page_answers_as_before(app: Any, symbol: str) -> None:
    """Company, Compare, Valuation (latest and as of a date before a restatement), Forecast and Screener
    answer the same whole components reading the derived tables as computing per request."""
    stored, live = _both(app, lambda: _page_answers(symbol))
    assert len(stored) == len(live)
    for got, want in zip(stored, live, strict=True):
        assert got == want


def test_as_of_reads_never_take_the_latest_figures(app: Any) -> None:
    """An as-of date before the restatement shows the first-reported revenue, not metric_history's."""
    with app.server.test_request_context("/"):
        router = app.server.extensions["mycfa"].router
        latest = queries.metric_history(router, "AAPL", "FY").set_index("fiscal_date")
        then = company_data.combined("AAPL", "FY", AS_OF)
    day = seed.RESTATED_FISCAL_DATE
    first = float(then.loc[pd.Timestamp(day), "revenue"])
    assert latest.loc[day, "revenue"] == pytest.approx(first * 1.02, rel=1e-6)


def test_a_store_without_the_tables_falls_back(app: Any, tmp_path: Path, served_db: Database) -> None:
    """serving_state is empty where schema 100 is absent or never refreshed: the pages compute."""
    with app.server.test_request_context("/"):
        assert serving_state.usable("metric_history")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(queries, "serving_state", lambda router: {})
            app.server.extensions["mycfa"].cache.clear()
            assert not serving_state.usable("metric_history")
            assert company_data.history("AAPL", "FY", ("revenue",)) is None
        app.server.extensions["mycfa"].cache.clear()


def test_a_failed_refresh_leaves_the_page_on_its_last_rows_with_their_date(
    app: Any, served_db: Database, pg_cluster: Cluster
) -> None:
    """After a failed refresh the Screener still answers from the stored rows and says as of when;
    /health/ready names the failed table (and, to an admin, why)."""
    from dashboard.pages import screener

    with psycopg.connect(served_db.owner_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE serving_refreshes SET state = 'failed', error = 'StoreError: boom' WHERE name = 'screener_rows'"
        )
        wait_for_replica(pg_cluster)
        try:
            with app.server.test_request_context("/"):
                app.server.extensions["mycfa"].cache.clear()
                _, count, *_ = inspect.unwrap(screener.screener_update)(
                    [], "", "market_cap", "desc", "ttm", []
                )
            ready = app.server.test_client().get("/health/ready").get_json()
        finally:
            conn.execute(
                "UPDATE serving_refreshes SET state = 'ok', error = NULL WHERE name = 'screener_rows'"
            )
            app.server.extensions["mycfa"].cache.clear()
    assert count == f"{len(seed.SYMBOLS)} companies (figures as of {seed.LAST_DAY}: the last refresh failed)"
    assert ready["serving"]["screener_rows"] == {"state": "failed", "data_as_of": seed.LAST_DAY.isoformat()}
    assert ready["serving"]["metric_history"]["state"] == "ok"


def test_restatements_per_company_count_back_from_the_screeners_latest_close(app: Any) -> None:
    """The Point in time page's per-company counts end where the Screener's restatement fields do: at the
    latest close (seed.LAST_DAY), not the wall clock, so AAPL's restatement (seen seed.RESTATED_ON, half a
    year earlier) is in all three windows on any date; as of a day, the windows end then and only what
    the store had seen by then counts."""
    from dashboard.pages import history

    with app.server.test_request_context("/"):
        app.server.extensions["mycfa"].cache.clear()
        anchor = history.summary_anchor(None)
        live = history.summary().set_index("symbol")
        screener = universe_data.metrics()
        later = history.summary("2025-06-30").set_index("symbol")
        before = history.summary((seed.RESTATED_ON - timedelta(days=1)).isoformat())
    assert anchor == pd.Timestamp(seed.LAST_DAY)
    assert list(live.index) == ["AAPL"]
    for column in restatements.COUNTS:
        assert live.loc["AAPL", column] == screener.loc["AAPL", column] == 1, column
    assert live.loc["AAPL", "largest_change_5y"] == pytest.approx(
        screener.loc["AAPL", "restatement_change_5y"]
    )
    assert live.loc["AAPL", "largest_change_5y"] == pytest.approx(0.02, rel=1e-6)
    # 2025-06-30 is more than a year after the restatement: out of the 1-year window, in the others.
    assert [later.loc["AAPL", c] for c in restatements.COUNTS] == [0, 1, 1]
    assert before.empty


def test_nm_cells_equal_the_masks_whether_or_not_a_row_names_one(app: Any) -> None:
    """with_nm's shortcut for rows naming no n/m ratio gives the frame the masks give: on every company
    of the seeded universe at once (some rows name one) and on each alone."""
    from dashboard.components import screener_grid

    with app.server.test_request_context("/"):
        whole = screener_grid.with_labels(universe_data.on_basis("ttm"))
        assert any(isinstance(text, str) and text for text in whole["not_meaningful"].tolist())
        for frame in (whole, *(whole.iloc[[i]] for i in range(len(whole)))):
            expected = frame.copy()
            for column, mask in not_meaningful(frame).items():
                if mask.any():
                    expected[column] = expected[column].astype(object).where(~mask.to_numpy(), NM)
            pd.testing.assert_frame_equal(screener_grid.with_nm(frame), expected)
