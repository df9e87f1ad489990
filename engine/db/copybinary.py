"""Rows as PostgreSQL's binary COPY stream, for tables whose rows hold long arrays of doubles.

asyncpg's COPY asks every element of an array whether it is itself a sequence (an ABC `isinstance`,
~0.3 µs a float): statement_lines' ~28,000 cells a company made its COPY cost as much as computing
the rows. Here a float8[] is packed by NumPy at once (the wire format is each element's length and
big-endian double); the few other fields are packed one by one. COPY's text format was no way out:
Python's shortest round-trip `repr` costs ~0.2 µs a float. tests/engine/db/test_copybinary.py holds
the rows written this way equal, byte for byte, to asyncpg's COPY of the same records.

Rows of many scalar fields (metric_history's ~60 doubles) are packed a column at a time instead
(`copy_columns`): each field is a fixed-width cell, the rows one byte matrix, and a NULL's or a short
text's unused bytes dropped by one mask, so no Python runs per value.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # no flags, no header extension
TRAILER = struct.pack(">h", -1)
NULL = struct.pack(">i", -1)
EPOCH_DAY = date(2000, 1, 1)  # PostgreSQL's dates and timestamps count from 2000-01-01
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
ELEMENT_OIDS = {"text": 25, "int2": 21, "date": 1082, "float8": 701}
CELL = np.dtype([("length", ">i4"), ("value", ">f8")])
PIECE_ROWS = 2048  # rows per piece of `copy_columns` (~1.5 MB of metric_history's)
EPOCH_DAY_ORDINAL = EPOCH_DAY.toordinal()
UNIX_EPOCH_DAYS = (EPOCH_DAY - date(1970, 1, 1)).days  # a datetime64's days to PostgreSQL's
EPOCH_US = np.datetime64("2000-01-01T00:00:00", "us").astype(np.int64)
INT2_RANGE = (-32768, 32767)


def copy_binary(records: Iterable[Sequence[Any]], types: Sequence[str]) -> Iterator[bytes]:
    """The records as COPY ... FROM STDIN (FORMAT binary) reads them, a piece per record (never the
    whole stream at once), each field by its type in `types`: text, int2, date, timestamptz, or an
    array of text, int2, date or float8 ("float8[]"; None, and any NaN or infinity, as NULL: SQL never
    meets NaN here). Raises ValueError for another type."""
    packers = [_packer(name) for name in types]
    count = struct.pack(">h", len(types))
    yield SIGNATURE
    for record in records:
        parts = [count]
        for pack, value in zip(packers, record, strict=True):
            if value is None:
                parts.append(NULL)
            else:
                data = pack(value)
                parts += (struct.pack(">i", len(data)), data)
        yield b"".join(parts)
    yield TRAILER


def _packer(name: str) -> Any:
    if name == "float8[]":
        return _floats
    if name.endswith("[]") and name[:-2] in ELEMENT_OIDS:
        element, oid = SCALARS[name[:-2]], ELEMENT_OIDS[name[:-2]]
        return lambda items: _array(items, element, oid)
    if name in SCALARS:
        return SCALARS[name]
    raise ValueError(f"no binary COPY packer for {name!r}")


def _text(value: str) -> bytes:
    return value.encode()


def _int2(value: int) -> bytes:
    return struct.pack(">h", value)


def _date(value: date) -> bytes:
    return struct.pack(">i", (value - EPOCH_DAY).days)


def _timestamptz(value: datetime) -> bytes:
    return struct.pack(">q", _micros(value))


def _micros(value: datetime) -> int:
    """Microseconds since PostgreSQL's epoch."""
    if value.tzinfo is None:
        raise ValueError(f"timestamptz without a time zone: {value!r}")
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


SCALARS = {"text": _text, "int2": _int2, "date": _date, "timestamptz": _timestamptz}


def _header(length: int, nulls: bool, oid: int) -> bytes:
    if not length:
        return struct.pack(">iii", 0, 0, oid)
    return struct.pack(">iiiii", 1, int(nulls), oid, length, 1)


def _array(items: Sequence[Any], element: Any, oid: int) -> bytes:
    parts = [_header(len(items), any(item is None for item in items), oid)]
    for item in items:
        if item is None:
            parts.append(NULL)
        else:
            data = element(item)
            parts += (struct.pack(">i", len(data)), data)
    return b"".join(parts)


def _floats(items: Sequence[float | None] | np.ndarray) -> bytes:
    values = np.asarray(items, dtype=float)  # None as NaN; an array of doubles as it is
    missing = ~np.isfinite(values)
    cells = np.empty(len(values), dtype=CELL)
    cells["length"] = np.where(missing, -1, 8)
    cells["value"] = values
    body = cells.tobytes()
    if missing.any():  # a NULL is its length alone
        keep = np.ones((len(values), CELL.itemsize), dtype=bool)
        keep[missing, 4:] = False
        body = np.frombuffer(body, dtype=np.uint8).reshape(len(values), CELL.itemsize)[keep].tobytes()
    return _header(len(values), bool(missing.any()), ELEMENT_OIDS["float8"]) + body


