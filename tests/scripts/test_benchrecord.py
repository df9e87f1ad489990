"""Benchmarks record their runs as data: each run appended to its JSON file with date, commit and machine."""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
from pathlib import Path

import pytest

from devkit import benchrecord


def test_record_appends_runs_with_date_commit_and_machine(tmp_path: Path) -> None:
    """Two runs land in one file, in order, each with what its figures depend on."""
    benchrecord.record("bench_toy", {"rows_per_s": 1000}, results=tmp_path)
    path = benchrecord.record("bench_toy", {"rows_per_s": 1200}, results=tmp_path)
    document = json.loads(path.read_text())
    assert path == tmp_path / "bench_toy.json"
    assert document["benchmark"] == "bench_toy"
    assert [run["figures"] for run in document["runs"]] == [{"rows_per_s": 1000}, {"rows_per_s": 1200}]
    for run in document["runs"]:
        dt.date.fromisoformat(run["date"])
        assert run["commit"]
        assert run["machine"]["cpus"] >= 1
        assert len(run["machine"]["load_average"]) == 3
        assert run["command"]


def test_record_keeps_the_history_already_there(tmp_path: Path) -> None:
    """A run is added after the transcribed ones; the file's other keys stay as they were."""
    path = tmp_path / "bench_toy.json"
    path.write_text(
        json.dumps({"benchmark": "bench_toy", "goals": {"x": "< 1"}, "runs": [{"date": "2026-11-25"}]})
    )
    benchrecord.record("bench_toy", {"x": 0.5}, results=tmp_path)
    document = json.loads(path.read_text())
    assert document["goals"] == {"x": "< 1"}
    assert document["runs"][0]["date"] == "2026-11-25"
    assert len(document["runs"]) == 2


def test_record_option_defaults_off() -> None:
    """A benchmark writes nothing into the repository unless asked (`--record`)."""
    parser = argparse.ArgumentParser()
    benchrecord.add_record_argument(parser)
    assert parser.parse_args([]).record is False
    assert parser.parse_args(["--record"]).record is True


@pytest.mark.parametrize("path", sorted((benchrecord.RESULTS).glob("*.json")), ids=lambda p: p.stem)
def test_results_files_have_dated_runs(path: Path) -> None:
    """Every results file in docs/benchmarks/ names its benchmark and dates each run, latest last."""
    document = json.loads(path.read_text())
    assert document["benchmark"] == path.stem
    dates = [dt.date.fromisoformat(run["date"]) for run in document["runs"]]
    assert dates
    assert dates == sorted(dates)
    assert all(run.get("commit") or run.get("recorded_in") for run in document["runs"])
    assert all("machine" in run and "figures" in run for run in document["runs"])


BENCHMARKS = sorted((benchrecord.REPO / "scripts").glob("bench_*.py"))


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.stem)
def test_every_benchmark_takes_record(path: Path) -> None:
    """Each scripts/bench_*.py offers `--record` and writes its figures with `record(...)`."""
    calls = {
        node.func.id
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert {"add_record_argument", "record"} <= calls
