"""Valuation's multiples vs the sector median: the company's row on one clear basis, the medians, the
grid and the note saying which period and what the median covers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from dash import html

from dashboard.analytics import valuation
from dashboard.analytics.errors import AnalyticsError
from dashboard.analytics.fundamentals import field, safe_div_arrays
from dashboard.components import company_data, formats, pins, tables, universe_data
from dashboard.components.formats import Col
from dashboard.components.inputs import company_field, firm_flags
from dashboard.components.valuation_base import base_of
from dashboard.services import services
from serving import basis as period_basis
from serving import company as derive

MULTIPLE_NAMES = {
    "pe": "P/E",
    "ev_ebitda": "EV/EBITDA (CFA EV)",
    "ev_ebitda_fmp": "EV/EBITDA (FMP EV)",
    "ev_sales": "EV/Sales",
    "pb": "P/B",
    "p_fcf": "P/FCF",
}


def own_multiples(symbol: str, as_of: str | None = None, pin: int | None = None) -> pd.DataFrame:
    """The symbol's row of multiples on one clear basis, with `basis`, `period_end`, `stale` and
    `not_meaningful` (serving/basis.py), indexed by symbol.

    Latest: the trailing twelve months where four quarters end no earlier than the last fiscal year, else
    that year (the Screener's TTM basis). As of a date: the latest fiscal year known then, at that day's
    close and share count (the DCF's base inputs); pinned, the same as the store held them then.
    """
    if as_of is None and pin is None:
        table = universe_data.on_basis("ttm")
        if table.empty:
            raise AnalyticsError("no statements loaded")
        if symbol not in table.index:  # the Screener's universe: the index's current members with statements
            raise AnalyticsError(
                f"{symbol} has no latest multiples: it is not a current member with statements"
                " (an as-of date while it was one gives them)"
            )
        return table.loc[[symbol]]
    base = base_of(symbol, as_of, pin)
    annual = company_data.combined(symbol, "FY", as_of, "restated", pin)
    last = annual.iloc[-1:]
    cap = base["price"] * base["shares"]
    firm = pd.Series(bool(firm_flags().get(symbol, True)), index=last.index)  # a bank: no EV multiples
    row = valuation.multiples(last, pd.Series([cap], index=last.index, dtype=float), firm=firm)
    end = pd.Timestamp(last.index[-1])
    row = row.assign(
        basis="FY",
        period_end=end.date(),
        stale=bool(end < period_basis.stale_before(pd.Timestamp(pins.last_day(as_of, pin)))),
    )
    signs = period_basis.row_signs(row, firm)
    for name, column in period_basis.FIGURE_COLUMNS.items():
        signs[name] = field(last, derive.FIGURES[column]).to_numpy(dtype=float)
    return period_basis.blank_not_meaningful(row, signs).set_axis([symbol])


def sector_medians(sector: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The sector's median of each multiple (MULTIPLES' order) over `basis_medians("ttm")` and how many
    companies each covers, as floats; None for a sector it has no row for. Kept per data version as
    arrays by sector: two label lookups in the frames cost ~0.4 ms a valuation."""

    def build() -> dict[Any, tuple[np.ndarray, np.ndarray]]:
        by_sector, covered = universe_data.basis_medians("ttm")
        names = list(valuation.MULTIPLES)
        # One conversion per frame, not a label lookup per sector (~10 ms once per data version).
        medians = by_sector[names].to_numpy(dtype=float)
        counts = covered.loc[by_sector.index, names].to_numpy(dtype=float)
        return {name: (medians[i], counts[i]) for i, name in enumerate(by_sector.index)}

    if not isinstance(sector, str):
        return None
    return services().cache.cached("valuation-sector-medians", (), build).get(sector)


Latest = tuple[np.ndarray, set[str], set[str], dict[str, Any]]  # values, n/m flags, signed ratios, meta


def _row(table: pd.DataFrame, at: int) -> Latest:
    """What `multiples_vs_sector` takes from row `at` of an `own_multiples`-like table: the multiples
    (MULTIPLES' order) as floats, the n/m names flagged, the signed ratios it has, basis, period end
    and stale flag as its row gives them."""
    names = list(valuation.MULTIPLES)
    values = table[names].to_numpy(dtype=float)[at]
    flagged: set[str] = set()
    if "not_meaningful" in table.columns:
        flagged = set(table["not_meaningful"].fillna("").astype(str).iloc[at].split(","))
    signed = {ratio for ratios in period_basis.SIGNED.values() for ratio in ratios if ratio in table.columns}
    row = table.iloc[at]
    return values, flagged, signed, {key: row.get(key) for key in ("basis", "period_end", "stale")}


def _latest_rows() -> dict[str, Latest]:
    """`_row` of every company of today's TTM-basis table, once per data version: the row taken out of
    the universe's wide table cost ~1.5 ms a valuation."""

    def build() -> dict[str, Latest]:
        table = universe_data.on_basis("ttm")
        if table.empty:
            return {}
        names = list(valuation.MULTIPLES)
        values = table[names].to_numpy(dtype=float)
        flags = (
            table["not_meaningful"].fillna("").astype(str).tolist()
            if "not_meaningful" in table.columns
            else None
        )
        signed = {
            ratio for ratios in period_basis.SIGNED.values() for ratio in ratios if ratio in table.columns
        }
        meta = {
            key: table[key].tolist() if key in table.columns else None
            for key in ("basis", "period_end", "stale")
        }
        return {
            str(symbol): (
                values[i],
                set(flags[i].split(",")) if flags is not None else set(),
                signed,
                {key: column[i] if column is not None else None for key, column in meta.items()},
            )
            for i, symbol in enumerate(table.index)
        }

    return services().cache.cached("valuation-latest-multiples", (), build)


def multiples_vs_sector(
    symbol: str, as_of: str | None = None, pin: int | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each multiple of the symbol (NaN where n/m), its sector's median over the companies this store
    holds and how many companies that median covers, the premium; and the row's basis, period end and age.

    As of a date the medians are not given (the universe's multiples then are not computed). Built from
    the row's arrays (a frame of six rows through pandas' label lookups cost ~2 ms a valuation); the same
    frame as before (tests compare it with tests/dashboard/former.py)."""
    names = list(valuation.MULTIPLES)
    latest = _latest_rows().get(symbol) if as_of is None and pin is None else None
    if latest is None:  # as of a date, pinned, or not in today's table (own_multiples says why)
        latest = _row(own_multiples(symbol, as_of, pin), 0)
    values, flagged, signed, row = latest
    sector = company_field(symbol, "sector")
    medians = np.full(len(names), math.nan)
    counts = np.full(len(names), math.nan)
    if as_of is None and pin is None:
        found = sector_medians(sector)
        if found is not None:
            medians, counts = found
    out = pd.DataFrame(
        {
            "multiple": names,
            "value": values,
            "not_meaningful": [name in signed and name in flagged for name in names],
            "sector_median": medians,
            "companies": counts,
            "premium": safe_div_arrays(values, medians) - 1.0,
        }
    )
    meta = {
        "sector": sector if isinstance(sector, str) else None,
        "basis": row.get("basis"),
        "period_end": row.get("period_end"),
        "stale": bool(row.get("stale")),
        "as_of": pins.last_day(as_of, pin),
    }
    return out, meta


def multiples_note(symbol: str, meta: Mapping[str, Any]) -> str:
    """Which period the multiples are on, and what the median covers."""
    basis = meta["basis"]
    when = (
        f"{symbol}'s multiples: {'trailing twelve months' if basis == 'TTM' else 'fiscal year'} to"
        f" {meta['period_end']}" + (" (over 9 months old)" if meta["stale"] else "")
        if basis
        else f"{symbol}'s multiples: no period known"
    )
    if meta["as_of"]:
        return (
            f"{when}, as known on {meta['as_of']}, at that day's close. No sector median for a past date:"
            " the universe's multiples then are not computed."
        )
    return (
        f"{when}. Each peer is on its own latest basis (TTM where four quarters exist). The median covers"
        " the companies of the sector this store holds, not the whole sector (count per multiple)."
        " n/m: the denominator (earnings, EBITDA, book equity, FCF, revenue) or the enterprise value is not"
        " positive, or the company is a bank, insurer or lender (its deposits and reserves are no debt)."
    )


def multiples_grid(symbol: str, as_of: str | None = None, pin: int | None = None) -> Any:
    # A copy of the per-symbol comparison: the cached frame is shared, and the names are replaced below.
    table, meta = services().cache.cached(
        "valuation-multiples", (symbol, as_of, pin), lambda: multiples_vs_sector(symbol, as_of, pin)
    )
    keys, flags = table["multiple"].tolist(), table["not_meaningful"].tolist()

    def marked(column: str) -> pd.Series:  # numbers, "n/m" where not meaningful (object cells)
        cells = [
            period_basis.NM if flag else v for v, flag in zip(table[column].tolist(), flags, strict=True)
        ]
        return pd.Series(cells, index=table.index, dtype=object)

    # A new frame of the same columns (the copy and four column replacements cost ~1 ms a valuation).
    table = pd.DataFrame(
        {
            "multiple": [MULTIPLE_NAMES.get(m, m) for m in keys],
            "value": marked("value"),
            "not_meaningful": table["not_meaningful"],
            "sector_median": table["sector_median"],
            "companies": table["companies"],
            "premium": marked("premium"),
            "key": keys,  # the figure's name: its definition shows on the row
        },
        index=table.index,
    )
    sector = meta["sector"]
    columns = {
        "multiple": Col("Multiple"),
        "value": Col(symbol, "x"),
        "sector_median": Col(f"{sector} median" if sector else "Sector median", "x"),
        "companies": Col("Companies in the median", "int"),
        "premium": Col("Premium to median", "pct_signed"),
    }
    live = as_of is None and pin is None
    shown = table if live else table.drop(columns=["sector_median", "companies", "premium"])
    grid = tables.grid(
        "valuation-multiples-grid", shown, columns=columns, hidden=("key", "not_meaningful"), row_tips="key"
    )
    defs: list[dict[str, Any]] = grid.columnDefs
    for spec in defs:  # numbers and "n/m" in one column: numbers formatted, the text as it is
        if spec["field"] in ("value", "premium"):
            kind = columns[spec["field"]].kind
            spec.update(type="numericColumn", valueFormatter=formats.grid_formatter(kind), cellDataType=False)
    grid.columnDefs = defs
    note = html.P(multiples_note(symbol, meta), id="valuation-multiples-basis", className="small text-muted")
    return html.Div([note, grid])
