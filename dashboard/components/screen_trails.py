"""Where a Screener cell comes from: the metric's formula and inputs on the row's basis (the fiscal year, or
the four quarters a TTM figure sums) with each statement payload's trail, the close and share count a
price-based figure reads with the close's fetch; and the same trail as the results CSV's `provenance_*`
columns (docs/dashboard.md, "Point in time")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from dash import dcc, html

from dashboard.components import catalogue, company_data, formats, glossary, price_trails, trails
from dashboard.components.trails import KINDS, RATIO_INPUTS, View
from dashboard.data import queries
from dashboard.services import services
from serving.universe import PRICE_STATS

ID = "screener-provenance"
EV_LINES = ("totalDebt", "preferredStock", "minorityInterest", "cashAndShortTermInvestments")
# The lines each price-based metric reads on the row's period, beside the market cap (close x shares):
# serving/valuation.py `multiples` and `enterprise_value`, serving/universe.py `added_columns`,
# serving/fundamentals.py `altman`.
PRICED: dict[str, tuple[str, ...]] = {
    "price": (),
    "market_cap": (),
    "pe": ("netIncome",),
    "ev_ebitda": (*EV_LINES, "ebitda"),
    "ev_ebitda_fmp": ("netDebt", "ebitda"),
    "ev_sales": (*EV_LINES, "revenue"),
    "pb": ("totalStockholdersEquity",),
    "p_fcf": ("freeCashFlow",),
    "fcf_yield": ("freeCashFlow",),
    "dividend_yield": ("commonDividendsPaid",),
    "altman_z": (
        "totalAssets",
        "totalCurrentAssets",
        "totalCurrentLiabilities",
        "retainedEarnings",
        "operatingIncome",
        "totalLiabilities",
        "revenue",
        "totalStockholdersEquity",
    ),
}
# Growth: the line on the row's period against the period a year before (serving/screener.py).
GROWTH = {
    "revenue_growth": "revenue",
    "net_income_growth": "netIncome",
    "eps_growth": "epsDiluted",
    "fcf_growth": "freeCashFlow",
}
ANNUAL_ONLY = ("altman_z", "f_score")  # annual on either basis (serving/basis.py `clear_basis`)
QUARTER_DAYS = 370  # the quarters a TTM figure sums end within a year of its period end


def card(symbol: str, metric: str, value: Any, row: Mapping[str, Any], view: View) -> Any:
    """The trail of `metric` in the screener row `row` (of `universe_data.on_basis`) as `view` reads the
    store; None for a column that is no figure (name, sector, basis)."""
    label = catalogue.BY_KEY[metric].label if metric in catalogue.BY_KEY else None
    if label is None and metric != "score":
        return None
    formula = glossary.define(metric) or label or metric
    title = f"Where {symbol}'s {label or 'score'}{trails.shown_value(value, metric)} comes from"
    close = _close_day(symbol, row)
    other = _not_statement(symbol, metric, title, formula, view, close)
    if other is not None:
        return other
    ttm = row.get("basis") == "TTM" and metric not in ANNUAL_ONLY
    span = "TTM" if ttm else "FY"
    end = row.get("period_end") if ttm else row.get("fiscal_date") or row.get("period_end")
    if end is None or pd.isna(end):
        return trails.figure_card(symbol, title, id_=ID, formula=formula, view=view, close=close)
    day = pd.Timestamp(end)
    frames = company_data.statement_kinds(symbol, KINDS, span, view.as_of, view.mode, view.pin)
    closing, averaged, compared = _lines(metric)
    if ttm:  # TTM ratios read closing balances (serving/history.py): nothing averaged
        closing, averaged = (*closing, *averaged), ()
    inputs, used, lines = trails.input_lines(frames, closing, averaged, day, span)
    inputs += _compared(frames, compared, day, span)
    if compared:
        kind = trails.holder(frames, compared[0])
        before = _year_before(frames, kind, day)
        if kind and before is not None:
            used.append((kind, before))
            lines.setdefault(kind, []).append(compared[0])
    priced = metric in PRICED
    if priced:
        inputs.append(html.Li(_market_cap(row)))
    if metric == "f_score":
        inputs.append(html.Li("each of the nine signals compares this fiscal year with the one before"))
    notes = [
        html.Li(
            [
                html.B("Basis: "),
                f"TTM to {day:%Y-%m-%d}: each flow is the sum of the four quarters ending then, each balance"
                " the latest quarter's; the quarterly payloads are listed"
                if ttm
                else f"the fiscal year ending {day:%Y-%m-%d}",
            ]
        )
    ]
    return trails.figure_card(
        symbol,
        f"Where {symbol}'s {label} ({span} to {day:%Y-%m-%d}){trails.shown_value(value, metric)} comes from",
        id_=ID,
        formula=formula,
        inputs=inputs,
        lines=lines,
        used=_quarters(symbol, used, view) if ttm else used,
        view=view,
        period="Q" if ttm else "FY",
        close=close if priced else None,
        notes=notes,
    )


def _not_statement(symbol: str, metric: str, title: str, formula: str, view: View, close: str | None) -> Any:
    """The card of a figure no statement line feeds (the score, a restatement count, a price statistic);
    None for the others."""
    if metric == "score":
        return trails.figure_card(
            symbol,
            title,
            id_=ID,
            formula="the mean of each scored metric's percentile rank among the companies passing the screen,"
            " equal weighted (a metric where lower is better ranked reversed; one a company lacks left out);"
            " click a metric's cell for its trail.",
            view=view,
        )
    if metric.startswith(("restatements_", "restatement_change_")):
        reads: str | None = None
        note = html.Li(
            [
                html.B("Counted from: "),
                "the restatements the store saw (old → new, when, the runs), "
                + ("up to the end of the pinned run; " if view.pin is not None else "")
                + "each is listed on ",
                dcc.Link(f"the Point in time page ({symbol})", href=f"/history?symbol={symbol}"),
            ]
        )
    elif metric in PRICE_STATS:
        reads = close
        note = html.Li(
            [
                html.B("Computed: "),
                "at the last refresh of the serving layer, from the stored dividend-adjusted closes up to"
                " the latest (each fetched as the close above is).",
            ]
        )
    else:
        return None
    return trails.figure_card(symbol, title, id_=ID, formula=formula, view=view, close=reads, notes=[note])


def _lines(metric: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(lines read on the period, balances averaged with the period before, a line compared with the
    year before)."""
    if metric in RATIO_INPUTS:
        closing, averaged = RATIO_INPUTS[metric]
        return closing, averaged, ()
    if metric in GROWTH:
        return (GROWTH[metric],), (), (GROWTH[metric],)
    if metric == "f_score":
        return ("netIncome", "totalAssets", "operatingCashFlow", "totalCurrentAssets", "revenue"), (), ()
    return PRICED.get(metric, ()), (), ()


