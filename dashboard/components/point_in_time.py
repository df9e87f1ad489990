"""What only this store knows, on the Company page: pinned views, restated cells and their panel, the
withheld-values badge and a figure's provenance card; every trail card's look (`card`) (docs/dashboard.md,
"Point in time")."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import dcc, html

from dashboard.components import formats, tables, with_rows, withheld
from dashboard.components.inputs import InvalidInput, valid_number
from dashboard.data import queries
from dashboard.services import services
from dashboard.vocabulary import VIEW_NOUNS, fiscal_labels

STATEMENT_NAMES = {"income": "Income", "balance": "Balance sheet", "cashflow": "Cash flow"}


def pinned_run(value: Any) -> int | None:
    """A pinned view's run, checked against the ledger (None: live figures).

    Raises:
        InvalidInput: not a run number, or no such run.
    """
    if value in (None, ""):
        return None
    run = int(valid_number(value, low=1, high=2**53, name="pinned run"))
    if pinned_at(run) is None:
        raise InvalidInput(f"run #{run} is not in the run ledger")
    return run


def pinned_at(run: int) -> Any:
    svc = services()
    return svc.cache.cached("run-ended", (run,), lambda: queries.run_ended(svc.router, run))


# The Figures toggle of the Company page, Compare and the Screener (`?figures=first` in a link).
FIGURES = {"restated": "As restated", "first": "As first reported"}


def figures_mode(figures: str, as_of: str | None) -> str:
    """How the statements are read (`queries.statement_payloads`): as first reported, as known on the
    as-of date with the fallback to what was filed by then, or the latest."""
    return "first" if figures == "first" else "pit" if as_of else "restated"


CHANGE_COLUMNS = {
    "fiscal_date": formats.Col("Fiscal date"),
    "period": formats.Col("Period"),
    "item": formats.Col("Line item"),
    "old_value": formats.Col("Old"),
    "new_value": formats.Col("New"),
    "change": formats.Col("Change", "pct_signed"),
    "restated_on": formats.Col("Restated on"),
    "seen": formats.Col("Seen by the store"),
    "runs": formats.Col("Runs (old → new)"),
}


def restatement_rows(symbol: str, kind: str, period: str, pin: int | None = None) -> pd.DataFrame:
    """This statement's restated lines (statement_changes), newest first; TTM's are its quarters'; of a
    pinned view only those the store had seen when its run ended."""
    svc = services()
    labels = list(fiscal_labels("Q" if period == "TTM" else period))
    rows = svc.cache.cached(
        "company-changes",
        (symbol, kind, tuple(labels)),
        lambda: with_rows.read(
            "changed",
            symbol,
            queries.CHANGE_COLUMNS,
            lambda: queries.company_changes(svc.router, symbol, kind, labels),
        ),
    )
    if pin is None or rows.empty:
        return rows
    ended = pd.Timestamp(pinned_at(pin))
    return rows[np.array([pd.Timestamp(t) <= ended for t in rows["seen_at"]], dtype=bool)]


def amount(value: Any, kind: str) -> str:
    """A figure in its line's unit, as the grid's formatter shows it (`formats.KINDS`)."""
    if value is None or pd.isna(value):
        return "absent"
    spec = formats.KINDS.get(kind, formats.KINDS["num2"])
    shown = f"{float(value) * spec.scale:{spec.d3 or ',.2f'}}"
    return shown if shown.endswith("%") else f"{shown} {formats.unit(kind)}".strip()  # "26.0%", not "26.0% %"


def change_text(row: Mapping[str, Any]) -> str:
    """One restated figure in words: old → new, the change, when the store saw it and the runs."""
    kind = formats.line_item(str(row["field"])).kind
    change = formats.pct(row["change"], signed=True) if pd.notna(row["change"]) else "n/a"
    return (
        f"Restated {row['restated_on']:%Y-%m-%d}: {amount(row['old_value'], kind)} → "
        f"{amount(row['new_value'], kind)} ({change}); seen by the store {pd.Timestamp(row['seen_at']):%Y-%m-%d %H:%M}"
    )


def mark_restated_cells(grid: Any, changes: pd.DataFrame, withheld: pd.DataFrame | None = None) -> None:
    """Each restated cell of the statement grid gets a class and, on hover, its old → new, change and
    when (all its restatements, newest first); each cell whose period FMP sent a withheld value for (that
    line's) another class and the raw value and rule; rows are keyed by their field for the provenance
    click."""
    grid.getRowId = "params.data.field"
    restated: dict[tuple[str, str], list[str]] = {}
    for row in changes.to_dict("records") if not changes.empty else ():  # to_dict of none: ~0.4 ms
        restated.setdefault((str(row["field"]), f"{row['fiscal_date']:%Y-%m-%d}"), []).append(
            change_text(row)
        )
    held: dict[tuple[str, str], list[str]] = {}
    for row in withheld.to_dict("records") if withheld is not None and not withheld.empty else ():
        held.setdefault((str(row["field"]), str(row["day"])), []).append(
            f"Withheld: FMP sent {row['field']} = {row['raw_value'] or '?'} ({row['rule']}); the figure shown"
            " is the one held before"
        )
    if not restated and not held:
        return
    texts = {"restated_cells": restated, "withheld_cells": held}
    marked: dict[Any, set[str]] = {}  # per field, the dates any mark names: most rows have none
    for by_cell in texts.values():
        for field, day in by_cell:
            marked.setdefault(field, set()).add(day)
    for row in grid.rowData:
        days = marked.get(row["field"])
        if days:
            row.update(_cell_marks(row, texts, days))
    for column in grid.columnDefs:
        if column.get("type") == "numericColumn":
            column["tooltipValueGetter"] = {
                "function": "params.data.cell_notes ? params.data.cell_notes[params.colDef.field] : undefined"
            }
            column["cellClassRules"] = {
                f"mycfa-{name}-cell": f"params.data.{name}_cells && params.data.{name}_cells[params.colDef.field]"
                for name in ("restated", "withheld")
            }


def _cell_marks(
    row: Mapping[str, Any],
    texts: Mapping[str, Mapping[tuple[str, str], list[str]]],
    days: Collection[str] | None = None,
) -> dict[str, Any]:
    """A grid row's marked cells per kind of mark (columns by their date), and each cell's hover text;
    `days`, when given, holds every date a mark of this row's field names (the other columns are
    skipped: a quarterly grid has ~140 of them a row)."""
    marks: dict[str, dict[str, str]] = {name: {} for name in (*texts, "cell_notes")}
    for column in row:
        if days is not None and column[:10] not in days:
            continue
        key = (row["field"], column[:10])
        notes = [" | ".join(by_cell[key]) for by_cell in texts.values() if key in by_cell]
        for name, by_cell in texts.items():
            if key in by_cell:
                marks[name][column] = " | ".join(by_cell[key])
        if notes:
            marks["cell_notes"][column] = " | ".join(notes)
    return {name: cells for name, cells in marks.items() if cells}


def withheld_cells(symbol: str, kind: str, period: str) -> pd.DataFrame:
    """The withheld statement rows of one statement and period that name a line and a fiscal date: the
    cells `mark_restated_cells` marks (TTM figures are sums: none)."""
    rows = withheld.rows(symbol)
    if rows.empty or period == "TTM":
        return rows.iloc[0:0]
    keep = (
        (rows["dataset"] == "statements")
        & (rows["kind"] == kind)
        & rows["period"].isin(list(fiscal_labels(period)))
        & rows["field"].notna()
        & rows["day"].notna()
    )
    return rows[keep.to_numpy()]


def restatement_panel(symbol: str, kind: str, period: str, changes: pd.DataFrame) -> Any:
    """The statement's restated figures (old, new, change, when, the runs) and the way to the feed."""
    link = dcc.Link(
        f"All of {symbol}'s restatements, and the whole universe's",
        href=f"/history?symbol={symbol}",
        id="company-restatements-link",
    )
    if changes.empty:
        return html.P(
            [
                f"No restated figure in {symbol}'s {STATEMENT_NAMES[kind].lower()} ({VIEW_NOUNS[period]}). ",
                link,
            ],
            className="small text-muted",
        )
    shown = pd.DataFrame(
        {
            "fiscal_date": [f"{d:%Y-%m-%d}" for d in changes["fiscal_date"]],
            "period": changes["period"],
            "item": [formats.label(str(f)) for f in changes["field"]],
            "old_value": pd.to_numeric(changes["old_value"], errors="coerce").astype(float),
            "new_value": pd.to_numeric(changes["new_value"], errors="coerce").astype(float),
            "change": pd.to_numeric(changes["change"], errors="coerce").astype(float),
            "restated_on": [f"{d:%Y-%m-%d}" for d in changes["restated_on"]],
            "seen": [f"{pd.Timestamp(t):%Y-%m-%d %H:%M}" for t in changes["seen_at"]],
            "runs": [
                f"{_run(a)} → {_run(b)}"
                for a, b in zip(changes["old_run_id"], changes["new_run_id"], strict=True)
            ],
            "kind": [formats.line_item(str(f)).kind for f in changes["field"]],
        }
    )
    return html.Div(
        [
            html.H2(f"Restated figures ({len(shown)})", className="h6 d-inline me-2"),
            link,
            tables.grid("company-restatements-grid", shown, columns=CHANGE_COLUMNS, row_kind="kind"),
        ]
    )


