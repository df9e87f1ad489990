"""The Portfolio page's inputs, read together: each problem names its field (holdings, weight cap, custom
window) so the page shows it beside that field and keeps everything else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from dashboard.analytics.bounded import Bounds
from dashboard.analytics.errors import AnalyticsError
from dashboard.components import holdings
from dashboard.components.inputs import InvalidInput, valid_choice, valid_number

WINDOWS = {"1Y": 1, "3Y": 3, "5Y": 5, "10Y": 10, "MAX": None}
CUSTOM = "Custom"  # the window between the from and to dates
WINDOW_CHOICES = (*WINDOWS, CUSTOM)
MIN_DATES = 30  # common trading days a window needs (the optimiser's minimum)
BENCHMARKS = {
    "sp500": "S&P 500 (cap weight)",
    "sp500_equal": "S&P 500 (equal weight)",
    "equal": "Equal weight of these holdings",
    "none": "None",
}
CAP_RANGE = (1.0, 100.0)  # the weight cap, in percent: 100 is no cap


class FieldError(InvalidInput):
    """An input problem that belongs beside one field (`field`: holdings, cap, dates)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Request:
    """What the analyst asked: the holdings, the risk-free rate (a fraction), the window, the benchmark and
    the optimisers' bounds (a cap, shorts)."""

    holdings: holdings.Holdings
    rate: float
    window: str
    benchmark: str
    bounds: Bounds
    start: date | None = None  # the custom window's first and last day (window == CUSTOM)
    end: date | None = None

    @property
    def weights(self) -> dict[str, float]:
        return self.holdings.weights


def read(
    text: Any,
    rf: Any,
    window: Any,
    benchmark: Any,
    shorts: Any,
    cap: Any,
    start: Any = None,
    end: Any = None,
) -> Request:
    """The page's inputs checked in the order an analyst fills them.

    Raises:
        FieldError: the holdings (unreadable, unknown, a short without shorts allowed), the cap (not a
            number, out of range, too small for the holdings: 3 holdings cannot each stay under 30 %) or,
            for the custom window, its dates (missing, not dates, the end not after the start).
        InvalidInput: the risk-free rate, window or benchmark out of their choices.
    """
    allowed = "shorts" in (shorts or [])
    try:
        parsed = holdings.parse(text, shorts=allowed)
    except InvalidInput as exc:
        raise FieldError("holdings", str(exc)) from None
    rate = valid_number(rf, low=0.0, high=20.0, name="risk-free rate") / 100
    try:
        percent = valid_number(
            100.0 if cap in (None, "") else cap, low=CAP_RANGE[0], high=CAP_RANGE[1], name="max weight (%)"
        )
        bounds = Bounds.of(cap=percent / 100, shorts=allowed)
        bounds.check(len(parsed.weights))
    except (InvalidInput, AnalyticsError) as exc:
        raise FieldError("cap", str(exc)) from None
    window = valid_choice(window or "MAX", WINDOW_CHOICES, name="window")
    benchmark = valid_choice(benchmark or "sp500", tuple(BENCHMARKS), name="benchmark")
    if window != CUSTOM:
        return Request(parsed, rate, window, benchmark, bounds)
    first, last = _day(start, "from"), _day(end, "to")
    if last <= first:
        raise FieldError("dates", f"the window's end ({last}) must be after its start ({first})")
    return Request(parsed, rate, window, benchmark, bounds, first, last)


def _day(value: Any, name: str) -> date:
    if value in (None, ""):
        raise FieldError("dates", f"a custom window needs both dates: give its '{name}' date")
    text = str(value)[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldError("dates", f"'{name}' must be a date (YYYY-MM-DD), not {text!r}") from None


def windowed(prices: pd.DataFrame, request: Request) -> pd.DataFrame:
    """The prices of the request's window: the last N years counted back from the latest date (MAX: all),
    or the custom window's days.

    Raises:
        FieldError: a custom window that starts before the holdings' common prices begin or after they
            end, or holds fewer than MIN_DATES common trading days (beside the dates).
    """
    if prices.empty:
        return prices
    if request.window != CUSTOM:
        years = WINDOWS[request.window]
        if years is None:
            return prices
        return prices[prices.index >= prices.index.max() - pd.DateOffset(years=years)]
    if request.start is None or request.end is None:  # read() sets both for CUSTOM
        raise FieldError("dates", "a custom window needs both dates")
    common = prices.dropna()
    if common.empty:
        return prices  # no common history at all: the analysis says so
    begins, ends = common.index[0].date(), common.index[-1].date()
    if request.start < begins:
        raise FieldError(
            "dates", f"from {request.start} is before these holdings' common prices begin ({begins})"
        )
    if request.start > ends:
        raise FieldError("dates", f"from {request.start} is after these holdings' last common price ({ends})")
    inside = (common.index >= pd.Timestamp(request.start)) & (common.index <= pd.Timestamp(request.end))
    if int(inside.sum()) < MIN_DATES:
        raise FieldError(
            "dates",
            f"{request.start} to {request.end} holds {int(inside.sum())} common trading days;"
            f" at least {MIN_DATES} are needed",
        )
    chosen = (prices.index >= pd.Timestamp(request.start)) & (prices.index <= pd.Timestamp(request.end))
    return prices[chosen]


def bounds_note(bounds: Bounds) -> str | None:
    """A sentence for the page when the optimisers ran within bounds other than long-only."""
    if bounds.long_only:
        return None
    return (
        f"Minimum volatility, maximum Sharpe and the frontier: each weight from {bounds.lower:.0%} to"
        f" {bounds.upper:.0%}; HRP has no bounds in its method and is shown as without them."
    )
