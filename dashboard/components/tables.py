"""Tables: dash-ag-grid from DataFrames; raw numbers in the rows, units and formats in the columns."""

from __future__ import annotations

import datetime
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import dash_ag_grid as dag
import numpy as np
import pandas as pd

from dashboard.components import formats, glossary
from dashboard.components.formats import Col

# Up to this many rows a table grows to fit them (no inner scrollbar); longer ones scroll and page.
AUTO_HEIGHT_ROWS = 25
PAGE_SIZE = 50
BLOCK_COLUMNS = 16  # columns from which `records` converts the float64 ones as one block (measured)
TIP = "definition"  # the hidden row field whose text shows on hover over a row's first cell


def _timestamps(column: pd.Series) -> list[str | None]:
    """Dates as ISO dates; timestamps with a time of day keep it (UTC for zone-aware ones); NaT as None.

    numpy's datetime_as_string formats the whole column in C (pandas' strftime formats cell by cell).
    """
    # A zone-aware column's datetime64 values are its UTC instants (what tz_convert("UTC") and
    # tz_localize(None) gave, for ~0.1 ms a column).
    suffix = " UTC" if isinstance(column.dtype, pd.DatetimeTZDtype) else ""
    stamps = column.to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(stamps)
    days = stamps.astype("datetime64[D]")
    has_time = bool((stamps[~missing] != days[~missing]).any())
    if has_time:
        text = np.char.add(np.char.replace(np.datetime_as_string(stamps, unit="m"), "T", " "), suffix)
    else:
        text = np.datetime_as_string(days)
    cells: list[str | None] = text.tolist()
    for position in np.flatnonzero(missing).tolist():
        cells[position] = None
    return cells


def _cell(value: Any, digits: int) -> Any:
    """One JSON-safe cell of a column without a plain numeric dtype."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(value) else round(float(value), digits)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if not isinstance(value, str | int | float | bool):
        return str(value)
    return value


def _cells(column: pd.Series, digits: int) -> list[Any]:
    """A column's JSON-safe cells, converted a column at a time (a cell at a time cost ~7 ms a table)."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else "O"
    if kind == "f":
        values = column.to_numpy()
        finite = np.isfinite(values)
        rounded: list[Any] = np.round(values, digits).tolist()
        if finite.all():
            return rounded
        return [v if ok else None for v, ok in zip(rounded, finite.tolist(), strict=True)]
    if kind in "iub":
        cells: list[Any] = column.to_numpy().tolist()
        return cells
    if kind == "M" or isinstance(column.dtype, pd.DatetimeTZDtype):
        return _timestamps(column)
    # Text (pandas' str dtype) and object columns hold their cells as Python objects already: their list is
    # what astype(object) would give, without its copy and checks (~0.1 ms a column, four a statistics grid).
    plain = isinstance(column.dtype, (pd.StringDtype, np.dtype))
    return _objects(column.tolist() if plain else column.astype(object).tolist(), digits)


_AS_IS = frozenset({str, int, bool, type(None)})  # `_cell` gives these back unchanged
_WITH_FLOATS = _AS_IS | {float}
_DATES = frozenset({datetime.date, type(None)})  # str(date) is its ISO form


def _objects(values: list[Any], digits: int) -> list[Any]:
    """What `_cell` gives for each value, by the column's value types: text, dates and text mixed with
    numbers (the Screener's "n/m" cells) without `_cell`'s chain of checks per cell (0.28 s of CPU per
    5,000-row Screener grid), the rest cell by cell."""
    kinds = set(map(type, values))
    if kinds <= _AS_IS:
        return values
    if kinds <= _WITH_FLOATS:  # v - v == 0: finite (NaN and infinities give NaN)
        return [(round(v, digits) if v - v == 0 else None) if type(v) is float else v for v in values]
    if kinds <= _DATES:
        return [None if v is None else v.isoformat() for v in values]
    return [_cell(v, digits) for v in values]


