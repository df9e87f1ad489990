"""Compare's history: the checked choice, the metric's chart and table with the sector and peer
medians, and which companies' statements an as-of view shows as first reported."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
from dash import html

from dashboard.components import catalogue, charts, compare_view, history_data, tables
from dashboard.components.formats import Col
from dashboard.components.inputs import InvalidInput, universe, valid_choice, valid_number, valid_symbols
from dashboard.data import queries
from dashboard.services import services

MAX_TICKERS = 10
OVERLAYS = {"sector": "Sector median", "sub_industry": "Sub-industry (peers) median"}


def history_inputs(
    symbols: Any, metric: Any, basis: Any, years: Any, overlays: Any
) -> tuple[list[str], str, str, int, list[str]]:
    chosen = valid_symbols(symbols or [], minimum=2, maximum=MAX_TICKERS)
    metric = valid_choice(metric or "net_margin", catalogue.HISTORY_KEYS, name="metric")
    basis = valid_choice(basis or "FY", tuple(history_data.BASES), name="periods")
    count = valid_number(10 if years in (None, "") else years, low=1, high=30, name="years")
    if not float(count).is_integer():
        raise InvalidInput("years must be a whole number from 1 to 30")
    wanted = [valid_choice(o, tuple(OVERLAYS), name="overlay") for o in (overlays or [])]
    return chosen, metric, basis, int(count), wanted


def history_view(
    chosen: list[str],
    metric: str,
    basis: str,
    years: int,
    wanted: list[str],
    first: bool = False,
    pin: int | None = None,
    as_of: str | None = None,
) -> tuple[Any, ...]:
    frames = compare_view.windowed(
        history_data.histories(chosen, basis, first=first, pin=pin, as_of=as_of), basis, years
    )
    long = compare_view.long_table(frames, basis, metric)
    missing = [s for s in chosen if s not in set(long["symbol"])]
    overlays = []
    for kind in wanted:
        column = "sector" if kind == "sector" else "sub_industry"
        names = dict.fromkeys(str(v) for v in _groups(chosen, column) if isinstance(v, str))
        for name in names:
            medians = history_data.group_medians(
                column, name, basis, metric, first=first, pin=pin, as_of=as_of
            )
            periods = set(long["period"])
            shown = medians[
                [compare_view.label(basis, v) in periods for v in medians[history_data.ALIGN[basis]]]
            ]
            overlays.append((f"{name} median", shown))
    ends = compare_view.year_ends(frames)
    figure = (
        compare_view.figure(long, overlays, basis, metric, ends)
        if not long.empty
        else charts.empty_figure(
            f"No {catalogue.BY_KEY[metric].label} history for these tickers on this basis."
        )
    )
    wide = compare_view.wide_table(long, overlays, basis, ends) if not long.empty else pd.DataFrame()
    kind = catalogue.BY_KEY[metric].kind
    columns = {c: _col(c, kind) for c in wide.columns}
    grid = tables.grid("compare-history-grid", wide, columns=columns) if not wide.empty else None
    note = (
        html.P(
            f"No {catalogue.BY_KEY[metric].label} on this basis for: {', '.join(missing)}.",
            className="small text-muted",
            id="compare-history-missing",
        )
        if missing
        else None
    )
    return figure, html.Div([grid, note])


def _groups(symbols: list[str], column: str) -> list[Any]:
    frame = universe().set_index("symbol")
    return [frame[column].get(s) for s in symbols]


def _col(name: str, kind: str) -> Col:
    if name == "company":
        return Col("Company")
    if name == "year_ends":
        return Col("Fiscal year ends")
    return Col(name, kind)


def unseen(symbols: list[str], day: str, pin: int | None) -> str:
    """Which companies' annual statements the store had not seen by `day`: as first reported (filed by
    then) in part or whole, or none filed at all."""
    svc = services()
    whole: list[str] = []
    part: list[str] = []
    none: list[str] = []
    for symbol in symbols:
        basis = svc.cache.cached(
            "statement-basis-fy",
            (symbol, day, pin),
            functools.partial(queries.statement_basis, svc.router, symbol, "FY", "pit", day, pin),
        )
        first = int((basis["basis"] == "first").sum()) if not basis.empty else 0
        if basis.empty:
            none.append(symbol)
        elif first == len(basis):
            whole.append(symbol)
        elif first:
            part.append(symbol)
    out = ""
    if whole:
        out += (
            f" The store held none of {', '.join(whole)}'s annual statements then (its history starts later):"
            " their figures are as first reported, filed by then."
        )
    if part:
        out += f" Some periods of {', '.join(part)} are as first reported (the store saw them later)."
    if none:
        out += f" No annual statement of {', '.join(none)} was filed by then."
    return out
