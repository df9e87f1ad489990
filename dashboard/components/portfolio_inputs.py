"""The Portfolio page's inputs, read together: each problem names its field (holdings, weight cap) so the page
shows it beside that field and keeps everything else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboard.analytics.bounded import Bounds
from dashboard.analytics.errors import AnalyticsError
from dashboard.components import holdings
from dashboard.components.inputs import InvalidInput, valid_choice, valid_number

WINDOWS = {"1Y": 1, "3Y": 3, "5Y": 5, "10Y": 10, "MAX": None}
BENCHMARKS = {
    "sp500": "S&P 500 (cap weight)",
    "sp500_equal": "S&P 500 (equal weight)",
    "equal": "Equal weight of these holdings",
    "none": "None",
}
CAP_RANGE = (1.0, 100.0)  # the weight cap, in percent: 100 is no cap


class FieldError(InvalidInput):
    """An input problem that belongs beside one field (`field`: holdings, cap)."""

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

    @property
    def weights(self) -> dict[str, float]:
        return self.holdings.weights


def read(text: Any, rf: Any, window: Any, benchmark: Any, shorts: Any, cap: Any) -> Request:
    """The page's inputs checked in the order an analyst fills them.

    Raises:
        FieldError: the holdings (unreadable, unknown, a short without shorts allowed) or the cap (not a
            number, out of range, too small for the holdings: 3 holdings cannot each stay under 30 %).
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
    window = valid_choice(window or "MAX", tuple(WINDOWS), name="window")
    benchmark = valid_choice(benchmark or "sp500", tuple(BENCHMARKS), name="benchmark")
    return Request(parsed, rate, window, benchmark, bounds)


def bounds_note(bounds: Bounds) -> str | None:
    """A sentence for the page when the optimisers ran within bounds other than long-only."""
    if bounds.long_only:
        return None
    return (
        f"Minimum volatility, maximum Sharpe and the frontier: each weight from {bounds.lower:.0%} to"
        f" {bounds.upper:.0%}; HRP has no bounds in its method and is shown as without them."
    )
