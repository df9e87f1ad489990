"""Fixtures for the analytics tests: the recorded FMP AAPL samples and generated prices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dashboard.analytics import statements as st
from devkit import factories, seed

FMP = Path(__file__).resolve().parents[2] / "fixtures" / "fmp"


def load(name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((FMP / name).read_text())
    return rows


@pytest.fixture(scope="session")
def aapl() -> pd.DataFrame:
    """AAPL FY2024 income, balance and cash flow combined (one row)."""
    kinds = ("income-statement", "balance-sheet-statement", "cash-flow-statement")
    return st.combine(*(st.statement_frame(load(f"stable_{k}_AAPL_annual.json")) for k in kinds))


@pytest.fixture(scope="session")
def fmp_ratios() -> dict[str, Any]:
    return load("stable_ratios_AAPL_annual.json")[0]


@pytest.fixture(scope="session")
def fmp_metrics() -> dict[str, Any]:
    return load("stable_key-metrics_AAPL_annual.json")[0]


@pytest.fixture(scope="session")
def recorded_prices() -> pd.DataFrame:
    """The six recorded AAPL daily bars (2023-01-03..10), ascending; no adj_close in this endpoint."""
    rows = load("stable_historical-price-eod-full_AAPL_2023-01-01_2023-01-10.json")
    frame = pd.DataFrame(rows).assign(date=lambda d: pd.to_datetime(d["date"])).set_index("date").sort_index()
    return frame[["open", "high", "low", "close", "volume"]].astype(float)


@pytest.fixture(scope="session")
def generated_prices() -> pd.DataFrame:
    return factories.prices(1500, seed=42)


@pytest.fixture(scope="session")
def closes() -> pd.DataFrame:
    """Seeded adjusted closes of eight symbols, one listed late and one with a gap, as the page builds them."""
    series = {}
    for i, symbol in enumerate(factories.RAGGED_SYMBOLS):
        rows = seed.price_rows(symbol, i)
        series[symbol] = pd.Series([r[6] for r in rows], index=pd.DatetimeIndex([r[1] for r in rows]))
    series["XOM"] = series["XOM"].iloc[700:]
    series["KO"] = series["KO"].drop(series["KO"].index[1200:1230])
    wide = pd.DataFrame(series).sort_index()
    wide.columns.name = "symbol"
    return wide
