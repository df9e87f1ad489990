"""Where Valuation's figures come from: a table of them (`valuation_figures`), a clicked figure's trail
card, the inputs CSV's `provenance_*` columns and those of the projection, grid and multiples CSVs (the
stored rows each value is computed from) (docs/dashboard.md, "Point in time"). A statement line's
card is `point_in_time.provenance_card`; a close, a profile figure and a computed one are
`trails.figure_card`s (the close's fetch; the profile's; the statement periods and close it is computed
from), all under the one id `valuation-provenance`."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
from dash import html

from dashboard.components import (
    company_data,
    formats,
    point_in_time,
    price_trails,
    screen_trails,
    tables,
    trails,
    universe_data,
)
from dashboard.components.formats import Col
from dashboard.components.inputs import company_field
from dashboard.components.valuation_base import base_of
from dashboard.components.valuation_figures import Figure, fetched
from dashboard.data import queries
from dashboard.services import services

GRID = "valuation-inputs-grid"  # its clicks open a figure's trail (`valuation_provenance` on the page)
ID = "valuation-provenance"  # the card is `{ID}-card`, its run line `{ID}-run`, revisions `{ID}-revisions`
COLUMNS = {
    "label": Col("Figure"),
    "shown": Col("Value"),
    "source": Col("Where it comes from (click a row for its trail)"),
}
TRAIL_COLUMNS = (
    "provenance_figures",
    "provenance_filing_date",
    "provenance_in_store_since",
    "provenance_run_id",
    "provenance_job",
    "provenance_fetched_at",
    "provenance_endpoint",
)


def grid(figures: Sequence[Figure]) -> Any:
    """The figures a row each (keyed by figure for the click): value in its unit and where it comes from."""
    frame = pd.DataFrame(
        {
            "key": [f.key for f in figures],
            "label": [f.label for f in figures],
            "shown": [point_in_time.amount(f.value, f.unit) for f in figures],
            "source": [f.source for f in figures],
        }
    )
    table = tables.grid(GRID, frame, columns=COLUMNS, hidden=("key",))
    table.getRowId = "params.data.key"
    return table


def card(symbol: str, figures: Sequence[Figure], key: str, as_of: str | None, pin: int | None) -> Any:
    """The trail of one figure as the valuation read it (as of `as_of`, as the store held it when `pin`
    ended): a statement line's own card; a close's or the profile's fetch; an assumed figure says so; a
    computed one its formula, the figures it is computed from and the statements and close beneath them."""
    by_key = {f.key: f for f in figures}
    figure = by_key.get(key)
    if figure is None:
        return None
    if figure.origin == "statement" and figure.kind and figure.field and figure.fiscal:
        return point_in_time.provenance_card(
            symbol,
            figure.period,
            figure.kind,
            figure.field,
            figure.fiscal,
            as_of,
            "restated",
            figure.value,
            pin,
            id_=ID,
        )
    title = f"Where {symbol}'s {figure.label} = {point_in_time.amount(figure.value, figure.unit)} comes from"
    view = trails.View(as_of, "restated", pin)
    if figure.origin == "price":
        formula = "the last stored close on or before the day valued (the traded close, not adjusted)"
        return trails.figure_card(symbol, title, id_=ID, formula=formula, view=view, close=figure.fiscal)
    if figure.origin == "profile":
        return trails.figure_card(
            symbol, title, id_=ID, formula=figure.source, view=view, notes=_profile_items(symbol)
        )
    if figure.origin in ("typed", "default"):
        said = (
            "typed by the analyst" if figure.origin == "typed" else f"the field's default ({figure.formula})"
        )
        return point_in_time.card(title, [html.Li([html.B("Assumed: "), f"{said}; not from the store"])], ID)
    leaves = list(dict.fromkeys(_leaves(figure, by_key)))
    annual = [f for f in leaves if f.kind and f.fiscal and f.period == "FY"]
    lines: dict[str, list[str]] = {}
    for f in annual:
        lines.setdefault(str(f.kind), []).extend(f.reads or (str(f.field),))
    close = next((f.fiscal for f in leaves if f.origin == "price"), None)
    return trails.figure_card(
        symbol,
        title,
        id_=ID,
        formula=html.Span([html.B("computed by this page, not fetched: "), figure.formula]),
        inputs=[_input_item(by_key[k]) for k in figure.inputs if k in by_key],
        lines=lines,
        used=sorted({(str(f.kind), pd.Timestamp(str(f.fiscal))) for f in annual}),
        view=view,
        close=close,
        notes=[
            html.Li([html.B("Also read: "), _input_text(f)])
            for f in leaves
            if f.origin == "profile" or (f.kind and f.period != "FY")
        ],
    )


def _leaves(figure: Figure, by_key: Mapping[str, Figure]) -> Iterator[Figure]:
    """The figures read from the store (or assumed) beneath a computed one, depth first."""
    if figure.origin != "computed" or figure.kind:
        yield figure
    for key in figure.inputs:
        if key in by_key and key != figure.key:
            yield from _leaves(by_key[key], by_key)


def _input_text(figure: Figure) -> str:
    return f"{figure.label} = {point_in_time.amount(figure.value, figure.unit)} ({figure.source})"


def _input_item(figure: Figure) -> Any:
    return html.Li(
        _input_text(figure) + ("" if figure.origin == "computed" else "; its row has its own trail")
    )


def _profile_items(symbol: str) -> list[Any]:
    fetch = _profile_fetch(symbol)
    return [
        html.Li(
            [
                html.B("Fetched by: "),
                f"run #{int(fetch['run_id'])} ({fetch['job']}, started {pd.Timestamp(fetch['started_at']):%Y-%m-%d %H:%M});"
                f" its {symbol} profile item done {pd.Timestamp(fetch['fetched_at']):%Y-%m-%d %H:%M} UTC"
                if fetch is not None
                else "no run recorded (loaded outside a run)",
            ],
            id=f"{ID}-run",
        ),
        html.Li([html.B("Endpoint: "), f"FMP profile?symbol={symbol}"]),
        html.Li(
            [
                html.B("Revisions: "),
                "not kept for profiles: the store holds the one the latest fetch left (a valuation as of a"
                " date or pinned does not use it)",
            ]
        ),
    ]


def _profile_fetch(symbol: str) -> dict[str, Any] | None:
    svc = services()
    rows = svc.cache.cached("profile-fetch", (symbol,), lambda: queries.profile_fetch(svc.router, symbol))
    return None if rows.empty else dict(rows.iloc[0].to_dict())


def table(figures: Sequence[Figure]) -> pd.DataFrame:
    """The inputs CSV: one row per figure with its raw value and that value's unit (`fraction` for a rate,
    `USD` for an amount, as the projection's and grid's columns), and source."""
    return pd.DataFrame(
        {
            "figure": [f.key for f in figures],
            "label": [f.label for f in figures],
            "value": [f.value for f in figures],
            "unit": [formats.raw_unit(f.unit) for f in figures],
            "source": [f.source for f in figures],
            "computed_from": [",".join(f.inputs) if f.origin == "computed" else None for f in figures],
        }
    )


def trail_table(symbol: str, figures: Sequence[Figure], as_of: str | None, pin: int | None) -> pd.DataFrame:
    """The inputs CSV with each figure's trail (`provenance_*`, as the Company page's CSVs): a statement
    payload's basis, filing date, time in the store, run and endpoint as the valuation read it; a close's
    or the profile's fetch; an assumed or computed figure says so."""
    rows = [_trail_row(symbol, f, as_of, pin) for f in figures]
    out = pd.DataFrame(rows, columns=list(TRAIL_COLUMNS))
    out["provenance_run_id"] = pd.array(
        [None if pd.isna(v) else int(v) for v in out["provenance_run_id"]], dtype="Int64"
    )
    return pd.concat([table(figures), out], axis=1)


