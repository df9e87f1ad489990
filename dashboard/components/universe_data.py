"""Universe-wide tables (every symbol at once) for the Screener, Compare and Valuation pages.

Read from the serving layer's tables (docs/serving.md) once the engine has filled them; computed here,
with the same functions, only on a store whose tables are missing or were never refreshed.
"""

from __future__ import annotations

import pandas as pd

from dashboard.components import history_data, serving_state
from dashboard.components.inputs import firm_flags, members
from dashboard.components.picker import picker
from dashboard.data import queries
from dashboard.services import services
from serving import basis, restatements, valuation
from serving import universe as derive

# The columns a universe table starts with (Screener, Compare): who, the price, size and two multiples.
LEADING_COLUMNS = ("name", "sector", "price", "market_cap", "shares_source", "pe", "ev_ebitda")


def live_metrics() -> pd.DataFrame:
    """The screener table computed from the statements and prices (the stores without screener_rows)."""
    router = services().router
    raw = queries.recent_annual(router, derive.KINDS, keep=derive.DEPTH)
    closes = queries.latest_closes(router)
    table = derive.screener_table(raw, closes, queries.share_counts(router), members())
    if table.empty:
        return table
    # The added columns the statements give (the price statistics come with the refresh only: a screen
    # on them says so rather than finding nothing).
    no_stats = pd.DataFrame(index=table.index, columns=list(derive.PRICE_STATS))
    added = derive.added_columns(raw, table, no_stats).drop(columns=list(derive.PRICE_STATS))
    restated = restatements.restatement_columns(
        queries.restated_lines(router), table.index, derive.latest_close_day(closes)
    )
    return table.join(added).join(restated)


def metrics(figures: str = "restated") -> pd.DataFrame:
    """The screener table: one row per symbol (sector, ratios, multiples, scores, growth, price); with
    `figures` "first" each restated company's statement figures as first reported (`first_reported`)."""
    svc = services()
    if figures == "first":
        return svc.cache.cached("screener-table-first", (), lambda: first_reported(metrics()))

    def build() -> pd.DataFrame:
        if serving_state.usable(serving_state.SCREENER_ROWS):
            return queries.screener_rows(svc.router)
        return live_metrics()

    return svc.cache.cached("screener-table", (), build)


def pinned_metrics(pin: int | None, figures: str = "restated", as_of: str | None = None) -> pd.DataFrame:
    """The screener table as the store held its inputs when run `pin` ended (`queries.pinned_inputs`):
    the statements then (as first reported with `figures` "first"), that day's members, their closes up
    to it, share counts from the quarters known then and the restatements seen by then; with `as_of`, as
    the store knew them at the end of that day (or as first reported when filed by then). The price
    statistics are computed at refresh only, so a pinned table has none."""
    svc = services()

    def build() -> pd.DataFrame:
        pinned = queries.pinned_inputs(svc.router, pin, as_of)
        mode = "first" if figures == "first" else "pit" if as_of else "known"
        raw = queries.recent_annual_versions(
            svc.router, derive.KINDS, derive.DEPTH, mode=mode, pin=pin, as_of=as_of
        )
        table = derive.screener_table(raw, pinned["closes"], pinned["counts"], pinned["members"])
        if table.empty:
            return table
        no_stats = pd.DataFrame(index=table.index, columns=list(derive.PRICE_STATS))
        added = derive.added_columns(raw, table, no_stats).drop(columns=list(derive.PRICE_STATS))
        restated = restatements.restatement_columns(
            pinned["lines"], table.index, derive.latest_close_day(pinned["closes"])
        )
        days = pinned["closes"].set_index("symbol")["date"] if not pinned["closes"].empty else pd.Series()
        return table.join(added).join(restated).assign(price_date=days.reindex(table.index))

    return svc.cache.cached("screener-table-pinned", (pin, figures, as_of), build)


def first_reported(table: pd.DataFrame) -> pd.DataFrame:
    """The screener table with the rows of the restated companies computed again from the payloads FMP
    first sent (schema 173); the others' figures are the same either way. Prices, price statistics and
    restatement counts stay as they are: a restatement moves statements only."""
    router = services().router
    restated = [s for s in queries.restated_symbols(router) if s in table.index]
    if not restated:
        return table
    raw = queries.recent_annual_first(router, restated, derive.KINDS, keep=derive.DEPTH)
    closes = queries.latest_closes(router)
    closes = closes[closes["symbol"].isin(restated)] if not closes.empty else closes
    rows = derive.screener_table(raw, closes, queries.share_counts(router, restated), members())
    if rows.empty:
        return table
    stats = table.reindex(index=rows.index, columns=list(derive.PRICE_STATS))
    computed = rows.join(derive.added_columns(raw, rows, stats))
    out = table.copy()
    shared = [c for c in computed.columns if c in out.columns and c not in derive.PRICE_STATS]
    for column in shared:
        out.loc[computed.index, column] = computed[column].to_numpy()
    return out