def records(frame: pd.DataFrame, *, digits: int = 4) -> list[dict[str, Any]]:
    """JSON-safe rows: NaN → None, numbers rounded (4 decimals: finer than any format shown), dates as ISO text."""
    if frame.columns.has_duplicates:
        raise ValueError(f"records: duplicate column names {list(frame.columns[frame.columns.duplicated()])}")
    names = list(frame.columns)
    if not names:
        return []
    columns = _columns(frame, digits)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _columns(frame: pd.DataFrame, digits: int) -> list[list[Any]]:
    """Every column's cells: the float64 columns rounded together as one 2-D array.

    A statement table has a column per fiscal date (~140 quarters): taking each out as a Series cost
    more than the whole conversion. Frames under BLOCK_COLUMNS columns (Status, Screener, Forecast)
    are converted column by column, as before: there the block's copies cost more than they save. `np.round` and `isfinite` are elementwise, so the cells are the
    ones `_cells` gives column by column (the other dtypes still go through it).
    """
    if len(frame.columns) < BLOCK_COLUMNS:  # narrow: one by one costs less than reading the dtypes
        return [_cells(column, digits) for _, column in frame.items()]
    dtypes = frame.dtypes.tolist()
    floats = [j for j, dtype in enumerate(dtypes) if dtype == np.float64]
    out: list[list[Any]] = [[] for _ in dtypes]
    if floats:
        block = frame.iloc[:, floats].to_numpy(dtype=np.float64)
        finite = np.isfinite(block)
        whole = finite.all(axis=0).tolist()
        rounded = np.round(block, digits).T.tolist()
        for position, (j, cells) in enumerate(zip(floats, rounded, strict=True)):
            if not whole[position]:
                cells = [v if ok else None for v, ok in zip(cells, finite[:, position].tolist(), strict=True)]
            out[j] = cells
    chosen = set(floats)
    for j in range(len(dtypes)):
        if j not in chosen:
            out[j] = _cells(frame.iloc[:, j], digits)
    return out


FIT_WIDTH = 200  # AG Grid's default column width, which fitting to the grid's width scales


def grid(
    id_: str,
    frame: pd.DataFrame | None = None,
    *,
    height: int = 480,
    columns: Mapping[str, Col] | None = None,
    row_kind: str | None = None,
    hidden: Sequence[str] = (),
    fit: bool = False,
    row_tips: str | None = None,
    fit_width: bool = False,
    row_fields: Mapping[str, Sequence[Any]] | None = None,
) -> dag.AgGrid:
    """An AG Grid of the frame.

    Args:
        height: pixels for tables longer than AUTO_HEIGHT_ROWS; shorter ones fit their rows.
        columns: header and unit kind per column (defaults: `formats.METRICS`, then a readable name).
        row_kind: a column holding each row's kind, for tables with one unit per row (statements).
        hidden: columns sent in the row data but not shown (keys, kinds).
        fit: every row shown whatever their number (a statement is read top to bottom, not paged).
        row_tips: a column naming each row's figure (tables of one figure a row): its definition
            (`glossary`) shows on hover over the row's first cell.
        fit_width: the columns share the grid's width (refitted as the window changes) and long
            headers and labels wrap onto more lines instead of pushing columns out of view: a grid of
            short figures under long names then fits a narrow window (Portfolio at 800 px).
        row_fields: more fields each row carries after the frame's columns, as JSON values (text,
            numbers, None), e.g. a `row_kind` the frame does not hold; not shown unless named in `columns`.
    """
    frame = frame if frame is not None else pd.DataFrame()
    fields = dict(row_fields or {})
    if row_tips is not None and not frame.empty:
        fields[TIP] = [glossary.define(str(v)) for v in frame[row_tips].tolist()]
        hidden = (*hidden, TIP)
    if any(name in frame.columns for name in fields):  # replacing a column: in its place, as assign does
        frame, fields = frame.assign(**fields), {}
    defs = column_defs(frame, columns=columns, row_kind=row_kind, hidden=hidden)
    if row_tips is not None and defs:
        defs[0]["tooltipField"] = TIP
    if fit_width and defs:
        defs[0]["width"] = 2 * FIT_WIDTH  # fitting keeps proportions: the label column gets twice a figure's
    # The extra fields added to each row's dict rather than as columns: a frame's assign copies it and
    # infers each column's dtype (~0.3 ms a column on a statistics grid), records then converts it back.
    rows = records(frame)
    for name, values in fields.items():
        for row, value in zip(rows, values, strict=True):
            row[name] = value
    return _grid(id_, rows, defs, len(frame), height, fit, fit_width)


