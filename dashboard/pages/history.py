"""Point in time: what only this store knows. Restatements across the universe, a screen on a past date
with that day's index members and only what was filed by then (companies that later left stay in), and
the values withheld as implausible. docs/dashboard.md, "Point in time".

The page registers itself, reads its link and wires its callbacks; the controls are built in
`components/history_layout.py`, the restatement feed and per-company counts in `history_feed.py`, the
screen on a past date in `history_screen.py`, the withheld values and coverage in `history_quality.py`.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, html
from dash.development.base_component import Component

from dashboard.components import (
    history_layout,
    states,
    tables,
    urlstate,
)
from dashboard.components.company_data import as_of_date
from dashboard.components.export import export_href
from dashboard.components.history_feed import (
    FEED_COLUMNS,
    SUMMARY_COLUMNS,
    feed,
    feed_filters,
)
from dashboard.components.history_feed import summary as summary  # tests/dashboard/test_serving_reads.py
from dashboard.components.history_feed import summary_anchor as summary_anchor
from dashboard.components.history_quality import COVERAGE_COLUMNS, coverage, withheld
from dashboard.components.history_screen import (
    RANKS,
    SCREEN_COLUMNS,
    SUMMARY_SCREEN_COLUMNS,
    screen,
    screen_summary,
)
from dashboard.components.inputs import (
    valid_choice,
    valid_number,
    valid_symbol,
)
from dashboard.components.page import FAILURES, UNREACHABLE, UNREACHABLE_MESSAGE
from dashboard.data import queries
from dashboard.services import services

dash.register_page(
    __name__, path="/history", name="Point in time", order=6, title="Point in time · MyCFATool"
)

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


def layout(**query: Any) -> Component:
    state = URL.read(query)
    try:
        choices = services().cache.cached(
            "history-choices", (), lambda: queries.restatement_choices(services().router)
        )
    except UNREACHABLE:
        return states.error(UNREACHABLE_MESSAGE)
    return history_layout.page(URL, state, choices)


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
