"""Where a computed figure comes from, on any page: `figure_card` (its formula, its inputs, each statement
period it read with the payload's trail: filing, run, endpoint; the close it read and its fetch; the
revisions and withheld values of those periods), the Company page's ratio card built on it, and the
`provenance_<kind>_*` CSV columns (`trail_columns`) (docs/dashboard.md, "Point in time").

A statement figure's own card is `point_in_time.provenance_card`, a close's `price_trails.price_card`;
every card has the look of `point_in_time.card`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from dash import html

from dashboard.components import company_data, formats, glossary, point_in_time
from dashboard.components.price_trails import close_items, price_card, price_trail
from dashboard.data import queries
from dashboard.services import services

KINDS = tuple(point_in_time.STATEMENT_NAMES)  # income, balance, cashflow: the first holding a line wins
# Each ratio of the Company page's ratio table: the lines of its own period, and the balances it averages
# with the previous period's (serving/fundamentals.py; tests/dashboard/test_trails.py checks both sets
# against the formulas).
RATIO_INPUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gross_margin": (("grossProfit", "revenue"), ()),
    "operating_margin": (("operatingIncome", "revenue"), ()),
    "ebitda_margin": (("ebitda", "revenue"), ()),
    "net_margin": (("netIncome", "revenue"), ()),
    "fcf_margin": (("freeCashFlow", "revenue"), ()),
    "roa": (("netIncome",), ("totalAssets",)),
    "roe": (("netIncome",), ("totalStockholdersEquity",)),
    "roic": (
        ("operatingIncome", "incomeTaxExpense", "incomeBeforeTax"),
        ("totalDebt", "totalEquity", "cashAndCashEquivalents"),
    ),
    "roic_fmp": (
        (
            "operatingIncome",
            "incomeTaxExpense",
            "incomeBeforeTax",
            "totalAssets",
            "totalCurrentLiabilities",
            "shortTermDebt",
            "capitalLeaseObligationsCurrent",
        ),
        (),
    ),
    "current_ratio": (("totalCurrentAssets", "totalCurrentLiabilities"), ()),
    "quick_ratio": (
        ("cashAndCashEquivalents", "shortTermInvestments", "netReceivables", "totalCurrentLiabilities"),
        (),
    ),
    "cash_ratio": (("cashAndCashEquivalents", "totalCurrentLiabilities"), ()),
    "debt_to_equity": (("totalDebt", "totalStockholdersEquity"), ()),
    "debt_to_assets": (("totalDebt", "totalAssets"), ()),
    "net_debt_to_ebitda": (("netDebt", "ebitda"), ()),
    "interest_coverage": (("operatingIncome", "interestExpense"), ()),
    "asset_turnover": (("revenue",), ("totalAssets",)),
    "dso": (("revenue",), ("netReceivables",)),
    "dio": (("costOfRevenue",), ("inventory",)),
    "dpo": (("costOfRevenue",), ("accountPayables",)),
    "cash_conversion_cycle": (
        ("revenue", "costOfRevenue"),
        ("netReceivables", "inventory", "accountPayables"),
    ),
    "revenue_per_share": (("revenue", "weightedAverageShsOutDil"), ()),
    "eps": (("netIncome", "weightedAverageShsOutDil"), ()),
    "fcf_per_share": (("freeCashFlow", "weightedAverageShsOutDil"), ()),
    "book_value_per_share": (("totalStockholdersEquity", "weightedAverageShsOutDil"), ()),
    "effective_tax_rate": (("incomeTaxExpense", "incomeBeforeTax"), ()),
    "ebit_margin": (("operatingIncome", "revenue"), ()),
    "tax_burden": (("netIncome", "incomeBeforeTax"), ()),
    "interest_burden": (("incomeBeforeTax", "operatingIncome"), ()),
    "equity_multiplier": ((), ("totalAssets", "totalStockholdersEquity")),
}


def endpoint(kind: str, symbol: str, period: str = "FY") -> str:
    """The FMP request a statement of `kind` comes from (annual for "FY", else quarterly)."""
    return f"{queries.STATEMENT_ENDPOINTS[kind]}?symbol={symbol}&period={'annual' if period == 'FY' else 'quarter'}"


@dataclass(frozen=True, slots=True)
class View:
    """What a page shows: as of a date (None: the latest), as restated or as first reported, pinned to a
    run (None: live). `mode` is how the statements are read (`point_in_time.figures_mode`)."""

    as_of: str | None = None
    figures: str = "restated"
    pin: int | None = None

    @property
    def mode(self) -> str:
        return point_in_time.figures_mode(self.figures, self.as_of)


def statement_trail(
    symbol: str, as_of: str | None, mode: str, pin: int | None, period: str = "FY"
) -> pd.DataFrame:
    """Each statement period's payload as the view reads it (`mode` as `figures_mode` gives; `period` "FY"
    annual, "Q" quarterly): indexed by (kind, fiscal date), with basis, filing_date, known_since, run_id,
    job and started_at."""
    svc = services()
    read = {"restated": "known"}.get(mode, mode)
    rows = svc.cache.cached(
        "statement-trail",
        (symbol, as_of, read, pin, period),
        lambda: queries.statement_basis(svc.router, symbol, period, read, as_of, pin),
    )
    index = pd.MultiIndex.from_arrays(
        [rows["kind"].astype(str), pd.DatetimeIndex([pd.Timestamp(d) for d in rows["fiscal_date"]])]
        if not rows.empty
        else [[], pd.DatetimeIndex([])],
        names=["kind", "date"],
    )
    return rows.set_axis(index, axis=0)


def ratio_trail(symbol: str, dates: pd.Index, as_of: str | None, mode: str, pin: int | None) -> pd.DataFrame:
    """The ratio CSV's provenance columns, one row per fiscal date: for each statement the ratios read,
    whether it is as held or as first reported, its filing date, when the store first held it, the run
    that fetched it and the endpoint (a ratio averaging balances also reads the previous row's)."""
    trail = statement_trail(symbol, as_of, mode, pin)
    return trail_columns(trail, {kind: pd.DatetimeIndex(dates) for kind in KINDS}, symbol, "FY").set_axis(
        dates, axis=0
    )


def trail_columns(
    trail: pd.DataFrame, days: Mapping[str, pd.DatetimeIndex], symbol: str | Sequence[str], period: str
) -> pd.DataFrame:
    """`provenance_<kind>_figures/_filing_date/_in_store_since/_run_id/_endpoint` for each kind's period
    of `days` (one row per position; `symbol` one per row, or one for all) from a `statement_trail`."""
    size = len(next(iter(days.values()))) if days else 0
    symbols = [symbol] * size if isinstance(symbol, str) else list(symbol)
    out = pd.DataFrame(index=pd.RangeIndex(size))
    for kind, when in days.items():
        rows = (
            trail.xs(kind, level="kind").reindex(when)
            if kind in trail.index.get_level_values("kind")
            else pd.DataFrame(index=when, columns=trail.columns)
        )
        out[f"provenance_{kind}_figures"] = [
            None if pd.isna(b) else "as first reported" if b == "first" else "as the store held it"
            for b in rows["basis"]
        ]
        out[f"provenance_{kind}_filing_date"] = rows["filing_date"].to_numpy()
        out[f"provenance_{kind}_in_store_since"] = rows["known_since"].to_numpy()
        out[f"provenance_{kind}_run_id"] = pd.array(rows["run_id"].to_numpy(), dtype="Int64")
        out[f"provenance_{kind}_endpoint"] = [endpoint(kind, s, period) for s in symbols]
    return out


def statement_item(kind: str, day: pd.Timestamp, trail: pd.DataFrame, symbol: str, period: str = "FY") -> Any:
    """One statement period's line: as held or first reported, filed, in the store since, run, endpoint."""
    name = point_in_time.STATEMENT_NAMES[kind]
    span = "FY" if period == "FY" else "quarter"
    if (kind, day) not in trail.index:
        return html.Li(f"{name}, {span} ending {day:%Y-%m-%d}: no stored payload.")
    row = trail.loc[(kind, day)]
    basis = "as first reported" if row["basis"] == "first" else "as the store held it"
    filed = f"filed {row['filing_date']:%Y-%m-%d}" if row["filing_date"] else "filing date not given by FMP"
    run = (
        f"run #{int(row['run_id'])} ({row['job']}, started {pd.Timestamp(row['started_at']):%Y-%m-%d %H:%M})"
        if pd.notna(row["run_id"])
        else "no run recorded (loaded outside a run)"
    )
    return html.Li(
        [
            html.B(f"{name}, {span} ending {day:%Y-%m-%d}: "),
            f"{basis}; {filed}; in the store since {pd.Timestamp(row['known_since']):%Y-%m-%d %H:%M} UTC;"
            f" fetched by {run}; FMP {endpoint(kind, symbol, period)}",
        ]
    )


def holder(frames: Mapping[str, pd.DataFrame], field: str) -> str | None:
    """The first statement kind (income, balance, cash flow) whose frame holds the line `field`."""
    return next((k for k in KINDS if field in frames[k].columns), None)


def value_text(frames: Mapping[str, pd.DataFrame], kind: str | None, field: str, day: pd.Timestamp) -> str:
    """A line's value on one period in its unit ("absent" when the statement has none)."""
    if kind is None or day not in frames[kind].index:
        return "absent"
    return point_in_time.amount(frames[kind].at[day, field], formats.line_item(field).kind)


def figure_card(
    symbol: str,
    title: str,
    *,
    id_: str,
    formula: Any,
    inputs: Sequence[Any] = (),
    lines: Mapping[str, Sequence[str]] | None = None,
    used: Sequence[tuple[str, pd.Timestamp]] = (),
    view: View = View(),
    period: str = "FY",
    close: str | None = None,
    notes: Sequence[Any] = (),
) -> Any:
    """The trail of a figure computed from stored ones, for any page (a ratio, a multiple, a screener
    cell): its formula, its inputs (text lines), each statement period it read (`used`: (kind, fiscal
    date), `period` "FY" or "Q") with the payload's trail as `view` reads it, the close of day `close` and
    its fetch, the revisions of `lines` (kind -> fields) in those periods, and what was withheld there.

    The card is `{id_}-card`; its revisions line `{id_}-revisions` and the close's run `{id_}-run`.
    """
    trail = statement_trail(symbol, view.as_of, view.mode, view.pin, period)
    items: list[Any] = [html.Li([html.B("Formula: "), formula])]
    if inputs:
        items.append(html.Li([html.B("Inputs: "), html.Ul(list(inputs))]))
    periods = sorted(set(used))
    if periods:
        items.append(
            html.Li(
                [
                    html.B("Statements read: "),
                    html.Ul([statement_item(k, d, trail, symbol, period) for k, d in periods]),
                ]
            )
        )
    close_day = None
    if close is not None:
        shown = close_items(symbol, close, f"{id_}-run")
        if shown is None:
            items.append(html.Li([html.B("Close: "), f"no stored close of {symbol} on or before {close}"]))
        else:
            close_day, close_lines = shown
            items += close_lines
    if periods:
        revisions = [
            point_in_time.change_text(r) + f" ({formats.label(str(r['field']))})"
            for kind in sorted({k for k, _ in periods})
            for r in _revisions(
                symbol, kind, period, view.pin, (lines or {}).get(kind, ()), {d for _, d in periods}
            )
        ]
        items.append(
            html.Li(
                [html.B("Revisions of these lines: "), " | ".join(revisions) or "none: as first reported"],
                id=f"{id_}-revisions",
            )
        )
    if periods or close_day is not None:
        items.append(
            html.Li(
                [html.B("Withheld in these periods: "), _withheld(symbol, periods, close_day) or "nothing"]
            )
        )
    items += list(notes)
    return point_in_time.card(title, items, id_)


def ratio_card(
    symbol: str,
    ratio: str,
    fiscal: str,
    as_of: str | None,
    figures: str,
    pin: int | None,
    value: Any,
) -> Any:
    """A ratio's trail for one fiscal year: its formula, each input line with its value and statement, the
    previous year's for averaged balances, and each statement period's payload trail and revisions."""
    if ratio not in RATIO_INPUTS:
        return None
    view = View(as_of, figures, pin)
    frames = company_data.statement_kinds(symbol, KINDS, "FY", as_of, view.mode, pin)
    day = pd.Timestamp(fiscal)
    closing, averaged = RATIO_INPUTS[ratio]
    inputs, used, lines = input_lines(frames, closing, averaged, day)
    return figure_card(
        symbol,
        f"Where {symbol}'s {formats.label(ratio)} (FY ending {fiscal}){shown_value(value, ratio)} comes from",
        id_="company-ratio-provenance",
        formula=glossary.define(ratio) or formats.label(ratio),
        inputs=inputs,
        lines=lines,
        used=used,
        view=view,
    )


def input_lines(
    frames: Mapping[str, pd.DataFrame],
    closing: Sequence[str],
    averaged: Sequence[str],
    day: pd.Timestamp,
    span: str = "FY",
) -> tuple[list[Any], list[tuple[str, pd.Timestamp]], dict[str, list[str]]]:
    """The inputs of a figure on period `day` of `frames` (kind -> statement): each `closing` line with
    its value and statement, each `averaged` one with the previous period's beside it; the statement
    periods read; the lines read per kind (for `figure_card`)."""
    held = {f: holder(frames, f) for f in (*closing, *averaged)}
    before = [d for f in averaged if held[f] for d in frames[str(held[f])].index if d < day]
    prior = max(before) if before else None  # the opening balances: the previous period's
    inputs = [
        html.Li(f"{formats.label(f)} ({_kind_name(held[f])}) = {value_text(frames, held[f], f, day)}")
        for f in closing
    ] + [
        html.Li(
            f"{formats.label(f)} ({_kind_name(held[f])}), average of {value_text(frames, held[f], f, day)}"
            + (
                f" and {value_text(frames, held[f], f, prior)} ({span} ending {prior:%Y-%m-%d})"
                if prior
                else ""
            )
        )
        for f in averaged
    ]
    used = sorted(
        {(k, d) for f, k in held.items() if k for d in ([day, prior] if f in averaged else [day]) if d}
    )
    lines: dict[str, list[str]] = {}
    for f, k in held.items():
        if k:
            lines.setdefault(k, []).append(f)
    return inputs, used, lines


def shown_value(value: Any, key: str) -> str:
    """ " = <value in its unit>" for a card's title, or nothing when the figure is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return f" = {point_in_time.amount(value, formats.line_item(key).kind)}"


def _withheld(
    symbol: str, used: Sequence[tuple[str, pd.Timestamp]], close: pd.Timestamp | None = None
) -> str:
    """The withheld statement rows of the periods a figure read, and price rows of its close's day."""
    periods = {(kind, f"{day:%Y-%m-%d}") for kind, day in used}
    day = f"{close:%Y-%m-%d}" if close is not None else None
    return point_in_time.withheld_text(
        symbol,
        lambda r: (
            (r["dataset"] == "statements" and (r["kind"], r["day"]) in periods)
            or (r["dataset"] == "prices" and r["day"] == day)
        ),
    )


def _kind_name(kind: str | None) -> str:
    return point_in_time.STATEMENT_NAMES[kind].lower() if kind else "in no statement"


def _revisions(
    symbol: str, kind: str, period: str, pin: int | None, fields: Sequence[str], days: set[pd.Timestamp]
) -> list[dict[str, Any]]:
    rows = point_in_time.restatement_rows(symbol, kind, period, pin)
    if rows.empty:
        return []
    keep = rows["field"].isin(list(fields)).to_numpy() & np.array(
        [pd.Timestamp(d) in days for d in rows["fiscal_date"]]
    )
    return list(rows[keep].to_dict("records"))


__all__ = [
    "KINDS",
    "RATIO_INPUTS",
    "View",
    "close_items",
    "figure_card",
    "price_card",
    "price_trail",
    "ratio_card",
    "ratio_trail",
    "statement_trail",
]
