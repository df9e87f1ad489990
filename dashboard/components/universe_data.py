"""Universe-wide tables (every symbol at once) for the Screener, Compare and Valuation pages.

Read from the serving layer's tables (docs/serving.md) once the engine has filled them; computed here,
with the same functions, only on a store whose tables are missing or were never refreshed.
"""

from __future__ import annotations

import pandas as pd

from dashboard.components import serving_state
from dashboard.components.inputs import universe
from dashboard.data import queries
from dashboard.services import services
from serving import universe as derive
from serving import valuation

# The columns a universe table starts with (Screener, Compare): who, the price, size and two multiples.
LEADING_COLUMNS = ("name", "sector", "price", "market_cap", "shares_source", "pe", "ev_ebitda")


def live_metrics() -> pd.DataFrame:
    """The screener table computed from the statements and prices (the stores without screener_rows)."""
    router = services().router
    return derive.screener_table(
        queries.recent_annual(router, derive.KINDS, keep=derive.DEPTH),
        queries.latest_closes(router),
        queries.share_counts(router),
        universe(),
    )


def metrics() -> pd.DataFrame:
    """The screener table: one row per symbol (sector, ratios, multiples, scores, growth, price)."""
    svc = services()

    def build() -> pd.DataFrame:
        if serving_state.usable(serving_state.SCREENER_ROWS):
            return queries.screener_rows(svc.router)
        return live_metrics()

    return svc.cache.cached("screener-table", (), build)


def sector_medians(table: pd.DataFrame, columns: tuple[str, ...] = valuation.MULTIPLES) -> pd.DataFrame:
    """Each sector's median of `columns` over the screener table (stored with it when it is stored)."""
    svc = services()

    def build() -> pd.DataFrame:
        if columns == valuation.MULTIPLES and serving_state.usable(serving_state.SCREENER_ROWS):
            return derive.medians_frame(queries.sector_medians(svc.router), columns)
        return valuation.sector_medians(table, table["sector"], columns)

    return svc.cache.cached("valuation-sector-medians", (columns,), build)
