"""What a run can fetch: the datasets (one run item per symbol and dataset) and which job takes which."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.fmp.endpoints import PERIODS, STATEMENT_KINDS, Period


class Job(StrEnum):
    """The jobs ops schedule: `full` weekly, `prices` on weekday evenings, `fundamentals` on demand."""

    FULL = "full"
    FUNDAMENTALS = "fundamentals"
    PRICES = "prices"


class Family(StrEnum):
    """How a dataset is fetched and loaded."""

    PROFILE = "profile"
    STATEMENT = "statement"
    PRICES = "prices"


@dataclass(frozen=True, slots=True)
class Dataset:
    """One dataset of one symbol: the unit the run ledger tracks (`run_items.dataset` is `name`)."""

    name: str
    family: Family
    kind: str | None = None  # statements.kind for statement datasets
    period: Period | None = None  # the request period, for statement datasets


PROFILE = Dataset("profile", Family.PROFILE)
PRICES = Dataset("prices", Family.PRICES)
STATEMENTS = tuple(
    Dataset(f"{kind}_{period}", Family.STATEMENT, kind=kind, period=period)
    for kind in STATEMENT_KINDS
    for period in PERIODS
)
ALL_DATASETS = (PROFILE, *STATEMENTS, PRICES)
DATASETS_BY_NAME = {dataset.name: dataset for dataset in ALL_DATASETS}

JOB_DATASETS: dict[Job, tuple[Dataset, ...]] = {
    Job.FULL: ALL_DATASETS,
    Job.FUNDAMENTALS: (PROFILE, *STATEMENTS),
    Job.PRICES: (PRICES,),
}


def served_datasets(job: Job, *, quarterly: bool = True) -> tuple[Dataset, ...]:
    """The datasets of `job` the key's plan serves: without quarterly statements (Free, Starter),
    the `_quarter` series are left out of the plan rather than refused item by item."""
    return tuple(d for d in JOB_DATASETS[job] if quarterly or d.period != "quarter")
