"""Point in time: what only this store knows. Restatements across the universe, a screen on a past date
with that day's index members and only what was filed by then (companies that later left stay in), and
the values withheld as implausible. docs/dashboard.md, "Point in time"."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, callback, dcc, html
from dash.development.base_component import Component

from dashboard.components import (
    benchmark_data,
    formats,
    point_in_time,
    states,
    tables,
    universe_data,
    urlstate,
)
from dashboard.components.company_data import EARLIEST_AS_OF, as_of_date
from dashboard.components.export import export_href, register_export
from dashboard.components.inputs import (
    InvalidInput,
    bounded_text,
    radio_column,
    universe,
    valid_choice,
    valid_number,
    valid_symbol,
)
from dashboard.components.page import FAILURES, UNREACHABLE, UNREACHABLE_MESSAGE, frame, heading
from dashboard.data import queries
from dashboard.services import services
from serving import restatements

dash.register_page(
    __name__, path="/history", name="Point in time", order=6, title="Point in time · MyCFATool"
)

# Rank a screen by (label, column, highest first?): the cheapest by P/E are the lowest positive ones.
RANKS = {
    "net_margin": ("Net margin", True),
    "roe": ("ROE", True),
    "earnings_yield": ("Earnings yield (1 / P/E)", True),
    "revenue": ("Revenue", True),
}
HORIZONS = {"ret_1m": "1M", "ret_3m": "3M", "ret_1y": "1Y"}

URL = urlstate.page_state(
    "/history",
    "history",
    urlstate.Param("symbol", "history-symbol", kind="text", label="ticker"),
    urlstate.Param("sector", "history-sector", kind="text"),
    urlstate.Param("item", "history-item", kind="text", label="line item"),
    urlstate.Param("min", "history-min", kind="number", default=0, low=0, high=1000, label="smallest change"),
    urlstate.Param("asof", "history-summary-asof", kind="date", prop="date", label="as-of date"),
    urlstate.Param("on", "history-on", kind="date", prop="date", label="screen date"),
    urlstate.Param("rank", "history-rank", default="net_margin", choices=tuple(RANKS)),
    urlstate.Param("top", "history-top", kind="number", default=10, low=1, high=100, label="top"),
)

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
SCREEN_COLUMNS = {
    "added": formats.Col("Member since"),
    "left": formats.Col("Left the index"),
    "fiscal_date": formats.Col("Latest FY known"),
    "filing_date": formats.Col("Filed"),
    "known_as": formats.Col("Figures"),
    "revenue": formats.Col("Revenue (USD m)", "usd_m"),
    "net_margin": formats.Col("Net margin", "pct"),
    "roe": formats.Col("ROE", "pct"),
    "pe": formats.Col("P/E", "x"),
    "price_date": formats.Col("Close of"),
    "close": formats.Col("Close (USD)", "usd"),
    "ret_1m": formats.Col("Return 1M", "pct_signed"),
    "ret_3m": formats.Col("Return 3M", "pct_signed"),
    "ret_1y": formats.Col("Return 1Y", "pct_signed"),
}


def layout(**query: Any) -> Component:
    state = URL.read(query)
    try:
        choices = services().cache.cached(
            "history-choices", (), lambda: queries.restatement_choices(services().router)
        )
    except UNREACHABLE:
        return states.error(UNREACHABLE_MESSAGE)
    symbols = sorted(set(choices.get("symbol", [])))
    sectors = sorted({str(s) for s in choices.get("sector", []) if isinstance(s, str)})
    items = sorted(set(choices.get("field", [])))
    return frame(
        "Point in time",
        URL,
        state,
        html.P(
            "What this store alone keeps: every restated figure with when it changed, a screen on a past "
            "date with that day's index members and only the statements filed by then, and the values "
            "withheld as implausible.",
            className="small text-muted",
        ),
        heading("Restatements, newest first", "history", "restatements"),
        dbc.Row(
            [
                _dropdown("history-symbol", "Company", symbols, state["symbol"], md=2),
                _dropdown("history-sector", "Sector", sectors, state["sector"], md=3),
                _dropdown(
                    "history-item",
                    "Line item",
                    items,
                    state["item"],
                    md=3,
                    labels={i: formats.label(i) for i in items},
                ),
                _number_input("history-min", "Smallest change (%)", state["min"], high=1000, step=0.1),
            ],
            className="mb-2 align-items-end",
        ),
        html.Div(id="history-feed-note", className="small text-muted mb-1"),
        states.loading(html.Div(id="history-feed"), "history-feed"),
        heading("Restatements per company", "history", "summary", gap=True),
        dbc.Row(
            _date_column(
                "history-summary-asof",
                "Counted back from (empty: the latest close)",
                state["asof"],
                "latest close",
                4,
            ),
            className="mb-2 align-items-end",
        ),
        html.Div(id="history-summary-note", className="small text-muted mb-1"),
        states.loading(html.Div(id="history-summary"), "history-summary"),
        heading("Screen as of a date (no survivorship bias)", "history", "screen", gap=True),
        dbc.Row(
            [
                _date_column("history-on", "Screen date", state["on"], "pick a date", 3),
                radio_column(
                    "history-rank", {k: v[0] for k, v in RANKS.items()}, state["rank"], md=6, label="Rank by"
                ),
                _number_input("history-top", "Top", state["top"], low=1, high=100, step=1),
            ],
            className="mb-2 align-items-end",
        ),
        html.Div(id="history-screen-note", className="small mb-1"),
        states.loading(html.Div(id="history-screen-summary"), "history-screen-summary"),
        states.loading(html.Div(id="history-screen"), "history-screen"),
        heading("Values withheld as implausible", "history", "withheld", gap=True),
        states.loading(html.Div(id="history-withheld"), "history-withheld"),
        heading("Data quality: coverage of the index's current members", "history", "coverage", gap=True),
        states.loading(html.Div(id="history-coverage"), "history-coverage"),
        html.H2("Restatements per week (as the store saw them)", className="h5 mt-3"),
        states.loading(html.Div(id="history-weeks"), "history-weeks"),
    )


def _number_input(
    id_: str, label: str, value: Any, *, low: float = 0, high: float, step: float, md: int = 2
) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(label, html_for=id_, className="small mb-0"),
            dbc.Input(id=id_, type="number", min=low, max=high, step=step, value=value),
        ],
        md=md,
    )


def _date_column(id_: str, label: str, value: str | None, placeholder: str, md: int) -> dbc.Col:
    """A labelled, clearable date field (1990 to today)."""
    return dbc.Col(
        [
            dbc.Label(label, html_for=id_, className="small me-1"),
            dcc.DatePickerSingle(
                id=id_,
                date=value,
                display_format="YYYY-MM-DD",
                placeholder=placeholder,
                clearable=True,
                min_date_allowed=EARLIEST_AS_OF.isoformat(),
                max_date_allowed=date.today().isoformat(),
            ),
        ],
        md=md,
    )


def _dropdown(
    id_: str, label: str, values: list[str], value: Any, *, md: int, labels: Mapping[str, str] | None = None
) -> dbc.Col:
    names = labels or {}
    return dbc.Col(
        [
            dbc.Label(label, html_for=id_, className="small mb-0"),
            dcc.Dropdown(
                id=id_,
                options=[{"label": names.get(v, v), "value": v} for v in values],
                value=value or None,
                clearable=True,
                placeholder="all",
            ),
        ],
        md=md,
    )


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


@callback(
    Output("history-feed", "children"),
    Output("history-feed-note", "children"),
    Output("history-export-restatements", "href"),
    Input("history-symbol", "value"),
    Input("history-sector", "value"),
    Input("history-item", "value"),
    Input("history-min", "value"),
)
def history_feed(
    symbol: str | None, sector: str | None, item: str | None, minimum: Any
) -> tuple[Any, Any, str]:
    args = {"symbol": symbol, "sector": sector, "item": item, "min": minimum}
    try:
        table = feed(feed_filters(args))
    except FAILURES as exc:
        return states.error(str(exc)), None, "#"
    if table.empty:
        return states.empty("No restated figures match these filters.", id_="history-feed-empty"), None, "#"
    shown = f"{len(table)} restated figure{'s' if len(table) != 1 else ''}" + (
        f" (the newest {queries.RESTATEMENT_LIMIT})" if len(table) >= queries.RESTATEMENT_LIMIT else ""
    )
    note = (
        f"{shown}. Old and new as FMP reported them (amounts in USD m, per-share figures in USD, shares in "
        "millions); change = "
        "(new - old) / |old|; restated on = the restating filing's date when later, else the day the store saw it."
    )
    params = {k: str(v) for k, v in args.items() if v not in (None, "")}
    return (
        tables.grid("history-feed-grid", table, columns=FEED_COLUMNS, row_kind="unit_kind"),
        note,
        export_href("history", "restatements", params),
    )


@callback(
    Output("history-summary", "children"),
    Output("history-export-summary", "href"),
    Output("history-summary-note", "children"),
    Input("history-summary-asof", "date"),
)
def history_summary(as_of: Any) -> tuple[Any, str, Any]:
    try:
        day = as_of_date(as_of)
        table = summary(day)
        anchor = summary_anchor(day)
    except FAILURES as exc:
        return states.error(str(exc)), "#", None
    note = (
        f"Counted back from {day}: the restatements the store had seen by the end of that day."
        if day
        else "Counted back from the latest close, "
        + (f"{anchor:%Y-%m-%d}" if anchor is not None else "none stored")
        + ", as the Screener's restatement fields are."
    )
    if table.empty:
        return states.empty("No company has a restated figure yet."), "#", note
    grid = tables.grid("history-summary-grid", table, columns=SUMMARY_COLUMNS)
    return (
        grid,
        export_href("history", "summary", {"as_of": day} if day else {}),
        html.Span(note, id="history-summary-anchor"),
    )


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


# -- Screen as of a date ------------------------------------------------------------------------------
def screen(day: str) -> pd.DataFrame:
    """The index members on `day` this store holds, with that day's figures and forward returns."""
    svc = services()
    return svc.cache.cached("history-screen", (day,), lambda: _screen(queries.members_on(svc.router, day)))


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    a, b = num.astype(float), den.astype(float)
    return (a / b.where(b != 0)).replace([np.inf, -np.inf], np.nan)


