"""The Screener's screen: its metrics, ranks, bases and presets, and the one function that answers
the grid and the CSVs alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dashboard.analytics import screener
from dashboard.components import (
    catalogue,
    conditions,
    point_in_time,
    trails,
    universe_data,
)
from dashboard.components.inputs import InvalidInput, bounded_list, valid_choice
from dashboard.components.screener_grid import shown_columns

KEYS = catalogue.SCREEN_KEYS
SCORE = "score"
RANKS = (SCORE, *KEYS)
BASES = {"ttm": "Trailing 12 months where four quarters exist", "fy": "Latest fiscal year"}
# Presets: a starting point, written into the conditions field (where they can be edited) with a rank.
PRESETS: dict[str, tuple[str, str, str]] = {
    "cheap-profitable-large": (
        "Cheap profitable large caps",
        "market_cap >= 100; pe <= 20; roe >= 15",
        SCORE,
    ),
    "quality-reasonable-price": (
        "Quality at a reasonable price",
        "roic >= 15; gross_margin >= 40; debt_to_equity <= 1; pe <= 30",
        SCORE,
    ),
    # Covered: free cash flow pays the dividend (an FCF yield above the dividend yield), which a
    # condition on each yield alone cannot say; the yield is capped under the FCF yield's floor.
    "dividend-payers": (
        "Dividend payers with cover",
        "dividend_yield >= 2.5; dividend_yield <= 5; fcf_yield >= 5",
        "dividend_yield",
    ),
    "momentum": ("Momentum near highs", "perf_1y >= 20; off_52w_high >= -10", "perf_1y"),
    "deep-value": ("Deep value", "pe <= 12; pb <= 1.5; ev_ebitda <= 8", SCORE),
}


def run(args: Mapping[str, Any]) -> tuple[pd.DataFrame, list[conditions.Condition], list[conditions.Problem]]:
    """The screen: the rows passing every readable condition and sector, ranked, with the columns shown.

    The same function answers the grid and the CSV, so both hold the same rows in the same order.
    """
    basis = valid_choice(args.get("basis") or "ttm", tuple(BASES), name="figures on")
    figures = valid_choice(args.get("figures") or "restated", tuple(point_in_time.FIGURES), name="figures")
    pin = point_in_time.pinned_run(args.get("pin"))
    table = universe_data.on_basis(basis, figures, pin)
    found, problems = conditions.parse(args.get("where") or "", KEYS)
    if table.empty:
        return table, found, problems
    known = sorted(table["sector"].dropna().unique())
    sectors = [
        valid_choice(s, known, name="sector") for s in bounded_list(args.get("sectors"), name="sectors")
    ]
    rank = valid_choice(args.get("rank") or "market_cap", RANKS, name="rank by")
    order = valid_choice(args.get("order") or "desc", ("asc", "desc"), name="order")
    factors = [
        valid_choice(k, KEYS, name="score on") for k in bounded_list(args.get("score"), name="score factors")
    ]
    absent = sorted({c.metric for c in found} - set(table.columns))
    if absent:
        why = (
            "not kept for pinned screens"
            if pin is not None
            else "not available until the serving layer is refreshed"
        )
        raise InvalidInput(f"{', '.join(catalogue.label(a) for a in absent)}: {why}")
    filters = [screener.Filter(c.metric, c.op, c.raw) for c in found]  # type: ignore[arg-type]
    passed = screener.screen(table, filters=filters, sectors=sectors or None)
    weights = _weights(factors or [c.metric for c in found], table)
    if weights:
        passed = passed.assign(
            score=screener.score(passed, weights) if not passed.empty else pd.Series(dtype=float)
        )
    if rank == SCORE and "score" not in passed.columns:
        raise InvalidInput("rank by score: add a condition or choose metrics to score on")
    ordered = passed.sort_values(rank, ascending=order == "asc", na_position="last", kind="stable")
    columns = shown_columns(
        [c.metric for c in found], rank, list(weights), has_score="score" in ordered.columns
    )
    return ordered.reset_index()[[c for c in columns if c in ordered.reset_index().columns]], found, problems


def _weights(keys: list[str], table: pd.DataFrame) -> dict[str, float]:
    """The score's weights: equal, signed by each metric's better direction (neutral ones left out)."""
    return {
        k: float(catalogue.BY_KEY[k].better)
        for k in dict.fromkeys(keys)
        if catalogue.BY_KEY[k].better != 0 and k in table.columns
    }


def view_of(args: Mapping[str, Any]) -> trails.View:
    """A screen's view (figures, pin) with its basis checked: what its trail cards and CSV read."""
    valid_choice(args.get("basis") or "ttm", tuple(BASES), name="figures on")
    figures = valid_choice(args.get("figures") or "restated", tuple(point_in_time.FIGURES), name="figures")
    return trails.View(None, figures, point_in_time.pinned_run(args.get("pin")))