def sector_medians(table: pd.DataFrame, columns: tuple[str, ...] = valuation.MULTIPLES) -> pd.DataFrame:
    """Each sector's median of `columns` over the screener table (stored with it when it is stored)."""
    svc = services()

    def build() -> pd.DataFrame:
        if columns == valuation.MULTIPLES and serving_state.usable(serving_state.SCREENER_ROWS):
            return derive.medians_frame(queries.sector_medians(svc.router), columns)
        return valuation.sector_medians(table, table["sector"], columns)

    return svc.cache.cached("valuation-sector-medians", (columns,), build)


def latest_ttm(
    *,
    first: bool = False,
    pin: int | None = None,
    symbols: list[str] | None = None,
    as_of: str | None = None,
) -> pd.DataFrame:
    """Each symbol's latest TTM metric_history row, indexed by symbol (computed on a store without it);
    as first reported with `first`; computed from what the store held when run `pin` ended, or knew on
    `as_of` (for `symbols`, that day's members)."""
    svc = services()
    tables = [serving_state.METRIC_HISTORY, *([serving_state.METRIC_HISTORY_FIRST] if first else [])]

    def build() -> pd.DataFrame:
        if pin is None and as_of is None and all(serving_state.usable(t) for t in tables):
            rows = queries.latest_ttm(svc.router, first=first)
        else:
            chosen = symbols if symbols is not None else members()["symbol"].tolist()
            rows = history_data.stored_or_computed(chosen, "TTM", first=first, pin=pin, as_of=as_of)
        return basis.latest(rows)

    return svc.cache.cached("latest-ttm", (first, pin, as_of), build)


def reference_day(table: pd.DataFrame) -> pd.Timestamp | None:
    """The day ages are measured from: the latest close the table reflects (not the wall clock)."""
    reflected = derive.price_day(table)
    if reflected is not None:
        return reflected
    day = picker().as_of
    return pd.Timestamp(day) if day else None


def stored_basis() -> bool:
    """Whether today's TTM basis may be read from screener_basis_rows: written with screener_rows (and
    no older), from a metric_history the pages would read too."""
    return (
        serving_state.usable(serving_state.SCREENER_ROWS)
        and serving_state.usable(serving_state.METRIC_HISTORY)
        and serving_state.current(serving_state.SCREENER_BASIS_ROWS, serving_state.SCREENER_ROWS)
    )


def on_basis(
    kind: str, figures: str = "restated", pin: int | None = None, as_of: str | None = None
) -> pd.DataFrame:
    """The screener table on one clear basis: "ttm" (trailing twelve months where four quarters end no
    earlier than the last fiscal year, else that year) or "fy" (the latest fiscal year), with the basis,
    the period end, a flag for periods over nine months old, and n/m ratios blanked (serving/basis.py);
    `figures` "first": as first reported; `pin`: as the store held it when that run ended; `as_of`: as
    it knew it at the end of that day."""
    svc = services()
    live = pin is None and as_of is None

    def build() -> pd.DataFrame:
        if live and kind == "ttm" and figures == "restated" and stored_basis():
            stored = queries.screener_basis_rows(svc.router)
            if not stored.empty:
                return stored
        table = metrics(figures) if live else pinned_metrics(pin, figures, as_of)
        if table.empty:
            return table
        first = figures == "first"
        ttm = (
            latest_ttm(first=first, pin=pin, symbols=None if live else list(table.index), as_of=as_of)
            if kind == "ttm"
            else pd.DataFrame()
        )
        return basis.clear_basis(table, ttm, reference=reference_day(table), firm=firm_flags())

    return svc.cache.cached("screener-basis", (kind, figures, pin, as_of), build)


def basis_medians(kind: str = "ttm") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each sector's median of the multiples over `on_basis(kind)` (each company on its own clear basis;
    n/m values left out) and how many companies each median covers (sectors x multiples, both)."""
    svc = services()

    def build() -> tuple[pd.DataFrame, pd.DataFrame]:
        table = on_basis(kind)
        columns = list(valuation.MULTIPLES)
        if table.empty:
            return pd.DataFrame(columns=columns), pd.DataFrame(columns=columns)
        medians = valuation.sector_medians(table, table["sector"], columns)
        counts = table[columns].groupby(table["sector"].rename("sector")).count()
        return medians, counts

    return svc.cache.cached("basis-medians", (kind,), build)