def _screen(rows: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return rows
    for name in (
        "revenue",
        "net_income",
        "eps_diluted",
        "equity",
        "close",
        "adj0",
        "adj1m",
        "adj3m",
        "adj1y",
    ):
        rows[name] = pd.to_numeric(rows[name], errors="coerce").astype(float)
    out = rows[["symbol", "name", "sector"]].copy()
    out["added"] = [d.isoformat() if isinstance(d, date) else "before 1990s list" for d in rows["added"]]
    out["left"] = [d.isoformat() if isinstance(d, date) else "" for d in rows["removed"]]
    out["fiscal_date"] = [d.isoformat() if isinstance(d, date) else None for d in rows["fiscal_date"]]
    out["filing_date"] = [d.isoformat() if isinstance(d, date) else None for d in rows["filing_date"]]
    out["known_as"] = [
        {"known": "as the store knew them", "first": "as first reported"}.get(b, "none filed by then")
        if isinstance(b, str)
        else "none filed by then"
        for b in rows["basis"]
    ]
    out["revenue"] = rows["revenue"]
    out["net_margin"] = _ratio(rows["net_income"], rows["revenue"])
    out["roe"] = _ratio(rows["net_income"], rows["equity"])
    pe = _ratio(rows["close"], rows["eps_diluted"])
    out["pe"] = pe.where(pe > 0)
    out["earnings_yield"] = 1.0 / out["pe"]
    out["price_date"] = [d.isoformat() if isinstance(d, date) else None for d in rows["price_date"]]
    out["close"] = rows["close"]
    for column, ahead in (("ret_1m", "adj1m"), ("ret_3m", "adj3m"), ("ret_1y", "adj1y")):
        out[column] = _ratio(rows[ahead], rows["adj0"]) - 1.0
    out.attrs["members"] = int(rows["members"].iloc[0])
    return out


SPANS = {
    "ret_1m": pd.DateOffset(months=1),
    "ret_3m": pd.DateOffset(months=3),
    "ret_1y": pd.DateOffset(years=1),
}
INDEX_ROW = "S&P 500 (cap weight, stored)"


def screen_summary(table: pd.DataFrame, rank: str, top: int, day: str | None = None) -> pd.DataFrame:
    """Mean forward returns of the top `top` by `rank` against every member held (equal weight), and the
    stored cap-weighted S&P 500's over the same spans from `day` when the store holds it (each column's
    "vs all" is the difference from every member held)."""
    ranked = table[table[rank].notna()].sort_values(rank, ascending=not RANKS[rank][1])
    picked = ranked.head(top)
    rows = []
    for label, part in (
        (f"Top {len(picked)} by {RANKS[rank][0]}", picked),
        ("All members held (equal weight)", table),
    ):
        row: dict[str, Any] = {"group": label, "companies": len(part)}
        for column in HORIZONS:
            values = part[column].dropna()
            row[column] = float(values.mean()) if len(values) else np.nan
            row[f"n_{column}"] = len(values)
        rows.append(row)
    index = index_forward(day) if day else {}
    if index:
        rows.append({"group": INDEX_ROW, "companies": np.nan, **index})
    out = pd.DataFrame(rows)
    for column in HORIZONS:
        out[f"excess_{column}"] = out[column] - out[column].iloc[1]
    return out[["group", "companies", *HORIZONS, *(f"excess_{c}" for c in HORIZONS)]]


def index_forward(day: str) -> dict[str, float]:
    """The stored cap-weighted S&P 500's return from the close of `day` to the close on or before each
    span's end, as each member's is counted (empty when the series is not stored or starts later; NaN for a
    span the series does not reach yet)."""
    daily = benchmark_data.stored(benchmark_data.STORED["sp500"])
    start = pd.Timestamp(day)
    if daily.empty or daily.index[0] > start:
        return {}
    out = {}
    for column, span in SPANS.items():
        end = start + span
        moves = daily[(daily.index > start) & (daily.index <= end)].to_numpy(dtype=float)
        out[column] = float(np.prod(1.0 + moves) - 1.0) if daily.index[-1] >= end else np.nan
    return out


SUMMARY_SCREEN_COLUMNS = {
    "group": formats.Col("Group"),
    "companies": formats.Col("Companies", "int"),
    **{c: formats.Col(f"Mean return {h}", "pct_signed") for c, h in HORIZONS.items()},
    **{f"excess_{c}": formats.Col(f"vs all {h}", "pct_signed") for c, h in HORIZONS.items()},
}


@callback(
    Output("history-screen", "children"),
    Output("history-screen-summary", "children"),
    Output("history-screen-note", "children"),
    Output("history-export-screen", "href"),
    Input("history-on", "date"),
    Input("history-rank", "value"),
    Input("history-top", "value"),
)
def history_screen(on: str | None, rank: str, top: Any) -> tuple[Any, Any, Any, str]:
    try:
        day = as_of_date(on)
        rank = valid_choice(rank, tuple(RANKS), name="rank")
        count = int(valid_number(top if top not in (None, "") else 10, low=1, high=100, name="top"))
        if day is None:
            return None, None, "Pick a date to screen the index as it was on that day.", "#"
        table = screen(day)
    except FAILURES as exc:
        return states.error(str(exc)), None, None, "#"
    if table.empty:
        return (
            states.empty(
                f"This store holds none of the S&P 500's members on {day}.", id_="history-screen-empty"
            ),
            None,
            None,
            "#",
        )
    left = [s for s, gone in zip(table["symbol"], table["left"], strict=True) if gone]
    first = int((table["known_as"] == "as first reported").sum())
    note = html.Span(
        [
            f"On {day} the S&P 500 had {table.attrs['members']} members; this store holds {len(table)} of them. ",
            f"{len(left)} left the index later and stay in ({', '.join(left[:10])}{' ...' if len(left) > 10 else ''}). "
            if left
            else "",
            "Figures are those the store held at the end of that day; "
            + (
                f"for {first} of these companies the store's history starts later, so their figures are as first "
                "reported "
                "(filed by that day). "
                if first
                else ""
            )
            + "Returns use dividend-adjusted closes; a company whose prices end earlier (it left or was "
            "bought) counts at its last close.",
        ],
        id="history-screen-text",
    )
    shown = table.drop(columns=["earnings_yield"])
    params = {"on": day}
    return (
        tables.grid("history-screen-grid", shown, columns=SCREEN_COLUMNS),
        tables.grid(
            "history-screen-summary-grid",
            screen_summary(table, rank, count, day),
            columns=SUMMARY_SCREEN_COLUMNS,
        ),
        note,
        export_href("history", "screen", params),
    )


# -- Withheld values ----------------------------------------------------------------------------------
@callback(
    Output("history-withheld", "children"),
    Output("history-export-withheld", "href"),
    Input("history-symbol", "value"),
)
def history_withheld(symbol: str | None) -> tuple[Any, str]:
    try:
        chosen = valid_symbol(symbol) if symbol else None
        by_rule, rows = withheld(chosen)
    except FAILURES as exc:
        return states.error(str(exc)), "#"
    if by_rule.empty:
        return states.empty("No value has been withheld as implausible.", id_="history-withheld-empty"), "#"
    href = export_href("history", "withheld", {"symbol": chosen} if chosen else {})
    return html.Div(
        [
            tables.grid("history-withheld-rules", by_rule),
            html.P(
                f"The latest {len(rows)} withheld rows" + (f" of {chosen}" if chosen else "") + ":",
                className="small text-muted mt-2 mb-1",
            ),
            tables.grid("history-withheld-grid", rows),
        ]
    ), href


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
        rows["share"] = _ratio(rows["companies"], rows["members"])
        rows["newest"] = [d.isoformat() if isinstance(d, date) else None for d in rows["newest"]]
        rows["last_changed"] = [
            pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") if t is not None and not pd.isna(t) else None
            for t in rows["last_changed"]
        ]
        return rows[list(COVERAGE_COLUMNS)]

    return svc.cache.cached("history-coverage", (), build)


@callback(
    Output("history-coverage", "children"),
    Output("history-weeks", "children"),
    Output("history-export-coverage", "href"),
    Input("history-symbol", "value"),
)
def history_quality(_: Any) -> tuple[Any, Any, str]:
    svc = services()
    try:
        table = coverage()
        weeks = svc.cache.cached("history-weeks", (), lambda: queries.restatements_per_week(svc.router))
    except FAILURES as exc:
        return states.error(str(exc)), None, "#"
    grid = (
        tables.grid("history-coverage-grid", table, columns=COVERAGE_COLUMNS)
        if not table.empty
        else states.empty("No company is in the index yet: run an ingest first.")
    )
    if not weeks.empty:
        weeks = weeks.assign(week=[d.isoformat() for d in weeks["week"]])
    per_week = (
        tables.grid("history-weeks-grid", weeks)
        if not weeks.empty
        else states.empty("No restatement seen yet.", id_="history-weeks-empty")
    )
    return grid, per_week, export_href("history", "coverage", {}) if not table.empty else "#"


@register_export("history", "coverage")
def export_coverage(args: Mapping[str, str]) -> pd.DataFrame:
    return coverage()


# -- Exports ------------------------------------------------------------------------------------------
@register_export("history", "restatements")
def export_restatements(args: Mapping[str, str]) -> pd.DataFrame:
    return feed(feed_filters(args))


@register_export("history", "summary")
def export_summary(args: Mapping[str, str]) -> pd.DataFrame:
    return summary(as_of_date(args.get("as_of")))


@register_export("history", "screen")
def export_screen(args: Mapping[str, str]) -> pd.DataFrame:
    day = as_of_date(args.get("on"))
    if day is None:
        raise InvalidInput("a screen date is needed")
    return screen(day)


@register_export("history", "withheld")
def export_withheld(args: Mapping[str, str]) -> pd.DataFrame:
    symbol = args.get("symbol")
    return withheld(valid_symbol(symbol) if symbol else None)[1]
