"""Rows as PostgreSQL's binary COPY stream, for tables whose rows hold long arrays of doubles.

asyncpg's COPY asks every element of an array whether it is itself a sequence (an ABC `isinstance`,
~0.3 µs a float): statement_lines' ~28,000 cells a company made its COPY cost as much as computing
the rows. Here a float8[] is packed by NumPy at once (the wire format is each element's length and
big-endian double); the few other fields are packed one by one. COPY's text format was no way out:
Python's shortest round-trip `repr` costs ~0.2 µs a float. tests/engine/db/test_copybinary.py holds
the rows written this way equal, byte for byte, to asyncpg's COPY of the same records.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
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
    if value.tzinfo is None:
        raise ValueError(f"timestamptz without a time zone: {value!r}")
    delta = value - EPOCH
    return struct.pack(">q", (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


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


def _floats(items: Sequence[float | None]) -> bytes:
    values = np.asarray(items, dtype=float)  # None as NaN
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
