"""Valuation's answer for one choice: the summary card, the projection grid, the WACC x growth heatmap
and the export links (firm DCF), or the justified P/B or dividend discount model (banks, REITs)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from dashboard.analytics import valuation
from dashboard.analytics.errors import AnalyticsError
from dashboard.components import charts, formats, glossary, states, tables
from dashboard.components.export import export_href
from dashboard.components.formats import Col
from dashboard.components.inputs import company_field
from dashboard.components.page import FAILURES
from dashboard.components.valuation_base import base_of, equity_inputs
from dashboard.components.valuation_dcf import exit_multiple, run_dcf
from dashboard.components.valuation_inputs import HINTED, own_figures, resolved
from dashboard.components.valuation_multiples import multiples_grid
from serving import fitting

PROJECTION_COLUMNS = {
    "year": Col("Year", "int"),
    "growth": Col("FCF growth", "pct"),
    "fcf": Col("Free cash flow (USD m)", "usd_m"),
    "discount_factor": Col("Discount factor", "num3"),
    "pv": Col("Present value (USD m)", "usd_m"),
}
# Below the last close red, above it blue, white at it (the heatmap's midpoint is the price).
PRICE_SCALE = [[0.0, "#b2182b"], [0.5, "#f7f7f7"], [1.0, "#2166ac"]]


def implied_line(base: Mapping[str, Any], a: Mapping[str, float]) -> Any:
    """The reverse DCF: the explicit years' FCF growth the last close implies, the rest held."""
    implied = base["implied"]
    span = f"the {int(a['years'])} explicit years" + (
        f", then the {base['fade']}-year fade" if base["fade"] else ""
    )
    if implied is None:
        text: Any = f"No growth implied by the price: {base['implied_note']}."
    else:
        text = [
            glossary.term("Reverse DCF", "implied_growth"),
            f": the last close USD {base['price']:,.2f} implies FCF growth of ",
            html.Span(f"{implied:.2%}", id="valuation-implied-growth"),
            f" a year over {span} (WACC and terminal growth as set), against {a['growth']:.2f} % assumed.",
        ]
    return html.P(text, id="valuation-implied")


def exit_line(result: valuation.DCFResult, base: Mapping[str, Any]) -> Any:
    """The exit-multiple terminal value beside the Gordon one, and the multiple the Gordon value implies."""
    exit_value, gordon = result.exit_multiple, result.gordon
    ebitda_n = (
        base["ebitda"] * float((1 + result.projection["growth"]).prod()) if base["ebitda"] > 0 else math.nan
    )
    implied = gordon.terminal_value / ebitda_n if math.isfinite(ebitda_n) and ebitda_n > 0 else math.nan
    gordon_multiple = (
        f" The Gordon terminal value is {implied:.1f}x that EBITDA." if math.isfinite(implied) else ""
    )
    if exit_value is None:
        return html.P(
            f"No exit-multiple value: {base['exit_source']}.{gordon_multiple}", id="valuation-exit-value"
        )
    multiple = exit_value.terminal_value / ebitda_n
    return html.P(
        [
            glossary.term("Exit multiple", "exit_multiple"),
            ": USD ",
            html.Span(f"{exit_value.per_share:,.2f}", id="valuation-per-share-exit"),
            f" per share: a terminal value of {multiple:.1f}x EV/EBITDA ({base['exit_source']}) on the last"
            f" projected year's EBITDA {formats.money(ebitda_n)} (grown with FCF from"
            f" {formats.money(base['ebitda'])}), {exit_value.terminal_share:.0%} of EV."
            + (f" Upside {exit_value.upside:+.1%}." if exit_value.upside is not None else "")
            + gordon_multiple,
        ],
        id="valuation-exit-value",
    )


def own_line(base: Mapping[str, Any]) -> str:
    """The beta, cost of debt and tax rate the valuation used, and where each came from."""
    used, sources = base["assumed"], base["sources"]
    return (
        f"Beta {used['beta']:.2f} ({sources['beta']}); pre-tax cost of debt {used['kd']:.2f} %"
        f" ({sources['kd']}); tax rate {used['tax']:.2f} % ({sources['tax']})."
    )


