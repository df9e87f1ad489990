"""The load test's clicks, page by page: what each simulated analyst request sends, and how often.

One list for both replays: tests/load/locustfile.py sends them over HTTP under load, and
scripts/bench_dashboard.py in-process to say which callback costs the CPU, so both measure the same
mix. Values are drawn with the `random` module (the bench seeds it).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devkit import callbacks

PAGE_VIEW = "_pages_content"  # the pages router's output: the request builds a page's layout
OVERLAYS: list[list[str]] = [[], ["sma_50"], ["sma_50", "sma_200"], ["bbands"]]


@dataclass(frozen=True)
class Click:
    """One kind of request: `key` names it for bench_dashboard, `name` for Locust's figures."""

    key: str
    name: str
    output_id: str
    weight: int
    values: Callable[[Sequence[str]], dict[str, Any]]
    all_pages: bool = False  # only AllPagesAnalyst (every page, as an admin) sends it

    def body(self, dependencies: Sequence[Mapping[str, Any]], symbols: Sequence[str]) -> dict[str, Any]:
        """The `/_dash-update-component` body, with fresh random choices."""
        if self.output_id == PAGE_VIEW:
            return callbacks.page_body(dependencies, self.values(symbols)["pathname"])
        return callbacks.body(callbacks.find(dependencies, self.output_id), self.values(symbols))

    def answered(self, text: str) -> bool:
        """A 200's body is the answer this request expects (not an error page)."""
        return PAGE_VIEW in text if self.output_id == PAGE_VIEW else '"response"' in text


def _some(symbols: Sequence[str], low: int, high: int) -> list[str]:
    return random.sample(list(symbols), min(len(symbols), random.randint(low, high)))


def _holdings(symbols: Sequence[str]) -> str:
    chosen = _some(symbols, 2, 6)
    return ", ".join(f"{s}:{1 / len(chosen):.3f}" for s in chosen)


CLICKS: tuple[Click, ...] = (
    Click(
        "page", "page view (layout)", PAGE_VIEW, 1, lambda s: {"pathname": random.choice(["/", "/compare"])}
    ),
    Click(
        "price",
        "company: price chart",
        "company-price-graph",
        4,
        lambda s: {
            "company-symbol": random.choice(s),
            "company-adjusted": random.choice(["adj", "raw"]),
            "company-overlays": random.choice(OVERLAYS),
            "company-range": random.choice(["1Y", "5Y", "10Y"]),
        },
    ),
    Click(
        "profile",
        "company: profile + freshness",
        "company-profile",
        2,
        lambda s: {"company-symbol": random.choice(s)},
    ),
    Click(
        "statements",
        "company: statements + ratios",
        "company-statement-table",
        2,
        lambda s: {
            "company-symbol": random.choice(s),
            "company-period": random.choice(["FY", "Q", "TTM"]),
            "company-kind": random.choice(["income", "balance", "cashflow"]),
        },
    ),
    Click(
        "compare",
        "compare: ratios + normalised prices",
        "compare-table",
        3,
        lambda s: {"compare-symbols": _some(s, 2, 5), "compare-span": random.choice(["1Y", "3Y", "5Y"])},
    ),
    Click(
        "valuation",
        "valuation: DCF + multiples",
        "valuation-summary",
        2,
        lambda s: {
            "valuation-symbol": random.choice(s),
            **{f"valuation-{k}": v for k, v in callbacks.VALUATION_TYPED.items()},  # beta, kd, tax typed
        },
        all_pages=True,
    ),
    Click(
        "forecast",
        "forecast: fit + intervals",
        "forecast-graph",
        2,
        lambda s: {
            "forecast-symbol": random.choice(s),
            "forecast-series": random.choice(["revenue", "netIncome", "freeCashFlow", "price"]),
            "forecast-frequency": random.choice(["FY", "Q"]),
            "forecast-method": random.choice(["ets", "loglinear"]),
        },
        all_pages=True,
    ),
    Click(
        "portfolio",
        "portfolio: stats + optimiser",
        "portfolio-stats",
        1,
        lambda s: {"portfolio-run": 1, "portfolio-holdings": _holdings(s), "portfolio-rf": 4.0},
        all_pages=True,
    ),
    Click(
        "screener",
        "screener: universe table",
        "screener-results",
        1,
        lambda s: {
            "screener-sectors": [],
            "screener-metric": random.choice(["roe", "pe", "net_margin"]),
            "screener-min": None,
            "screener-max": None,
            "screener-sort": random.choice(["market_cap", "roe"]),
            "screener-order": random.choice(["asc", "desc"]),
        },
        all_pages=True,
    ),
    Click(
        "status", "status: nodes + runs", "status-runs", 1, lambda s: {"status-interval": 1}, all_pages=True
    ),
)
