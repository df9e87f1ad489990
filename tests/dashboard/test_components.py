"""The JSON-safe converters under every table and chart: cells, dates and values as the browser gets them."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dash_ag_grid as dag
import numpy as np
import orjson
import pandas as pd
import pytest

from dashboard import responses
from dashboard.analytics import bounded, evaluate, optimize, portfolio
from dashboard.analytics import forecast as fc
from dashboard.analytics.errors import AnalyticsError
from dashboard.analytics.statements import statement_frame
from dashboard.components import charts, company_data, formats, portfolio_analysis, portfolio_views, tables
from dashboard.components.formats import Col
from devkit import factories, seed
from tests.dashboard import former, plotted


def test_records_convert_every_kind_of_column() -> None:
    frame = pd.DataFrame(
        {
            "float": [1.234567, np.nan, np.inf],
            "int": [1, 2, 3],
            "bool": [True, False, True],
            "day": pd.to_datetime(["2024-01-01", None, "2024-01-03"]),
            "stamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 00:00", "2024-01-03 00:00"], utc=True),
            "mixed": ["x", None, 3],
            "nullable": pd.array([1, None, 3], dtype="Int64"),
            "objects": [pd.Timestamp("2024-02-02"), None, 2.5],
        }
    )
    rows = tables.records(frame)
    assert rows[0] == {
        "float": 1.2346,
        "int": 1,
        "bool": True,
        "day": "2024-01-01",
        "stamp": "2024-01-01 10:00 UTC",
        "mixed": "x",
        "nullable": 1,
        "objects": "2024-02-02",
    }
    assert rows[1]["float"] is None
    assert rows[2]["float"] is None
    assert rows[1]["day"] is None
    assert rows[1]["nullable"] is None
    assert rows[1]["objects"] is None
    assert rows[2]["objects"] == 2.5
    assert rows[2]["mixed"] == 3
    assert all(type(r["int"]) is int and type(r["bool"]) is bool for r in rows)  # no numpy scalars
    orjson.dumps(rows)  # plain JSON types only


def test_record_dates_keep_a_time_only_when_one_is_there_and_zoned_times_in_utc() -> None:
    """Formatted a column at a time: a time of day (to the minute) only when some row has one; NaT is None."""
    frame = pd.DataFrame(
        {
            "days": pd.to_datetime(["2024-01-01", None]),
            "seconds": pd.to_datetime(["2024-01-01 10:00:30.5", None]),
            "new_york": pd.to_datetime(["2024-01-01 23:00", "2024-01-02 00:00"]).tz_localize(
                "America/New_York"
            ),
            "utc_days": pd.to_datetime(["2024-01-01", "2024-01-02"]).tz_localize("UTC"),
            "empty": pd.to_datetime([None, None]),
        }
    )
    assert tables.records(frame) == [
        {
            "days": "2024-01-01",
            "seconds": "2024-01-01 10:00",
            "new_york": "2024-01-02 04:00 UTC",
            "utc_days": "2024-01-01",
            "empty": None,
        },
        {
            "days": None,
            "seconds": None,
            "new_york": "2024-01-02 05:00 UTC",
            "utc_days": "2024-01-02",
            "empty": None,
        },
    ]


def test_records_keep_row_order_and_empty_frames() -> None:
    frame = pd.DataFrame({"symbol": ["B", "A"], "value": [2.0, 1.0]})
    assert tables.records(frame) == [{"symbol": "B", "value": 2.0}, {"symbol": "A", "value": 1.0}]
    assert tables.records(pd.DataFrame()) == []
    assert tables.records(pd.DataFrame(columns=["a", "b"])) == []


def test_records_refuse_duplicate_columns() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        tables.records(pd.DataFrame([[1, 2]], columns=["a", "a"]))


def test_chart_dates_are_iso_days_in_local_time() -> None:
    naive = pd.DatetimeIndex(["2024-01-02", "2024-03-04 15:30"])
    assert formats.iso_dates(naive) == ["2024-01-02", "2024-03-04"]
    # 23:00 in New York is the next day in UTC: the chart shows the day the row is about.
    eastern = pd.DatetimeIndex(["2024-01-02 23:00"], tz="America/New_York")
    assert formats.iso_dates(eastern) == ["2024-01-02"]


DATE_CASES = {
    "36 years of business days": pd.bdate_range("1990-01-02", "2026-11-30"),
    "the table's edges": pd.DatetimeIndex(["1960-01-01", "2059-12-31", "1969-12-31", "1970-01-01"]),
    "before the table": pd.DatetimeIndex(["1959-12-31", "2000-01-01"]),
    "after the table": pd.DatetimeIndex(["2000-01-01", "2060-01-01"]),
    "a missing date": pd.DatetimeIndex(["2000-01-01", None]),
    "times of day": pd.DatetimeIndex(["1999-12-31 23:59:59", "2024-02-29 00:00:01"]),
    "seconds unit": pd.DatetimeIndex(pd.bdate_range("2020-01-01", periods=30).as_unit("s")),
    "empty": pd.DatetimeIndex([]),
}


@pytest.mark.parametrize("case", DATE_CASES)
def test_chart_dates_from_the_kept_table_equal_numpys_conversion(case: str) -> None:
    """The kept table of day texts gives what np.datetime_as_string gives, inside and outside its span."""
    index = DATE_CASES[case]
    expected = np.datetime_as_string(index.to_numpy(dtype="datetime64[D]"), unit="D").tolist()
    assert formats.iso_dates(index) == expected


def test_chart_values_scale_round_and_serialise_gaps_as_null() -> None:
    values = charts._values(pd.Series([1_234_567.891234567, None, np.inf, 2.0], dtype=object), scale=1e3)
    assert values[0] == pytest.approx(1234.567891, abs=1e-9)
    assert orjson.loads(orjson.dumps({"y": values}, option=orjson.OPT_SERIALIZE_NUMPY)) == {
        "y": [1234.567891, None, None, 0.002]
    }


def test_band_figure_joins_upper_and_reversed_lower_bounds() -> None:
    index = pd.DatetimeIndex(["2025-01-01", "2026-01-01"])
    forecast = pd.DataFrame(
        {"mean": [10.0, 11.0], "lower_80": [9.0, 9.5], "upper_80": [11.0, 12.5]}, index=index
    )
    figure = charts.band(
        forecast, pd.Series([8.0, 9.0], index=pd.DatetimeIndex(["2023-01-01", "2024-01-01"])), "t"
    )
    interval = next(t for t in figure["data"] if t["name"] == "80% interval")
    assert list(interval["y"]) == [11.0, 12.5, 9.5, 9.0]  # a closed polygon, not a sum of arrays
    assert interval["x"] == ["2025-01-01", "2026-01-01", "2026-01-01", "2025-01-01"]


def test_fiscal_year_labels_are_strftime_fy_years() -> None:
    """The year of each date as strftime("FY%Y") writes it, zone-aware and pre-1970 dates included."""
    for dates in (
        pd.date_range("1962-06-30", periods=70, freq="YE-JUN"),
        pd.date_range("2024-01-31", periods=3, freq="ME", tz="America/New_York"),
        pd.DatetimeIndex([]),
    ):
        assert charts.fiscal_year_labels(dates) == [d.strftime("FY%Y") for d in dates]


def test_band_hover_bounds_are_the_scaled_interval_columns() -> None:
    """Each forecast point's hover data: its 80% and 95% bounds divided by the scale, rounded to 6."""
    index = pd.date_range("2025-09-30", periods=3, freq="YE-SEP")
    rng = np.random.default_rng(2)
    forecast = pd.DataFrame(rng.normal(1e10, 1e9, (3, 5)), index=index, columns=list(fc.COLUMNS))
    history = pd.Series([9e9, 9.5e9], index=index[:2] - pd.DateOffset(years=2))
    figure = charts.band(forecast, history, "t", scale=1e9, fiscal_years=True)
    point = next(t for t in figure["data"] if t["name"] == "forecast")
    bounds = ["lower_80", "upper_80", "lower_95", "upper_95"]
    assert (
        point["customdata"]
        == np.column_stack([forecast[c].astype(float).to_numpy() / 1e9 for c in bounds]).round(6).tolist()
    )
    assert point["x"] == ["FY2025", "FY2026", "FY2027"]


