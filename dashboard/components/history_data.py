"""Metric histories of several companies (Compare, Valuation): split-adjusted, priced at each period end.

Read from metric_history (docs/serving.md) once the engine has filled it; computed here, with the same
functions (`serving.history.metric_frame`), on a store whose table is missing or was never refreshed.
Bases: FY (fiscal years), TTM (every quarter's trailing twelve months), CAL (calendarised: the TTM of
the quarter ending nearest 31 December, serving/periods.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dashboard.components import serving_state
from dashboard.components.inputs import firm_flags, members
from dashboard.data import queries
from dashboard.services import services
from serving import history, periods

BASES = {"FY": "Fiscal years", "TTM": "Trailing 12 months", "CAL": "Calendar years"}
# The key each basis lines companies up by: FY by fiscal year, CAL by calendar year, TTM by the calendar
# quarter its period ends in (a quarter ending 2024-06-29 and one ending 2024-06-30 are the same).
ALIGN = {"FY": "fiscal_year", "TTM": "quarter", "CAL": "calendar_year"}


def stored_or_computed(
    symbols: Sequence[str],
    basis: str,
    *,
    first: bool = False,
    pin: int | None = None,
    as_of: str | None = None,
) -> pd.DataFrame:
    """metric_history rows of one stored basis ("FY", "Q", "TTM") for the symbols, by symbol and date;
    `first`: as first reported (metric_history_first where a company was restated); `pin`: computed
    from the statements as the store held them when that run ended; `as_of`: as it knew them at the end
    of that day (else as first reported when filed by then)."""
    svc = services()
    tables = [serving_state.METRIC_HISTORY, *([serving_state.METRIC_HISTORY_FIRST] if first else [])]
    if pin is None and as_of is None and all(serving_state.usable(t) for t in tables):
        return queries.metric_histories(svc.router, symbols, basis, first=first)
    rows = queries.statement_rows(svc.router, symbols, first=first, pin=pin, as_of=as_of)
    frame = history.metric_frame(*history.group_statements(rows))
    frame = frame[frame["basis"] == basis] if not frame.empty else frame
    return frame.sort_values(["symbol", "fiscal_date"], kind="stable").reset_index(drop=True)


def _prepare(
    symbols: Sequence[str], basis: str, first: bool = False, pin: int | None = None, as_of: str | None = None
) -> dict[str, pd.DataFrame]:
    """Each symbol's rows of `basis`, split-adjusted and priced at each period end (empty when none)."""
    source = "FY" if basis == "FY" else "TTM"
    rows = stored_or_computed(symbols, source, first=first, pin=pin, as_of=as_of)
    quarters = (
        stored_or_computed(symbols, "Q", first=first, pin=pin, as_of=as_of) if source == "TTM" else None
    )
    closes = (
        queries.closes_on(services().router, rows["symbol"].tolist(), rows["fiscal_date"].tolist())
        if not rows.empty
        else pd.DataFrame(columns=["symbol", "day", "close"])
    )
    out: dict[str, pd.DataFrame] = {}
    for symbol in symbols:
        own = rows[rows["symbol"] == symbol].reset_index(drop=True)
        if own.empty:
            out[symbol] = own
            continue
        q = quarters[quarters["symbol"] == symbol] if quarters is not None else None
        adjusted = periods.split_adjusted(own, quarters=q)
        mine = closes[closes["symbol"] == symbol]
        close = pd.Series(
            mine["close"].to_numpy(dtype=float), index=pd.DatetimeIndex(pd.to_datetime(mine["day"]))
        ).sort_index()
        firm = bool(firm_flags().get(symbol, True))
        frame = periods.priced(adjusted, close[~close.index.duplicated()], firm=firm)
        frame = periods.calendarised(frame) if basis == "CAL" else frame
        out[symbol] = _aligned(frame, basis)
    return out


def _aligned(frame: pd.DataFrame, basis: str) -> pd.DataFrame:
    """The rows with the column companies are lined up by (ALIGN) and the period end as a date."""
    frame = frame.copy()
    ends = pd.to_datetime(frame["fiscal_date"])
    frame["period_end"] = ends.dt.date
    if basis == "TTM":
        frame["quarter"] = ends.dt.to_period("Q").astype(str)
    return frame


def histories(
    symbols: Sequence[str],
    basis: str,
    *,
    first: bool = False,
    pin: int | None = None,
    as_of: str | None = None,
) -> dict[str, pd.DataFrame]:
    """The chosen companies' histories on `basis`, as first reported with `first`, as the store held them
    when run `pin` ended or knew them on `as_of` (cached per choice and data version)."""
    key = (tuple(symbols), basis, first, pin, as_of)
    return services().cache.cached(
        "compare-histories", key, lambda: _prepare(list(symbols), basis, first, pin, as_of)
    )


def group_members(group: str, name: str) -> list[str]:
    """The index's current members in a sector or sub-industry (`group`: "sector" or "sub_industry")."""
    frame = members()
    return sorted(frame.loc[frame[group] == name, "symbol"].tolist())


def group_medians(
    group: str,
    name: str,
    basis: str,
    metric: str,
    *,
    first: bool = False,
    pin: int | None = None,
    as_of: str | None = None,
) -> pd.DataFrame:
    """Per aligned period: the median of `metric` over the group's companies with a value, and how many
    had one (columns: the ALIGN key, median, n), from every member's history (cached per group), as
    first reported with `first`, pinned or as of a date as `histories` reads them."""
    svc = services()

    def build() -> pd.DataFrame:
        peers = group_members(group, name)
        every = svc.cache.cached(
            "group-histories",
            (group, name, basis, first, pin, as_of),
            lambda: _prepare(peers, basis, first, pin, as_of) if peers else {},
        )
        parts = [f[[ALIGN[basis], metric]] for f in every.values() if not f.empty and metric in f]
        if not parts:
            return pd.DataFrame(columns=[ALIGN[basis], "median", "n"])
        long = pd.concat(parts, ignore_index=True)
        values = long[metric].astype(float)
        long = long[np.isfinite(values.to_numpy())]
        grouped = long.groupby(ALIGN[basis])[metric]
        return pd.DataFrame({"median": grouped.median(), "n": grouped.count()}).reset_index()

    return svc.cache.cached("group-medians", (group, name, basis, metric, first, pin, as_of), build)
