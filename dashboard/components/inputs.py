"""Input validation: tickers against an allow-list pattern and the companies table, numbers in ranges."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import dash_bootstrap_components as dbc
import pandas as pd

from dashboard.data import queries
from dashboard.errors import DashboardError
from dashboard.services import services

SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")


class InvalidInput(DashboardError, ValueError):
    """A user input outside what the page accepts; the message is safe to show."""


def universe() -> pd.DataFrame:
    """All companies (symbol, name, sector, sub_industry, member), cached per data version."""
    svc = services()
    return svc.cached("companies", (), lambda: queries.companies(svc.router))


def symbol_options() -> list[dict[str, str]]:
    frame = universe()
    return [
        {"label": f"{row.symbol} · {row.name}", "value": row.symbol} for row in frame.itertuples(index=False)
    ]


def valid_symbol(value: object) -> str:
    """The ticker, upper-cased, when it matches the pattern and is a known company.

    Raises:
        InvalidInput: anything else.
    """
    text = str(value or "").strip().upper()
    if not SYMBOL.match(text):
        raise InvalidInput("enter a ticker such as AAPL")
    if text not in set(universe()["symbol"]):
        raise InvalidInput(f"{text} is not a company we hold")
    return text


def valid_symbols(values: Iterable[object], *, minimum: int, maximum: int) -> list[str]:
    symbols = list(dict.fromkeys(valid_symbol(v) for v in values if str(v or "").strip()))
    if not minimum <= len(symbols) <= maximum:
        raise InvalidInput(f"choose between {minimum} and {maximum} tickers")
    return symbols


def valid_number(value: object, *, low: float, high: float, name: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number") from None
    if not low <= number <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}")
    return number


def valid_choice(value: object, choices: Iterable[str], *, name: str) -> str:
    allowed = tuple(choices)
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}")
    return str(value)


def radio_column(id_: str, choices: Mapping[str, str], value: str, *, md: int) -> dbc.Col:
    """An inline radio group in a grid column; `choices` maps each value to its label."""
    return dbc.Col(
        dbc.RadioItems(
            id=id_,
            options=[{"label": label, "value": key} for key, label in choices.items()],
            value=value,
            inline=True,
        ),
        md=md,
    )
