"""The Point in time page's data quality: values withheld as implausible, coverage per dataset, and
their CSVs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

from dashboard.components import (
    formats,
)
from dashboard.components.export import register_export
from dashboard.components.history_screen import ratio
from dashboard.components.inputs import (
    valid_symbol,
)
from dashboard.data import queries
from dashboard.services import services


def withheld(symbol: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    svc = services()

    def build() -> tuple[pd.DataFrame, pd.DataFrame]:
        by_rule = queries.withheld_by_rule(svc.router)
        rows = queries.withheld_rows(svc.router, symbol)
        for frame_ in (by_rule, rows):
            for name in ("last_seen",):
                if name in frame_:
                    frame_[name] = [pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") for t in frame_[name]]
        return by_rule, rows

    return svc.cache.cached("history-withheld", (symbol,), build)


# -- Data quality -------------------------------------------------------------------------------------
COVERAGE_COLUMNS = {
    "dataset": formats.Col("Dataset"),
    "companies": formats.Col("Companies with it", "int"),
    "members": formats.Col("Members", "int"),
    "share": formats.Col("Coverage", "pct"),
    "newest": formats.Col("Newest period"),
    "last_changed": formats.Col("Last changed"),
    "stale": formats.Col("Stale", "int"),
}


def coverage() -> pd.DataFrame:
    svc = services()

    def build() -> pd.DataFrame:
        rows = queries.coverage(svc.router)
        if rows.empty:
            return rows
        rows["share"] = ratio(rows["companies"], rows["members"])
        rows["newest"] = [d.isoformat() if isinstance(d, date) else None for d in rows["newest"]]
        rows["last_changed"] = [
            pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") if t is not None and not pd.isna(t) else None
            for t in rows["last_changed"]
        ]
        return rows[list(COVERAGE_COLUMNS)]

    return svc.cache.cached("history-coverage", (), build)


@register_export("history", "coverage")
def export_coverage(args: Mapping[str, str]) -> pd.DataFrame:
    return coverage()


@register_export("history", "withheld")
def export_withheld(args: Mapping[str, str]) -> pd.DataFrame:
    symbol = args.get("symbol")
    return withheld(valid_symbol(symbol) if symbol else None)[1]
