"""The Company page's CSVs (statement, ratios, prices, freshness and their provenance variants), each
holding the figures the page showed: as of its date, as first reported, pinned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dashboard.components import (
    company_data,
    pins,
    point_in_time,
    trails,
)
from dashboard.components.company_statements import FIGURES, KINDS, PERIODS, VIEWS_SHOWN, shown_as, view_name
from dashboard.components.export import register_export
from dashboard.components.inputs import (
    valid_choice,
    valid_symbol,
)
from dashboard.data import queries
from dashboard.services import services


def view_params(as_of: Any, pin: Any) -> dict[str, str]:
    """The as-of date and pinned run of the page, checked, as an export link carries them."""
    day, pinned = company_data.as_of_date(as_of), point_in_time.pinned_run(pin)
    return {**({"as_of": day} if day else {}), **({"pin": str(pinned)} if pinned is not None else {})}


@register_export("company", "trail")
def export_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The statement's export with its provenance per period: figures basis, filing date, when the store
    first held the payload, and the run that fetched it."""
    symbol, period, kind = _statement_choice(args)
    as_of, mode, pin = view_of(args)
    frame = company_data.statement(symbol, kind, period, as_of, mode, pin)
    if frame.empty or period == "TTM":
        return frame
    basis = queries.statement_basis(
        services().router, symbol, period, {"restated": "known"}.get(mode, mode), as_of, pin
    )
    basis = basis[basis["kind"] == kind]  # the index from the kind's rows only (the others' made it 500)
    basis = basis.set_index(pd.DatetimeIndex([pd.Timestamp(d) for d in basis["fiscal_date"]]))
    out = frame.copy()
    trail = basis.reindex(out.index)
    out["provenance_figures"] = [
        "as first reported" if b == "first" else "as the store held it" for b in trail["basis"]
    ]
    out["provenance_filing_date"] = trail["filing_date"].to_numpy()
    out["provenance_in_store_since"] = trail["known_since"].to_numpy()
    out["provenance_run_id"] = trail["run_id"].to_numpy()
    out["provenance_endpoint"] = (
        f"{queries.STATEMENT_ENDPOINTS[kind]}?symbol={symbol}&period={'annual' if period == 'FY' else 'quarter'}"
    )
    return out


@register_export("company", "prices")
def export_prices(args: Mapping[str, str]) -> pd.DataFrame:
    """The stored prices up to the view's as-of date or the day its pinned run ended (the earlier)."""
    symbol = valid_symbol(args.get("symbol"))
    as_of, _, pin = view_of(args)
    history = company_data.prices(symbol)
    last = pins.last_day(as_of, pin)
    return history.loc[: pd.Timestamp(last)] if last is not None else history


@register_export("company", "prices-trail")
def export_prices_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """`export_prices` with each close's fetch: the run, its job, when the item was done, the endpoint."""
    shown = export_prices(args)
    symbol = valid_symbol(args.get("symbol"))
    return shown.join(trails.price_trail(symbol, shown.index)) if not shown.empty else shown


def _statement_choice(args: Mapping[str, str]) -> tuple[str, str, str]:
    """An export's company, period and statement."""
    symbol = valid_symbol(args.get("symbol"))
    period = valid_choice(args.get("period"), tuple(PERIODS), name="period")
    return symbol, period, valid_choice(args.get("kind"), tuple(KINDS), name="statement")


def view_of(args: Mapping[str, str]) -> tuple[str | None, str, int | None]:
    """The as-of date, how the statements are read and the pinned run of an export's link: every export
    of the page holds the figures the page showed (as of that date, as first reported, pinned)."""
    as_of = company_data.as_of_date(args.get("as_of"))
    figures = valid_choice(args.get("figures") or "restated", tuple(FIGURES), name="figures")
    return as_of, point_in_time.figures_mode(figures, as_of), point_in_time.pinned_run(args.get("pin"))


@register_export("company", "statements")
def export_statements(args: Mapping[str, str]) -> pd.DataFrame:
    """The statement in the table's view: its values as stored (USD, shares, USD a share) or, with
    `view=yoy` or `view=common`, the table's lines as fractions (0.094 shows as 9.4 %), each row naming
    the view and that unit in its `view` and `unit` columns."""
    symbol, period, kind = _statement_choice(args)
    view = valid_choice(args.get("view") or "values", tuple(VIEWS_SHOWN), name="view")
    frame = company_data.statement(symbol, kind, period, *view_of(args))
    if view == "values" or frame.empty:
        return frame
    lines = shown_as(frame.sort_index(), kind, period, view)
    return lines.assign(view=view_name(kind, view), unit="fraction")[["view", "unit", *lines.columns]]


@register_export("company", "ratios")
def export_ratios(args: Mapping[str, str]) -> pd.DataFrame:
    return company_data.ratio_table(valid_symbol(args.get("symbol")), *view_of(args))


@register_export("company", "ratios-trail")
def export_ratios_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The ratios with, per fiscal year, the trail of each statement they read (`trails.ratio_trail`)."""
    symbol = valid_symbol(args.get("symbol"))
    as_of, mode, pin = view_of(args)
    table = company_data.ratio_table(symbol, as_of, mode, pin)
    return table.join(trails.ratio_trail(symbol, table.index, as_of, mode, pin)) if not table.empty else table


@register_export("company", "freshness")
def export_freshness(args: Mapping[str, str]) -> pd.DataFrame:
    """Per dataset the latest period and row count as the store held them on the as-of date or when the
    pinned run ended (now without either)."""
    symbol = valid_symbol(args.get("symbol"))
    as_of, _, pin = view_of(args)
    return queries.freshness(services().router, symbol, as_of, pin)
