"""Valuation: DCF with editable assumptions, the WACC x terminal-growth grid, multiples vs the sector."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, html
from dash.development.base_component import Component

from dashboard.analytics import valuation
from dashboard.analytics.errors import AnalyticsError
from dashboard.analytics.fundamentals import field, ratios, safe_div, tax_rate
from dashboard.components import (
    benchmark_data,
    charts,
    company_data,
    formats,
    glossary,
    pins,
    point_in_time,
    states,
    tables,
    universe_data,
    urlstate,
)
from dashboard.components.export import export_href, register_export
from dashboard.components.formats import Col
from dashboard.components.inputs import InvalidInput, firm_flags, universe, valid_number, valid_symbol
from dashboard.components.page import (
    FAILURES,
    chart,
    choose_symbol,
    frame,
    heading,
    picker_data,
    register_picker,
    symbol_picker,
)
from dashboard.components.picker import Picker
from dashboard.data import queries
from dashboard.services import services
from serving import basis as period_basis
from serving import company as derive
from serving import fitting

dash.register_page(__name__, path="/valuation", name="Valuation", order=1, title="Valuation · MyCFATool")

# name: (label, default, low, high) — percentages are entered as percent. The fields of OWN may be left
# blank: they then take the company's own figure (`own_figures`), their default only when it has none;
# a blank fade is none (0 years), a blank exit multiple the sector's median EV/EBITDA.
ASSUMPTIONS: dict[str, tuple[str, Any, float, float]] = {
    "growth": ("FCF growth, explicit years (%)", 6.0, -50.0, 100.0),
    "years": ("Explicit years", 5, 1, 15),
    "terminal": ("Terminal growth (%)", 2.5, -5.0, 10.0),
    "rf": ("Risk-free rate (%)", 4.0, 0.0, 20.0),
    "beta": ("Beta", 1.0, -1.0, 5.0),
    "erp": ("Equity risk premium (%)", 5.5, 0.0, 20.0),
    "kd": ("Pre-tax cost of debt (%)", 5.0, 0.0, 30.0),
    "tax": ("Tax rate (%)", 21.0, 0.0, 60.0),
    "fade": ("Fade years to terminal growth", 0, 0, 15),
    "exit": ("Exit EV/EBITDA (x)", None, 1.0, 50.0),
}
OWN = ("beta", "kd", "tax")
BLANK_OK = (*OWN, "fade", "exit")
HINTED = (*OWN, "exit")  # fields whose placeholder and the line under them say what a blank takes
WHOLE = ("years", "fade")
PROJECTION_COLUMNS = {
    "year": Col("Year", "int"),
    "growth": Col("FCF growth", "pct"),
    "fcf": Col("Free cash flow (USD m)", "usd_m"),
    "discount_factor": Col("Discount factor", "num3"),
    "pv": Col("Present value (USD m)", "usd_m"),
}
# CSV exports keep raw numbers; their column names carry the unit.
PROJECTION_EXPORT = {"growth": "fcf_growth_fraction", "fcf": "fcf_usd", "pv": "pv_usd"}
# Below the last close red, above it blue, white at it (the heatmap's midpoint is the price).
PRICE_SCALE = [[0.0, "#b2182b"], [0.5, "#f7f7f7"], [1.0, "#2166ac"]]
MULTIPLE_NAMES = {
    "pe": "P/E",
    "ev_ebitda": "EV/EBITDA (CFA EV)",
    "ev_ebitda_fmp": "EV/EBITDA (FMP EV)",
    "ev_sales": "EV/Sales",
    "pb": "P/B",
    "p_fcf": "P/FCF",
}


URL = urlstate.page_state(
    "/valuation",
    "valuation",
    urlstate.Param("symbol", "valuation-symbol", kind="symbol", label="ticker"),
    urlstate.Param("asof", "valuation-asof", kind="date", prop="date", label="as-of date"),
    pins.param("valuation"),
    *[
        urlstate.Param(
            key,
            f"valuation-{key}",
            kind="number",
            default=None if key in OWN else default,  # blank: the company's figure
            low=low,
            high=high,
            label=label,
        )
        for key, (label, default, low, high) in ASSUMPTIONS.items()
    ],
)
register_picker("valuation-symbol")
pins.register("valuation")
# What a pinned DCF is computed from (base_inputs with `pin`).
PINNED = (
    "the statements as the store held them then, the last close on or before that day and the latest"
    " quarter's share count known then (not today's profile or beta)"
)


def layout(**query: Any) -> Component:
    data = picker_data()
    if not isinstance(data, Picker):
        return data
    state = URL.read(query)
    inputs = [
        dbc.Col(
            [
                dbc.Label(f"{label} [{low:g} to {high:g}]", html_for=f"valuation-{key}", className="small"),
                # Text, not type=number: the browser would send nothing for a value out of range or in
                # letters, and the page could not say which field is wrong or why.
                dbc.Input(
                    id=f"valuation-{key}",
                    type="text",
                    inputMode="decimal",
                    value=state[key],
                    debounce=True,
                ),
                dbc.FormFeedback(id=f"valuation-{key}-feedback", type="invalid"),
                *([dbc.FormText(id=f"valuation-{key}-source", className="small")] if key in HINTED else []),
            ],
            md=3,
        )
        for key, (label, default, low, high) in ASSUMPTIONS.items()
    ]
    return frame(
        "Valuation",
        URL,
        state,
        dbc.Row(
            [
                symbol_picker("valuation-symbol", data, choose_symbol(state, data), md=4),
                company_data.as_of_picker("valuation-asof", md=4, value=state["asof"]),
                pins.control("valuation", state["pin"], md=4),
            ],
            className="mb-2 g-2 align-items-end",
        ),
        html.Div(id="valuation-pinned", className="small text-muted mb-1"),
        dbc.Row(inputs, className="g-2 mb-3"),
        states.loading(html.Div(id="valuation-summary"), "valuation-summary"),
        heading("DCF projection", "valuation", "projection"),
        html.Div(id="valuation-projection"),
        heading("Value per share: WACC x terminal growth", "valuation", "grid", gap=True),
        chart("valuation-grid-graph", "valuation-grid"),
        heading("Multiples vs sector median", "valuation", "multiples", gap=True),
        states.loading(html.Div(id="valuation-multiples"), "valuation-multiples"),
    )


# The base year's figures: metric_history column -> FMP field of the combined annual statements.
BASE_FIGURES = {
    "free_cash_flow": "freeCashFlow",
    "net_debt": "netDebt",
    "total_debt": "totalDebt",
    "total_equity": "totalStockholdersEquity",
    "shares_diluted": "weightedAverageShsOutDil",
    "interest_expense": "interestExpense",
    "ebitda": "ebitda",
}


def base_of(symbol: str, as_of: str | None = None, pin: int | None = None) -> dict[str, Any]:
    """`base_inputs`, cached per choice and data version (shared: copy before changing it)."""
    key = (symbol, as_of, pin)
    return services().cache.cached("valuation-base", key, lambda: base_inputs(symbol, as_of, pin))


def base_inputs(symbol: str, as_of: str | None = None, pin: int | None = None) -> dict[str, Any]:
    """Base-year FCF, net debt, total debt, book equity, the share count and its source, last close.

    The latest figures come from metric_history's last annual row (the combined statements' last row,
    computed at ingest), the last close and the share counts from one indexed read each. With `as_of`
    (YYYY-MM-DD) everything is as known at the end of that day: the statements then (restated rows as
    first reported), the last close on or before it, the latest quarter's share count then (the profile
    is today's, so it is not used). With `pin` the same, as the store held them when that run ended (the
    close on or before the day it ended, or `as_of` when earlier).
    """
    columns = (*BASE_FIGURES, "effective_tax_rate")
    live = as_of is None and pin is None
    stored = company_data.history(symbol, "FY", columns) if live else None
    router = services().router
    if stored is not None:
        if stored.empty:
            raise AnalyticsError(f"no annual statements for {symbol}")
        figures = {name: float(stored[column].iloc[-1]) for column, name in BASE_FIGURES.items()}
        tax, year = float(stored["effective_tax_rate"].iloc[-1]), stored.index[-1]
    else:
        annual = company_data.combined(symbol, "FY", as_of, "restated", pin)
        if annual.empty:
            raise AnalyticsError(
                f"no annual statements for {symbol}"
                + (f" known on {as_of}" if as_of else "")
                + (f" held by run #{pin}" if pin is not None else "")
            )
        figures = {name: float(field(annual.iloc[-1:], name).iloc[0]) for name in BASE_FIGURES.values()}
        tax, year = float(tax_rate(annual.iloc[-1:]).iloc[0]), annual.index[-1]
    candidates: dict[str, float | None]
    if live:
        counts = queries.share_counts(router, [symbol]).reindex([symbol])
        candidates = {
            "profile": float(counts["profile_shares"].iloc[0]),
            "quarter": float(counts["quarter_shares"].iloc[0]),
        }
        price = queries.last_close(router, symbol)
    else:
        quarters = company_data.statements(symbol, "Q", as_of, "restated", pin).get("income", pd.DataFrame())
        candidates = (
            {"quarter": float(field(quarters.iloc[-1:], "weightedAverageShsOutDil").iloc[0])}
            if not quarters.empty
            else {}
        )
        price = queries.last_close(router, symbol, pins.last_day(as_of, pin))
    candidates["annual"] = figures["weightedAverageShsOutDil"]
    shares, source = valuation.current_share_count(candidates)
    beta = profile_beta(symbol) if live else math.nan
    return {
        "as_of": as_of,
        "pin": pin,
        "fcf": figures["freeCashFlow"],
        "net_debt": figures["netDebt"],
        "debt": figures["totalDebt"],
        "book_equity": figures["totalStockholdersEquity"],
        "shares": shares,
        "shares_source": source,
        "price": price,
        "base_date": pd.Timestamp(year).date().isoformat(),
        "interest_expense": figures["interestExpense"],
        "ebitda": figures["ebitda"],
        "tax_rate": tax,
        # The profile is today's: as of a date its beta would be hindsight, so it is not used.
        "beta": beta,
        # Without a usable profile beta: the regression on the S&P 500 up to the day valued (no hindsight).
        "regression": None
        if usable_beta(beta)
        else benchmark_data.regression_beta(symbol, pins.last_day(as_of, pin)),
    }


def usable_beta(beta: float) -> bool:
    _, _, low, high = ASSUMPTIONS["beta"]
    return math.isfinite(beta) and low <= beta <= high


def profile_beta(symbol: str) -> float:
    """The beta of the company's FMP profile (NaN when it has none)."""
    svc = services()
    row = svc.cache.cached("company", (symbol,), lambda: queries.company(svc.router, symbol)) or {}
    profile = row.get("profile")
    beta = profile.get("beta") if isinstance(profile, dict) else None
    return float(beta) if isinstance(beta, int | float) and not isinstance(beta, bool) else math.nan


