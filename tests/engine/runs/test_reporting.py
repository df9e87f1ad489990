"""Progress bar and log lines, EMF metric lines, JSON run logs, and the schedule's triggers."""

from __future__ import annotations

import io
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
import pytest

from engine.config import EngineSettings
from engine.runs.datasets import Job
from engine.runs.metrics import EMF_METRICS, RunMetrics, emf_line
from engine.runs.progress import LogProgress, Snapshot, TtyProgress, render_bar
from engine.runs.runlog import configure_run_logging
from engine.runs.schedule import triggers

KEY = "canary-key-0123456789"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def snapshot(**kw: float) -> Snapshot:
    values = {"total": 100, "done": 40, "failed": 2, "requests": 120, "elapsed_s": 60.0}
    values.update(kw)
    return Snapshot(
        total=int(values["total"]),
        done=int(values["done"]),
        failed=int(values["failed"]),
        requests=int(values["requests"]),
        elapsed_s=values["elapsed_s"],
        rate_limit=120,
        planned_requests=360,
    )


def test_render_bar_shows_items_budget_and_eta() -> None:
    """The bar line carries items done/total, failures, request pace against the budget, and the ETA."""
    line = render_bar(snapshot())
    assert "42/100 items" in line
    assert "2 failed" in line
    assert "req 120 @ 120/min of 120" in line
    assert "ETA 2m 00s" in line  # 240 requests left at 120/min


def test_tty_progress_redraws_in_place_at_most_five_times_a_second() -> None:
    """Updates within 0.2 s are dropped; each drawn frame starts with a carriage return."""
    clock, stream = FakeClock(), io.StringIO()
    bar = TtyProgress(stream, clock=clock)
    bar.update(snapshot())
    bar.update(snapshot(done=41))
    clock.now += 0.25
    bar.update(snapshot(done=42))
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 2
    assert "44/100" in frames[-1]


def test_log_progress_emits_json_lines_with_run_id_and_counts() -> None:
    """Off a terminal each progress line is one JSON object with the run id and the counters, no key."""
    stream = io.StringIO()
    formatter = configure_run_logging(secrets=(KEY,), log_format="json", stream=stream)
    formatter.run_id = 42
    clock = FakeClock()
    progress = LogProgress(clock=clock, every_s=10)
    progress.update(snapshot())  # too soon: nothing
    clock.now += 11
    progress.update(snapshot())
    logging.getLogger("engine.run").warning("failed with apikey=%s", KEY)
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    assert lines[0]["run_id"] == 42
    assert lines[0]["event"] == "progress"
    assert lines[0]["items_done"] == 40
    assert KEY not in stream.getvalue()


def test_emf_line_declares_every_metric_with_its_value() -> None:
    """The EMF document names the namespace, the Job dimension and each metric, with values at the root."""
    clock = FakeClock()
    metrics = RunMetrics(rate_limit=120, clock=clock)
    metrics.requests, metrics.http_429, metrics.rows_loaded = 60, 1, 5000
    clock.now += 60
    doc = orjson.loads(emf_line(metrics, run_id=7, job="full", timestamp_ms=1))
    declared = doc["_aws"]["CloudWatchMetrics"][0]
    assert declared["Dimensions"] == [["Job"]]
    assert {m["Name"] for m in declared["Metrics"]} == set(EMF_METRICS)
    assert doc["Requests"] == 60
    assert doc["Http429"] == 1
    assert doc["RowsLoaded"] == 5000
    assert doc["BudgetUtilisation"] == pytest.approx(50.0)
    assert doc["DurationSeconds"] == pytest.approx(60.0)
    assert doc["run_id"] == 7


def test_schedule_triggers_fire_full_weekly_and_prices_on_weekday_evenings() -> None:
    """Defaults: full on Saturday morning, prices Monday-Friday after the close, US/Eastern."""
    settings = EngineSettings(database_url="postgresql://x/y", fmp_api_key="k")  # type: ignore[arg-type]
    eastern = ZoneInfo("America/New_York")
    friday_noon = datetime(2026, 11, 27, 12, 0, tzinfo=eastern)
    fires = triggers(settings)
    prices_next = fires[Job.PRICES].get_next_fire_time(None, friday_noon)
    full_next = fires[Job.FULL].get_next_fire_time(None, friday_noon)
    assert prices_next is not None
    assert full_next is not None
    assert (prices_next.weekday(), prices_next.hour, prices_next.minute) == (4, 18, 30)
    assert (full_next.weekday(), full_next.hour) == (5, 6)
    saturday_evening = datetime(2026, 11, 28, 19, 0, tzinfo=eastern)
    monday = fires[Job.PRICES].get_next_fire_time(None, saturday_evening)
    assert monday is not None
    assert monday.weekday() == 0


def test_run_logging_masks_the_database_password_and_follows_log_level() -> None:
    """`log_secrets()` holds the database password, so a driver error quoting the URL shows none of it;
    MYCFA_LOG_LEVEL=ERROR drops warnings."""
    settings = EngineSettings(
        database_url="postgresql://mycfa:s3cr%40t-db-pw@db.internal:5432/mycfa",  # type: ignore[arg-type]
        fmp_api_key=KEY,  # type: ignore[arg-type]
        log_level="error",  # type: ignore[arg-type]  # the validator upper-cases it
    )
    assert settings.log_level == "ERROR"
    stream = io.StringIO()
    configure_run_logging(
        secrets=settings.log_secrets(), log_format="json", stream=stream, level=settings.log_level
    )
    log = logging.getLogger("engine.db")
    log.warning("dropped at ERROR level")
    log.error(
        "connect failed: %s (password %s)",
        "postgresql://mycfa:s3cr%40t-db-pw@db.internal/mycfa",
        "s3cr@t-db-pw",
    )
    text = stream.getvalue()
    assert "dropped at ERROR level" not in text
    assert "connect failed" in text
    assert "s3cr" not in text
