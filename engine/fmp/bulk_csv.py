"""FMP's bulk answers (CSV) parsed as a stream: rows typed like the JSON endpoints', only those kept.

A real eod-bulk file holds the whole market (crypto, FX, every exchange: tens of MB, no
Content-Length) for the ~500 rows a run wants, so the body is parsed chunk by chunk as it arrives
and a row is typed only once `keep` accepted its symbol; memory holds one chunk and the kept rows.
FMP's cells: strings quoted, numbers bare (`6.344979e-10`), null empty, booleans bare `true`/`false`
(tests/fixtures/fmp/real/eod-bulk.csv, profile-bulk.part0.csv).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable
from typing import Any

from engine.errors import FMPMalformedResponseError
from engine.fmp.endpoints import EndpointSpec

Row = dict[str, Any]


class CsvRows(list[Row]):
    """The kept rows of a CSV answer; `records` counts every data record it held, kept or not (0: an
    empty answer, which is how a walk over parts can tell "nothing of ours here" from "the end")."""

    __slots__ = ("records",)

    def __init__(self, rows: Iterable[Row] = (), records: int = 0) -> None:
        super().__init__(rows)
        self.records = records


_INTEGER = re.compile(r"-?\d+")


def _complete(text: str) -> int:
    """The length of the longest prefix of `text` that ends a CSV record: up to a newline outside
    quotes (a quoted cell may hold newlines; an even count of `"` before it means outside)."""
    end = text.rfind("\n")
    while end >= 0:
        if text.count('"', 0, end) % 2 == 0:
            return end + 1
        end = text.rfind("\n", 0, end)
    return 0


class CsvStream:
    """Feed the body's chunks in order, then `close()` for the rows.

        stream = CsvStream(EOD_BULK, keep={"AAPL", "MSFT"}.__contains__)
        for chunk in chunks:
            stream.feed(chunk)
        rows = stream.close()

    Raises (from `feed` / `close`):
        FMPMalformedResponseError: a required column missing, a non-numeric number.
    """

    def __init__(
        self,
        spec: EndpointSpec,
        *,
        booleans: tuple[str, ...] = (),
        keep: Callable[[str], bool] | None = None,
        symbol: str | None = None,
    ) -> None:
        self._spec = spec
        self._booleans = booleans
        self._keep = keep
        self._endpoint, self._symbol = spec.path, symbol
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._pending = ""
        self._header: list[str] | None = None
        self._index = 0  # records seen (for error messages)
        self.rows: list[Row] = []

    def feed(self, chunk: bytes) -> None:
        text = self._pending + self._decoder.decode(chunk)
        cut = _complete(text)
        self._pending = text[cut:]
        if cut:
            self._parse(csv.reader(io.StringIO(text[:cut], newline="")))

    def close(self) -> CsvRows:
        text = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        if text.strip():
            self._parse(csv.reader(io.StringIO(text, newline="")))
        return CsvRows(self.rows, self._index)

    def _parse(self, records: Iterable[list[str]]) -> None:
        for record in records:
            if self._header is None:
                self._set_header(record)
                continue
            if not record:
                continue
            self._index += 1
            row = dict(zip(self._header, record, strict=False))
            if self._keep is not None and not self._keep(row.get("symbol", "")):
                continue
            self.rows.append(self._typed(row))

    def _set_header(self, header: list[str]) -> None:
        missing = [key for key in self._spec.required if key not in header]
        if missing and header not in ([], ["symbol"]):  # no body, or a bare header: an empty answer
            raise FMPMalformedResponseError(
                f"CSV lacks column(s) {', '.join(missing)}", endpoint=self._endpoint, symbol=self._symbol
            )
        self._header = header
        self._numeric = [key for key in self._spec.numeric if key in header]
        self._flags = [key for key in self._booleans if key in header]

    def _typed(self, row: Row) -> Row:
        for key in self._numeric:
            text = (row.get(key) or "").strip()
            try:
                row[key] = None if not text else int(text) if _INTEGER.fullmatch(text) else float(text)
            except ValueError:
                raise FMPMalformedResponseError(
                    f"row {self._index - 1} field {key} is not numeric",
                    endpoint=self._endpoint,
                    symbol=self._symbol,
                ) from None
        for key in self._flags:
            row[key] = (row.get(key) or "").strip().lower() == "true"
        return row


def csv_rows(
    data: Any,
    *,
    spec: EndpointSpec,
    booleans: tuple[str, ...] = (),
    symbol: str | None = None,
    keep: Callable[[str], bool] | None = None,
) -> CsvRows:
    """Rows of a whole bulk CSV answer, typed like the JSON endpoints': the spec's numeric columns
    become numbers (an integer where the text is one; empty: null), `booleans` become true/false,
    the rest stays text. `[]` (what FMP may send for a day nobody traded) is no rows.

    Raises:
        FMPMalformedResponseError: not CSV text, a required column missing, a non-numeric number.
    """
    if data is None or data == []:
        return CsvRows()
    if not isinstance(data, bytes):
        raise FMPMalformedResponseError(
            f"expected CSV, got {type(data).__name__}", endpoint=spec.path, symbol=symbol
        )
    stream = CsvStream(spec, booleans=booleans, keep=keep, symbol=symbol)
    stream.feed(data)
    return stream.close()