def own_figures(base: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """What a blank beta, cost of debt and tax-rate field takes (in the field's unit), and where it comes
    from: the company's own figure where it is usable (within the field's range), else the field's default
    with the reason."""
    label = f"FY ending {base['base_date']}"
    beta = base.get("beta", math.nan)
    default_beta = ASSUMPTIONS["beta"][1]
    regression = base.get("regression")
    own: dict[str, tuple[float, str]] = {}
    if usable_beta(beta):
        own["beta"] = (beta, "FMP profile")
    elif regression is not None and usable_beta(regression[0].beta):
        fit, end = regression
        own["beta"] = (
            fit.beta,
            f"regression on the S&P 500: {fit.observations} weekly returns to {end}, R² {fit.r_squared:.2f}",
        )
    else:
        own["beta"] = (
            default_beta,
            "market beta: "
            + ("as of a date today's profile is not used" if base.get("as_of") else "the profile has none")
            + ("" if regression is not None else "; no S&P 500 regression (series not stored or too short)"),
        )
    interest, debt = base["interest_expense"], base["debt"]
    kd = interest / debt * 100 if math.isfinite(interest) and math.isfinite(debt) and debt > 0 else math.nan
    _, default_kd, low, high = ASSUMPTIONS["kd"]
    if math.isfinite(kd) and low < kd <= high:
        own["kd"] = (
            kd,
            f"interest expense {formats.money(interest)} / total debt {formats.money(debt)}, {label}",
        )
    else:
        why = (
            "no debt"
            if not (math.isfinite(debt) and debt > 0)
            else "no interest expense reported"
            if not (math.isfinite(interest) and interest > 0)
            else f"interest / debt {kd:.1f} % is outside {low:g} to {high:g}"
        )
        own["kd"] = (default_kd, f"default: {why} ({label})")
    tax = base["tax_rate"] * 100
    _, default_tax, low, high = ASSUMPTIONS["tax"]
    if math.isfinite(tax) and low <= tax < high:
        own["tax"] = (tax, f"effective rate, income tax / pre-tax income, {label}")
    else:
        why = (
            "pre-tax loss"
            if not math.isfinite(tax)
            else f"effective rate {tax:.1f} % is outside {low:g} to {high:g}"
        )
        own["tax"] = (default_tax, f"US statutory rate: {why} ({label})")
    return own


def resolved(
    a: Mapping[str, float], base: Mapping[str, Any] | None
) -> tuple[dict[str, float], dict[str, str]]:
    """The assumptions with each blank OWN field filled from the company, and per OWN field where its
    value comes from ("typed" when the analyst typed it)."""
    own = own_figures(base) if base is not None else {}
    values, sources = dict(a), {}
    for key in OWN:
        if key in a:
            sources[key] = "typed"
        elif key in own:
            values[key], sources[key] = own[key]
        else:
            values[key], sources[key] = ASSUMPTIONS[key][1], "default"
    return values, sources


def exit_multiple(symbol: str, a: Mapping[str, float], base: Mapping[str, Any]) -> tuple[float | None, str]:
    """The exit EV/EBITDA: typed, else the sector's median (the multiples' TTM basis); None with the reason
    when there is none or the base year's EBITDA is not positive (a multiple of it means nothing)."""
    ebitda = base["ebitda"]
    if not (math.isfinite(ebitda) and ebitda > 0):
        return None, "the base year's EBITDA is not positive"
    if "exit" in a:
        return a["exit"], "typed"
    if base.get("as_of") or base.get("pin") is not None:  # today's medians would be hindsight
        return None, "no sector median for a past date or a pinned run (type one)"
    sector = universe().set_index("symbol")["sector"].get(symbol)
    medians, counts = universe_data.basis_medians("ttm")
    if isinstance(sector, str) and sector in medians.index:
        median = float(medians.loc[sector, "ev_ebitda"])
        if math.isfinite(median) and median > 0:
            n = int(counts.loc[sector, "ev_ebitda"])
            return median, f"the {sector} median EV/EBITDA of {n} companies"
    return None, "no sector median EV/EBITDA to default to (type one)"


def equity_for_weights(base: Mapping[str, Any]) -> tuple[float, str]:
    """Equity value for the WACC weights: market cap at the last close, else book equity (no price stored)."""
    market = base["price"] * base["shares"]
    if math.isfinite(market) and market > 0:
        return market, "market"
    book = base["book_equity"]
    if math.isfinite(book) and book > 0:
        return book, "book (no price stored)"
    raise AnalyticsError("no price stored and no positive book equity: cannot weight the cost of equity")


def run_dcf(
    symbol: str, a: Mapping[str, float], as_of: str | None = None, pin: int | None = None
) -> tuple[valuation.DCFResult, pd.DataFrame, valuation.Wacc, dict[str, Any]]:
    # A copy: the cached dict is shared by every later request of this worker, and run_dcf adds to it.
    base = dict(base_of(symbol, as_of, pin))
    if not math.isfinite(base["shares"]):
        raise AnalyticsError(f"no share count stored for {symbol}")
    a, base["sources"] = resolved(a, base)
    base["assumed"] = {key: a[key] for key in OWN}
    ke = valuation.capm_cost_of_equity(a["rf"] / 100, a["beta"], a["erp"] / 100)
    equity_value, base["equity_basis"] = equity_for_weights(base)
    w = valuation.wacc(
        cost_of_equity=ke,
        pre_tax_cost_of_debt=a["kd"] / 100,
        tax_rate=a["tax"] / 100,
        equity_value=equity_value,
        debt_value=max(base["debt"], 0.0) if math.isfinite(base["debt"]) else 0.0,
    )
    growth, years, fade = a["growth"] / 100, int(a["years"]), int(a.get("fade", 0))
    terminal = a["terminal"] / 100
    path = valuation.fade_path(growth, years, fade, terminal)
    net_debt, shares = base["net_debt"], base["shares"]
    case = functools.partial(
        valuation.dcf,
        base["fcf"],
        growth=path,
        years=len(path),
        wacc=w.value,
        terminal_growth=terminal,
        net_debt=net_debt,
        shares=shares,
    )
    multiple, base["exit_source"] = exit_multiple(symbol, a, base)
    priced = math.isfinite(base["price"]) and base["price"] > 0
    result = case(
        price=base["price"] if priced else None,
        exit_multiple=multiple,
        exit_metric=base["ebitda"] if multiple is not None else None,
    )
    base["fade"] = fade
    base["implied"], base["implied_note"] = None, "no price stored"
    if priced:
        try:
            base["implied"] = valuation.implied_growth(
                base["fcf"],
                price=base["price"],
                years=years,
                fade_years=fade,
                wacc=w.value,
                terminal_growth=terminal,
                net_debt=net_debt,
                shares=shares,
                low=ASSUMPTIONS["growth"][2] / 100,
                high=ASSUMPTIONS["growth"][3] / 100,
            )
        except AnalyticsError as exc:
            base["implied_note"] = str(exc)
    mid = case(table=False, mid_year=True)
    base["mid_year_per_share"] = mid.gordon.per_share
    # Not rounded: the centre cell must be the headline value (a WACC rounded to 4 dp moved it by cents).
    waccs = [w.value + d for d in (-0.02, -0.01, 0.0, 0.01, 0.02)]
    growths = [a["terminal"] / 100 + d for d in (-0.01, -0.005, 0.0, 0.005, 0.01)]
    grid = valuation.sensitivity(  # the fade path stays the base case's in every cell
        base["fcf"],
        growth=path,
        years=len(path),
        waccs=waccs,
        terminal_growths=growths,
        net_debt=net_debt,
        shares=shares,
    )
    return result, grid, w, base


def field_problems(values: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """The assumptions that read, and per field that does not, its message (its own range and reason)."""
    good: dict[str, float] = {}
    bad: dict[str, str] = {}
    for key, (label, _, low, high) in ASSUMPTIONS.items():
        if key in BLANK_OK and str(values.get(key) or "").strip() == "":
            continue  # blank: the company's own figure, no fade, the sector's multiple (`resolved`)
        try:
            number = valid_number(values.get(key), low=low, high=high, name=label)
            if key in WHOLE and not number.is_integer():
                raise InvalidInput(f"{label} must be a whole number of years")
            good[key] = number
        except InvalidInput as exc:
            bad[key] = str(exc)
    return good, bad


def assumptions(values: Mapping[str, Any]) -> dict[str, float]:
    """Every assumption, checked (the CSV exports): the first problem raised."""
    good, bad = field_problems(values)
    if bad:
        raise InvalidInput(next(iter(bad.values())))
    return good


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


def multiples_vs_sector(
    symbol: str, as_of: str | None = None, pin: int | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each multiple of the symbol (NaN where n/m), its sector's median over the companies this store
    holds and how many companies that median covers, the premium; and the row's basis, period end and age.

    As of a date the medians are not given (the universe's multiples then are not computed)."""
    own = own_multiples(symbol, as_of, pin)
    names = list(valuation.MULTIPLES)
    values = own.loc[symbol, names].astype(float)
    nm = {name: bool(mask.iloc[0]) for name, mask in period_basis.not_meaningful(own).items()}
    sector = universe().set_index("symbol")["sector"].get(symbol)
    medians = pd.Series(math.nan, index=names)
    counts = pd.Series(math.nan, index=names)
    if as_of is None and pin is None:
        by_sector, covered = universe_data.basis_medians("ttm")
        if isinstance(sector, str) and sector in by_sector.index:
            medians = by_sector.loc[sector, names].astype(float)
            counts = covered.loc[sector, names].astype(float)
    out = pd.DataFrame(
        {
            "value": values,
            "not_meaningful": [nm.get(n, False) for n in names],
            "sector_median": medians,
            "companies": counts,
            "premium": safe_div(values, medians) - 1.0,
        },
        index=pd.Index(names, name="multiple"),
    )
    row = own.iloc[0]
    meta = {
        "sector": sector if isinstance(sector, str) else None,
        "basis": row.get("basis"),
        "period_end": row.get("period_end"),
        "stale": bool(row.get("stale")),
        "as_of": pins.last_day(as_of, pin),
    }
    return out.reset_index(), meta


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
    table = table.copy()
    table["key"] = table["multiple"]  # the figure's name: its definition shows on the row
    table["multiple"] = [MULTIPLE_NAMES.get(m, m) for m in table["multiple"]]
    table["value"] = table["value"].astype(object).where(~table["not_meaningful"], period_basis.NM)
    table["premium"] = table["premium"].astype(object).where(~table["not_meaningful"], period_basis.NM)
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


@callback(
    Output("valuation-summary", "children"),
    Output("valuation-projection", "children"),
    Output("valuation-grid-graph", "figure"),
    Output("valuation-multiples", "children"),
    Output("valuation-export-projection", "href"),
    Output("valuation-export-grid", "href"),
    Output("valuation-export-multiples", "href"),
    *[Output(f"valuation-{key}", "placeholder") for key in HINTED],
    *[Output(f"valuation-{key}-source", "children") for key in HINTED],
    *[Output(f"valuation-{key}", "invalid") for key in ASSUMPTIONS],
    *[Output(f"valuation-{key}-feedback", "children") for key in ASSUMPTIONS],
    Input("valuation-symbol", "value"),
    Input("valuation-asof", "date"),
    Input("valuation-pin", "value"),
    *[Input(f"valuation-{key}", "value") for key in ASSUMPTIONS],
)
def valuation_update(symbol: str | None, as_of: str | None, pin: Any, *values: Any) -> tuple[Any, ...]:
    good, bad = field_problems(dict(zip(ASSUMPTIONS, values, strict=True)))
    flags = [key in bad for key in ASSUMPTIONS]
    messages = [bad.get(key) for key in ASSUMPTIONS]
    try:
        symbol = valid_symbol(symbol)
        day = company_data.as_of_date(as_of)
        pinned = point_in_time.pinned_run(pin)
    except FAILURES as exc:  # nothing to value: one message, in the summary's place
        nothing = ("",) * len(HINTED) + (None,) * len(HINTED)
        return (
            states.error(str(exc)),
            None,
            charts.blank_figure(),
            None,
            "#",
            "#",
            "#",
            *nothing,
            *flags,
            *messages,
        )
    hints = own_hints(symbol, day, pinned)
    if bad:  # each bad field says why beside itself; everything else keeps its last answer
        return (*[dash.no_update] * 7, *hints, *flags, *messages)
    try:
        # The whole answer per (symbol, as-of, assumptions) and data version: the same for every analyst,
        # and most of them value a company on the default assumptions.
        key = (symbol, day, pinned, tuple(good.items()))
        answer = services().cache.cached("valuation-view", key, lambda: _view(symbol, day, good, pinned))
    except FAILURES as exc:  # one message, in the summary's place; the multiples do not need the DCF
        try:
            multiples: Any = multiples_grid(symbol, day, pinned)
        except FAILURES:
            multiples = None
        return (
            states.error(str(exc)),
            None,
            charts.blank_figure(),
            multiples,
            "#",
            "#",
            "#",
            *hints,
            *flags,
            *messages,
        )
    return (*answer, *hints, *flags, *messages)


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


def _view(symbol: str, day: str | None, a: Mapping[str, float], pin: int | None = None) -> tuple[Any, ...]:
    """Summary, projection, grid figure, multiples and export links (raises what `run_dcf` raises)."""
    model = fitting.model_for(universe().set_index("symbol")["sub_industry"].get(symbol))
    if model.kind != "dcf":
        return _equity_view(symbol, model, a, day, pin)
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


def equity_inputs(symbol: str, as_of: str | None = None, pin: int | None = None) -> dict[str, float]:
    """The equity models' price, ROE, book value per share and dividend per share. Live, a current member's
    are the Screener table's row; as of a date, pinned, or for a company outside the index (a former
    member has no row there) they come from the latest annual statements known then, at the DCF's close
    and share count of that day (`base_inputs`), with the Screener's ratio definitions."""
    if as_of is None and pin is None:
        table = universe_data.metrics()
        if symbol in table.index:
            row = table.loc[symbol]
            price = float(row["price"])
            return {
                "price": price,
                "roe": float(row["roe"]),
                "book_value_per_share": float(row["book_value_per_share"]),
                "dividend_per_share": float(row["dividend_yield"]) * price,
            }
    base = base_of(symbol, as_of, pin)
    annual = company_data.combined(symbol, "FY", as_of, "restated", pin)
    last = ratios(annual).iloc[-1]  # ROE on the average of the last two years' equity, as the Screener's
    return {
        "price": float(base["price"]),
        "roe": float(last["roe"]),
        "book_value_per_share": float(last["book_value_per_share"]),
        "dividend_per_share": float(-field(annual.iloc[-1:], "commonDividendsPaid").iloc[0]) / base["shares"],
    }


def _equity_view(
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


@register_export("valuation", "projection")
def export_projection(args: Mapping[str, str]) -> pd.DataFrame:
    as_of, pin = company_data.as_of_date(args.get("as_of")), point_in_time.pinned_run(args.get("pin"))
    projection = run_dcf(valid_symbol(args.get("symbol")), assumptions(args), as_of, pin)[0].projection
    return projection.rename(columns=PROJECTION_EXPORT)


@register_export("valuation", "grid")
def export_grid(args: Mapping[str, str]) -> pd.DataFrame:
    as_of, pin = company_data.as_of_date(args.get("as_of")), point_in_time.pinned_run(args.get("pin"))
    grid = run_dcf(valid_symbol(args.get("symbol")), assumptions(args), as_of, pin)[1]
    # Rows: WACC, columns: terminal growth (both fractions); cells: value per share in USD.
    return grid.rename_axis(index="wacc", columns="value_per_share_usd_by_terminal_growth")


@register_export("valuation", "multiples")
def export_multiples(args: Mapping[str, str]) -> pd.DataFrame:
    """The comparison with the basis and period end on every row; n/m values left empty, and named."""
    table, meta = multiples_vs_sector(
        valid_symbol(args.get("symbol")),
        company_data.as_of_date(args.get("as_of")),
        point_in_time.pinned_run(args.get("pin")),
    )
    return table.assign(basis=meta["basis"], period_end=meta["period_end"], over_9_months_old=meta["stale"])


@callback(Output("valuation-pinned", "children"), Input("valuation-pin", "value"))
def valuation_pinned(pin: Any) -> Any:
    """Says that the valuation is pinned, and to what (a run the ledger does not hold: why not)."""
    try:
        pinned = point_in_time.pinned_run(pin)
    except FAILURES as exc:
        return states.error(str(exc))
    return pins.sentence(pinned, PINNED) if pinned is not None else None
