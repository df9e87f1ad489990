"""The Point in time page's restatement feed and restatements per company, and their CSVs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd

from dashboard.components import (
    formats,
    point_in_time,
    universe_data,
)
from dashboard.components.company_data import as_of_date
from dashboard.components.export import register_export
from dashboard.components.inputs import (
    bounded_text,
    universe,
    valid_number,
    valid_symbol,
)
from dashboard.data import queries
from dashboard.services import services
from serving import restatements

FEED_COLUMNS = {
    "restated_on": formats.Col("Restated on"),
    "symbol": formats.Col("Ticker"),
    "name": formats.Col("Company"),
    "sector": formats.Col("Sector"),
    "statement": formats.Col("Statement"),
    "period": formats.Col("Period"),
    "fiscal_date": formats.Col("Fiscal date"),
    "item": formats.Col("Line item"),
    "old_value": formats.Col("Old"),  # each row in its line's unit (`unit_kind`)
    "new_value": formats.Col("New"),
    "change": formats.Col("Change", "pct_signed"),
    "seen_at": formats.Col("Seen by the store"),
    "old_filing_date": formats.Col("Old filing"),
    "new_filing_date": formats.Col("New filing"),
    "old_run_id": formats.Col("Old run", "int"),
    "new_run_id": formats.Col("New run", "int"),
    "split_only": formats.Col("Split only"),
}
SUMMARY_COLUMNS = {
    "restatements_1y": formats.Col("Restatements 1Y", "int"),
    "restatements_3y": formats.Col("Restatements 3Y", "int"),
    "restatements_5y": formats.Col("Restatements 5Y", "int"),
    "largest_change_5y": formats.Col("Largest change 5Y", "pct_signed"),
    "last_restated": formats.Col("Last restated"),
}


# -- Restatements -------------------------------------------------------------------------------------
def _text(value: object, *, name: str) -> str | None:
    return bounded_text(value, name=name, max_chars=80) if value not in (None, "") else None


def feed_filters(args: Mapping[str, Any]) -> dict[str, Any]:
    """The feed's filters, checked (an unknown ticker is refused; sector and line item only filter)."""
    symbol, minimum = args.get("symbol"), args.get("min")
    pct = 0.0 if minimum in (None, "") else valid_number(minimum, low=0, high=1000, name="smallest change")
    return {
        "symbol": valid_symbol(symbol) if symbol else None,
        "sector": _text(args.get("sector"), name="sector"),
        "field": _text(args.get("item"), name="line item"),
        "min_change": pct / 100.0,
    }


def feed(filters: Mapping[str, Any]) -> pd.DataFrame:
    """The restatement feed for the filters, as shown and exported."""
    svc = services()
    key = tuple(sorted(filters.items()))
    return svc.cache.cached(
        "history-feed", key, lambda: _feed(queries.restatement_feed(svc.router, **filters))
    )


def _feed(rows: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame(columns=[*FEED_COLUMNS, "unit_kind"])
    out = rows.rename(columns={"field": "item", "per_share_only": "split_only"})
    out.insert(4, "statement", [point_in_time.STATEMENT_NAMES.get(k, k) for k in out.pop("kind")])
    out["unit_kind"] = [formats.line_item(f).kind for f in out["item"]]
    out["item"] = [formats.label(f) for f in out["item"]]
    for name in ("old_value", "new_value", "change"):
        out[name] = pd.to_numeric(out[name], errors="coerce").astype(float)
    for name in ("old_run_id", "new_run_id"):
        out[name] = pd.to_numeric(out[name], errors="coerce").astype("Int64")
    for name in ("restated_on", "fiscal_date", "old_filing_date", "new_filing_date"):
        out[name] = [d.isoformat() if isinstance(d, date) else None for d in out[name]]
    out["seen_at"] = [
        pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") if t is not None else None for t in out["seen_at"]
    ]
    out["split_only"] = ["yes" if s else "" for s in out["split_only"]]
    return out[[*FEED_COLUMNS, "unit_kind"]]


def summary_anchor(as_of: str | None) -> pd.Timestamp | None:
    """The day the windows end: `as_of` when given, else the latest close the Screener's table reflects
    (the anchor of its restatement fields, not the wall clock)."""
    return pd.Timestamp(as_of) if as_of else universe_data.reference_day(universe_data.metrics())


SUMMARY_ORDER = ["symbol", "name", "sector", *restatements.COUNTS, "largest_change_5y", "last_restated"]


def summary(as_of: str | None = None) -> pd.DataFrame:
    """Per restated company: restatements (one per restated period and time seen; split-only ones left
    out) over the 1, 3 and 5 years to `summary_anchor`, and the largest change over 5 years with its sign,
    computed as the Screener's fields are (serving/restatements.py); as of a date, only those seen by then."""
    svc = services()

    def build() -> pd.DataFrame:
        lines = svc.cache.cached("restated-lines", (), lambda: queries.restated_lines(svc.router))
        if as_of and not lines.empty:
            seen = pd.to_datetime(lines["seen_at"], utc=True)
            lines = lines[(seen < pd.Timestamp(as_of, tz="UTC") + pd.Timedelta(days=1)).to_numpy()]
        if lines.empty:
            return pd.DataFrame(columns=SUMMARY_ORDER)
        symbols = pd.Index(sorted(set(lines["symbol"])), name="symbol")
        counted = restatements.restatement_columns(lines, symbols, summary_anchor(as_of))
        last = restatements.events(lines).groupby("symbol")["restated_on"].max().reindex(symbols)
        names = universe().set_index("symbol").reindex(symbols)
        out = counted.assign(
            name=names["name"],
            sector=names["sector"],
            largest_change_5y=counted["restatement_change_5y"],
            last_restated=[f"{d:%Y-%m-%d}" for d in last],
        ).reset_index()
        for column in restatements.COUNTS:
            out[column] = out[column].astype(int)
        return out.sort_values(["last_restated", "symbol"], ascending=[False, True], kind="stable")[
            SUMMARY_ORDER
        ].reset_index(drop=True)

    return svc.cache.cached("history-summary", (as_of,), build)


# -- Exports ------------------------------------------------------------------------------------------
@register_export("history", "restatements")
def export_restatements(args: Mapping[str, str]) -> pd.DataFrame:
    """The feed's rows with the unit of their raw old and new values (`USD`, `shares`, not the grid's
    `usd_m` display kind) and the change named a fraction, as the Valuation CSVs name theirs."""
    rows = feed(feed_filters(args))
    units = [formats.raw_unit(kind) for kind in rows.pop("unit_kind")]
    return rows.rename(columns={"change": "change_fraction"}).assign(unit=units)


@register_export("history", "summary")
def export_summary(args: Mapping[str, str]) -> pd.DataFrame:
    return summary(as_of_date(args.get("as_of")))
