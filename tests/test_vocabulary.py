"""Every copy of a fixed vocabulary agrees with the schema's CHECKs and with the engine's endpoint specs.

The engine derives its statement kinds and periods from `engine.fmp.endpoints`; the dashboard (whose
image ships without the engine) and the fake FMP server (an independent model of FMP) keep their own
copies, so this module is what keeps them from drifting apart. The schema's values are read from a
migrated database (`pg_constraint`), so a migration that changes a CHECK needs no edit here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import psycopg
import pytest

from dashboard import vocabulary
from dashboard.auth import ROLES
from engine.db import migrate
from engine.db.rows import StatementRow
from engine.fmp import endpoints
from engine.runs.datasets import REGISTRY, STATEMENTS, Family, Job
from engine.runs.ledger import ItemState, RunState
from fakefmp import data as fake_data
from fakefmp.routes import PRICE_PATHS, ROUTES
from tests.conftest import Database

CheckValues = Callable[[str, str], tuple[str, ...]]

CHECKS_SQL = """
SELECT pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE c.contype = 'c' AND t.relname = %s AND n.nspname = 'public'
ORDER BY c.conname
"""


def in_list(definition: str, column: str) -> tuple[str, ...] | None:
    """The values of `column IN (...)` as PostgreSQL prints the CHECK (`column = ANY (ARRAY[...])`)."""
    found = re.search(rf"\(\(?{column}\)?(?:::text)? = ANY \(\(?ARRAY\[([^\]]*)\]", definition)
    return tuple(re.findall(r"'([^']*)'", found.group(1))) if found else None


@pytest.fixture(scope="module")
def check_values(pg_database: Database) -> CheckValues:
    """`check_values(table, column)`: the values of the CHECK on table.column, in the order written,
    as the migrations leave them (whichever file added or replaced the constraint)."""
    asyncio.run(migrate(pg_database.owner_url))

    def values(table: str, column: str) -> tuple[str, ...]:
        with psycopg.connect(pg_database.owner_url) as conn:
            definitions = [str(row[0]) for row in conn.execute(CHECKS_SQL, (table,)).fetchall()]
        found = [v for v in (in_list(d, column) for d in definitions) if v is not None]
        assert len(found) == 1, f"want one CHECK ({column} IN (...)) on {table}, found {definitions}"
        return found[0]

    return values


def test_in_list_reads_postgres_check_definitions() -> None:
    """The parser reads the form PostgreSQL prints a CHECK (col IN (...)) in, and only for that column."""
    definition = "CHECK ((kind = ANY (ARRAY['income'::text, 'balance'::text])))"
    assert in_list(definition, "kind") == ("income", "balance")
    assert in_list(definition, "period") is None
    assert in_list("CHECK (((role)::text = ANY ((ARRAY['a'::character varying])::text[])))", "role") == ("a",)


def test_statement_kinds_agree_with_schema(check_values: CheckValues) -> None:
    """The statement kinds of the engine, the dashboard and the fake are the schema's, in one order."""
    schema = check_values("statements", "kind")
    assert endpoints.STATEMENT_KINDS == schema
    assert vocabulary.STATEMENT_KINDS == schema
    assert fake_data.STATEMENT_DATASETS == schema
    assert tuple(d.kind for d in STATEMENTS if d.period == "annual") == schema


def test_period_labels_agree_with_schema(check_values: CheckValues) -> None:
    """The period labels the engine validates and the dashboard queries are the schema's."""
    schema = check_values("statements", "period")
    assert endpoints.STATEMENT_PERIODS == schema
    assert vocabulary.FISCAL_PERIODS == schema
    assert vocabulary.fiscal_labels("FY") == endpoints.FISCAL_LABELS["annual"]
    assert vocabulary.fiscal_labels("Q") == endpoints.FISCAL_LABELS["quarter"]
    assert fake_data.QUARTERS == endpoints.FISCAL_LABELS["quarter"]
    assert fake_data.REQUEST_PERIODS == endpoints.PERIODS


@pytest.mark.parametrize("label", ["FY", "Q1", "Q2", "Q3", "Q4"])
def test_request_period_inverts_fiscal_labels(label: str) -> None:
    """Each stored label maps back to the request period that fetches it."""
    assert label in endpoints.FISCAL_LABELS[endpoints.request_period(label)]


def test_request_period_refuses_unknown_label() -> None:
    """A label outside the vocabulary is an error, not silently `quarter`."""
    with pytest.raises(ValueError, match="TTM"):
        endpoints.request_period("TTM")


def test_fake_serves_every_engine_endpoint_path() -> None:
    """Every engine spec's path is in the fake's route table; its statement and price paths are the
    specs' paths for the same datasets."""
    paths = {spec.path for spec in vars(endpoints).values() if isinstance(spec, endpoints.EndpointSpec)}
    assert paths <= set(ROUTES.paths())
    specs = {spec.path: spec.dataset for spec in endpoints.STATEMENT_SPECS}
    assert fake_data.STATEMENT_PATHS == specs
    assert set(PRICE_PATHS) == {endpoints.PRICES.path, endpoints.PRICES_ADJUSTED.path}


def test_statement_datasets_cover_kinds_by_periods() -> None:
    """The run ledger's statement datasets are every kind in every request period, named kind_period."""
    names = {d.name for d in REGISTRY.datasets if d.family == Family.STATEMENT}
    assert names == {f"{k}_{p}" for k in endpoints.STATEMENT_KINDS for p in endpoints.PERIODS}
    assert "kind" in StatementRow._fields
    assert "period" in StatementRow._fields


def test_ledger_vocabularies_agree_with_schema(check_values: CheckValues) -> None:
    """Jobs, run states and item states are the ledger CHECKs' values."""
    assert tuple(str(job) for job in Job) == check_values("runs", "job")
    assert {v for k, v in vars(RunState).items() if k.isupper()} == set(check_values("runs", "state"))
    assert {v for k, v in vars(ItemState).items() if k.isupper()} == set(check_values("run_items", "state"))


def test_roles_agree_with_schema(check_values: CheckValues) -> None:
    """The dashboard's roles are the dashboard_users CHECK's values."""
    assert check_values("dashboard_users", "role") == ROLES
