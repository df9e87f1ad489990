"""Valuation's figures, a row each: what it read from the store (a line of the base year's statements,
the share count, the last close) and where each comes from, then what the firm DCF computed from them and
from which of them (their trails: `valuation_trails`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboard.components import company_data, pins, point_in_time
from dashboard.components.inputs import universe
from dashboard.components.page import FAILURES
from dashboard.components.valuation_base import base_of
from dashboard.components.valuation_dcf import run_dcf
from dashboard.services import services
from serving import fitting

# The base year's lines the DCF reads: key in `base_inputs` -> (label, statement, FMP line, unit kind).
STATEMENT_INPUTS: dict[str, tuple[str, str, str, str]] = {
    "fcf": ("Free cash flow", "cashflow", "freeCashFlow", "usd_m"),
    "net_debt": ("Net debt", "balance", "netDebt", "usd_m"),
    "debt": ("Total debt", "balance", "totalDebt", "usd_m"),
    "book_equity": ("Book equity", "balance", "totalStockholdersEquity", "usd_m"),
    "interest_expense": ("Interest expense", "income", "interestExpense", "usd_m"),
    "ebitda": ("EBITDA", "income", "ebitda", "usd_m"),
}
# The assumptions a blank field takes from the company: label, unit kind, scale from the field's unit.
OWN_LABELS = {
    "beta": ("Beta", "num2", 1.0),
    "kd": ("Pre-tax cost of debt", "pct2", 0.01),
    "tax": ("Tax rate", "pct2", 0.01),
}
SHARES_LINE = ("income", "weightedAverageShsOutDil")


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure of the valuation: fetched (`origin` statement, price or profile: its trail is the
    store's) or computed (`inputs`: the keys of the figures it is computed from, `formula` how)."""

    key: str
    label: str
    value: float
    unit: str
    source: str
    origin: str = "statement"
    kind: str | None = None
    field: str | None = None
    period: str = "FY"
    fiscal: str | None = None
    inputs: tuple[str, ...] = ()
    formula: str = ""
    reads: tuple[str, ...] = ()  # the statement lines it reads: its own `field`, or a rate's two lines


def shown_figures(symbol: str, day: str | None, pin: int | None, a: Mapping[str, float]) -> list[Figure]:
    """What the valuation read from the store, then (a firm DCF) what it computed from it: cached per
    choice and data version."""

    def build() -> list[Figure]:
        base = base_of(symbol, day, pin)
        shown = fetched(symbol, base)
        if fitting.model_for(universe().set_index("symbol")["sub_industry"].get(symbol)).kind != "dcf":
            return shown
        try:
            result, _, w, used = run_dcf(symbol, a, day, pin)
        except FAILURES:  # the summary says why; what was read still has its trail
            return shown
        return shown + computed(used, a, result, w)

    return services().cache.cached("valuation-figures", (symbol, day, pin, tuple(a.items())), build)


def fetched(symbol: str, base: Mapping[str, Any]) -> list[Figure]:
    """The inputs the valuation takes from the store, as `base_inputs` read them."""
    day = base["base_date"]
    out = [
        Figure(
            key,
            label,
            float(base[key]),
            unit,
            f"{point_in_time.STATEMENT_NAMES[kind]}, FY ending {day}",
            kind=kind,
            field=line,
            fiscal=day,
        )
        for key, (label, kind, line, unit) in STATEMENT_INPUTS.items()
    ]
    source, period = base["shares_source"], base.get("shares_period")
    if source == "profile":
        out.append(
            Figure(
                "shares",
                "Shares",
                float(base["shares"]),
                "shares_m",
                "FMP profile: market cap / price",
                origin="profile",
            )
        )
    else:
        span = "FY" if source == "annual" else "quarter"
        out.append(
            Figure(
                "shares",
                "Shares (diluted, weighted average)",
                float(base["shares"]),
                "shares_m",
                f"Income, {span} ending {period}",
                kind=SHARES_LINE[0],
                field=SHARES_LINE[1],
                period="FY" if source == "annual" else "Q",
                fiscal=period,
            )
        )
    close = close_day(symbol, pins.last_day(base.get("as_of"), base.get("pin")))
    out.append(
        Figure(
            "price",
            "Last close",
            float(base["price"]),
            "usd",
            f"Daily prices, close of {close}" if close else "no close stored",
            origin="price",
            fiscal=close,
        )
    )
    return out


