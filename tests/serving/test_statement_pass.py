"""One grouping and one matrix per kind for both tables equal metric_history's and statement_lines' own paths."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from serving import history, lines
from serving.statement_pass import statement_pass
from tests.serving.test_lines import STAMP, _companies, _statement_rows, _stored


def _rows() -> list[dict[str, Any]]:
    """test_lines' companies (a restated period, a missing quarter, a text among numbers, too few
    quarters) and restated periods whose first payload gave a field as a text, or a field the later
    one drops (metric_history's frame then has the field, NaN, and takes it from this kind first),
    each row with its own change stamp and its fiscal date, as SERVING_STATEMENTS reads them."""
    companies = _companies()
    income = companies["AAA"]["income"]
    income.insert(5, income[5] | {"grossProfit": "n/a", "eps": None})  # the later payload of that date wins
    income = companies["BBB"]["income"]
    income.insert(2, _stored(income[2] | {"inventory": 7.0}))
    rows = _statement_rows(companies)
    for at, row in enumerate(rows):
        row["fiscal_date"] = date.fromisoformat(row["payload"]["date"])
        row["updated_at"] = STAMP + timedelta(days=at % 7)
    return rows


def _bits(value: Any) -> Any:
    """A value with every float as its hex form (signed zero, last bit), NaN as None."""
    if isinstance(value, float):
        return None if np.isnan(value) else value.hex()
    if isinstance(value, np.ndarray):
        return _bits(value.tolist())
    if isinstance(value, list | tuple):
        return [_bits(item) for item in value]
    return value


def test_statement_pass_equals_each_tables_own_path_bit_for_bit() -> None:
    """metric_history's frame and statement_lines' rows from one grouping equal `history.metric_frame`
    of `history.group_statements` and `lines.rows`, each value to the last bit, dates given twice too."""
    rows = _rows()
    assert any(
        sum(1 for r in rows if (r["symbol"], r["kind"], r["fiscal_date"]) == key) > 1
        for key in {(r["symbol"], r["kind"], r["fiscal_date"]) for r in rows}
    )
    frame, records = statement_pass(rows, [row["payload"] for row in rows])
    former = history.metric_frame(*history.group_statements(rows))
    assert list(frame.columns) == list(former.columns)
    assert len(frame) == len(former) > 0
    for column in frame.columns:
        got, want = frame[column], former[column]
        assert got.dtype == want.dtype, column
        if got.dtype.kind == "f":
            np.testing.assert_array_equal(got.to_numpy().view(np.int64), want.to_numpy().view(np.int64))
        else:
            pd.testing.assert_series_equal(got, want)
    assert _bits(records) == _bits(lines.rows(rows))
    assert len(records) > 0


def test_statement_pass_of_nothing_is_empty() -> None:
    """No statement rows: an empty frame with metric_history's columns, and no statement_lines rows."""
    frame, records = statement_pass([], [])
    pd.testing.assert_frame_equal(frame, history.metric_frame({}, {}))
    assert records == []