def _statement_frames() -> list[pd.DataFrame]:
    """Real-shaped statement frames: 30 years quarterly and annual, with missing quarters and fields,
    a two-year history, a one-period one, and zone-aware fiscal dates."""
    payloads = factories.statement_payloads(years=30)
    frames = []
    for period in (("FY",), ("Q1", "Q2", "Q3", "Q4")):
        for kind in ("income", "balance", "cashflow"):
            frames.append(statement_frame(payloads[kind], period=period))
    gappy = frames[3].drop(frames[3].index[[5, 6, 40]])
    gappy.iloc[2:9, 1] = np.nan
    gappy.iloc[0, 0] = np.inf
    zoned = frames[0].tail(3).copy()
    zoned.index = zoned.index.tz_localize("America/New_York")
    return [*frames, gappy, frames[0].tail(2), frames[5].tail(1), zoned]


def _status_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": [3, 2, 1],
            "job": ["full", "prices", "full"],
            "started_at": pd.to_datetime(["2026-11-30 10:00:05", "2026-11-29 09:00:00", None], utc=True),
            "finished_at": pd.to_datetime([None, "2026-11-29 09:03:00", "2026-11-28 08:00:00"], utc=True),
            "rows_changed": [np.nan, 1234.0, 0.0],
            "ok": [True, False, True],
            "small": np.array([0.1, 0.25, np.nan], dtype=np.float32),
            "error": [None, "HTTP 500", ""],
        }
    )


