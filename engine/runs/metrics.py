"""Run metrics: counters kept during a run, emitted as CloudWatch Embedded Metric Format lines.

A Fargate task's stdout goes to CloudWatch Logs; an EMF line there becomes metrics with no agent.
The same dictionary is stored in `runs.metrics`, so `status --json` shows identical numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

EMF_NAMESPACE = "MyCFATool/Engine"

# metric name -> (attribute, CloudWatch unit)
EMF_METRICS: dict[str, tuple[str, str]] = {
    "Requests": ("requests", "Count"),
    "Http429": ("http_429", "Count"),
    "Retries": ("retries", "Count"),
    "ItemsDone": ("items_done", "Count"),
    "ItemsFailed": ("items_failed", "Count"),
    "RowsLoaded": ("rows_loaded", "Count"),
    "PriceReadjustments": ("price_readjustments", "Count"),
    "ItemsClipped": ("items_clipped", "Count"),
    "BudgetUtilisation": ("budget_utilisation", "Percent"),
    "DurationSeconds": ("duration_s", "Seconds"),
}


@dataclass(slots=True)
class RunMetrics:
    """Counters of one run session; `requests`/`http_429`/`retries` come from the FMP client."""

    rate_limit: int
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    requests: int = 0
    http_429: int = 0
    retries: int = 0
    items_done: int = 0
    items_failed: int = 0
    rows_loaded: int = 0
    price_readjustments: int = 0  # symbols whose whole price history was refetched (new dividend/split)
    items_clipped: int = 0  # items loaded with less than planned: the key's plan refused a span or limit
    bulk: dict[str, str] = field(default_factory=dict)  # bulk endpoint -> "available" | "denied (HTTP 402)"
    serving: dict[str, Any] = field(default_factory=dict)  # the serving refresh per table (refresh.py)
    finished: float | None = None

    def __post_init__(self) -> None:
        if not self.started:
            self.started = self.clock()

    @property
    def duration_s(self) -> float:
        end = self.finished if self.finished is not None else self.clock()
        return max(end - self.started, 0.0)

    @property
    def budget_utilisation(self) -> float:
        """Requests sent as a percentage of what the budget allowed over the session's duration."""
        allowed = self.rate_limit * self.duration_s / 60.0
        return round(100.0 * self.requests / allowed, 1) if allowed > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The EMF_METRICS attributes in their order (duration rounded to 0.1 s), the rate limit and,
        when bulk endpoints were tried, their availability."""
        values = {
            attribute: round(self.duration_s, 1) if attribute == "duration_s" else getattr(self, attribute)
            for attribute, _ in EMF_METRICS.values()
        }
        return {
            **values,
            "rate_limit": self.rate_limit,
            **({"bulk": dict(self.bulk)} if self.bulk else {}),
            **({"serving": dict(self.serving)} if self.serving else {}),
        }


def emf_line(metrics: RunMetrics, *, run_id: int, job: str, timestamp_ms: int | None = None) -> str:
    """One EMF JSON line for the run (dimension: Job; run id kept as a property for searching)."""
    values = metrics.as_dict()
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": EMF_NAMESPACE,
                    "Dimensions": [["Job"]],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in EMF_METRICS.items()],
                }
            ],
        },
        "Job": job,
        "run_id": run_id,
    }
    for name, (attribute, _) in EMF_METRICS.items():
        document[name] = values[attribute]
    return orjson.dumps(document).decode()