def _year_before(
    frames: Mapping[str, pd.DataFrame], kind: str | None, day: pd.Timestamp
) -> pd.Timestamp | None:
    if kind is None:
        return None
    earlier = [d for d in frames[kind].index if d <= day - pd.Timedelta(days=300)]
    return max(earlier) if earlier else None


def _compared(
    frames: Mapping[str, pd.DataFrame], compared: Sequence[str], day: pd.Timestamp, span: str
) -> list[Any]:
    """A growth line's value a year before, beside the period's (the input lines give the period's)."""
    out = []
    for f in compared:
        kind = trails.holder(frames, f)
        before = _year_before(frames, kind, day)
        if before is not None:
            out.append(
                html.Li(
                    f"{formats.label(f)} a year before ({span} ending {before:%Y-%m-%d}) ="
                    f" {trails.value_text(frames, kind, f, before)}"
                )
            )
    return out


def _market_cap(row: Mapping[str, Any]) -> str:
    """The market cap's inputs: the close and the share count with where it comes from."""
    price, shares = row.get("price"), row.get("shares")
    source = row.get("shares_source") or "unknown source"
    if price is None or pd.isna(price) or shares is None or pd.isna(shares):
        return "Market cap: no close or no share count"
    return (
        f"Market cap = close USD {float(price):,.2f} times {float(shares) / 1e6:,.1f} m shares ({source})"
        f" = USD {float(price) * float(shares) / 1e9:,.2f} bn"
    )


