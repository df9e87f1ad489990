"""Valuation's CSVs: the projection, the WACC x terminal-growth grid, the multiples and the figures, each
also "+ provenance" (`-trail`: the stored rows each value is computed from, `valuation_trails`)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from dashboard.components import company_data, point_in_time, valuation_trails
from dashboard.components.export import Exporter, register_export
from dashboard.components.inputs import InvalidInput, company_field, valid_symbol
from dashboard.components.valuation_dcf import run_dcf
from dashboard.components.valuation_figures import shown_figures
from dashboard.components.valuation_inputs import assumptions
from dashboard.components.valuation_multiples import multiples_vs_sector
from serving import fitting

# CSV exports keep raw numbers; their column names carry the unit.
PROJECTION_EXPORT = {"growth": "fcf_growth_fraction", "fcf": "fcf_usd", "pv": "pv_usd"}
MULTIPLES_EXPORT = {"premium": "premium_fraction"}  # the page shows it as a signed percent
# What each DCF table is computed from: figures of the inputs CSV, then the assumptions of its path.
PATH = ("growth", "years", "fade", "terminal")
PROJECTION_INPUTS = ("fcf", "wacc", *PATH)  # each year's FCF grown along the path, discounted at the WACC
GRID_LABEL_DECIMALS = 4  # a fraction's decimals in the heatmap's labels (a percent to 2 dp)
GRID_INPUTS = ("fcf", "net_debt", "shares", "wacc", *PATH)  # the value per share at each WACC and growth


@register_export("valuation", "projection")
def export_projection(args: Mapping[str, str]) -> pd.DataFrame:
    as_of, pin = company_data.as_of_date(args.get("as_of")), point_in_time.pinned_run(args.get("pin"))
    projection = run_dcf(valid_symbol(args.get("symbol")), assumptions(args), as_of, pin)[0].projection
    return projection.rename(columns=PROJECTION_EXPORT)


@register_export("valuation", "grid")
def export_grid(args: Mapping[str, str]) -> pd.DataFrame:
    as_of, pin = company_data.as_of_date(args.get("as_of")), point_in_time.pinned_run(args.get("pin"))
    grid = run_dcf(valid_symbol(args.get("symbol")), assumptions(args), as_of, pin)[1]
    # Rows: WACC, columns: terminal growth (both fractions); cells: value per share in USD. The labels are
    # the heatmap's (the centre +- a step carries float noise: 0.025 - 0.01 = 0.015000000000000001); the
    # cells stay computed on the exact rates.
    labelled = grid.rename(index=_grid_label, columns=_grid_label)
    return labelled.rename_axis(index="wacc", columns="value_per_share_usd_by_terminal_growth")


def _grid_label(rate: float) -> float:
    return round(rate, GRID_LABEL_DECIMALS)


@register_export("valuation", "multiples")
def export_multiples(args: Mapping[str, str]) -> pd.DataFrame:
    """The comparison with the basis and period end on every row; n/m values left empty, and named."""
    table, meta = multiples_vs_sector(
        valid_symbol(args.get("symbol")),
        company_data.as_of_date(args.get("as_of")),
        point_in_time.pinned_run(args.get("pin")),
    )
    table = table.rename(columns=MULTIPLES_EXPORT)
    return table.assign(basis=meta["basis"], period_end=meta["period_end"], over_9_months_old=meta["stale"])


@register_export("valuation", "projection-trail")
def export_projection_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The projection with, on each year, what it is computed from and those figures' stored rows."""
    return _dcf_trail(args, export_projection, PROJECTION_INPUTS)


@register_export("valuation", "grid-trail")
def export_grid_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The grid with, on each WACC's row, what its values are computed from and those figures' rows."""
    return _dcf_trail(args, export_grid, GRID_INPUTS)


@register_export("valuation", "multiples-trail")
def export_multiples_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The multiples with, on each, the close, share count and statement lines it is computed from and
    their stored rows (`valuation_trails.multiples_trail`)."""
    table = export_multiples(args)
    symbol = valid_symbol(args.get("symbol"))
    as_of, pin = company_data.as_of_date(args.get("as_of")), point_in_time.pinned_run(args.get("pin"))
    return valuation_trails.with_trail(table, valuation_trails.multiples_trail(symbol, table, as_of, pin))


def _dcf_trail(args: Mapping[str, str], export: Exporter, inputs: tuple[str, ...]) -> pd.DataFrame:
    """`export`'s DCF table (every row computed from `inputs`) with their trail on each row, as the view
    the link names (as of a date, pinned) read them."""
    symbol = valid_symbol(args.get("symbol"))
    as_of, pin = company_data.as_of_date(args.get("as_of")), point_in_time.pinned_run(args.get("pin"))
    a = assumptions(args)
    if fitting.model_for(company_field(symbol, "sub_industry")).kind != "dcf":  # the page shows no DCF
        raise InvalidInput(f"no firm DCF for {symbol}: the page values it on P/B or dividends")
    frame = export(args)  # raises why the DCF cannot be computed (shown_figures would leave it out)
    cells = valuation_trails.computed_trail(symbol, shown_figures(symbol, as_of, pin, a), inputs, as_of, pin)
    return valuation_trails.with_trail(frame, [cells] * len(frame))


@register_export("valuation", "inputs")
def export_inputs(args: Mapping[str, str]) -> pd.DataFrame:
    """The figures the valuation read and computed, with their sources."""
    symbol = valid_symbol(args.get("symbol"))
    as_of, pin = company_data.as_of_date(args.get("as_of")), point_in_time.pinned_run(args.get("pin"))
    return valuation_trails.table(shown_figures(symbol, as_of, pin, assumptions(args)))


@register_export("valuation", "inputs-trail")
def export_inputs_trail(args: Mapping[str, str]) -> pd.DataFrame:
    """The same with each fetched figure's trail (`provenance_*`, as the Company page's CSVs)."""
    symbol = valid_symbol(args.get("symbol"))
    as_of, pin = company_data.as_of_date(args.get("as_of")), point_in_time.pinned_run(args.get("pin"))
    figures = shown_figures(symbol, as_of, pin, assumptions(args))
    return valuation_trails.trail_table(symbol, figures, as_of, pin)
