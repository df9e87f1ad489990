"""Where a computed figure comes from, on the Company page: a ratio's statement lines with their payloads'
trail (filing, run), and a close's fetch (the run, when, the endpoint); the same trail as the ratio and
price CSVs' `provenance_*` columns (docs/dashboard.md, "Point in time").

A statement figure's own card is `point_in_time.provenance_card`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import html

from dashboard.components import company_data, formats, glossary, point_in_time
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
PRICE_ENDPOINTS = "historical-price-eod/full and historical-price-eod/dividend-adjusted"


def endpoint(kind: str, symbol: str) -> str:
    """The FMP request an annual statement of `kind` comes from."""
    return f"{queries.STATEMENT_ENDPOINTS[kind]}?symbol={symbol}&period=annual"


def statement_trail(symbol: str, as_of: str | None, mode: str, pin: int | None) -> pd.DataFrame:
    """Each annual statement period's payload as the view reads it (`mode` as `figures_mode` gives):
    indexed by (kind, fiscal date), with basis, filing_date, known_since, run_id, job and started_at."""
    svc = services()
    read = {"restated": "known"}.get(mode, mode)
    rows = svc.cache.cached(
        "statement-trail",
        (symbol, as_of, read, pin),
        lambda: queries.statement_basis(svc.router, symbol, "FY", read, as_of, pin),
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
    days = pd.DatetimeIndex(dates)
    out = pd.DataFrame(index=dates)
    for kind in KINDS:
        rows = (
            trail.xs(kind, level="kind").reindex(days)
            if kind in trail.index.get_level_values("kind")
            else pd.DataFrame(index=days, columns=trail.columns)
        )
        out[f"provenance_{kind}_figures"] = [
            None if pd.isna(b) else "as first reported" if b == "first" else "as the store held it"
            for b in rows["basis"]
        ]
        out[f"provenance_{kind}_filing_date"] = rows["filing_date"].to_numpy()
        out[f"provenance_{kind}_in_store_since"] = rows["known_since"].to_numpy()
        out[f"provenance_{kind}_run_id"] = pd.array(rows["run_id"].to_numpy(), dtype="Int64")
        out[f"provenance_{kind}_endpoint"] = endpoint(kind, symbol)
    return out


def _statement_item(kind: str, day: pd.Timestamp, trail: pd.DataFrame, symbol: str) -> Any:
    """One statement period's line: as held or first reported, filed, in the store since, run, endpoint."""
    name = point_in_time.STATEMENT_NAMES[kind]
    if (kind, day) not in trail.index:
        return html.Li(f"{name}, FY ending {day:%Y-%m-%d}: no stored payload.")
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
            html.B(f"{name}, FY ending {day:%Y-%m-%d}: "),
            f"{basis}; {filed}; in the store since {pd.Timestamp(row['known_since']):%Y-%m-%d %H:%M} UTC;"
            f" fetched by {run}; FMP {endpoint(kind, symbol)}",
        ]
    )


def _holder(frames: Mapping[str, pd.DataFrame], field: str) -> str | None:
    return next((k for k in KINDS if field in frames[k].columns), None)