def copy_columns(
    columns: Sequence[Sequence[Any] | np.ndarray], types: Sequence[str], *, piece_rows: int = PIECE_ROWS
) -> Iterator[bytes]:
    """Rows given as columns (one sequence or array per field, all of one length) as COPY ... FROM STDIN
    (FORMAT binary) reads them, a piece per `piece_rows` rows, each field by its type in `types`:
    float8 (NaN and infinities as NULL), int2, date, timestamptz (aware datetimes, or datetime64 as UTC)
    or text; None (and NaT, NaN) as NULL. Raises ValueError for another type, a naive datetime or an
    int2 out of range."""
    if len(columns) != len(types):
        raise ValueError(f"{len(columns)} columns for {len(types)} types")
    cells = [_column_packer(name) for name in types]
    rows = len(columns[0]) if columns else 0
    count = np.frombuffer(struct.pack(">h", len(types)), dtype=np.uint8)
    yield SIGNATURE
    for start in range(0, rows, piece_rows):
        stop = min(rows, start + piece_rows)
        blocks, keeps = [np.broadcast_to(count, (stop - start, 2))], [np.ones((stop - start, 2), dtype=bool)]
        for pack, column in zip(cells, columns, strict=True):
            block, lengths = pack(column[start:stop])
            blocks.append(block)
            keeps.append(np.arange(block.shape[1]) < 4 + np.maximum(lengths, 0)[:, None])
        yield np.hstack(blocks)[np.hstack(keeps)].tobytes()
    yield TRAILER


def _column_packer(name: str) -> Any:
    packers = {
        "float8": _float_cells,
        "int2": _int2_cells,
        "date": _date_cells,
        "timestamptz": _timestamptz_cells,
        "text": _text_cells,
    }
    if name not in packers:
        raise ValueError(f"no binary COPY packer for {name!r}")
    return packers[name]


def _cells(values: np.ndarray, null: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Each row's field as bytes (its length, then its value) and the value's length (-1: NULL)."""
    cells = np.empty(len(values), dtype=[("length", ">i4"), ("value", dtype)])
    lengths = np.where(null, -1, cells.dtype["value"].itemsize).astype(np.int32)
    cells["length"] = lengths
    cells["value"] = values
    return cells.view(np.uint8).reshape(len(values), cells.dtype.itemsize), lengths


def _absent(value: Any) -> bool:
    """None, NaT or a non-finite float: NULL."""
    return value is None or value != value or (isinstance(value, float) and not np.isfinite(value))


def _converted(
    column: Sequence[Any] | np.ndarray, convert: Callable[[Any], Any], missing: Any
) -> tuple[list[Any], np.ndarray]:
    """Each item converted (`missing` where it is NULL) and where the NULLs are, each distinct value
    converted once: a batch's rows share a few symbols, bases, periods and a few hundred dates."""
    items = list(column)
    once = {item: convert(item) for item in set(items) if not _absent(item)}
    null = np.fromiter((item not in once for item in items), dtype=bool, count=len(items))
    return [once.get(item, missing) for item in items], null


def _float_cells(column: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(column, dtype=float)  # None as NaN
    null = ~np.isfinite(values)
    return _cells(np.where(null, 0.0, values), null, ">f8")


def _int2_cells(column: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(column)
    if array.dtype.kind in "iuf":  # a float column holds NaN where a value is missing
        null = ~np.isfinite(array)
        values = np.where(null, 0, array).astype(np.int64)
    else:
        items, null = _converted(array, int, 0)
        values = np.array(items, dtype=np.int64)
    if len(values) and (values.min() < INT2_RANGE[0] or values.max() > INT2_RANGE[1]):
        raise ValueError(f"a value out of int2's range among {values.min()}..{values.max()}")
    return _cells(values, null, ">i2")


def _date_cells(column: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(column)
    if array.dtype.kind == "M":
        null = np.isnat(array)
        days = array.astype("datetime64[D]").astype(np.int64) - UNIX_EPOCH_DAYS
        return _cells(np.where(null, 0, days), null, ">i4")
    ordinals, null = _converted(array, lambda day: day.toordinal() - EPOCH_DAY_ORDINAL, 0)
    return _cells(np.array(ordinals, dtype=np.int64), null, ">i4")


def _timestamptz_cells(column: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(column)
    if array.dtype.kind == "M":
        null = np.isnat(array)
        micros = array.astype("datetime64[us]").astype(np.int64) - EPOCH_US
        return _cells(np.where(null, 0, micros), null, ">i8")
    packed, null = _converted(array, _micros, 0)
    return _cells(np.array(packed, dtype=np.int64), null, ">i8")


def _text_cells(column: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    data, null = _converted(column, str.encode, b"")
    lengths = np.where(null, -1, np.fromiter(map(len, data), dtype=np.int32, count=len(data))).astype(
        np.int32
    )
    width = max(1, int(lengths.max(initial=0)))
    cells = np.empty(len(data), dtype=[("length", ">i4"), ("value", f"S{width}")])
    cells["length"] = lengths
    cells["value"] = data
    return cells.view(np.uint8).reshape(len(data), cells.dtype.itemsize), lengths
