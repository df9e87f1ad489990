"""Which of the serving layer's tables the pages may read, and how fresh they are (docs/serving.md)."""

from __future__ import annotations

from typing import Any

from dashboard.data import queries
from dashboard.services import services

METRIC_HISTORY, MONTH_END_CLOSES, SCREENER_ROWS = "metric_history", "month_end_closes", "screener_rows"
METRIC_HISTORY_FIRST = "metric_history_first"
BENCHMARK_RETURNS = "benchmark_returns"
STATEMENT_LINES = "statement_lines"
SCREENER_BASIS_ROWS = "screener_basis_rows"


def state() -> dict[str, dict[str, Any]]:
    """Each derived table's last refresh, once per data version ({} on a store without them)."""
    svc = services()
    return svc.cache.cached("serving-state", (), lambda: queries.serving_state(svc.router))


def usable(name: str) -> bool:
    """The table was filled at least once: read it (a later failed refresh leaves its rows as they were)."""
    return state().get(name, {}).get("succeeded_at") is not None


def current(name: str, source: str) -> bool:
    """`name`, written with `source` in one transaction, is as new as it: its last refresh succeeded and
    no earlier than `source`'s (an engine of the previous release refreshes `source` alone)."""
    tables = state()
    mine, theirs = tables.get(name, {}), tables.get(source, {})
    if mine.get("state") != "ok" or mine.get("succeeded_at") is None or theirs.get("succeeded_at") is None:
        return False
    return bool(mine["succeeded_at"] >= theirs["succeeded_at"])


def stale_note(name: str) -> str | None:
    """A sentence for the page when the table's last refresh failed: its rows are those of `data_as_of`."""
    table = state().get(name)
    if table is None or table.get("state") != "failed" or table.get("succeeded_at") is None:
        return None
    return (
        f"figures as of {table.get('data_as_of') or str(table['succeeded_at'])[:10]}: the last refresh failed"
    )