def own_hints(symbol: str, day: str | None, pin: int | None = None) -> list[Any]:
    """Per HINTED field its placeholder (the figure a blank field takes), then per HINTED field the line
    under it saying where that figure comes from."""
    try:
        base = base_of(symbol, day, pin)
        own: dict[str, tuple[float | None, str]] = {**own_figures(base)}
        own["exit"] = exit_multiple(symbol, {}, base)
    except FAILURES:
        return [""] * len(HINTED) + [None] * len(HINTED)
    unit = {"beta": "", "exit": "x"}
    placeholders = [f"{v:.2f}" if (v := own[key][0]) is not None else "none" for key in HINTED]
    lines = [
        f"Blank: {v:.2f}{unit.get(key, ' %')}, {why}." if v is not None else f"Blank: none, {why}."
        for key in HINTED
        for v, why in [own[key]]
    ]
    return placeholders + lines


def view(symbol: str, day: str | None, a: Mapping[str, float], pin: int | None = None) -> tuple[Any, ...]:
    """Summary, projection, grid figure, multiples and export links (raises what `run_dcf` raises)."""
    model = fitting.model_for(company_field(symbol, "sub_industry"))
    if model.kind != "dcf":
        return equity_view(symbol, model, a, day, pin)
    result, grid, w, base = run_dcf(symbol, a, day, pin)
    g = result.gordon
    price = base["price"]
    summary = dbc.Card(
        dbc.CardBody(
            [
                html.H2(
                    [
                        f"{symbol}: USD ",
                        html.Span(f"{g.per_share:,.2f}", id="valuation-per-share"),
                        " per share (",
                        glossary.term("DCF", "dcf_value"),
                        ", ",
                        glossary.term("Gordon terminal value", "terminal_value"),
                        ", end-year discounting)",
                    ],
                    className="h4",
                ),
                html.P(
                    [
                        glossary.term("Mid-year convention", "mid_year"),
                        " (cash flows arrive mid-year): USD ",
                        html.Span(f"{base['mid_year_per_share']:,.2f}", id="valuation-per-share-mid"),
                        " per share.",
                    ]
                ),
                html.P(
                    [f"Last close USD {price:,.2f}; ", glossary.term("upside", "upside"), f" {g.upside:+.1%}"]
                    if g.upside is not None and math.isfinite(price)
                    else "No price stored: no upside."
                ),
                implied_line(base, a),
                exit_line(result, base),
                html.P(
                    [
                        glossary.term("WACC", "wacc"),
                        f" {w.value:.2%} (cost of equity {w.cost_of_equity:.2%}, after-tax cost of debt "
                        f"{w.after_tax_cost_of_debt:.2%}, equity weight {w.equity_weight:.0%} on "
                        f"{base['equity_basis']} equity)",
                    ],
                    id="valuation-wacc",
                ),
                html.P(own_line(base), id="valuation-own", className="text-muted small"),
                html.P(
                    [
                        glossary.term("Enterprise value", "enterprise_value"),
                        f" {formats.money(g.enterprise_value)} = PV of explicit FCF "
                        f"{formats.money(result.pv_explicit)} + PV of terminal value {formats.money(g.pv_terminal)} "
                        f"({g.terminal_share:.0%} of EV). Less net debt {formats.money(base['net_debt'])} = "
                        f"equity {formats.money(g.equity_value)}, over {base['shares'] / 1e6:,.1f} m shares.",
                    ]
                ),
                html.P(
                    [
                        glossary.term("Share count", "shares_source"),
                        f": {valuation.SHARE_SOURCES[base['shares_source']]}.",
                    ],
                    id="valuation-shares-source",
                    className="text-muted small mb-0",
                ),
                html.P(
                    f"Base year: free cash flow {formats.money(base['fcf'])} (latest annual statement"
                    + (f" known on {day}, restated figures as first reported" if day else "")
                    + (f" held by run #{pin}" if pin is not None else "")
                    + ").",
                    id="valuation-base-year",
                    className="text-muted small mb-0",
                ),
            ]
        )
    )
    projection = tables.grid(
        "valuation-projection-grid", result.projection.reset_index(), columns=PROJECTION_COLUMNS
    )
    heat = grid.copy()
    heat.index = [f"{v:.2%}" for v in heat.index]
    heat.columns = [f"{v:.2%}" for v in heat.columns]
    # Coloured against the last close (red below it, blue above, white at it) when there is one.
    priced = math.isfinite(price) and price > 0
    figure = charts.heatmap(
        heat,
        f"Value per share (USD); base case WACC {w.value:.2%}, terminal growth {a['terminal'] / 100:.2%}"
        + (f"; coloured against the last close {price:,.2f}" if priced else ""),
        fmt=",.2f",
        colorscale=PRICE_SCALE if priced else "Viridis",
        x_title="Terminal growth",
        y_title="WACC",
        value_title="USD/share",
        zmid=float(price) if priced else None,
    )
    figure["layout"]["annotations"] = [
        {
            "x": heat.columns[2],
            "y": heat.index[2],
            "text": "base",
            "showarrow": False,
            "yshift": -14,
            "font": {"size": 10},
        }
    ]
    figure["layout"]["shapes"] = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "y",
            "x0": 1.5,
            "x1": 2.5,
            "y0": 1.5,
            "y1": 2.5,
            "line": {"color": "black", "width": 3},
        }
    ]
    try:
        multiples: Any = multiples_grid(symbol, day, pin)
    except FAILURES as exc:
        multiples = states.empty(f"No sector comparison: {exc}")
    view = {**({"as_of": day} if day else {}), **({"pin": str(pin)} if pin is not None else {})}
    params = {"symbol": symbol, **{k: str(v) for k, v in a.items()}, **view}
    return (
        summary,
        projection,
        figure,
        multiples,
        export_href("valuation", "projection", params),
        export_href("valuation", "grid", params),
        export_href("valuation", "multiples", {"symbol": symbol, **view}),
    )