def _trail_row(symbol: str, f: Figure, as_of: str | None, pin: int | None) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(TRAIL_COLUMNS)
    if f.kind and f.fiscal and f.origin in ("statement", "computed"):
        # "restated" read as `base_inputs` reads it: the payload current at the end of `as_of` (or `pin`).
        trail = trails.statement_trail(symbol, as_of, "restated", pin, f.period)
        key = (f.kind, pd.Timestamp(f.fiscal))
        if key in trail.index:
            held = trail.loc[key]
            row.update(
                provenance_figures="as first reported"
                if held["basis"] == "first"
                else "as the store held it",
                provenance_filing_date=held["filing_date"],
                provenance_in_store_since=held["known_since"],
                provenance_run_id=held["run_id"],
                provenance_job=held["job"],
                provenance_endpoint=trails.endpoint(f.kind, symbol, f.period),
            )
        if f.origin == "computed":  # a rate from two lines of that payload
            row["provenance_figures"] = "computed"
    elif f.origin == "price" and f.fiscal:
        fetch = price_trails.price_trail(symbol, pd.DatetimeIndex([pd.Timestamp(f.fiscal)])).iloc[0]
        row.update({k: fetch[k] for k in fetch.index if k in row})
        row["provenance_figures"] = f"close of {f.fiscal}"
    elif f.origin == "profile":
        fetch = _profile_fetch(symbol)
        row.update(
            provenance_figures="FMP profile (latest fetch)", provenance_endpoint=f"profile?symbol={symbol}"
        )
        if fetch is not None:
            row.update(
                provenance_run_id=fetch["run_id"],
                provenance_job=fetch["job"],
                provenance_fetched_at=fetch["fetched_at"],
            )
    else:
        row["provenance_figures"] = f.origin  # computed, typed or default
    return row


STATEMENT_CELLS = ("figures", "filing_date", "in_store_since", "run_id", "endpoint")  # `trails.trail_columns`


