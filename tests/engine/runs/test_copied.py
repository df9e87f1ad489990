"""The statement pass from the rows a run's backfill COPYed equals the pass from the rows read back, to the
last bit: JSONB's key order and number forms reproduced, updated_at the load transaction's now()."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from itertools import groupby
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from devkit import seed
from engine.db import create_pool, load_statement_rows, migrate, queries
from engine.db.copybinary import copy_binary
from engine.db.rows import StatementRow
from engine.db.validate.common import canonical_json
from engine.runs import refresh
from engine.runs.copied import Copied, CopiedRow, group_of, order_free, read_back_payload
from serving.company import KINDS
from tests.conftest import Cluster, throwaway_database

# Numbers JSONB prints in another form than orjson wrote them (1e+16, 0.00000015 for 1.5e-07, 0.0 for
# -0.0), an integer beyond what a float holds exactly, a scale kept (1.5), nested objects and arrays.
TRICKY: dict[str, Any] = {
    "revenue": 1.2e16,
    "costOfRevenue": 1e16,
    "otherExpenses": -0.0,
    "eps": 1.5e-07,
    "epsDiluted": 1e-05,
    "weightedAverageShsOut": 12345678901234567,
    "interestIncome": 1.5,
    "ebitda": 1.2345e22,
    "zz": {"bb": [1e17, -0.0, {"b": 1, "a": 2e-9}], "a": "1e+5 -0.0 :{"},
    "ä": 1,
    "b": None,
}


def _typed(value: Any) -> Any:
    """A parsed payload with every key's order, every value's type and every float's bits visible."""
    if isinstance(value, dict):
        return [(key, _typed(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, float):
        return ("float", value.hex())
    return (type(value).__name__, value)


@pytest.fixture
def store(pg_cluster: Cluster) -> Iterator[str]:
    with throwaway_database(pg_cluster, "copied") as database:
        asyncio.run(migrate(database.owner_url))
        yield database.owner_url


async def test_a_payload_reads_back_as_its_jsonb_text_parses(store: str) -> None:
    """`read_back_payload` of the loader's canonical text equals orjson's parse of that text stored as JSONB
    and printed: key order, types and float bits."""
    pool = await create_pool(store, max_size=1)
    try:
        payloads = [TRICKY, TRICKY["zz"], {"date": "2024-06-30", "revenue": 100.0, "netIncome": 7}, {}]
        for payload in payloads:
            text = canonical_json(payload)
            printed = await pool.fetchval("SELECT $1::jsonb::text", text)
            assert _typed(read_back_payload(text)) == _typed(orjson.loads(printed)), text
    finally:
        await pool.close()


def _statement_rows(first_seed: int) -> tuple[list[StatementRow], dict[int, dict[str, Any]]]:
    """The demo universe's statements of seed `first_seed` as the loader's rows (canonical payloads),
    a few of the first company's with the tricky numbers; and by row (id) its payload as validation
    parsed it (the fixture's key order, not sorted)."""
    out = []
    payloads = {}
    for at, symbol in enumerate(seed.SYMBOLS):
        for symbol_, kind, period, when, year, currency, filed, text in seed.statement_rows(
            symbol, at + first_seed
        ):
            if kind not in KINDS:
                continue
            payload = orjson.loads(text)
            if at == 0 and kind == "income" and when.year == 2022:
                payload |= {k: v for k, v in TRICKY.items() if k != "zz"}
            out.append(
                StatementRow(symbol_, kind, period, when, year, currency, filed, canonical_json(payload))
            )
            payloads[id(out[-1])] = payload
    return out, payloads


def _bits_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 0
    for column in got.columns:
        if got[column].dtype.kind == "f":
            np.testing.assert_array_equal(
                got[column].to_numpy().view(np.int64), want[column].to_numpy().view(np.int64), column
            )
        else:
            pd.testing.assert_series_equal(got[column], want[column])


@pytest.mark.parametrize("first_seed", [1, 2])
async def test_the_pass_of_copied_rows_equals_the_pass_of_rows_read_back(store: str, first_seed: int) -> None:
    """Loaded by the loader's backfill (one batch per kind and period group, as the run's items), every
    company is computed from its copied rows (the store holds those and no other), and metric_history's
    frame and statement_lines' COPY bytes equal the read-back's, for all of them and for a mix."""
    pool = await create_pool(store, max_size=2)
    try:
        copies: dict[str, list[Copied]] = {}
        parsed, payloads = _statement_rows(first_seed)
        rows = sorted(parsed, key=lambda r: (r.symbol, r.kind, group_of(r.period)))
        for (symbol, kind, _), batch in groupby(rows, key=lambda r: (r.symbol, r.kind, group_of(r.period))):
            result = await load_statement_rows(pool, symbol, kind, list(batch))
            assert result.path == "backfill"
            assert result.copied is not None
            copied_rows, stamp = result.copied
            copies.setdefault(symbol, []).append(
                Copied.of(copied_rows, stamp, [payloads[id(r)] for r in copied_rows])
            )
        symbols = sorted(copies)
        held = await refresh._held(pool, symbols, copies)
        assert sorted(held) == symbols
        read = await pool.fetch(queries.SERVING_STATEMENTS, symbols)
        want_frame, want_lines = refresh.statement_pass_rows(read)
        half = set(symbols[::2])
        mixed_read = [r for r in read if r["symbol"] not in half]
        for got_frame, got_lines in (
            refresh.copied_pass_rows([], held),
            refresh.copied_pass_rows(mixed_read, {s: held[s] for s in half}),
        ):
            _bits_equal(got_frame, want_frame)
            assert b"".join(copy_binary(got_lines, refresh.LINES_TYPES)) == b"".join(
                copy_binary(want_lines, refresh.LINES_TYPES)
            )
        # A row stored beyond the copied ones (another period, a restatement) sends the company to the read.
        symbol = symbols[0]
        await pool.execute(
            "UPDATE statements SET updated_at = now() + interval '1 second'"
            " WHERE symbol = $1 AND kind = 'balance' AND period = 'FY'"
            " AND fiscal_date = (SELECT max(fiscal_date) FROM statements WHERE symbol = $1 AND kind = 'balance')",
            symbol,
        )
        await pool.execute(
            "DELETE FROM statements WHERE symbol = $1 AND kind = 'cashflow' AND period = 'Q1'", symbols[1]
        )
        assert sorted(await refresh._held(pool, symbols, copies)) == symbols[2:]
    finally:
        await pool.close()


def test_a_pass_that_depends_on_the_order_of_one_dates_rows_is_not_computed_from_copies() -> None:
    """Two quarters of one date and kind, or kinds that disagree on a date's fiscal year: the read's
    order among them decides, so the company is read back."""
    row = CopiedRow("AAA", "income", "Q1", seed.LAST_DAY, 2024, {})
    assert order_free([row, row._replace(kind="balance")])
    assert not order_free([row, row._replace(period="Q2")])
    assert not order_free([row, row._replace(kind="balance", fiscal_year=2023)])
    assert order_free([row, row._replace(period="FY")])