def _value(frames: Mapping[str, pd.DataFrame], kind: str | None, field: str, day: pd.Timestamp) -> str:
    if kind is None or day not in frames[kind].index:
        return "absent"
    return point_in_time.amount(frames[kind].at[day, field], formats.line_item(field).kind)


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
    mode = point_in_time.figures_mode(figures, as_of)
    frames = company_data.statement_kinds(symbol, KINDS, "FY", as_of, mode, pin)
    day = pd.Timestamp(fiscal)
    closing, averaged = RATIO_INPUTS[ratio]
    held = {f: _holder(frames, f) for f in (*closing, *averaged)}
    before = [d for f in averaged if held[f] for d in frames[str(held[f])].index if d < day]
    prior = max(before) if before else None  # the opening balances: the previous fiscal year's
    inputs = [
        html.Li(f"{formats.label(f)} ({_kind_name(held[f])}) = {_value(frames, held[f], f, day)}")
        for f in closing
    ] + [
        html.Li(
            f"{formats.label(f)} ({_kind_name(held[f])}), average of {_value(frames, held[f], f, day)}"
            + (f" and {_value(frames, held[f], f, prior)} (FY ending {prior:%Y-%m-%d})" if prior else "")
        )
        for f in averaged
    ]
    trail = statement_trail(symbol, as_of, mode, pin)
    used = sorted(
        {(k, d) for f, k in held.items() if k for d in ([day, prior] if f in averaged else [day]) if d}
    )
    revisions = [
        point_in_time.change_text(r) + f" ({formats.label(str(r['field']))})"
        for kind in sorted({k for k, _ in used})
        for r in _revisions(
            symbol, kind, pin, [f for f, k in held.items() if k == kind], {d for _, d in used}
        )
    ]
    shown = (
        f" = {point_in_time.amount(value, formats.line_item(ratio).kind)}"
        if isinstance(value, int | float)
        else ""
    )
    items = [
        html.Li([html.B("Formula: "), glossary.define(ratio) or formats.label(ratio)]),
        html.Li([html.B("Inputs: "), html.Ul(inputs)]),
        html.Li(
            [html.B("Statements read: "), html.Ul([_statement_item(k, d, trail, symbol) for k, d in used])]
        ),
        html.Li(
            [html.B("Revisions of these lines: "), " | ".join(revisions) or "none: as first reported"],
            id="company-ratio-provenance-revisions",
        ),
        html.Li([html.B("Withheld in these periods: "), _withheld(symbol, used) or "nothing"]),
    ]
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(
                    f"Where {symbol}'s {formats.label(ratio)} (FY ending {fiscal}){shown} comes from",
                    className="h6",
                ),
                html.Ul(items, className="small mb-0"),
            ]
        ),
        id="company-ratio-provenance-card",
    )


def withheld_text(symbol: str, keep: Any) -> str:
    """The company's withheld rows that `keep` (a row -> bool) picks: field = raw value (rule: reason)."""
    svc = services()
    rows = svc.cache.cached("company-withheld", (symbol,), lambda: queries.withheld_rows(svc.router, symbol))
    return "; ".join(
        f"{r['field'] or 'the row'} = {r['raw_value'] or '?'} ({r['rule']}: {r['reason']})"
        for r in rows.to_dict("records")
        if keep(r)
    )


def _withheld(symbol: str, used: Sequence[tuple[str, pd.Timestamp]]) -> str:
    """The withheld statement rows of the periods a ratio read."""
    periods = {(kind, f"{day:%Y-%m-%d}") for kind, day in used}
    return withheld_text(symbol, lambda r: r["dataset"] == "statements" and (r["kind"], r["day"]) in periods)


def _kind_name(kind: str | None) -> str:
    return point_in_time.STATEMENT_NAMES[kind].lower() if kind else "in no statement"


def _revisions(
    symbol: str, kind: str, pin: int | None, fields: Sequence[str], days: set[pd.Timestamp]
) -> list[dict[str, Any]]:
    rows = point_in_time.restatement_rows(symbol, kind, "FY", pin)
    if rows.empty:
        return []
    keep = rows["field"].isin(fields).to_numpy() & np.array(
        [pd.Timestamp(d) in days for d in rows["fiscal_date"]]
    )
    return list(rows[keep].to_dict("records"))


# -- Prices ----------------------------------------------------------------------------------------------
def _window(params: Mapping[str, Any], fetched: Any) -> tuple[date, date] | None:
    """The days one price item wrote or confirmed: its planned window (from the re-adjustment's start when
    FMP re-adjusted the past; after what the plan refused when clipped) up to its end or the day it ran."""
    try:
        start = date.fromisoformat(str((params.get("readjusted") or {}).get("from") or params["from"]))
        end = date.fromisoformat(str(params["to"])) if params.get("to") else pd.Timestamp(fetched).date()
        clipped = params.get("clipped") or {}
        if clipped.get("to"):
            start = max(start, date.fromisoformat(str(clipped["to"])) + timedelta(days=1))
    except (KeyError, TypeError, ValueError):
        return None
    return start, end


