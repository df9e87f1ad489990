"""The Company page's statements: the table (values, YoY or common size), its chart, the annual ratio
chart and table, the restated marks and the note saying which figures these are."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import html

from dashboard.components import (
    charts,
    company_data,
    formats,
    pins,
    point_in_time,
    states,
    tables,
    trails,
    withheld,
)
from dashboard.components.export import export_href
from dashboard.data import queries
from dashboard.services import services
from dashboard.vocabulary import VIEW_NOUNS, VIEWS, fiscal_labels

PERIODS = VIEWS
KINDS = point_in_time.STATEMENT_NAMES
VIEWS_SHOWN = {"values": "Values", "yoy": "YoY %", "common": "Common size %"}
FIGURES = point_in_time.FIGURES
STATEMENT_COLUMNS = {"item": formats.Col("Line item"), "unit": formats.Col("Unit")}
STATEMENT_GRID = "company-statement-grid"  # its clicks open a figure's provenance (`company_provenance`)
RATIO_GRID = "company-ratio-grid"  # its clicks open a ratio's provenance (`company_ratio_provenance`)


def period_labels(index: pd.Index, period: str) -> list[str]:
    """Bar labels: FY2024 for annual rows (the year the fiscal year ends), else the period-end month."""
    dates = pd.DatetimeIndex(index)
    if period == "FY":
        return charts.fiscal_year_labels(dates)
    return [d.strftime("%b %Y") for d in dates]


def restated_note(
    symbol: str, period: str, kind: str, as_of: str | None, figures: str = "restated", pin: int | None = None
) -> tuple[set[str], str]:
    """The fiscal dates of this table restated after `as_of` (ever, when latest) and the note saying so:
    which figures these are, and (as of a date) which periods the store had not seen by then and shows as
    first reported, filed by that day."""
    rows = company_data.restated(symbol, as_of)
    if not rows.empty:
        rows = rows[(rows["kind"] == kind) & rows["period"].isin(fiscal_labels(period))]
    if pin is not None and as_of is None and not rows.empty:  # a pinned view: restated by the run's end
        ended = pd.Timestamp(point_in_time.pinned_at(pin))
        rows = rows[[pd.Timestamp(t) <= ended for t in rows["restated"]]]
    dates = {pd.Timestamp(d).strftime("%Y-%m-%d") for d in rows.get("fiscal_date", [])}
    if figures == "first":
        known = "As first reported: each period as the store first saw it" + (
            f", filed by {as_of}." if as_of else "."
        )
    elif as_of:
        known = f"As of {as_of}: figures as the store knew them at the end of that day." + first_seen_note(
            symbol, period, kind, as_of, pin
        )
    else:
        known = "Latest figures."
    if pin is not None:
        known = f"{pins.sentence(pin, 'figures as the store held them then')} {known}"
    if not dates:
        return dates, known
    when = f"after {as_of}" if as_of else "since first reported"
    return dates, f"{known} Restated {when} (marked 'restated'): {', '.join(sorted(dates))}."


def first_seen_note(symbol: str, period: str, kind: str, as_of: str, pin: int | None = None) -> str:
    """What the store did not know on `as_of` and shows anyway, as first reported when filed by then."""
    svc = services()
    basis = svc.cache.cached(
        "statement-basis",
        (symbol, period, as_of, pin),
        lambda: queries.statement_basis(
            svc.router, symbol, "Q" if period == "TTM" else period, "pit", as_of, pin
        ),
    )
    basis = basis[basis["kind"] == kind] if not basis.empty else basis
    later = basis[basis["basis"] == "first"] if not basis.empty else basis
    if later.empty:
        return ""
    filed = ", ".join(
        f"{d:%Y-%m-%d} (filed {f:%Y-%m-%d})"
        for d, f in zip(later["fiscal_date"], later["filing_date"], strict=True)
    )
    if len(later) == len(basis):
        return (
            f" The store held none of {symbol}'s {KINDS[kind].lower()} statements then (its history starts "
            f"later): every period here is as first reported, filed by {as_of}: {filed}."
        )
    return f" The store first saw these periods later; shown as first reported, filed by {as_of}: {filed}."


def common_base(kind: str) -> str:
    """The line a common-size statement divides by: total assets for the balance sheet, else revenue."""
    return "totalAssets" if kind == "balance" else "revenue"


def view_name(kind: str, view: str) -> str:
    """What the figures of the YoY or the common-size view are, as their CSV names them (`shown_as`)."""
    if view == "yoy":
        return "YoY change: over the same period a year before"
    return f"Common size: share of {formats.label(common_base(kind)).lower()}"


def shown_as(frame: pd.DataFrame, kind: str, period: str, view: str) -> pd.DataFrame:
    """The statement as values, as growth over the same period a year before (YoY), or as a share of
    revenue (income, cash flow) or of total assets (balance): common size."""
    lines = frame[company_data.statement_lines(frame, kind)].astype(float)
    if view == "yoy":
        back = 1 if period == "FY" else 4  # TTM rows are a quarter apart too
        before = lines.shift(back)
        return (lines - before) / before.abs().where(before != 0)
    if view == "common":
        base = common_base(kind)
        if base not in lines:
            return lines.iloc[0:0]
        return lines.div(lines[base].where(lines[base] != 0), axis=0)
    return lines


def statements_view(
    symbol: str,
    period: str,
    kind: str,
    as_of: str | None = None,
    view: str = "values",
    figures: str = "restated",
    pin: int | None = None,
) -> tuple[Any, ...]:
    """Table, chart and ratio chart for one choice (the whole output is cached: it is pure given the data)."""
    mode = point_in_time.figures_mode(figures, as_of)
    frame = company_data.statement(symbol, kind, period, as_of, mode, pin)
    ratio = company_data.ratio_table(symbol, as_of, mode, pin)
    restated, note = restated_note(symbol, period, kind, as_of, figures, pin)
    params = {
        "symbol": symbol,
        "period": period,
        "kind": kind,
        **({"as_of": as_of} if as_of else {}),
        **({"figures": figures} if figures != "restated" else {}),
        **({"pin": str(pin)} if pin is not None else {}),
    }
    changes = point_in_time.restatement_rows(symbol, kind, period, pin)
    if frame.empty:
        label = VIEW_NOUNS[period]
        note = f"No {label} {KINDS[kind].lower()} data for {symbol}."
        table: Any = [states.empty(note, id_="company-statement-empty"), tables.placeholder(STATEMENT_GRID)]
        chart = charts.empty_figure(note)
    else:
        lines = shown_as(frame.sort_index(), kind, period, view)
        table = tables.statement_grid(
            STATEMENT_GRID,
            lines,
            list(lines.columns),
            columns=STATEMENT_COLUMNS,
            restated=restated,
            oldest_first=True,  # as the charts run, with the newest year at the right (scrolled to)
            kind=None if view == "values" else "pct",
        )
        point_in_time.mark_restated_cells(table, changes, point_in_time.withheld_cells(symbol, kind, period))
        fields = [f for f in company_data.CHART_FIELDS[kind] if f in frame.columns]
        shown = frame[fields].tail(12)
        dates = shown.index
        shown.index = period_labels(shown.index, period)
        scale, unit = formats.scale_for(shown.to_numpy().ravel())
        # Balances are stocks: under TTM the page shows the latest quarters' balances, and says so.
        basis = "quarter-end" if kind == "balance" and period == "TTM" else PERIODS[period]
        names = {f: formats.label(f) for f in fields}
        chart = charts.bars(
            shown,
            f"{symbol} · {KINDS[kind]} ({basis})",
            names=names,
            scale=scale,
            unit=unit,
            x_title="Fiscal year" if period == "FY" else "Period end",
        )
        held = withheld.statement_rows(symbol, kind, fiscal_labels(period))
        # TTM sums the trailing quarters of flows; a balance is its latest quarter's
        trailing = period == "TTM" and kind != "balance"
        found = withheld.find(held, {f: ((f,), ()) for f in fields}, dates, trailing=trailing)
        chart = withheld.mark(chart, found, names)
    plotted = [c for c in company_data.RATIO_FIELDS if c in ratio.columns]
    ratio_fig = (
        withheld.mark(
            charts.lines(
                _fiscal_years(ratio[plotted]),
                f"{symbol} · margins and returns (annual)",
                percent=True,
                yaxis="Percent",
                names={c: formats.label(c) for c in company_data.RATIO_FIELDS},
            ),
            withheld.find(
                withheld.statement_rows(symbol, None, ("FY",)),
                {c: trails.RATIO_INPUTS[c] for c in plotted},
                ratio.index,
            ),
            {c: formats.label(c) for c in plotted},
        )
        if not ratio.empty
        else charts.empty_figure(f"No annual statements for {symbol}.")
    )
    ratio_table = tables.placeholder(RATIO_GRID)
    if not ratio.empty:
        ratio_table = tables.statement_grid(
            RATIO_GRID,
            ratio,
            list(ratio.columns[ratio.notna().to_numpy().any(axis=0)]),  # a column a time cost ~2 ms
            columns={"item": formats.Col("Ratio"), "unit": formats.Col("Unit")},
            oldest_first=True,
        )
        ratio_table.getRowId = "params.data.field"  # a click names its ratio (`company_ratio_provenance`)
    ratio_params = {k: v for k, v in params.items() if k not in ("period", "kind")}
    return (
        table,
        chart if not frame.empty else charts.blank_figure(),
        ratio_fig,
        export_href("company", "statements", params | ({"view": view} if view != "values" else {}))
        if not frame.empty
        else "#",
        export_href("company", "ratios", ratio_params) if not ratio.empty else "#",
        html.Span([note, point_in_time.withheld_badge(symbol, kind)], id="company-asof-text"),
        ratio_table,
        point_in_time.restatement_panel(symbol, kind, period, changes),
        export_href("company", "trail", params) if not frame.empty else "#",
        export_href("company", "ratios-trail", ratio_params) if not ratio.empty else "#",
        withheld.chart_badge(chart, "company-statement-withheld-badge") if not frame.empty else None,
        withheld.chart_badge(ratio_fig, "company-ratio-withheld-badge"),
    )


def _fiscal_years(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.index = period_labels(frame.index, "FY")
    return out
