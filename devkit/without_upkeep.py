"""`mycfa-engine` without the serving layer's upkeep: the other arm of the upkeep benchmark.

docs/serving.md's budget compares a full ingest with the derived tables against the same tree without
them. This runs the engine's own entry with exactly the three upkeep steps taken out, so the pair needs
no second checkout and no patched source:

- the month-end closes derived in each price load (`engine/db/load.py` PRICES_BATCH's `derive`);
- the statement follower writing metric_history and statement_lines as companies finish
  (`engine/runs/following.py`);
- the run-end refresh of every derived table (`engine/runs/refresh.py` `refresh`).

Everything else (plan, fetch, validation, COPY, ledger) is the engine's code as it ships. A store loaded
this way has stale or empty derived tables until `mycfa-engine refresh --all`: it is for benchmarks only.

    python -m devkit.without_upkeep run --job full      (what `scripts/bench_ingest.py --without-upkeep` runs)
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from typing import Any

from engine import cli
from engine.db import load
from engine.runs import service
from engine.runs.loop import ItemHandler
from engine.runs.refresh import Followed


class NoFollower:
    """The statement follower's interface, following nothing: the run loop's handler as it is."""

    def __init__(self, pool: Any, items: Sequence[Any]) -> None:
        self.followed = Followed()

    def wrap(self, handler: ItemHandler) -> ItemHandler:
        return handler

    async def close(self) -> Followed:
        return self.followed


class NoRefresh:
    """What the run records as its serving refresh when there was none."""

    def as_dict(self) -> dict[str, Any]:
        return {}


async def no_refresh(*args: Any, **kwargs: Any) -> NoRefresh:
    return NoRefresh()


def take_out_upkeep() -> None:
    """Replace the three upkeep steps in this process (see the module docstring)."""
    load.PRICES_BATCH = dataclasses.replace(load.PRICES_BATCH, derive=None)
    service.StatementFollower = NoFollower  # type: ignore[attr-defined,assignment]
    service.refresh = no_refresh  # type: ignore[attr-defined,assignment]


if __name__ == "__main__":
    take_out_upkeep()
    sys.argv[0] = "mycfa-engine"
    sys.exit(cli.main())