def _endpoint(symbol: str, params: Mapping[str, Any], window: tuple[date, date]) -> str:
    if params.get("bulk"):
        return "eod-bulk?date=<each day> (the run's bulk days)"
    return f"{PRICE_ENDPOINTS}?symbol={symbol}&from={window[0]}&to={window[1]}"


def price_trail(symbol: str, days: pd.Index) -> pd.DataFrame:
    """For each day's stored close, the latest price item that fetched it (wrote or found it unchanged):
    provenance_run_id, _job, _fetched_at (when the item was done) and _endpoint, from the run ledger.
    Prices are not versioned: the close stored is the one the latest fetch left."""
    svc = services()
    fetches = svc.cache.cached("price-fetches", (symbol,), lambda: queries.price_fetches(svc.router, symbol))
    stamps = pd.DatetimeIndex(days).to_numpy(dtype="datetime64[D]")
    run = np.full(len(stamps), np.nan)
    job = np.full(len(stamps), None, dtype=object)
    at = np.full(len(stamps), None, dtype=object)
    where = np.full(len(stamps), None, dtype=object)
    for item in fetches.to_dict("records"):  # oldest first: a later fetch of a day replaces an earlier
        params = item["params"] if isinstance(item["params"], Mapping) else {}
        window = _window(params, item["fetched_at"])
        if window is None:
            continue
        covered = (stamps >= np.datetime64(window[0])) & (stamps <= np.datetime64(window[1]))
        run[covered] = item["run_id"]
        job[covered] = item["job"]
        at[covered] = pd.Timestamp(item["fetched_at"])
        where[covered] = _endpoint(symbol, params, window)
    return pd.DataFrame(
        {
            "provenance_run_id": pd.array(run, dtype="Int64"),
            "provenance_job": job,
            "provenance_fetched_at": at,
            "provenance_endpoint": where,
        },
        index=days,
    )


def price_card(symbol: str, day: str | None) -> Any:
    """The trail of the stored close on `day` (the last one on or before it; the latest when None): the
    close traded and adjusted, the run and item that fetched it, the endpoint, and any price row of that
    day withheld as implausible."""
    history = company_data.prices(symbol)
    if history.empty:
        return None
    upto = history if day is None else history.loc[: pd.Timestamp(day)]
    if upto.empty:
        return None
    when = upto.index[-1]
    row = upto.iloc[-1]
    fetch = price_trail(symbol, pd.DatetimeIndex([when])).iloc[0]
    adjusted = row.get("adj_close")
    day_text = f"{when:%Y-%m-%d}"
    same_day = withheld_text(symbol, lambda r: r["dataset"] == "prices" and r["day"] == day_text)
    items = [
        html.Li(
            [
                html.B("Close: "),
                f"USD {float(row['close']):,.2f} traded; "
                + (
                    f"USD {float(adjusted):,.2f} dividend-adjusted"
                    if adjusted is not None and pd.notna(adjusted)
                    else "no dividend-adjusted close from FMP (the traded one stands in)"
                ),
            ]
        ),
        html.Li(
            [
                html.B("Fetched by: "),
                f"run #{int(fetch['provenance_run_id'])} ({fetch['provenance_job']}); its {symbol} prices item"
                f" done {pd.Timestamp(fetch['provenance_fetched_at']):%Y-%m-%d %H:%M} UTC"
                if pd.notna(fetch["provenance_run_id"])
                else "no run recorded (loaded outside a run)",
            ],
            id="company-price-provenance-run",
        ),
        html.Li(
            [
                html.B("Endpoint: "),
                f"FMP {fetch['provenance_endpoint']}" if fetch["provenance_endpoint"] else "unknown",
            ]
        ),
        html.Li(
            [
                html.B("Revisions: "),
                "not kept for prices: the store holds the close the latest fetch left (a dividend or split"
                " re-adjusts the whole past, and the run re-fetches it).",
            ]
        ),
        html.Li(
            [
                html.B("Withheld that day: "),
                same_day or "nothing",
            ]
        ),
    ]
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(f"Where {symbol}'s close of {when:%Y-%m-%d} comes from", className="h6"),
                html.Ul(items, className="small mb-0"),
            ]
        ),
        id="company-price-provenance-card",
    )
