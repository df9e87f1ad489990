"""fetch_price_history's fast paths: the rows the per-row date checks and the merge by date give."""

from __future__ import annotations

import copy
import random
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr

from engine.fmp import price_history as client_module
from engine.fmp.budget import RateBudget
from engine.fmp.client import FMPClient
from engine.fmp.endpoints import PRICES, EndpointSpec
from engine.fmp.responses import Row, UncheckedRow, validate_rows
from tests.engine.runs.test_price_checks import SYMBOL, reference_validate

START = date(2024, 1, 1)
WINDOW_DAYS = 10


class Canned(FMPClient):
    """A client whose answers are given per (from, to) window, through the real validate_rows."""

    def __init__(self, answers: dict[tuple[date, date], list[Any]]) -> None:
        session: Any = SimpleNamespace()
        super().__init__(
            session,
            RateBudget(1000, 60.0),
            api_key=SecretStr("k"),
            base_url="http://fake.invalid",
            concurrency=1,
            price_window_days=WINDOW_DAYS,
        )
        self.answers = answers

    async def fetch(self, spec: EndpointSpec, **params: Any) -> list[Row]:
        window = (params["start"], params["end"])
        return validate_rows(copy.deepcopy(self.answers[window]), spec=spec, symbol=params["symbol"])


def row(day: str, **overrides: Any) -> dict[str, Any]:
    values = {"open": 1.0, "high": 2.0, "low": 1.0, "close": 1.5, "volume": 10, "change": 0.1}
    return {"symbol": SYMBOL, "date": day, **values, "changePercent": 1.0, "vwap": 1.4} | overrides


def windows(days: int) -> list[tuple[date, date]]:
    return [
        (START + timedelta(days=lo), START + timedelta(days=min(days, lo + WINDOW_DAYS) - 1))
        for lo in range(0, days, WINDOW_DAYS)
    ]


def clean_answers(days: int) -> dict[tuple[date, date], list[Any]]:
    """Each window's rows newest first, as FMP answers."""
    answers = {}
    for lo, hi in windows(days):
        span = (hi - lo).days + 1
        answers[(lo, hi)] = [row((hi - timedelta(days=n)).isoformat()) for n in range(span)]
    return answers


async def both_ways(
    answers: dict[tuple[date, date], list[Any]], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Row], bool]:
    """fetch_price_history's answer and whether it took the fast path, after checking that the
    merge path (fast path off) gives the same rows, in the same order, marked alike."""
    end = max(hi for _, hi in answers)
    taken: list[bool] = []
    newest_first = client_module._newest_first

    def watched(rows: list[Row]) -> bool:
        taken.append(newest_first(rows))
        return taken[-1]

    with monkeypatch.context() as patch:
        patch.setattr(client_module, "_newest_first", watched)
        got = await Canned(answers).fetch_price_history(SYMBOL, START, end)
        patch.setattr(client_module, "_newest_first", lambda rows: False)
        merged = await Canned(answers).fetch_price_history(SYMBOL, START, end)
    assert [(type(r), r) for r in got] == [(type(r), r) for r in merged]
    return got, taken == [True]


async def test_clean_windows_come_back_newest_first_without_merging(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clean windows are already in order: the answer is their rows, newest first, every date once."""
    answers = clean_answers(35)
    rows, fast = await both_ways(answers, monkeypatch)
    assert fast
    assert [r["date"] for r in rows] == [(START + timedelta(days=n)).isoformat() for n in range(34, -1, -1)]


@pytest.mark.parametrize(
    "damage",
    [
        "overlap",  # a window repeats its neighbour's newest date
        "unordered",  # a window's rows out of order
        "bad date",  # a date that is not ISO: marked, sent last
        "non-str date",
        "basic format",  # 20240105 is an ISO date too, but sorts apart from 2024-01-05 as text
        "bad number",  # a marked row with a good date stays in its place
    ],
)
async def test_damaged_windows_are_merged_as_before(damage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Overlaps, disorder, bad dates and marked rows: the same rows, order and marks as the merge path."""
    answers = clean_answers(35)
    first, second = list(answers)[:2]
    if damage == "overlap":
        answers[first].insert(0, row(answers[second][-1]["date"], close=9.0))
    elif damage == "unordered":
        answers[second].reverse()
    elif damage == "bad date":
        answers[second][2]["date"] = "2024-13-45"
    elif damage == "non-str date":
        answers[second][2]["date"] = 20240113
    elif damage == "basic format":
        answers[second][2]["date"] = answers[second][2]["date"].replace("-", "")
    else:
        answers[second][2]["close"] = "NaN"
    rows, fast = await both_ways(answers, monkeypatch)
    assert not fast
    assert (UncheckedRow in {type(r) for r in rows}) == (damage in ("bad date", "non-str date", "bad number"))


@pytest.mark.parametrize("seed", range(3))
def test_validate_rows_clean_answers_take_the_fast_path(seed: int) -> None:
    """Answers with every numeric key: refused and marked exactly as the plain per-row rules say."""
    rng = random.Random(seed)
    odd: list[Any] = ["1.5", True, None, [1], 3, 2.5]
    fast = 0
    for _ in range(500):
        data: list[Any] = [row(f"2024-01-{n + 1:02d}") for n in range(rng.randint(0, 30))]
        for item in data:
            if rng.random() < 0.01:
                item[rng.choice(PRICES.numeric)] = rng.choice(odd)
            if rng.random() < 0.003:
                del item[rng.choice(PRICES.required)]
        if data and rng.random() < 0.01:
            data[rng.randrange(len(data))] = [1, 2]
        expected, marked = reference_validate(data, PRICES)
        if expected is not None:
            continue  # refusals: tests/engine/runs/test_price_checks.py
        fast += all(type(item) is dict for item in data) and not marked
        assert validate_rows(data, spec=PRICES, symbol=SYMBOL) is data
        assert [i for i, item in enumerate(data) if type(item) is UncheckedRow] == marked
    assert fast > 100
