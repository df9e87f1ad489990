"""Input validation: tickers against an allow-list pattern and the companies table, numbers in ranges."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from dashboard.components import glossary
from dashboard.data import queries
from dashboard.errors import DashboardError
from dashboard.services import services
from serving import fitting

SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
# Inputs are bounded *before* they are parsed: a crafted callback body must not buy minutes of a
# worker's time (a million tickers at ~120 us each). The longest honest text is 20 holdings (~400).
MAX_TEXT_CHARS = 2_000
MAX_SYMBOL_CHARS = 32
MAX_NUMBER_CHARS = 64
MAX_LIST_ITEMS = 64  # sectors (11), overlays (a handful), compared tickers (10)


class InvalidInput(DashboardError, ValueError):
    """A user input outside what the page accepts; the message is safe to show."""


def universe() -> pd.DataFrame:
    """All companies (symbol, name, sector, sub_industry, member), cached per data version."""
    svc = services()
    return svc.cache.cached("companies", (), lambda: queries.companies(svc.router))


def company_field(symbol: str, column: str) -> Any:
    """One company's `column` of universe() (None for an unknown ticker), as
    `universe().set_index("symbol")[column].get(symbol)` gives it, from a per-data-version index by
    symbol: re-indexing the whole universe per lookup cost ~0.2 ms."""
    svc = services()

    def build() -> dict[str, dict[str, Any]]:
        frame = universe()
        return {
            symbol: dict(zip(frame.columns, row, strict=True))
            for symbol, row in zip(
                frame["symbol"].tolist(), frame.itertuples(index=False, name=None), strict=True
            )
        }

    return svc.cache.cached("companies-by-symbol", (), build).get(symbol, {}).get(column)


def members() -> pd.DataFrame:
    """The index's current members (universe() rows with `member`): the serving universe the Screener,
    sector medians and peer overlays cover. Former members stay in universe() for the per-company pages
    and point-in-time screens (those pick the members of their own date)."""
    svc = services()

    def build() -> pd.DataFrame:
        frame = universe()
        return frame[frame["member"].astype(bool)].reset_index(drop=True) if not frame.empty else frame

    return svc.cache.cached("members", (), build)


def firm_flags() -> pd.Series:
    """Per symbol of every company, False for one valued on its equity (bank, insurer, lender: no EV
    multiples, `fitting.firm_flags` of its GICS sub-industry), cached per data version."""

    def build() -> pd.Series:
        frame = universe()
        if frame.empty:
            return pd.Series(dtype=bool)
        return fitting.firm_flags(frame.set_index("symbol")["sub_industry"])

    return services().cache.cached("firm-flags", (), build)


def known_symbols() -> frozenset[str]:
    """Every company's ticker, as a set built once per data version (not per checked ticker)."""
    return services().cache.cached("known-symbols", (), lambda: frozenset(universe()["symbol"]))


def symbol_options() -> list[dict[str, str]]:
    """The ticker picker's options, built once per data version (every page view shows them)."""
    svc = services()

    def build() -> list[dict[str, str]]:
        frame = universe()
        symbols, names = frame["symbol"].tolist(), frame["name"].tolist()
        return [{"label": f"{s} · {n}", "value": s} for s, n in zip(symbols, names, strict=True)]

    return svc.cache.cached("symbol-options", (), build)


def bounded_text(value: object, *, name: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    """`value` when it is text of at most `max_chars` ("" for None), checked before any parsing.

    Raises:
        InvalidInput: not text, or too long.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text")
    if len(value) > max_chars:
        raise InvalidInput(f"{name} is too long (at most {max_chars:,} characters)")
    return value


def bounded_list(value: object, *, name: str, max_items: int = MAX_LIST_ITEMS) -> list[object]:
    """`value` when it is a list of at most `max_items` ([] for None), checked before any parsing.

    Raises:
        InvalidInput: not a list, or too long.
    """
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{name} must be a list")
    if len(value) > max_items:
        raise InvalidInput(f"choose at most {max_items} {name}")
    return value


def valid_symbol(value: object) -> str:
    """The ticker, upper-cased, when it matches the pattern and is a known company.

    Raises:
        InvalidInput: anything else.
    """
    if value is not None and (not isinstance(value, str) or len(value) > MAX_SYMBOL_CHARS):
        raise InvalidInput("enter a ticker such as AAPL")
    text = (value or "").strip().upper()
    if not SYMBOL.match(text):
        raise InvalidInput("enter a ticker such as AAPL")
    known = known_symbols()
    if text not in known and text.replace(".", "-") in known:
        text = text.replace(".", "-")  # FMP (and so the store) spells class shares BRK-B, not BRK.B
    if text not in known:
        raise InvalidInput(f"{text} is not a company we hold")
    return text


def valid_symbols(values: object, *, minimum: int, maximum: int) -> list[str]:
    """Distinct known tickers, between `minimum` and `maximum` of them (counted before parsing).

    Raises:
        InvalidInput: not a list of tickers, too few or too many, or one is not a company we hold.
    """
    if values is not None and not isinstance(values, list):
        raise InvalidInput("tickers must be a list")
    if len(values or []) > maximum:
        raise InvalidInput(f"choose between {minimum} and {maximum} tickers")
    given = [v for v in values or [] if not (v is None or (isinstance(v, str) and not v.strip()))]
    symbols = list(dict.fromkeys(valid_symbol(v) for v in given))
    if not minimum <= len(symbols) <= maximum:
        raise InvalidInput(f"choose between {minimum} and {maximum} tickers")
    return symbols


def valid_number(value: object, *, low: float, high: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"{name} must be a number")
    if isinstance(value, str) and len(value) > MAX_NUMBER_CHARS:
        raise InvalidInput(f"{name} must be a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise InvalidInput(f"{name} must be a number") from None
    if not low <= number <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}")
    return number


def valid_choice(value: object, choices: Iterable[str], *, name: str) -> str:
    allowed = tuple(choices)
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}")
    return str(value)


def group(label: str, control: Any) -> html.Fieldset:
    """A control group with its label as the fieldset's legend (screen readers say it before the choices)."""
    return html.Fieldset(
        [html.Legend(label, className="small text-muted mb-0 mycfa-legend"), control], className="mb-1"
    )


def radio_column(id_: str, choices: Mapping[str, str], value: str, *, md: int, label: str) -> dbc.Col:
    """A labelled inline radio group in a grid column; `choices` maps each value to its label."""
    return _choice_column(dbc.RadioItems, id_, choices, value, md=md, label=label)


def check_column(id_: str, choices: Mapping[str, str], value: list[str], *, md: int, label: str) -> dbc.Col:
    """A labelled inline checkbox group in a grid column."""
    return _choice_column(dbc.Checklist, id_, choices, value, md=md, label=label)


def _choice_column(
    kind: Any, id_: str, choices: Mapping[str, str], value: Any, *, md: int, label: str
) -> dbc.Col:
    # A choice that is a derived figure (an indicator, a view, a method) says what it is on hover.
    options = [{"label": glossary.term(text, key), "value": key} for key, text in choices.items()]
    return dbc.Col(group(label, kind(id=id_, options=options, value=value, inline=True)), md=md)