def computed(base: Mapping[str, Any], a: Mapping[str, float], result: Any, w: Any) -> list[Figure]:
    """The DCF's outputs and the assumptions it took from the company, each with the figures and
    assumptions it is computed from (`run_dcf`'s answer)."""
    g = result.gordon
    sources = base["sources"]
    used = base["assumed"]
    return [
        Figure(
            "per_share",
            "Value per share (DCF)",
            g.per_share,
            "usd",
            "computed: equity value / shares",
            origin="computed",
            inputs=("equity_value", "shares"),
            formula="(enterprise value - net debt) / shares",
        ),
        Figure(
            "equity_value",
            "Equity value",
            g.equity_value,
            "usd_m",
            "computed: enterprise value - net debt",
            origin="computed",
            inputs=("enterprise_value", "net_debt"),
            formula="enterprise value - net debt",
        ),
        Figure(
            "enterprise_value",
            "Enterprise value",
            g.enterprise_value,
            "usd_m",
            "computed: PV of the explicit years' FCF + PV of the Gordon terminal value",
            origin="computed",
            inputs=("fcf", "wacc"),
            formula=f"base-year free cash flow grown {a['growth']:.2f} % a year for {int(a['years'])}"
            f" years (fade {base['fade']} years), terminal growth {a['terminal']:.2f} %, discounted at"
            " the WACC",
        ),
        Figure(
            "wacc",
            "WACC",
            w.value,
            "pct2",
            f"computed: cost of equity {w.cost_of_equity:.2%}, after-tax cost of debt"
            f" {w.after_tax_cost_of_debt:.2%}, equity weight {w.equity_weight:.0%}",
            origin="computed",
            inputs=("beta", "kd", "tax", "price", "shares", "debt"),
            formula=f"CAPM cost of equity (risk-free {a['rf']:.2f} % + beta x equity risk premium"
            f" {a['erp']:.2f} %) and after-tax cost of debt, weighted by {base['equity_basis']} equity"
            " and total debt",
        ),
        *(_assumed(key, sources[key], used[key], base) for key in OWN_LABELS),
    ]


def _assumed(key: str, source: str, value: float, base: Mapping[str, Any]) -> Figure:
    """Beta, cost of debt or tax rate as the DCF used it: typed, a default, the profile's, or computed
    from the company's figures (which ones)."""
    label, unit, scale = OWN_LABELS[key]
    origin = (
        "typed"
        if source == "typed"
        else "profile"
        if source == "FMP profile"
        else "computed"
        if source.startswith(("regression", "interest", "effective"))
        else "default"
    )
    inputs = (
        {"kd": ("interest_expense", "debt"), "beta": ("price",)}.get(key, ()) if origin == "computed" else ()
    )
    taxed = key == "tax" and origin == "computed"  # the effective rate: the base year's income statement
    return Figure(
        key,
        label,
        value * scale,
        unit,
        "typed in its field above" if origin == "typed" else source,
        origin=origin,
        kind="income" if taxed else None,
        fiscal=base["base_date"] if taxed else None,
        reads=("incomeTaxExpense", "incomeBeforeTax") if taxed else (),
        inputs=inputs,
        formula=source,
    )


def close_day(symbol: str, day: str | None) -> str | None:
    """The day of the last stored close on or before `day` (the latest when None)."""
    history = company_data.prices(symbol)
    upto = history if day is None else history.loc[: pd.Timestamp(day)]
    return None if upto.empty else f"{upto.index[-1]:%Y-%m-%d}"
