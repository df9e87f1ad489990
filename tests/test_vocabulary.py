"""Every copy of a fixed vocabulary agrees with the schema's CHECKs and with the engine's endpoint specs.

The engine derives its statement kinds and periods from `engine.fmp.endpoints`; the dashboard (whose
image ships without the engine) and the fake FMP server (an independent model of FMP) keep their own
copies, so this module is what keeps them from drifting apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboard import vocabulary
from dashboard.auth import ROLES
from engine.db.rows import StatementRow
from engine.fmp import endpoints
from engine.runs.datasets import ALL_DATASETS, STATEMENTS, Family, Job
from engine.runs.ledger import ItemState, RunState
from fakefmp import data as fake_data
from fakefmp.server import PRICE_PATHS

SCHEMA = Path(__file__).resolve().parent.parent / "schema"


def check_values(filename: str, column: str) -> tuple[str, ...]:
    """The values of `column IN (...)` in the CHECK of one schema file, in the order written."""
    text = (SCHEMA / filename).read_text()
    found = re.findall(rf"\b{column}\b[^;]*?CHECK \({column} IN \(([^)]*)\)\)", text)
    assert found, f"no CHECK ({column} IN (...)) in {filename}"
    return tuple(re.findall(r"'([^']*)'", found[0]))


def test_statement_kinds_agree_with_schema() -> None:
    """The statement kinds of the engine, the dashboard and the fake are the schema's, in one order."""
    schema = check_values("002_statements.sql", "kind")
    assert endpoints.STATEMENT_KINDS == schema
    assert vocabulary.STATEMENT_KINDS == schema
    assert fake_data.STATEMENT_DATASETS == schema
    assert tuple(d.kind for d in STATEMENTS if d.period == "annual") == schema


def test_period_labels_agree_with_schema() -> None:
    """The period labels the engine validates and the dashboard queries are the schema's."""
    schema = check_values("002_statements.sql", "period")
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
    """The fake's statement and price paths are the engine specs' paths for the same datasets."""
    specs = {spec.path: spec.dataset for spec in endpoints.STATEMENT_SPECS}
    assert fake_data.STATEMENT_PATHS == specs
    assert set(PRICE_PATHS) == {endpoints.PRICES.path, endpoints.PRICES_ADJUSTED.path}


def test_statement_datasets_cover_kinds_by_periods() -> None:
    """The run ledger's statement datasets are every kind in every request period, named kind_period."""
    names = {d.name for d in ALL_DATASETS if d.family is Family.STATEMENT}
    assert names == {f"{k}_{p}" for k in endpoints.STATEMENT_KINDS for p in endpoints.PERIODS}
    assert "kind" in StatementRow._fields
    assert "period" in StatementRow._fields


def test_ledger_vocabularies_agree_with_schema() -> None:
    """Jobs, run states and item states are the ledger CHECKs' values."""
    assert tuple(str(job) for job in Job) == check_values("050_run_ledger.sql", "job")
    text = (SCHEMA / "050_run_ledger.sql").read_text()
    run_states, item_states = (
        tuple(re.findall(r"'([^']*)'", group))
        for group in re.findall(r"CHECK \(state IN \(([^)]*)\)\)", text)
    )
    assert {v for k, v in vars(RunState).items() if k.isupper()} == set(run_states)
    assert {v for k, v in vars(ItemState).items() if k.isupper()} == set(item_states)


def test_roles_agree_with_schema() -> None:
    """The dashboard's roles are the dashboard_users CHECK's values."""
    assert check_values("090_dashboard_users.sql", "role") == ROLES