def computed_trail(
    symbol: str,
    figures: Sequence[Figure],
    inputs: Sequence[str],
    as_of: str | None,
    pin: int | None,
    own: Sequence[str] = ("shares", "beta"),
) -> dict[str, Any]:
    """The provenance cells of a value this page computed from `inputs` (keys of `figures` as the inputs
    CSV names them, or assumptions): `provenance_figures` "computed", `provenance_computed_from` the
    inputs; the annual payload of each statement the figures beneath read, in the Company CSVs' columns
    (`provenance_<statement>_figures/_filing_date/_in_store_since/_run_id/_endpoint`, empty for one not
    read); the close's fetch (`provenance_run_id/_job/_fetched_at/_endpoint`, as the Screener's); and the
    own trail of each figure of `own` (`provenance_shares_*`: a quarter's or the profile's count;
    `provenance_beta_*`: the profile's, or typed, default or computed), as `as_of` and `pin` read them."""
    by_key = {f.key: f for f in figures}
    beneath = _beneath(inputs, by_key)
    annual = {
        str(f.kind): pd.Timestamp(str(f.fiscal))
        for f in beneath.values()
        if f.kind and f.fiscal and f.period == "FY"
    }
    trail = trails.statement_trail(symbol, as_of, "restated", pin, "FY")
    days = {kind: pd.DatetimeIndex([day]) for kind, day in annual.items()}
    read = trails.trail_columns(trail, days, symbol, "FY").to_dict("records") if days else [{}]
    cells: dict[str, Any] = {"provenance_figures": "computed", "provenance_computed_from": ",".join(inputs)}
    cells.update(
        {
            f"provenance_{k}_{n}": read[0].get(f"provenance_{k}_{n}")
            for k in trails.KINDS
            for n in STATEMENT_CELLS
        }
    )
    close = _trail_row(symbol, beneath["price"], as_of, pin) if "price" in beneath else {}
    cells.update({c: close.get(c) for c in price_trails.COLUMNS})
    for key in own:
        row = _trail_row(symbol, beneath[key], as_of, pin) if key in beneath else dict.fromkeys(TRAIL_COLUMNS)
        cells.update({c.replace("provenance_", f"provenance_{key}_", 1): v for c, v in row.items()})
    return cells


def _beneath(keys: Sequence[str], by_key: Mapping[str, Figure]) -> dict[str, Figure]:
    """The figures `keys` name and every figure they are computed from, once each."""
    out: dict[str, Figure] = {}
    todo = [k for k in keys if k in by_key]
    while todo:
        key = todo.pop()
        if key not in out:
            out[key] = by_key[key]
            todo += [k for k in by_key[key].inputs if k in by_key]
    return out


def multiples_trail(
    symbol: str, table: pd.DataFrame, as_of: str | None, pin: int | None
) -> list[dict[str, Any]]:
    """The multiples CSV's provenance cells, a row per multiple of `table` (`multiples_vs_sector`'s):
    "computed" from the close, the share count and the statement lines it reads (`screen_trails.PRICED`);
    each statement's payload of the row's period, the close's fetch and the share count's trail. Live
    the Screener's row (`screen_trails.results_trail`: on TTM the quarter ending at its period end, the
    latest of the four summed); as of a date or pinned the fiscal year's payloads as the store held them
    then (`computed_trail`). `provenance_sector_median` says what the median covers."""
    frames = company_data.statement_kinds(symbol, trails.KINDS, "FY", as_of, "restated", pin)
    base = base_of(symbol, as_of, pin)
    stored = fetched(symbol, base)  # the close and share count, as the multiples read them
    live = as_of is None and pin is None
    screener = (
        screen_trails.results_trail(
            pd.DataFrame({"symbol": [symbol] * len(table)}, index=table.index),
            universe_data.on_basis("ttm"),
            trails.View(),
        )
        if live
        else None
    )
    rows = []
    for i, row in table.iterrows():
        lines = screen_trails.PRICED.get(str(row["multiple"]), ())
        held = {line: trails.holder(frames, line) for line in lines}
        lines_read = [
            Figure(line, line, math.nan, "", "", kind=kind, field=line, fiscal=base["base_date"])
            for line, kind in held.items()
            if kind
        ]
        cells = computed_trail(
            symbol, [*stored, *lines_read], ("price", "shares", *lines), as_of, pin, ("shares",)
        )
        if screener is not None:  # live: the Screener's row, its period's payloads and close
            kinds = set(held.values())
            cells.update(
                {
                    c: None
                    if c.startswith(tuple(f"provenance_{k}_" for k in trails.KINDS if k not in kinds))
                    else v
                    for c, v in screener.loc[i].items()
                }
            )
        count = row["companies"]
        cells["provenance_sector_median"] = (
            f"computed: the median of {int(count)} {company_field(symbol, 'sector')} companies on their own"
            " latest basis (the Screener's rows)"
            if pd.notna(count)
            else None
        )
        rows.append(cells)
    return rows


def with_trail(frame: pd.DataFrame, cells: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """`frame` with the provenance `cells` of each row beside it (run ids as whole numbers)."""
    trail = pd.DataFrame(list(cells), index=frame.index)
    for column in [c for c in trail.columns if c.endswith("run_id")]:
        trail[column] = pd.array([None if pd.isna(v) else int(v) for v in trail[column]], dtype="Int64")
    return frame.join(trail)
