"""The drills' content fingerprint: equal for the same rows in any order, different for a changed,
lost or added row, and computed without building one string of the whole table."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from devkit import seed
from devkit.fingerprint import FINGERPRINT_SQL, fingerprint
from tests.conftest import Cluster, Database, throwaway_database


@pytest.fixture
def seeded(pg_cluster: Cluster) -> Iterator[Database]:
    with throwaway_database(pg_cluster, "fingerprint") as db:
        seed.seed(db.owner_url, ("AAPL", "MSFT"))
        yield db


def _execute(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def test_same_rows_in_another_order_give_the_same_fingerprint(seeded: Database) -> None:
    before = fingerprint(seeded.owner_url)
    assert before["prices"][0] > 0
    assert before["statements"][0] > 0
    # Move every MSFT price to the end of the heap: same rows, another physical order.
    _execute(
        seeded.owner_url,
        "WITH gone AS (DELETE FROM prices_daily WHERE symbol = 'MSFT' RETURNING *) "
        "INSERT INTO prices_daily SELECT * FROM gone",
    )
    assert fingerprint(seeded.owner_url) == before


def test_a_changed_lost_or_added_row_changes_the_fingerprint(seeded: Database) -> None:
    before = fingerprint(seeded.owner_url)
    _execute(
        seeded.owner_url,
        "UPDATE prices_daily SET close = close + 0.01"
        " WHERE (symbol, date) = (SELECT symbol, max(date) FROM prices_daily WHERE symbol = 'AAPL' GROUP BY 1)",
    )
    changed = fingerprint(seeded.owner_url)
    assert changed["prices"][0] == before["prices"][0]
    assert changed["prices"][1] != before["prices"][1]
    assert changed["statements"] == before["statements"]

    _execute(
        seeded.owner_url,
        "DELETE FROM prices_daily WHERE symbol = 'AAPL'"
        " AND date = (SELECT min(date) FROM prices_daily WHERE symbol = 'AAPL')",
    )
    lost = fingerprint(seeded.owner_url)
    assert lost["prices"][0] == before["prices"][0] - 1

    _execute(
        seeded.owner_url,
        "UPDATE statements SET payload = payload || '{\"revenue\": 1}'::jsonb"
        " WHERE ctid = (SELECT ctid FROM statements LIMIT 1)",
    )
    assert fingerprint(seeded.owner_url)["statements"][1] != before["statements"][1]


def test_no_fingerprint_aggregates_the_rows_text() -> None:
    """string_agg over every row hit the 1 GB string limit at 503 symbols (the hour's soak)."""
    assert all("string_agg" not in sql for sql in FINGERPRINT_SQL.values())