def _run(value: Any) -> str:
    return f"#{int(value)}" if value is not None and pd.notna(value) else "none"


def withheld_badge(symbol: str, kind: str) -> Any:
    """ "N values withheld as implausible" for this company's statement, the raw values and rules on hover."""
    found = withheld.rows(symbol)
    if found.empty:  # most companies (filtering and to_dict of an empty frame cost ~0.6 ms)
        return withheld.badge([], "company-withheld-badge")
    found = found[found["kind"] == kind]
    return withheld.badge([withheld.detail(r) for r in found.to_dict("records")], "company-withheld-badge")


def provenance_card(
    symbol: str,
    period: str,
    kind: str,
    field: str,
    fiscal: str,
    as_of: str | None,
    figures: str,
    value: Any,
    pin: int | None = None,
    id_: str = "company-provenance",
) -> Any:
    """The trail of one figure: the payload shown and its filing, the run and request that fetched it,
    its revisions, and the withheld values of the same period (`{id_}-card`, its run line `{id_}-run`
    and its revisions `{id_}-revisions`)."""
    svc = services()
    name = formats.label(field)
    if period == "TTM":
        return dbc.Alert(
            f"{name}, TTM to {fiscal}: the sum of four quarters (balances: the latest quarter's). "
            "Switch to Quarterly and click a quarter to see where each came from.",
            color="light",
            id=f"{id_}-card",
        )
    mode = {"first": "first", "pit": "pit", "restated": "known"}[figures_mode(figures, as_of)]
    trail = queries.provenance(svc.router, symbol, kind, period, fiscal, mode, as_of, pin)
    shown, withheld = trail["shown"], trail["withheld"]
    changes = restatement_rows(symbol, kind, period, pin)
    revisions = (
        changes[
            (changes["field"] == field).to_numpy()
            & np.array([f"{d:%Y-%m-%d}" == fiscal for d in changes["fiscal_date"]])
        ]
        if not changes.empty
        else changes
    )
    items: list[Any] = []
    if shown.empty:
        items.append(html.Li("No stored payload for this period (a computed or absent figure)."))
    else:
        row = shown.iloc[0].to_dict()
        basis = {"known": "as the store held it", "first": "as first reported"}.get(str(row["basis"]), "")
        items += [
            html.Li([html.B("Figures: "), f"{basis}; fiscal period {row['period']} ending {fiscal}"]),
            html.Li(
                [
                    html.B("Filed: "),
                    f"{row['filing_date']:%Y-%m-%d}" if row["filing_date"] else "not given by FMP",
                ]
            ),
            html.Li(
                [html.B("In the store since: "), f"{pd.Timestamp(row['known_since']):%Y-%m-%d %H:%M} UTC"]
            ),
            html.Li(
                [
                    html.B("Fetched by: "),
                    (
                        f"run #{int(row['run_id'])} ({row['job']}, started {pd.Timestamp(row['started_at']):%Y-%m-%d %H:%M})"
                        if pd.notna(row["run_id"])
                        else "no run recorded (loaded outside a run)"
                    ),
                    f"; item {row['dataset']} done {pd.Timestamp(row['fetched_at']):%Y-%m-%d %H:%M}"
                    if isinstance(row.get("dataset"), str) and pd.notna(row.get("fetched_at"))
                    else "",
                ],
                id=f"{id_}-run",
            ),
            html.Li(
                [
                    html.B("Endpoint: "),
                    f"FMP {queries.STATEMENT_ENDPOINTS[kind]}?symbol={symbol}&period="
                    f"{'annual' if period == 'FY' else 'quarter'}",
                ]
            ),
        ]
    items.append(
        html.Li(
            [html.B("Revisions: "), " | ".join(change_text(r) for r in revisions.to_dict("records"))]
            if not revisions.empty
            else [html.B("Revisions: "), "none: as first reported"],
            id=f"{id_}-revisions",
        )
    )
    items.append(
        html.Li(
            [
                html.B("Withheld in this period: "),
                "; ".join(
                    f"{r['field'] or 'the row'} = {r['raw_value'] or '?'} ({r['rule']}: {r['reason']})"
                    for r in withheld.to_dict("records")
                )
                if not withheld.empty
                else "nothing",
            ]
        )
    )
    shown_value = (
        f" = {amount(value, formats.line_item(field).kind)}" if isinstance(value, int | float) else ""
    )
    return card(f"Where {symbol}'s {name} ({fiscal}){shown_value} comes from", items, id_)


def withheld_text(symbol: str, keep: Any) -> str:
    """The company's withheld rows that `keep` (a row -> bool) picks: field = raw value (rule: reason)."""
    rows = withheld.rows(symbol)
    return "; ".join(
        f"{r['field'] or 'the row'} = {r['raw_value'] or '?'} ({r['rule']}: {r['reason']})"
        for r in rows.to_dict("records")
        if keep(r)
    )


def card(title: str, items: Sequence[Any], id_: str) -> Any:
    """Every trail card's look (one style on every page): what the figure is, then where it came from
    (`{id_}-card`)."""
    return dbc.Card(
        dbc.CardBody([html.H2(title, className="h6"), html.Ul(list(items), className="small mb-0")]),
        id=f"{id_}-card",
    )