def placeholder(id_: str) -> dag.AgGrid:
    """An empty, hidden grid keeping `id_` on the page while a message stands in its place (or before
    a callback first builds it): Dash refuses a callback whose Input names an absent id, with a
    ReferenceError in the browser's console, and then skips it."""
    return dag.AgGrid(id=id_, rowData=[], columnDefs=[], style={"display": "none"})


def _grid(
    id_: str,
    rows: list[dict[str, Any]],
    defs: list[dict[str, Any]],
    length: int,
    height: int,
    fit: bool = False,
    fit_width: bool = False,
) -> dag.AgGrid:
    short = length <= AUTO_HEIGHT_ROWS or fit
    options: dict[str, Any] = {
        "animateRows": False,
        "pagination": length > PAGE_SIZE,
        "paginationPageSize": PAGE_SIZE,
        "suppressColumnVirtualisation": True,  # so that autoSize measures every column
        "enableCellTextSelection": True,
        "tooltipShowDelay": 300,  # definitions on the derived figures' headers and rows
    }
    if short:
        options["domLayout"] = "autoHeight"
    # Filters earn their header space only on long tables.
    column: dict[str, Any] = {"sortable": True, "filter": not short, "resizable": True, "minWidth": 80}
    if fit_width:
        column |= {"wrapHeaderText": True, "autoHeaderHeight": True, "wrapText": True, "autoHeight": True}
    return dag.AgGrid(
        id=id_,
        rowData=rows,
        columnDefs=defs,
        defaultColDef=column,
        columnSize="responsiveSizeToFit" if fit_width else "autoSize",
        dashGridOptions=options,
        style={"height": None} if short else {"height": f"{height}px"},
        className="ag-theme-alpine mycfa-fit" if short else "ag-theme-alpine",
    )


def column_defs(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, Col] | None = None,
    row_kind: str | None = None,
    hidden: Sequence[str] = (),
) -> list[dict[str, Any]]:
    defs: list[dict[str, Any]] = []
    given = columns or {}
    # The dtypes, not `frame[col]`: pandas' dtype checks answer the same for a column and its dtype,
    # and taking a Series out per column cost a millisecond on a statement table's ~140 columns.
    for col, dtype in zip(frame.columns, frame.dtypes.tolist(), strict=True):
        name = str(col)
        if name in hidden or name == row_kind:
            continue
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        integer = numeric and pd.api.types.is_integer_dtype(dtype)
        defs.append(
            _column_def(name, given, first=not defs, numeric=numeric, integer=integer, row_kind=row_kind)
        )
    return defs


def _column_def(
    name: str, given: Mapping[str, Col], *, first: bool, numeric: bool, integer: bool, row_kind: str | None
) -> dict[str, Any]:
    spec = given.get(name) or formats.METRICS.get(name)
    out: dict[str, Any] = {"field": name, "headerName": spec.header if spec else formats.label(name)}
    definition = glossary.define(name)
    if definition is not None:
        out["headerTooltip"] = definition
    if first:
        out["pinned"] = "left"
    if numeric:
        out["type"] = "numericColumn"
        if spec is not None and spec.kind != "text":
            out["valueFormatter"] = formats.grid_formatter(spec.kind)
        elif row_kind is not None:
            out["valueFormatter"] = formats.row_formatter(row_kind)
        else:
            out["valueFormatter"] = formats.grid_formatter("int" if integer else "num2")
    return out


def transpose_by_date(frame: pd.DataFrame, fields: list[str], *, oldest_first: bool = False) -> pd.DataFrame:
    """Statement table: one row per field, one column per fiscal date (newest first, or oldest)."""
    present = [f for f in fields if f in frame.columns]
    if frame.empty or not present:
        return pd.DataFrame()
    body = frame[present].sort_index(ascending=oldest_first).T
    body.columns = formats.iso_dates(body.columns)
    body.insert(0, "field", body.index)
    return body.reset_index(drop=True)


def statement_table(
    frame: pd.DataFrame, fields: list[str], *, oldest_first: bool = False, kind: str | None = None
) -> pd.DataFrame:
    """The statement table with a readable line item, its unit and its formatter kind per row (`kind`
    for every row when given: growth rates and shares of a total are all percentages)."""
    body = transpose_by_date(frame, fields, oldest_first=oldest_first)
    if body.empty:
        return body
    specs = [formats.line_item(f) for f in body["field"]]
    kinds = [kind or s.kind for s in specs]
    body.insert(1, "item", [s.header for s in specs])
    body.insert(2, "unit", [formats.unit(k) for k in kinds])
    body["kind"] = kinds
    return body


