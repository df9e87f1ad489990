"""The soak drill counts the audit rows the dashboard really writes (the disk-per-month figure)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.types.json import Jsonb

from dashboard import audit_store
from devkit import seed
from scripts.drills import soak_measure
from tests.conftest import Cluster, Database, throwaway_database

EVENT = ("page_view", "ok", "ann", "analyst", "10.0.0.1", "r1", Jsonb({"page": "/statements"}))


@pytest.fixture
def migrated(pg_cluster: Cluster) -> Iterator[Database]:
    with throwaway_database(pg_cluster, "soak_measure") as db:
        seed.apply_schema(db.owner_url)
        yield db


def test_audit_size_counts_the_rows_the_dashboard_inserts(migrated: Database) -> None:
    """Rows inserted as the dashboard inserts them (mycfa_audit into audit.events) are counted, read as
    the operator the drill samples with; the count and the table's bytes grow with them."""
    with psycopg.connect(migrated.operator_url, autocommit=True) as operator:
        rows_before, bytes_before = soak_measure.audit_size(operator)
        with psycopg.connect(migrated.audit_url, autocommit=True) as audit:
            for _ in range(3):
                audit.execute(audit_store.INSERT, EVENT)
        rows_after, bytes_after = soak_measure.audit_size(operator)
    assert rows_after - rows_before == 3
    assert bytes_after >= bytes_before > 0
