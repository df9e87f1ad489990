"""Valuation's assumptions: the fields, their ranges and defaults, what a blank field takes from the
company, and each field's problem in words."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dashboard.components import formats
from dashboard.components.inputs import InvalidInput, valid_number

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


def usable_beta(beta: float) -> bool:
    _, _, low, high = ASSUMPTIONS["beta"]
    return math.isfinite(beta) and low <= beta <= high


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