def equity_view(
    symbol: str, model: fitting.Model, a: Mapping[str, float], day: str | None = None, pin: int | None = None
) -> tuple[Any, ...]:
    """Banks, insurers and lenders on the justified P/B from ROE; REITs on the dividend discount model."""
    row = equity_inputs(symbol, day, pin)
    price = float(row["price"])
    try:
        base: dict[str, Any] | None = base_of(symbol, day, pin)
    except FAILURES:
        base = None
    a, sources = resolved(a, base)
    ke = valuation.capm_cost_of_equity(a["rf"] / 100, a["beta"], a["erp"] / 100)
    g = a["terminal"] / 100
    if model.kind == "pb_roe":
        roe, bvps = row["roe"], row["book_value_per_share"]
        if not (math.isfinite(bvps) and bvps > 0):
            raise AnalyticsError(f"{symbol}'s book equity is not positive: no justified P/B")
        pb = fitting.justified_pb(roe, ke, g)
        value = pb * bvps
        how = (
            f"Beta {a['beta']:.2f} ({sources['beta']}). "
            f"Justified P/B = (ROE {roe:.1%} - g {g:.2%}) / (cost of equity {ke:.2%} - g) = {pb:.2f}x;"
            f" x book value per share USD {bvps:,.2f} = USD {value:,.2f}."
        )
    else:
        dps = row["dividend_per_share"]
        value = fitting.gordon_ddm(dps, ke, g)
        how = (
            f"Beta {a['beta']:.2f} ({sources['beta']}). "
            f"Dividend per share USD {dps:,.2f} (last fiscal year) x (1 + g {g:.2%}) / (cost of equity"
            f" {ke:.2%} - g) = USD {value:,.2f}."
        )
    if day or pin is not None:  # say which statements, as the DCF's base-year line does
        how += (
            " Latest annual statement"
            + (f" known on {day}" if day else "")
            + (f" held by run #{pin}" if pin is not None else "")
            + ", at that day's close and share count."
        )
    upside = value / price - 1 if math.isfinite(price) and price > 0 else None
    summary = dbc.Card(
        dbc.CardBody(
            [
                html.H2(
                    [f"{symbol}: USD ", html.Span(f"{value:,.2f}", id="valuation-per-share"), " per share"],
                    className="h4",
                ),
                html.P(f"No firm DCF. {model.reason}.", id="valuation-model"),
                html.P(how, id="valuation-equity-model"),
                html.P(
                    f"Last close USD {price:,.2f}; upside {upside:+.1%}"
                    if upside is not None
                    else "No price stored."
                ),
            ]
        )
    )
    try:
        multiples: Any = multiples_grid(symbol, day, pin)
    except FAILURES as exc:
        multiples = states.empty(f"No sector comparison: {exc}")
    skipped = states.empty("No firm DCF projection for this company (see above).")
    view = {**({"as_of": day} if day else {}), **({"pin": str(pin)} if pin is not None else {})}
    return (
        summary,
        skipped,
        charts.empty_figure("No WACC x growth grid: the firm DCF does not fit this company."),
        multiples,
        "#",
        "#",
        export_href("valuation", "multiples", {"symbol": symbol, **view}),
    )