def statement_grid(
    id_: str,
    frame: pd.DataFrame,
    fields: Sequence[str],
    *,
    columns: Mapping[str, Col],
    restated: Collection[str] = (),
    height: int = 480,
    oldest_first: bool = False,
    kind: str | None = None,
) -> dag.AgGrid:
    """The statement table's grid: `grid` of `statement_table(frame, fields, oldest_first=, kind=)` with
    the `restated` dates' columns renamed "YYYY-MM-DD (restated)", the row's kind driving its format and
    the field hidden.

    Built straight from the statement's float array (a quarterly table has ~140 date columns, and
    transposing, inserting and converting them as DataFrame columns cost most of a Company statements
    request); the same rows and column specs (tests compare the two). Other dtypes take the frame path.
    """
    present = [f for f in fields if f in frame.columns]
    read = _float_rows(frame, present, oldest_first)
    if read is None:
        body = statement_table(frame, list(fields), oldest_first=oldest_first, kind=kind)
        body = body.rename(columns={d: f"{d} (restated)" for d in restated})
        return grid(
            id_,
            body,
            height=height,
            columns=columns,
            row_kind="kind",
            hidden=("field",),
            fit=True,
            row_tips="field",
        )
    index, values = read
    dates = [f"{d} (restated)" if d in restated else d for d in formats.iso_dates(index)]
    names = ["field", "item", "unit", *dates, "kind", TIP]
    if len(set(names)) < len(names):  # as `records` refuses them
        named = pd.Index(names)
        raise ValueError(f"records: duplicate column names {list(named[named.duplicated()])}")
    # The cells as Python floats with None where not finite, set in numpy (a generator per row over
    # ~4,000 cells cost ~0.2 ms more)
    cells = np.round(values, 4).astype(object)
    cells[~np.isfinite(values)] = None
    rows: list[dict[str, Any]] = []
    for field, row_cells in zip(present, cells.tolist(), strict=True):
        spec = formats.line_item(field)
        shown = kind or spec.kind
        row: dict[str, Any] = {"field": field, "item": spec.header, "unit": formats.unit(shown)}
        row.update(zip(dates, row_cells, strict=True))
        row["kind"] = shown
        row[TIP] = glossary.define(field)
        rows.append(row)
    text = [
        _column_def(c, columns, first=c == "item", numeric=False, integer=False, row_kind="kind")
        for c in ("item", "unit")
    ]
    text[0]["tooltipField"] = TIP
    numbers = [
        _column_def(d, columns, first=False, numeric=True, integer=False, row_kind="kind") for d in dates
    ]
    return _grid(id_, rows, text + numbers, len(rows), height, fit=True)


def _float_rows(
    frame: pd.DataFrame, present: list[str], oldest_first: bool
) -> tuple[pd.Index, np.ndarray] | None:
    """The `present` columns' values as a row per field and a column per date, in `sort_index`'s date
    order, with those dates; None when the frame is empty, has none of them, or one is not float64.

    From the frame's own array where it can: cutting the columns out as a frame (`frame[present]`) and
    sorting it cost a third of a statement grid, though the frame is most often those very columns,
    oldest first (`shown_as`); a frame in any other order is sorted by pandas, as before.
    """
    if frame.empty or not present:
        return None
    dtypes = frame.dtypes.tolist()
    if frame.columns.is_unique:
        positions = frame.columns.get_indexer(present)
        if any(dtypes[at] != np.float64 for at in positions.tolist()):
            return None
        whole = len(positions) == len(dtypes) and bool((positions == np.arange(len(dtypes))).all())
        block = frame if whole else frame.iloc[:, positions]
    else:
        block = frame[present]
        if any(dtype != np.float64 for dtype in block.dtypes.tolist()):
            return None
    index = block.index
    # `sort_index` leaves an index already in the asked order as it is (pandas' own test, the same).
    if not (index.is_monotonic_increasing if oldest_first else index.is_monotonic_decreasing):
        block = block.sort_index(ascending=oldest_first)
        index = block.index
    return index, block.to_numpy(dtype=np.float64).T
