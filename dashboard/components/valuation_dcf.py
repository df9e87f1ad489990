"""Valuation's firm DCF: the WACC, the fade path, the exit multiple, the reverse DCF and the WACC x
terminal-growth grid for one choice of company, date and assumptions."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from dashboard.analytics import valuation
from dashboard.analytics.errors import AnalyticsError
from dashboard.components import universe_data
from dashboard.components.inputs import company_field
from dashboard.components.valuation_base import base_of
from dashboard.components.valuation_inputs import ASSUMPTIONS, OWN, resolved


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
    sector = company_field(symbol, "sector")
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
