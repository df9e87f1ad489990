"""Valuation's figures from the store: the DCF's base year, share count, close and beta, and the equity
models' price, ROE, book value and dividend per share (live, as of a date or pinned)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from dashboard.analytics import valuation
from dashboard.analytics.errors import AnalyticsError
from dashboard.analytics.fundamentals import field, ratios, tax_rate
from dashboard.components import benchmark_data, company_data, pins, serving_state, universe_data
from dashboard.components.valuation_inputs import usable_beta
from dashboard.data import queries
from dashboard.services import services

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
    router = services().router
    if live and serving_state.usable(serving_state.METRIC_HISTORY):
        row = queries.valuation_base(router, symbol, columns)
        if row is not None:  # the figures, share counts and beta below in one read
            return _live_base(symbol, row)
    stored = company_data.history(symbol, "FY", columns) if live else None
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
        quarter = counts["quarter_date"].iloc[0]
    else:
        quarters = company_data.statements(symbol, "Q", as_of, "restated", pin).get("income", pd.DataFrame())
        candidates = (
            {"quarter": float(field(quarters.iloc[-1:], "weightedAverageShsOutDil").iloc[0])}
            if not quarters.empty
            else {}
        )
        quarter = quarters.index[-1] if not quarters.empty else None
        price = queries.last_close(router, symbol, pins.last_day(as_of, pin))
    beta = profile_beta(symbol) if live else math.nan
    return _base(symbol, figures, tax, year, candidates, quarter, price, beta, as_of, pin)


def _live_base(symbol: str, row: dict[str, Any]) -> dict[str, Any]:
    """`base_inputs` today from `queries.valuation_base`'s row and the last close."""
    if row["fiscal_date"] is None:
        raise AnalyticsError(f"no annual statements for {symbol}")
    figures = {name: _float(row[column]) for column, name in BASE_FIGURES.items()}
    candidates: dict[str, float | None] = {
        "profile": _float(row["profile_shares"]),
        "quarter": _float(row["quarter_shares"]),
    }
    price = queries.last_close(services().router, symbol)
    year = pd.Timestamp(row["fiscal_date"].isoformat())
    tax, beta = _float(row["effective_tax_rate"]), _float(row["beta"])
    return _base(symbol, figures, tax, year, candidates, row["quarter_date"], price, beta, None, None)


def _float(value: Any) -> float:
    """A read double as the typed frames hold it (NULL: NaN)."""
    return math.nan if value is None else float(value)


def _base(
    symbol: str,
    figures: dict[str, float],
    tax: float,
    year: Any,
    candidates: dict[str, float | None],
    quarter: Any,
    price: float,
    beta: float,
    as_of: str | None,
    pin: int | None,
) -> dict[str, Any]:
    candidates["annual"] = figures["weightedAverageShsOutDil"]
    shares, source = valuation.current_share_count(candidates)
    base_date = pd.Timestamp(year).date().isoformat()
    return {
        "as_of": as_of,
        "pin": pin,
        "fcf": figures["freeCashFlow"],
        "net_debt": figures["netDebt"],
        "debt": figures["totalDebt"],
        "book_equity": figures["totalStockholdersEquity"],
        "shares": shares,
        "shares_source": source,
        # The fiscal date of the statement the count comes from (its trail); None from the profile.
        "shares_period": (
            None
            if source == "profile"
            else base_date
            if source == "annual"
            else pd.Timestamp(quarter).date().isoformat()
            if quarter is not None and pd.notna(quarter)
            else None
        ),
        "price": price,
        "base_date": base_date,
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


def profile_beta(symbol: str) -> float:
    """The beta of the company's FMP profile (NaN when it has none)."""
    svc = services()
    row = svc.cache.cached("company", (symbol,), lambda: queries.company(svc.router, symbol)) or {}
    profile = row.get("profile")
    beta = profile.get("beta") if isinstance(profile, dict) else None
    return float(beta) if isinstance(beta, int | float) and not isinstance(beta, bool) else math.nan


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
