"""Cached per-company data and derived frames shared by the Company, Valuation and Forecast pages."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from dashboard.analytics import indicators
from dashboard.analytics.errors import AnalyticsError
from dashboard.analytics.fundamentals import ratios
from dashboard.analytics.statements import combine, statement_frame, ttm
from dashboard.data import queries
from dashboard.services import services
from dashboard.vocabulary import fiscal_labels

RANGES = {"1Y": 365, "5Y": 5 * 365, "10Y": 10 * 365, "MAX": None}
OVERLAYS = indicators.keys("price")
OSCILLATORS = indicators.keys("oscillator")
STATEMENT_FIELDS = {
    "income": [
        "revenue",
        "grossProfit",
        "operatingIncome",
        "ebitda",
        "netIncome",
        "eps",
        "epsDiluted",
        "weightedAverageShsOutDil",
    ],
    "balance": [
        "totalAssets",
        "totalCurrentAssets",
        "cashAndCashEquivalents",
        "totalLiabilities",
        "totalDebt",
        "netDebt",
        "totalStockholdersEquity",
    ],
    "cashflow": [
        "operatingCashFlow",
        "capitalExpenditure",
        "freeCashFlow",
        "commonDividendsPaid",
        "commonStockRepurchased",
    ],
}
CHART_FIELDS = {
    "income": ["revenue", "operatingIncome", "netIncome"],
    "balance": ["totalAssets", "totalLiabilities", "totalStockholdersEquity"],
    "cashflow": ["operatingCashFlow", "freeCashFlow", "capitalExpenditure"],
}
RATIO_FIELDS = ["gross_margin", "operating_margin", "net_margin", "fcf_margin", "roe", "roic", "roic_fmp"]


def prices(symbol: str) -> pd.DataFrame:
    svc = services()
    return svc.cached("prices", (symbol,), lambda: queries.prices(svc.router, symbol))


def window(frame: pd.DataFrame, span: str) -> pd.DataFrame:
    days = RANGES.get(span)
    if days is None or frame.empty:
        return frame
    return frame[frame.index >= frame.index[-1] - pd.Timedelta(days=days)]


def price_view(
    symbol: str,
    *,
    adjusted: bool,
    overlays: tuple[str, ...],
    span: str,
    oscillators: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, dict[str, pd.Series], list[tuple[indicators.Indicator, dict[str, pd.Series]]]]:
    """OHLCV (adjusted or traded) in the window, the chosen overlays and oscillator panels.

    Every indicator comes from `indicators.REGISTRY` and is computed on the full history (so the window
    starts warmed up), then cut to the window.
    """
    full = prices(symbol)
    if full.empty:
        return full, {}, []
    ohlcv = indicators.ohlcv(full, adjusted=adjusted)
    shown = window(ohlcv, span)

    def lines(key: str) -> dict[str, pd.Series]:
        return {name: s.reindex(shown.index) for name, s in indicators.REGISTRY[key].compute(ohlcv).items()}

    overlay_lines = {name: s for key in overlays for name, s in lines(key).items()}
    panels = [(indicators.REGISTRY[key], lines(key)) for key in oscillators]
    return shown, overlay_lines, panels


def _statement_frames(symbol: str, period: str) -> dict[str, pd.DataFrame]:
    svc = services()
    raw = queries.statement_payloads(svc.router, symbol, period)
    periods = fiscal_labels(period)
    return {
        kind: statement_frame(rows, period=periods) if rows else pd.DataFrame() for kind, rows in raw.items()
    }


def statements(symbol: str, period: str) -> dict[str, pd.DataFrame]:
    """Frames per kind: period "FY" (annual), "Q" (quarterly) or "TTM" (rolling trailing twelve months)."""
    svc = services()
    if period != "TTM":
        return svc.cached("statements", (symbol, period), lambda: _statement_frames(symbol, period))

    def build() -> dict[str, pd.DataFrame]:
        quarterly = statements(symbol, "Q")
        out: dict[str, pd.DataFrame] = {}
        for kind in ("income", "cashflow"):
            frame = quarterly.get(kind, pd.DataFrame())
            try:
                out[kind] = ttm(frame, rolling=True).dropna(how="all") if not frame.empty else frame
            except AnalyticsError:
                out[kind] = pd.DataFrame()
        out["balance"] = quarterly.get("balance", pd.DataFrame())  # balances are stocks: latest quarter
        return out

    return svc.cached("statements-ttm", (symbol,), build)


def combined(symbol: str, period: str) -> pd.DataFrame:
    frames = statements(symbol, period)
    parts = [frames.get(k, pd.DataFrame()) for k in ("income", "balance", "cashflow")]
    parts = [p for p in parts if not p.empty]
    return combine(*parts) if parts else pd.DataFrame()


def ratio_history(symbol: str, period: str = "FY") -> pd.DataFrame:
    svc = services()

    def build() -> pd.DataFrame:
        frame = combined(symbol, period)
        return ratios(frame) if not frame.empty else pd.DataFrame()

    return svc.cached("ratios", (symbol, period), build)


def profile_fields(row: Mapping[str, object]) -> dict[str, object]:
    profile = row.get("profile") or {}
    profile = profile if isinstance(profile, dict) else {}
    return {
        "Name": row.get("name"),
        "Sector": row.get("sector"),
        "Sub-industry": row.get("sub_industry"),
        "Headquarters": row.get("headquarters"),
        "CEO": profile.get("ceo"),
        "Employees": profile.get("fullTimeEmployees"),
        "Market cap": profile.get("marketCap"),
        "Beta": profile.get("beta"),
        "Exchange": profile.get("exchange"),
        "In the S&P 500 since": row.get("index_added"),
        "Website": profile.get("website"),
    }
