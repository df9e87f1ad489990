"""Statement frames: FMP payload dicts → DataFrames by fiscal date, combined kinds, and trailing twelve months."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from serving.errors import AnalyticsError, NotEnoughDataError
from serving.rolling import rolling_mean, rolling_sum

# Payload keys that describe the row rather than measure the company: never numeric columns.
META_FIELDS = frozenset(
    {"date", "symbol", "reportedCurrency", "cik", "filingDate", "acceptedDate", "fiscalYear", "period"}
)
# Share counts are averages over the period: a TTM averages them instead of summing four quarters.
AVERAGED_FLOW_FIELDS = frozenset({"weightedAverageShsOut", "weightedAverageShsOutDil"})
# The cash-flow statement's two balances: a TTM takes the closing cash of its last quarter and the opening
# cash of its first, whatever `stock_columns` says (summing four quarters' cash made it ~4x too large).
CLOSING_FIELDS = frozenset({"cashAtEndOfPeriod"})
OPENING_FIELDS = frozenset({"cashAtBeginningOfPeriod"})
# Four consecutive quarters span about 270 days between the first and last fiscal date; allow slack for
# 52/53-week fiscal years but refuse a window with a missing quarter (which would span ~365 days).
MAX_TTM_SPAN_DAYS = 300
TTM_QUARTERS = 4
DAY_NS = 86_400_000_000_000
PLAIN_NUMBERS = frozenset({int, float})  # a value of exactly these types is a number (bool is neither)
NUMBER_OR_NULL = frozenset({int, float, type(None)})
NEVER_NUMBERS = frozenset({str, bool, dict, list})  # a field of these only is no column
NAN = float("nan")


def fiscal_date(payload: Mapping[str, Any]) -> pd.Timestamp:
    """A payload's `date` (the period end).

    Raises:
        AnalyticsError: no parseable `date`.
    """
    try:
        return _timestamp(payload["date"])
    except (KeyError, TypeError, ValueError) as exc:
        raise AnalyticsError(f"statement row without a valid 'date': {payload.get('date')!r}") from exc


@functools.lru_cache(maxsize=65536, typed=True)
def _timestamp(value: Any) -> pd.Timestamp:
    """`pd.Timestamp(value)`, once per distinct value: a universe's statements share a few thousand
    period ends, and parsing each payload's date again was ~5 % of the refresh's statement tables."""
    return pd.Timestamp(value)


def payload_values(payload: Mapping[str, Any], only: frozenset[str] | None = None) -> dict[str, float]:
    """A payload's numeric fields as floats (None as NaN); metadata, booleans and texts left out, and
    with `only`, every field not in it.

    One dict comprehension that asks a value's exact type first (ints and floats are nearly all of a
    payload's ~50 fields): it was the largest cost of a company's statements and of the refresh of
    metric_history, at ~8 µs a payload as an `isinstance` loop, ~40 % less this way.
    """
    if only is None:
        return {
            key: NAN if value is None else float(value)
            for key, value in payload.items()
            if (type(value) in PLAIN_NUMBERS or value is None or _other_number(value))
            and key not in META_FIELDS
        }
    return {
        key: NAN if value is None else float(value)
        for key, value in payload.items()
        if key in only
        and (type(value) in PLAIN_NUMBERS or value is None or _other_number(value))
        and key not in META_FIELDS
    }


def _other_number(value: Any) -> bool:
    """A number of another type than int or float (a subclass such as numpy's float64), never a bool
    nor a text (the texts, a payload's dates and labels, answer at once)."""
    return type(value) is not str and not isinstance(value, bool) and isinstance(value, int | float)


def statement_frame(
    payloads: Iterable[Mapping[str, Any]], *, period: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Build one kind's frame from FMP payload dicts (what a SQL query over the JSONB column returns).

    Args:
        payloads: FMP statement rows with stable field names; `date` is the fiscal date.
        period: keep only rows whose `period` is this value (e.g. "FY") or one of these values
            (e.g. ("Q1", "Q2", "Q3", "Q4")); None keeps every row.

    Returns:
        DataFrame indexed by fiscal date (DatetimeIndex named "date", ascending), one float column per
        numeric FMP field; metadata fields (symbol, period, filingDate, ...) are dropped. If a date appears
        twice (a restatement), the last row given wins.

    Raises:
        AnalyticsError: a row without a parseable `date`.
    """
    wanted = {period} if isinstance(period, str) else set(period) if period is not None else None
    rows: dict[pd.Timestamp, Mapping[str, Any]] = {}
    for payload in payloads:
        if wanted is not None and payload.get("period") not in wanted:
            continue
        rows[fiscal_date(payload)] = payload
    # One float matrix instead of DataFrame.from_dict(orient="index"), which boxed every cell and was most
    # of the cost of a company page's statements. Columns in order of first appearance, as from_dict.
    columns, matrix = payload_matrix(list(rows.values()))
    index = pd.DatetimeIndex(
        list(rows) if rows else [], dtype=None if rows else "datetime64[ns]", name="date"
    )
    frame = pd.DataFrame(matrix, index=index, columns=columns)
    return frame.sort_index()


def value_matrix(rows: Sequence[Mapping[str, float]]) -> tuple[list[str], np.ndarray]:
    """The fields of `rows` in order of first appearance and their float matrix (NaN where a row lacks
    one). FMP gives every row of a kind the same fields in the same order: then the rows' values are
    the matrix as they stand, without looking each field up in each row."""
    if not rows:
        return [], np.empty((0, 0))
    first = tuple(rows[0])
    if all(tuple(row) == first for row in rows):
        return list(first), np.array([list(row.values()) for row in rows], dtype=float).reshape(
            len(rows), len(first)
        )
    columns = list(dict.fromkeys(key for row in rows for key in row))
    matrix = np.array([[row.get(key, np.nan) for key in columns] for row in rows], dtype=float)
    return columns, matrix.reshape(len(rows), len(columns))


def payload_matrix(payloads: Sequence[Mapping[str, Any]]) -> tuple[list[str], np.ndarray]:
    """`value_matrix` of each payload's `payload_values`, a column at a time.

    FMP gives every payload of a kind the same fields in the same order (the store's JSONB text too),
    and each field one type: then a field is a column when its values are numbers or null (NaN), none
    when they are texts or booleans, and its values convert at once (numpy reads None as NaN). About a
    third of the cost of a dict per payload; payloads of other shapes take that path.
    """
    if not payloads:
        return [], np.empty((0, 0))
    first = tuple(payloads[0])
    if any(tuple(payload) != first for payload in payloads):
        return value_matrix([payload_values(payload) for payload in payloads])
    columns: list[str] = []
    values: list[tuple[Any, ...]] = []
    for key, column in zip(first, zip(*(payload.values() for payload in payloads), strict=True), strict=True):
        if key in META_FIELDS:
            continue
        kinds = set(map(type, column))
        if kinds <= NUMBER_OR_NULL:
            columns.append(key)
            values.append(column)
        elif not kinds <= NEVER_NUMBERS:  # numbers among texts, or another type: the rows differ
            return value_matrix([payload_values(payload) for payload in payloads])
    matrix = np.array(values, dtype=float).reshape(len(columns), len(payloads)).T
    return columns, np.ascontiguousarray(matrix)


def combine(*frames: pd.DataFrame) -> pd.DataFrame:
    """Join statement kinds on fiscal date into one frame; the first frame that has a column wins.

    Order matters because FMP reuses names with other meanings: the cash-flow statement's `inventory` and
    `accountsReceivables` are *changes*, not balances. Pass (income, balance, cashflow) so the balance
    sheet's stocks are kept and the cash flow only adds its own fields (operatingCashFlow, ...).
    """
    if not frames:
        raise AnalyticsError("combine() needs at least one frame")
    out = frames[0].copy()
    for frame in frames[1:]:
        extra = [c for c in frame.columns if c not in out.columns]
        out = out.join(frame[extra], how="outer")
    return out.sort_index()


def _check_quarters(window: pd.DataFrame) -> None:
    span = (window.index[-1] - window.index[0]).days
    if span > MAX_TTM_SPAN_DAYS:
        raise AnalyticsError(
            f"the last four quarters span {span} days ({window.index[0].date()} to {window.index[-1].date()}): "
            "a quarter is missing"
        )


def _split(columns: pd.Index | Sequence[str], stock_columns: frozenset[str]) -> tuple[list[str], ...]:
    """Columns by TTM rule: (summed flows, averaged share counts, closing balances, opening balances)."""
    # A list: pandas' str Index yields its names one Python-level call at a time.
    names: list[str] = columns.tolist() if isinstance(columns, pd.Index) else list(columns)
    stocks = stock_columns | CLOSING_FIELDS
    flows = [
        c for c in names if c not in stocks and c not in AVERAGED_FLOW_FIELDS and c not in OPENING_FIELDS
    ]
    averaged = [c for c in names if c in AVERAGED_FLOW_FIELDS]
    closing = [c for c in names if c in stocks and c not in OPENING_FIELDS]
    opening = [c for c in names if c in OPENING_FIELDS]
    return flows, averaged, closing, opening


def _ttm_row(window: pd.DataFrame, stock_columns: frozenset[str]) -> pd.Series:
    flows, averaged, stocks, opening = _split(window.columns, stock_columns)
    # min_count=4: a flow missing in any quarter makes the TTM sum unknown rather than silently smaller.
    parts = [
        window[flows].sum(min_count=4),
        window[averaged].mean(),
        window[stocks].iloc[-1],
        window[opening].iloc[0],
    ]
    return pd.concat(parts).reindex(window.columns)


def ttm(quarterly: pd.DataFrame, *, stock_columns: Iterable[str] = (), rolling: bool = False) -> pd.DataFrame:
    """Trailing twelve months from quarterly rows: flows summed over four quarters, stocks at the latest.

    Args:
        quarterly: a quarterly frame (Q1..Q4 rows) from `statement_frame`/`combine`, ascending by date.
        stock_columns: balance-sheet columns (point-in-time values) taken from the latest quarter; every
            other column is a flow and summed, except weighted share counts, which are averaged, and the
            cash flow's cashAtEndOfPeriod (latest quarter) and cashAtBeginningOfPeriod (first quarter).
            Pass `balance.columns` when `quarterly` combines income, balance and cash flow.
        rolling: False → one row for the latest four quarters; True → one row per quarter from the fourth.

    Returns:
        DataFrame indexed by the fiscal date of each window's last quarter.

    Raises:
        NotEnoughDataError: fewer than four quarters.
        AnalyticsError: the latest four quarters are not consecutive (rolling=False); with rolling=True,
            windows with a gap become NaN rows instead.
    """
    if len(quarterly) < 4:
        raise NotEnoughDataError(f"TTM needs four quarters, got {len(quarterly)}")
    stocks = frozenset(stock_columns)
    if not rolling:
        window = quarterly.iloc[-4:]
        _check_quarters(window)
        return _ttm_row(window, stocks).to_frame(quarterly.index[-1]).T.rename_axis("date")
    (values,) = rolling_ttms(
        [(quarterly.index, list(quarterly.columns), quarterly.to_numpy(dtype=float))], stocks
    )
    index = quarterly.index[TTM_QUARTERS - 1 :]
    return pd.DataFrame(values, index=index, columns=quarterly.columns)


Quarters = tuple[pd.DatetimeIndex, Sequence[str], np.ndarray]  # one table: dates, columns, values


def rolling_ttms(tables: Sequence[Quarters], stock_columns: frozenset[str] = frozenset()) -> list[np.ndarray]:
    """`ttm(rolling=True)`'s values of each table (ascending quarters, at least four): its rows from the
    fourth on, NaN where a window spans a missing quarter.

    The tables' flows and share counts roll together, as the columns of one matrix (`serving/rolling.py`,
    pandas' own sums and means): the statement tables of a batch of companies cost one pass over their
    rows instead of pandas' per-column rolling of each (~40 % of the statement_lines refresh).
    """
    splits = []
    for _, columns, _ in tables:
        at = {c: i for i, c in enumerate(columns)}
        splits.append([[at[c] for c in part] for part in _split(columns, stock_columns)])
    rows = max((len(values) for _, _, values in tables), default=0)
    summed, averaged = (
        _stacked([values[:, split[part]] for (_, _, values), split in zip(tables, splits, strict=True)], rows)
        for part in (0, 1)
    )
    sums, means = rolling_sum(summed, TTM_QUARTERS), rolling_mean(averaged, TTM_QUARTERS)
    out, sum_at, mean_at = [], 0, 0
    for (index, _, values), (flows, shares, held, opening) in zip(tables, splits, strict=True):
        count = len(values)
        result = np.empty(values.shape)
        result[:, flows] = sums[:count, sum_at : sum_at + len(flows)]
        result[:, shares] = means[:count, mean_at : mean_at + len(shares)]
        result[:, held] = values[:, held]
        result[:, opening] = np.nan
        result[TTM_QUARTERS - 1 :, opening] = values[: count - (TTM_QUARTERS - 1), opening]
        sum_at, mean_at = sum_at + len(flows), mean_at + len(shares)
        nanoseconds = index.as_unit("ns").asi8
        span = (nanoseconds[TTM_QUARTERS - 1 :] - nanoseconds[: count - (TTM_QUARTERS - 1)]) // DAY_NS
        result = result[TTM_QUARTERS - 1 :]
        result[~(span <= MAX_TTM_SPAN_DAYS)] = np.nan
        out.append(result)
    return out


def _stacked(parts: Sequence[np.ndarray], rows: int) -> np.ndarray:
    """The parts' columns side by side, each NaN below its own rows."""
    matrix = np.full((rows, sum(p.shape[1] for p in parts)), np.nan)
    at = 0
    for part in parts:
        matrix[: len(part), at : at + part.shape[1]] = part
        at += part.shape[1]
    return matrix