def _close_day(symbol: str, row: Mapping[str, Any]) -> str | None:
    """The close the row reads: its price date (a pinned screen's), else the latest stored one."""
    day = row.get("price_date")
    if day is not None and not pd.isna(day):
        return f"{pd.Timestamp(day):%Y-%m-%d}"
    history = company_data.prices(symbol)
    return f"{history.index[-1]:%Y-%m-%d}" if not history.empty else None


def _quarters(
    symbol: str, used: Sequence[tuple[str, pd.Timestamp]], view: View
) -> list[tuple[str, pd.Timestamp]]:
    """The quarterly payloads behind TTM periods: each kind's quarters ending within a year to them (a
    balance sheet's latest quarter only)."""
    trail = trails.statement_trail(symbol, view.as_of, view.mode, view.pin, "Q")
    out: set[tuple[str, pd.Timestamp]] = set()
    for kind, end in used:
        if kind not in trail.index.get_level_values("kind"):
            continue
        days = [
            d for d in trail.xs(kind, level="kind").index if end - pd.Timedelta(days=QUARTER_DAYS) < d <= end
        ]
        out.update((kind, d) for d in (days[-1:] if kind == "balance" else days))
    return sorted(out)


def results_trail(result: pd.DataFrame, table: pd.DataFrame, view: View) -> pd.DataFrame:
    """The results CSV's provenance columns, one row per company of `result` (rows of `table`, the basis
    table): for each statement the payload of the row's period as the view reads it (the fiscal year's;
    on TTM the quarter ending at its period end, the latest of the four summed), and its close's fetch
    (`provenance_run_id/_job/_fetched_at/_endpoint`)."""
    svc = services()
    symbols = [str(s) for s in result["symbol"]]
    read = {"restated": "known"}.get(view.mode, view.mode)
    trail = {
        period: _by_symbol(queries.statement_basis(svc.router, symbols, period, read, view.as_of, view.pin))
        for period in ("FY", "Q")
    }
    rows = table.reindex(symbols)
    columns: dict[str, list[Any]] = {}
    for symbol, row in zip(symbols, rows.to_dict("records"), strict=True):
        ttm = row.get("basis") == "TTM"
        end = row.get("period_end") if ttm else row.get("fiscal_date") or row.get("period_end")
        day = pd.Timestamp(end) if end is not None and not pd.isna(end) else None
        period = "Q" if ttm else "FY"
        for kind in KINDS:
            found = trail[period].get((symbol, kind, day)) if day is not None else None
            for name, value in _statement_cells(kind, symbol, period, found).items():
                columns.setdefault(name, []).append(value)
    out = pd.DataFrame(columns, index=result.index)
    days = pd.Series([_close_day(s, r) for s, r in zip(symbols, rows.to_dict("records"), strict=True)])
    closes = price_trails.close_trails(symbols, days.tolist())
    return out.join(closes.set_axis(result.index, axis=0))


def _by_symbol(rows: pd.DataFrame) -> dict[tuple[str, str, pd.Timestamp], Mapping[str, Any]]:
    return {
        (str(r["symbol"]), str(r["kind"]), pd.Timestamp(r["fiscal_date"])): r for r in rows.to_dict("records")
    }


def _statement_cells(kind: str, symbol: str, period: str, row: Mapping[str, Any] | None) -> dict[str, Any]:
    """One statement's provenance cells as the Company page's CSVs name them (`trails.trail_columns`)."""
    prefix = f"provenance_{kind}"
    if row is None:
        return {
            f"{prefix}_{n}": None for n in ("figures", "filing_date", "in_store_since", "run_id", "endpoint")
        }
    return {
        f"{prefix}_figures": "as first reported" if row["basis"] == "first" else "as the store held it",
        f"{prefix}_filing_date": row["filing_date"],
        f"{prefix}_in_store_since": row["known_since"],
        f"{prefix}_run_id": int(row["run_id"])
        if row["run_id"] is not None and pd.notna(row["run_id"])
        else None,
        f"{prefix}_endpoint": trails.endpoint(kind, symbol, period),
    }
