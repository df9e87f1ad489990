"""The dataset registry: every family the engine runs, in plan order, and what each job takes.

A dataset is declared once, in its family's module (engine/runs/families/<name>.py: its datasets, the
jobs that take them, its planner rule and its fetch → parse → load); the registry finds the module,
and the planner, the steps and the run service look the dataset up here and never branch on it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager

from engine.runs import families
from engine.runs.families import prices, profiles, statements
from engine.runs.family import DatasetFamily
from engine.runs.items import Dataset, Family, Job

__all__ = [
    "PRICES",
    "PROFILE",
    "REGISTRY",
    "STATEMENTS",
    "Dataset",
    "DatasetFamily",
    "Family",
    "Job",
    "Registry",
    "discover",
    "served_datasets",
]

PROFILE = profiles.PROFILE
STATEMENTS = statements.STATEMENTS
PRICES = prices.PRICES


class Registry:
    """The registered families and their datasets, in the order a symbol's items are planned."""

    __slots__ = ("_by_name", "_families")

    def __init__(self, *families: DatasetFamily) -> None:
        self._families: list[DatasetFamily] = []
        self._by_name: dict[str, tuple[Dataset, DatasetFamily]] = {}
        for family in families:
            self.register(family)

    def register(self, family: DatasetFamily) -> None:
        """Add a family after those registered (its datasets are planned after theirs).

        Raises:
            ValueError: a dataset name is taken (the ledger tells items apart by it).
        """
        taken = sorted(d.name for d in family.datasets if d.name in self._by_name)
        if taken:
            raise ValueError(f"datasets already registered: {', '.join(taken)}")
        self._families.append(family)
        for dataset in family.datasets:
            self._by_name[dataset.name] = (dataset, family)

    def unregister(self, family: DatasetFamily) -> None:
        """Remove a family registered before."""
        self._families.remove(family)
        for dataset in family.datasets:
            del self._by_name[dataset.name]

    @contextmanager
    def registered(self, family: DatasetFamily) -> Iterator[DatasetFamily]:
        """The family registered for the block (a test's toy dataset)."""
        self.register(family)
        try:
            yield family
        finally:
            self.unregister(family)

    @property
    def families(self) -> tuple[DatasetFamily, ...]:
        return tuple(self._families)

    @property
    def datasets(self) -> tuple[Dataset, ...]:
        return tuple(dataset for dataset, _ in self._by_name.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def dataset(self, name: str) -> Dataset:
        """Raises KeyError for a name no family declares (a resumed run of a removed dataset)."""
        return self._by_name[name][0]

    def family_of(self, name: str) -> DatasetFamily:
        return self._by_name[name][1]

    def for_job(self, job: Job) -> tuple[Dataset, ...]:
        """The datasets `job` takes, in plan order."""
        return tuple(dataset for dataset, family in self._by_name.values() if job in family.jobs)


def discover() -> tuple[DatasetFamily, ...]:
    """The `FAMILY` of every module in engine/runs/families/, in their `order` (a symbol's items are
    planned in it): a new family is a new module there, nothing else to list."""
    found = []
    for info in pkgutil.iter_modules(families.__path__):
        module = importlib.import_module(f"{families.__name__}.{info.name}")
        family = getattr(module, "FAMILY", None)
        if isinstance(family, DatasetFamily):
            found.append(family)
    return tuple(sorted(found, key=lambda family: family.order))


REGISTRY = Registry(*discover())


def served_datasets(job: Job, *, quarterly: bool = True) -> tuple[Dataset, ...]:
    """The datasets of `job` the key's plan serves: without quarterly statements (Free, Starter),
    the `_quarter` series are left out of the plan rather than refused item by item."""
    return tuple(d for d in REGISTRY.for_job(job) if quarterly or d.period != "quarter")