def test_records_and_column_kinds_match_the_former_per_column_conversion() -> None:
    """The block conversion of float columns gives the former column-by-column rows, and the column
    specs' dtype checks answer as the former checks on each column did, on statement tables (gaps, NaN,
    inf, short histories) and mixed frames."""
    frames = [_status_frame(), pd.DataFrame(), pd.DataFrame(columns=["a", "b"]), pd.DataFrame({"x": [1.5]})]
    for statement in _statement_frames():
        frames += [
            statement,
            tables.statement_table(statement, list(statement.columns)),
            statement.reset_index(),
        ]
    checks = (pd.api.types.is_numeric_dtype, pd.api.types.is_bool_dtype, pd.api.types.is_integer_dtype)
    for frame in frames:
        new, old = tables.records(frame), former.records(frame)
        assert orjson.dumps(new) == orjson.dumps(old)  # same values and the same Python types
        for (_, column), dtype in zip(frame.items(), frame.dtypes, strict=True):
            assert [check(column) for check in checks] == [check(dtype) for check in checks]


def test_object_columns_convert_as_the_former_cell_by_cell_conversion() -> None:
    """Text, dates, and numbers mixed with "n/m" (the Screener's columns), and every other kind of value,
    give the former per-cell answer: same values, same Python types."""
    rng = np.random.default_rng(5)
    n = 400
    numbers = rng.normal(0, 50, n) * 10.0 ** rng.integers(-6, 6, n)
    numbers[rng.random(n) < 0.1] = np.nan
    numbers[:2] = [np.inf, -np.inf]
    with_nm = pd.Series(numbers).astype(object).where(rng.random(n) > 0.2, "n/m")
    days = pd.Series(
        [date(2020, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 2000, n)], dtype=object
    )
    frame = pd.DataFrame(
        {
            "text": pd.Series([f"S{i}" if i % 7 else None for i in range(n)], dtype="str"),
            "plain_text": pd.Series([f"Name {i} (Class A)" for i in range(n)], dtype=object),
            "with_nm": with_nm,
            "all_nm": pd.Series(["n/m"] * n, dtype=object),
            "days": days.where(rng.random(n) > 0.1, None),
            "bools": pd.Series([bool(b) if i % 5 else None for i, b in enumerate(rng.random(n) > 0.5)]),
            "ints": pd.Series([int(i) if i % 3 else "x" for i in range(n)], dtype=object),
            "nan_floats": pd.Series([np.nan] * n, dtype=object),
            "numpy_scalars": pd.Series(
                [np.float64(1.23456789), np.int64(3), np.bool_(True), pd.NA, pd.NaT] * (n // 5), dtype=object
            ),
            "stamps": pd.Series([pd.Timestamp("2024-02-02"), None] * (n // 2), dtype=object),
            "other": pd.Series([{"a": 1}, [1, 2], Decimal("1.5"), datetime(2024, 1, 1, 9, 30)] * (n // 4)),
        }
    )
    for name, column in frame.items():
        for digits in (4, 2):
            new, old = tables._cells(column, digits), former.cells(column, digits)
            assert [type(v) for v in new] == [type(v) for v in old], name
            assert new == old, name


def test_statement_table_dates_match_the_former_strftime() -> None:
    for statement in _statement_frames():
        fields = list(statement.columns[:5])
        pd.testing.assert_frame_equal(
            tables.transpose_by_date(statement, fields), former.transpose_by_date(statement, fields)
        )


def test_statement_grid_equals_the_grid_of_the_statement_table() -> None:
    """The statement grid built from the float array has the rows, column specs and options of the grid
    of the renamed statement table, for every statement shape, restated dates, date order (oldest or
    newest first, from a frame in any order) and field lists (all, a few in another order, some absent,
    none present, or beside a text column), and falls back to it for other dtypes."""
    columns = {"item": Col("Line item"), "unit": Col("Unit")}
    frames = _statement_frames()
    floats = frames[0].select_dtypes("float64")
    frames += [
        frames[0].astype({frames[0].columns[0]: "float32"}),
        floats,  # every column a line (shown_as's frame)
        floats.iloc[::-1],  # newest first
        floats.iloc[np.random.default_rng(3).permutation(len(floats))],  # no order
        floats.assign(note="text"),  # a text column beside the lines
    ]
    for statement in frames:
        dates = formats.iso_dates(statement.index)
        lines = list(statement.columns)
        for fields in (lines, lines[3:0:-1], [*lines[:3], "notAField"], ["notAField"]):
            for restated, oldest_first in itertools.product((set(), {dates[0], dates[-1]}), (False, True)):
                old = tables.grid(
                    "g",
                    tables.statement_table(statement, fields, oldest_first=oldest_first).rename(
                        columns={d: f"{d} (restated)" for d in restated}
                    ),
                    columns=columns,
                    row_kind="kind",
                    hidden=("field",),
                    row_tips="field",
                    fit=True,
                )
                new = tables.statement_grid(
                    "g", statement, fields, columns=columns, restated=restated, oldest_first=oldest_first
                )
                assert orjson.dumps(new.to_plotly_json()["props"]) == orjson.dumps(
                    old.to_plotly_json()["props"]
                )


def _histories() -> dict[str, pd.DataFrame]:
    """Real-shaped price histories: 30 years with dividends, NaN closes and a missing adjusted close,
    a short one, a single day, and a stored gap of two years."""
    full = factories.prices(7560, seed=5)
    holes = full.copy()
    holes.iloc[[100, 5000, 7000], holes.columns.get_loc("close")] = np.nan
    holes.iloc[[200, 7559], holes.columns.get_loc("adj_close")] = np.nan
    gap = full.drop(full.index[6500:7000])
    return {"30y": full, "holes": holes, "60 days": full.tail(60), "one day": full.tail(1), "gap": gap}


def test_price_view_equals_the_former_mask_and_reindex(monkeypatch: pytest.MonkeyPatch) -> None:
    """The window cut by position and the lines' tails give the former masked window and reindexed
    lines, for every span, basis, overlay and oscillator on real-shaped histories."""
    overlays = tuple(company_data.OVERLAYS)
    oscillators = tuple(company_data.OSCILLATORS)
    for name, history in _histories().items():
        monkeypatch.setattr(company_data, "prices", lambda symbol, h=history: h)
        for span in company_data.RANGES:
            for adjusted in (True, False):
                new = company_data.price_view(
                    "SYN", adjusted=adjusted, overlays=overlays, span=span, oscillators=oscillators
                )
                old = former.price_view(
                    history, adjusted=adjusted, overlays=overlays, span=span, oscillators=oscillators
                )
                pd.testing.assert_frame_equal(new[0], old[0], check_freq=False, obj=f"{name} {span}")
                assert list(new[1]) == list(old[1])
                for line in old[1]:
                    pd.testing.assert_series_equal(new[1][line], old[1][line], check_freq=False)
                assert [i.key for i, _ in new[2]] == [i.key for i, _ in old[2]]
                for (_, new_lines), (_, old_lines) in zip(new[2], old[2], strict=True):
                    assert list(new_lines) == list(old_lines)
                    for line in old_lines:
                        pd.testing.assert_series_equal(new_lines[line], old_lines[line], check_freq=False)


def test_export_file_names_say_what_was_exported_and_when() -> None:
    """CSV names carry the page, the export, tickers, period, kind, the statement's view, as-of, figures,
    the pinned run and the day: no overwrites."""
    from datetime import date

    from dashboard.components.export import file_name

    args = {"symbol": "AAPL", "period": "FY", "kind": "income", "as_of": "2024-03-31", "x": "../../etc"}
    assert file_name("company", "statements", args) == (
        f"company-statements-AAPL-FY-income-asof-2024-03-31-{date.today().isoformat()}.csv"
    )
    assert file_name("compare", "prices", {"symbols": "AAPL,MSFT", "span": "5Y"}).startswith(
        "compare-prices-AAPL-MSFT-5Y-"
    )
    assert "/" not in file_name("company", "prices", {"symbol": 'A/"B'})
    pinned = {"symbol": "AAPL", "as_of": "2024-03-31", "figures": "first", "pin": "7"}
    assert file_name("company", "ratios", pinned).startswith(
        "company-ratios-AAPL-asof-2024-03-31-figures-first-pin-run-7-"
    )
    shown = {"symbol": "AAPL", "period": "Q", "kind": "balance", "view": "common"}
    assert file_name("company", "statements", shown).startswith(
        "company-statements-AAPL-Q-balance-view-common-"
    )


def test_one_class_each_keeps_the_first_ticker_of_each_issuer() -> None:
    """Share classes are one company: by CIK, else by the name less its "(Class X)"."""
    from dashboard.components.picker import one_class_each

    frame = pd.DataFrame(
        {
            "symbol": ["GOOG", "GOOGL", "AAPL", "FOXA", "FOX", "MSFT"],
            "name": [
                "Alphabet Inc. (Class C)",
                "Alphabet Inc. (Class A)",
                "Apple Inc.",
                "Fox Corporation (Class A)",
                "Fox Corporation (Class B)",
                "Microsoft",
            ],
            "cik": ["0001652044", "0001652044", "0000320193", None, None, "0000789019"],
        }
    )
    order = ["GOOG", "GOOGL", "FOX", "AAPL", "FOXA", "MSFT"]
    assert one_class_each(order, frame) == ("GOOG", "FOX", "AAPL", "MSFT")
    assert one_class_each(order, frame.drop(columns="cik")) == ("GOOG", "FOX", "AAPL", "MSFT")


@pytest.mark.parametrize("seed", [3, 11])
def test_one_class_each_gives_what_the_former_one_gave_on_the_demo_universe(seed: int) -> None:
    """The dict rewrite keeps the pandas one's answer on the demo universe (share classes included), in a
    shuffled order, with and without CIKs, and with a limit it is the answer's first `limit`."""
    from dashboard.components.picker import one_class_each
    from fakefmp.constituents import load_companies

    frame = pd.DataFrame([{"symbol": c.symbol, "name": c.name, "cik": c.cik} for c in load_companies()])
    order = list(np.random.default_rng(seed).permutation(frame["symbol"].to_numpy()))
    order += ["NOTLISTED"]
    for table in (frame, frame.drop(columns="cik")):
        expected = former.one_class_each(order, table)
        assert one_class_each(order, table) == expected
        assert one_class_each(order, table, limit=10) == expected[:10]
    kept = one_class_each(order, frame)
    assert len(kept) < len(order)  # share classes were dropped
    assert len({"GOOG", "GOOGL"} & set(kept)) == 1
    assert len({"FOX", "FOXA"} & set(kept)) == 1


def test_one_class_each_counts_companies_without_a_name_or_cik_apart() -> None:
    """A company with neither (synthetic symbols) is its own issuer, not one "nan" issuer for all."""
    from dashboard.components.picker import one_class_each

    frame = pd.DataFrame({"symbol": ["S1", "S2"], "name": [None, np.nan], "cik": [None, None]})
    assert one_class_each(["S1", "S2"], frame) == ("S1", "S2")


@pytest.mark.parametrize(
    ("low", "high"), [(0.1100, 0.1150), (0.10, 0.14), (0.26, 0.30), (0.05, 0.45), (0.2, 0.2004)]
)
def test_percent_ticks_never_read_alike_over_a_narrow_range(low: float, high: float) -> None:
    """R5: every tick plotly may draw over the frontier's range (a step of 1, 2 or 5 x 10^k, at least a tenth
    of the range, on multiples of the step) reads differently with the chosen format ("11 %, 11 %" was)."""
    values = pd.Series(np.linspace(low, high, 12))
    spec = charts.percent_tick(values)
    decimals = int(spec[1 : spec.index("~")])
    span = high - low
    for magnitude in range(-8, 1):
        for unit in (1, 2, 5):
            step = unit * 10.0**magnitude
            if step < span / 10 or step > span:
                continue
            ticks = np.arange(np.ceil(low / step), np.floor(high / step) + 1) * step
            labels = [f"{t * 100:.{decimals}f}" for t in ticks]
            assert len(set(labels)) == len(labels), (spec, step, labels)
    figure = charts.scatter(pd.DataFrame({"v": values, "r": values}), "v", "r", "t", percent=True)
    assert figure["layout"]["yaxis"]["tickformat"] == spec


def test_restated_cells_marked_only_on_their_rows_equal_every_cell_checked() -> None:
    """`mark_restated_cells` looks only at the columns of the dates a row's field has marks for; the rows
    equal the previous build, which checked every column of every row (`_cell_marks` without `days`)."""
    import copy

    from dashboard.components import point_in_time

    dates = pd.to_datetime(["2023-03-31", "2023-06-30", "2023-09-30", "2023-12-31", "2024-03-31"])
    frame = pd.DataFrame(
        {"revenue": [1e9, 1.1e9, 1.2e9, 1.3e9, 1.4e9], "netIncome": [1e8, 2e8, np.nan, 4e8, 5e8], "eps": 1.0},
        index=dates,
    )
    columns = {"item": Col("Line item"), "unit": Col("Unit")}
    grid = tables.statement_grid(
        "g", frame, ["revenue", "netIncome", "eps"], columns=columns, restated={"2023-06-30"}
    )
    changes = pd.DataFrame(
        {
            "field": ["revenue", "revenue", "netIncome"],
            "fiscal_date": pd.to_datetime(["2023-06-30", "2023-06-30", "2024-03-31"]),
            "restated_on": pd.to_datetime(["2024-02-01", "2023-09-01", "2024-05-01"]),
            "old_value": [1.05e9, 1.0e9, None],
            "new_value": [1.1e9, 1.05e9, 5e8],
            "change": [0.0476, 0.05, None],
            "seen_at": pd.to_datetime(["2024-02-02 10:00", "2023-09-02 11:00", "2024-05-02 12:00"]),
        }
    )
    withheld = pd.DataFrame(
        {"field": ["netIncome", "eps"], "day": ["2023-09-30", "2023-12-31"], "raw_value": ["n/a", None]}
    ).assign(rule="text where a number belongs")
    before = copy.deepcopy(grid.rowData)
    point_in_time.mark_restated_cells(grid, changes, withheld)
    restated = {
        ("revenue", "2023-06-30"): [
            point_in_time.change_text(r) for r in changes.iloc[:2].to_dict("records")
        ],
        ("netIncome", "2024-03-31"): [point_in_time.change_text(changes.iloc[2].to_dict())],
    }
    held = {
        (str(r["field"]), str(r["day"])): [
            f"Withheld: FMP sent {r['field']} = {r['raw_value'] or '?'} ({r['rule']}); the figure shown"
            " is the one held before"
        ]
        for r in withheld.to_dict("records")
    }
    texts = {"restated_cells": restated, "withheld_cells": held}
    expected = [{**row, **point_in_time._cell_marks(row, texts)} for row in before]
    assert grid.rowData == expected
    assert grid.rowData[0]["restated_cells"] == {
        "2023-06-30 (restated)": " | ".join(restated[("revenue", "2023-06-30")])
    }
    assert set(grid.rowData[1]["cell_notes"]) == {"2024-03-31", "2023-09-30"}
    assert "restated_cells" not in grid.rowData[2]
    assert set(grid.rowData[2]["withheld_cells"]) == {"2023-12-31"}


def _seeded_closes(symbols: tuple[str, ...]) -> pd.DataFrame:
    """The demo universe's seeded adjusted closes of `symbols` (the dashboard's demo prices)."""
    series = {}
    for i, symbol in enumerate(symbols):
        rows = seed.price_rows(symbol, i)
        series[symbol] = pd.Series([r[6] for r in rows], index=pd.DatetimeIndex([r[1] for r in rows]))
    return pd.DataFrame(series).sort_index()


@pytest.mark.parametrize(
    "symbols", [("AAPL", "MSFT", "KO"), ("XOM", "JPM"), ("NVDA", "PG", "JNJ", "KO", "AAPL")]
)
def test_frontier_figure_equals_the_former_row_by_row_figure(symbols: tuple[str, ...]) -> None:
    """The frontier figure built from the points' column lists is the former one (boolean masks and
    iterrows), to the JSON byte, on the demo closes' report; with more portfolios than markers, with
    NaN points and with an empty frontier too."""
    closes = _seeded_closes(symbols)
    weights = {s: 1.0 for s in symbols}
    report = portfolio.report(closes, weights, risk_free=0.04)
    assert report.prices is not None
    table = report.weights.set_index("symbol")
    mixes = {
        "Chosen": weights,
        **{k: {str(s): float(w) for s, w in table[k].items()} for k in table if k != "chosen"},
    }
    points = evaluate.side_by_side(report.prices, mixes, risk_free=0.04).points
    many = pd.concat([points.iloc[:1]] * 8 + [points], ignore_index=True)
    holes = points.assign(volatility=points["volatility"].where(points.index % 2 == 0))
    for frontier, shown in (
        (report.frontier, points),
        (report.frontier, many),
        (report.frontier, holes),
        (pd.DataFrame(), points),
    ):
        new, old = portfolio_views.frontier_figure(frontier, shown), former.frontier_figure(frontier, shown)
        assert orjson.dumps(new, option=orjson.OPT_SERIALIZE_NUMPY) == orjson.dumps(
            old, option=orjson.OPT_SERIALIZE_NUMPY
        )


def test_percent_tick_on_the_array_equals_the_former_series_tick() -> None:
    """The tick format from the array's finite values is the former Series' one (NaN, infinities, one
    value, constant values, none)."""
    rng = np.random.default_rng(9)
    cases = [rng.normal(0.1, s, 15) for s in (1e-5, 1e-3, 0.05, 2.0)]
    cases += [np.array([0.1, np.nan, 0.12, np.inf, -np.inf]), np.array([0.2]), np.full(4, 0.3), np.array([])]
    for values in cases:
        series = pd.Series(values, dtype=float)
        assert charts.percent_tick(series) == former.percent_tick(series)


def _grid_json(grid: dag.AgGrid) -> bytes:
    return orjson.dumps(grid.to_plotly_json(), default=responses._default, option=responses.OPTIONS)


def _equal_weight_report(symbols: tuple[str, ...]) -> tuple[portfolio.Report, evaluate.SideBySide]:
    """The demo closes' equal-weight report and its side-by-side against the equal-weight benchmark."""
    closes = _seeded_closes(symbols)
    weights = {s: 1.0 for s in symbols}
    report = portfolio.report(closes, weights, risk_free=0.04)
    assert report.prices is not None
    bench = portfolio.equal_weight_index(report.prices)
    return report, evaluate.side_by_side(report.prices, {"Chosen": weights}, risk_free=0.04, benchmark=bench)


@pytest.mark.parametrize("symbols", [("AAPL", "MSFT", "KO"), ("NVDA", "PG", "JNJ", "KO", "AAPL")])
def test_statistics_grids_equal_the_former_assigned_columns(symbols: tuple[str, ...]) -> None:
    """The statistics and side-by-side grids, their kind and definition added to each row instead of
    assigned as columns, are the former grids to the JSON byte on the demo closes' reports; so are grids
    with tips whose rows have no definition, an extra field replacing a column, and no rows."""
    report, side = _equal_weight_report(symbols)
    new = portfolio_views.stats_grid(report.stats)
    assert _grid_json(new) == _grid_json(
        former.statistics_grid("portfolio-stats-grid", report.stats, portfolio_views.STATS_COLUMNS, False)
    )
    columns = {c: Col(c) for c in side.stats.columns if c not in ("statistic", "unit")}
    old = former.statistics_grid(
        "portfolio-compare-grid", side.stats, {"statistic": Col("Statistic"), **columns}, True
    )
    assert _grid_json(portfolio_views.compare_grid(side.stats)) == _grid_json(old)
    mixed = pd.DataFrame(
        {"statistic": ["Sharpe", "no such figure", "Beta (vs benchmark)"], "value": [1.0, 2.0, np.nan]}
    )
    for frame in (mixed, mixed.iloc[:0]):
        assert _grid_json(tables.grid("g", frame, row_tips="statistic")) == _grid_json(
            former.grid("g", frame, row_tips="statistic")
        )
    replaced = tables.grid("g", mixed, row_tips="statistic", row_fields={"value": ["a", "b", None]})
    assert _grid_json(replaced) == _grid_json(
        former.grid("g", mixed.assign(value=["a", "b", None]), row_tips="statistic")
    )


def test_correlation_figure_equals_the_former_masked_matrix() -> None:
    """Given the matrix as it is, the heatmap is the former one of the matrix with non-finite cells
    masked, to the JSON byte: on the demo closes' correlations and with NaN and infinite cells."""
    corr = portfolio.correlation_matrix(_seeded_closes(("AAPL", "MSFT", "KO", "XOM")))
    holes = corr.copy()
    holes.iloc[0, 1], holes.iloc[2, 3], holes.iloc[3, 0] = np.nan, np.inf, -np.inf
    for matrix in (corr, holes, corr.iloc[:0, :0]):
        new, old = portfolio_views.correlation_figure(matrix), former.correlation_figure(matrix)
        assert orjson.dumps(new, option=orjson.OPT_SERIALIZE_NUMPY) == orjson.dumps(
            old, option=orjson.OPT_SERIALIZE_NUMPY
        )


@pytest.mark.parametrize(
    "symbols", [("AAPL", "MSFT", "KO"), ("XOM", "JPM"), ("NVDA", "PG", "JNJ", "KO", "AAPL")]
)
def test_optimised_weights_equal_the_former_indexed_table(symbols: tuple[str, ...]) -> None:
    """The optimisers' weights read from the weights table's columns are the former ones read from it
    indexed by symbol: same symbols in the same order, same floats, long-only and with shorts."""
    closes = _seeded_closes(symbols)
    for bounds in (None, bounded.Bounds.of(cap=0.7, shorts=True)):
        table = portfolio.report(closes, {s: 1.0 for s in symbols}, risk_free=0.04, bounds=bounds).weights
        new, old = portfolio_analysis.optimised_weights(table), former.optimised_weights(table)
        assert repr(new) == repr(old)
        assert [type(w) for weights in new.values() for w in weights.values()] == [
            type(w) for weights in old.values() for w in weights.values()
        ]


def _same_points(new: dict[str, Any], old: dict[str, Any]) -> None:
    """`new` plots `old`'s points (dates equal, values equal to the bit) with every other key equal; its
    date axis is named as such (the dated lists' type, which plotly guessed from them)."""
    assert len(new["data"]) == len(old["data"])
    for mine, theirs in zip(new["data"], old["data"], strict=True):
        (x, y), (old_x, old_y) = plotted.points(mine), plotted.points(theirs)
        assert x == old_x
        assert y.tobytes() == old_y.tobytes()
        assert {k: v for k, v in mine.items() if k not in ("x0", "dx", "y", "connectgaps")} == {
            k: v for k, v in theirs.items() if k not in ("x", "y")
        }
    layout = old["layout"]
    assert new["layout"] == {**layout, "xaxis": {**layout["xaxis"], "type": "date"}}


@pytest.mark.parametrize("symbols", [("AAPL", "MSFT", "KO"), ("XOM", "JPM"), ("NVDA", "PG", "JNJ", "KO")])
def test_portfolio_lines_on_a_day_grid_plot_the_former_dated_points(symbols: tuple[str, ...]) -> None:
    """Portfolio's drawdown and growth figures, sent on a grid of days, decode to the former figures'
    dates and values bit for bit, on the demo closes' report with a benchmark; and in fewer bytes."""
    report, side = _equal_weight_report(symbols)
    pairs = (
        (
            portfolio_views.drawdown_figure(report.drawdown),
            former.lines(
                report.drawdown,
                "Drawdown from the running peak",
                percent=True,
                yaxis="Drawdown",
                names={"drawdown": "drawdown"},
            ),
        ),
        (
            portfolio_views.growth_figure(side.growth),
            former.lines(side.growth, "Growth of 10,000 (daily rebalanced)", yaxis="Value", hover=",.0f"),
        ),
    )
    for new, old in pairs:
        assert "x0" in new["data"][0]
        _same_points(new, old)
        assert len(responses.to_json(new)) < len(responses.to_json(old))


def test_lines_keep_dated_lists_where_a_day_grid_would_not_plot_the_same() -> None:
    """A gap to keep (a NaN value), sparse dates (month ends), times of day, zoned, unsorted or repeated
    dates, labels that are not dates and no rows: the figure is the former one, to the JSON byte."""
    days = pd.bdate_range("2020-01-01", periods=90)
    frame = pd.DataFrame({"a": np.linspace(1.0, 2.0, 90), "b": np.linspace(3.0, 1.0, 90)}, index=days)
    gap = frame.copy()
    gap.iloc[5, 1] = np.nan
    cases = [
        gap,
        frame.set_axis(pd.date_range("2000-01-31", periods=90, freq="ME")),
        frame.set_axis(days + pd.Timedelta(hours=16)),
        frame.set_axis(days.tz_localize("America/New_York")),
        frame.iloc[::-1],
        frame.set_axis(days[:45].repeat(2)),
        frame.set_axis([f"FY{y}" for y in range(1930, 2020)]),
        frame.iloc[:0],
    ]
    for case in cases:
        new = charts.lines(case, "t", names={"a": "A"}, day_grid=True)
        assert orjson.dumps(new, option=orjson.OPT_SERIALIZE_NUMPY) == orjson.dumps(
            former.lines(case, "t", names={"a": "A"}), option=orjson.OPT_SERIALIZE_NUMPY
        )
    grid = charts.lines(frame, "t", names={"a": "A"}, percent=True, day_grid=True)
    _same_points(grid, former.lines(frame, "t", names={"a": "A"}, percent=True))


@pytest.mark.parametrize(
    "symbols", [("AAPL", "MSFT", "KO"), ("XOM", "JPM"), ("NVDA", "PG", "JNJ", "KO", "AAPL")]
)
def test_weights_table_from_arrays_equals_the_former_frame_of_dicts(symbols: tuple[str, ...]) -> None:
    """The report's weights table built from arrays is the former one built from the optimisers' dicts
    (the same rows, columns, dtypes and floats), on the demo closes' optimisers, long-only and with
    shorts; so is the one of dicts that differ (HRP's sorted order, a failed optimiser, none solved, a
    symbol missing, NaN and infinite weights), which keeps the former construction where it must."""
    closes = _seeded_closes(symbols)
    aligned, _ = portfolio.align_prices(closes)
    weights = {s: 1.0 + i for i, s in enumerate(symbols)}
    cases: list[dict[str, dict[str, Any]]] = []
    for every in (
        optimize.optimize_all(aligned, risk_free=0.04, points=15),
        bounded.optimize_all(aligned, bounded.Bounds.of(cap=0.7, shorts=True), risk_free=0.04, points=15),
    ):
        cases.append(
            {
                k: {"error": str(r)} if isinstance(r, AnalyticsError) else dict(r.weights)
                for k, r in every.portfolios.items()
            }
        )
    solved = cases[0]
    first = symbols[0]
    cases += [
        {**solved, "max_sharpe": {"error": "no symbol beats the risk-free rate"}},
        {k: {"error": "failed"} for k in solved},
        {**solved, "hrp": {s: w for s, w in solved["hrp"].items() if s != first}},
        {**solved, "hrp": {**solved["hrp"], first: float("nan")}},
        {**solved, "min_volatility": {**solved["min_volatility"], first: float("inf")}},
        {**solved, "hrp": dict(reversed(solved["hrp"].items()))},
    ]
    for optimised in cases:
        new = portfolio._weights_table(optimised, weights, aligned.columns)
        old = former.weights_table(optimised, weights, aligned.columns)
        pd.testing.assert_frame_equal(
            new, old, check_exact=True, check_index_type=True, check_column_type=True
        )
        assert repr(new.to_dict("list")) == repr(old.to_dict("list"))


@pytest.mark.parametrize(("period", "back"), [("FY", 1), ("Q", 4), ("TTM", 4)])
def test_statement_yoy_compares_the_same_period_a_year_before(period: str, back: int) -> None:
    """The "YoY %" view divides each period by the one a year before: the fiscal year before, or four
    rows back for quarters and for TTM, whose rows are a quarter apart (its previous row gave the
    sequential change)."""
    from dashboard.components.company_statements import shown_as

    dates = pd.date_range("2023-03-31", periods=8, freq="YE" if period == "FY" else "QE")
    frame = pd.DataFrame({"revenue": 100.0 * 1.01 ** np.arange(8)}, index=dates)  # 1 % a row
    yoy = shown_as(frame, "income", period, "yoy")["revenue"]
    assert yoy.iloc[:back].isna().all()
    assert yoy.iloc[back:].tolist() == pytest.approx([1.01**back - 1] * (8 - back))
