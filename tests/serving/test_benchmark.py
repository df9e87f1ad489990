"""The S&P 500 benchmark series equal a member-by-member loop over the dates, written out by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from serving import benchmark as bm
from tests.serving import former_benchmark

DAYS = pd.bdate_range("2024-01-01", periods=8)


def _prices() -> pd.DataFrame:
    """A: every day; B: joins the index on day 3, misses day 5 (a gap); C: leaves on day 6, no shares."""
    rows = []
    for i, day in enumerate(DAYS):
        rows.append(("A", day, 100.0 + i, 90.0 + i * 1.1))
        if i != 5:
            rows.append(("B", day, 50.0 * (1.02**i), 50.0 * (1.02**i) * 0.99))
        rows.append(("C", day, 20.0 - i * 0.5, 20.0 - i * 0.5))
    return pd.DataFrame(rows, columns=["symbol", "date", "close", "value"])


SPELLS = pd.DataFrame(
    {
        "symbol": ["A", "B", "C"],
        "added": [pd.NaT, DAYS[3], pd.Timestamp("2000-01-01")],
        "removed": [pd.NaT, pd.NaT, DAYS[6]],
    }
)
REPORTED = pd.DataFrame(
    {
        "symbol": ["A", "A", "B"],
        "date": [DAYS[0] + pd.Timedelta(days=-40), DAYS[4], DAYS[6]],
        "shares": [1_000.0, 1_200.0, 3_000.0],
    }
)
PROFILE = pd.Series({"B": 9_999.0})  # B has reported counts: the profile's is not used


def _by_hand() -> dict[tuple[str, date], tuple[float, int, float]]:
    prices = _prices()
    series = {s: part.set_index("date") for s, part in prices.groupby("symbol")}
    want: dict[tuple[str, date], tuple[float, int, float]] = {}
    for day in DAYS:
        rets, caps = {}, {}
        for symbol, frame in series.items():
            spell = SPELLS[SPELLS["symbol"] == symbol].iloc[0]
            inside = (pd.isna(spell["added"]) or spell["added"] <= day) and (
                pd.isna(spell["removed"]) or day < spell["removed"]
            )
            earlier = frame[frame.index < day]
            if not inside or day not in frame.index or earlier.empty:
                continue
            rets[symbol] = frame.loc[day, "value"] / earlier["value"].iloc[-1] - 1
            before = earlier.index[-1]  # shares as of the previous close's date
            known = REPORTED[(REPORTED["symbol"] == symbol) & (REPORTED["date"] <= before)]
            first = REPORTED[REPORTED["symbol"] == symbol]
            if not known.empty:
                caps[symbol] = earlier["close"].iloc[-1] * known["shares"].iloc[-1]
            elif not first.empty:
                caps[symbol] = earlier["close"].iloc[-1] * first["shares"].iloc[0]
        if not rets:
            continue
        want[(bm.EQUAL, day.date())] = (sum(rets.values()) / len(rets), len(rets), 1.0)
        if caps:
            total = sum(caps.values())
            cap_return = sum(caps[s] * rets[s] for s in caps) / total
            want[(bm.CAP, day.date())] = (cap_return, len(rets), len(caps) / len(rets))
    return want


def test_index_returns_equal_a_member_by_member_loop() -> None:
    """Cap-weighted (previous close x shares as of then) and equal-weighted returns, member counts and
    coverage equal the hand loop on every date; a gap day's return spans the gap."""
    got = bm.index_returns(_prices(), SPELLS, REPORTED, PROFILE)
    want = _by_hand()
    assert {(b, d) for b, d in zip(got["benchmark"], got["date"], strict=True)} == set(want)
    for row in got.itertuples(index=False):
        ret, members, coverage = want[(row.benchmark, row.date)]
        assert row.daily_return == pytest.approx(ret, rel=1e-12), (row.benchmark, row.date)
        assert row.members == members
        assert row.coverage == pytest.approx(coverage)


def test_a_member_without_statements_is_weighted_by_its_profile_count() -> None:
    """C has no reported count: with a profile count it enters the cap weights at that count."""
    profile = pd.Series({"C": 500.0})
    got = bm.index_returns(_prices(), SPELLS, REPORTED, profile)
    first = got[(got["benchmark"] == bm.CAP)].iloc[0]
    assert first["date"] == DAYS[1].date()
    a = 91.1 / 90.0 - 1, 100.0 * 1_000.0
    c = 19.5 / 20.0 - 1, 20.0 * 500.0
    assert first["daily_return"] == pytest.approx((a[0] * a[1] + c[0] * c[1]) / (a[1] + c[1]), rel=1e-12)
    assert first["coverage"] == 1.0


def test_batches_of_companies_add_up_to_the_whole() -> None:
    """The refresh's way: partial sums of two batches of companies, finished together, equal one pass."""
    prices = _prices()
    whole = bm.index_returns(prices, SPELLS, REPORTED, PROFILE)
    parts = [
        bm.partial_sums(prices[prices["symbol"].isin(batch)], SPELLS, REPORTED, PROFILE)
        for batch in (["A"], ["B", "C"])
    ]
    batched = bm.finish(pd.concat(parts))
    pd.testing.assert_frame_equal(batched, whole, check_exact=False, rtol=1e-12)


def test_no_prices_give_no_rows() -> None:
    """An empty store gives an empty series with the table's columns."""
    empty = pd.DataFrame({"symbol": [], "date": [], "close": [], "value": []})
    got = bm.index_returns(empty, SPELLS, REPORTED, PROFILE)
    assert got.empty
    assert list(got.columns) == list(bm.COLUMNS)


def test_share_and_member_steps_say_from_which_day_the_series_can_move() -> None:
    """A company's count and membership as step functions: the first count stands from the start, a
    period's count from its end (of a quarter and a year on one date the last given), the profile's for
    a company without one; `first_change` is the first day either differs, nothing when equal."""
    reported = pd.DataFrame(
        {
            "symbol": ["A", "A", "A", "A", "B"],
            "date": pd.to_datetime(["2020-03-31", "2020-06-30", "2020-06-30", "2020-09-30", "2021-01-01"]),
            "shares": [10.0, 11.0, 12.0, 12.0, -1.0],  # B's is not a count
        }
    )
    steps = bm.share_steps(reported, pd.Series({"B": 7.0, "C": 5.0}), ["A", "B", "D"])
    assert steps == {
        "A": [(bm.ORIGIN, 10.0), (date(2020, 6, 30), 12.0)],  # Sep repeats Jun's count: one step
        "B": [(bm.ORIGIN, 7.0)],
    }
    restated = reported.assign(shares=[10.0, 11.0, 12.0, 15.0, -1.0])
    moved = bm.share_steps(restated, pd.Series({"B": 7.0}), ["A", "B"])
    assert bm.first_change(steps, moved, ["A", "B"]) == date(2020, 9, 30)
    assert bm.first_change(steps, steps, ["A", "B"]) is None
    first = bm.share_steps(
        reported.assign(shares=[9.0, 11.0, 12.0, 12.0, -1.0]), pd.Series(dtype=float), ["A"]
    )
    assert bm.first_change(steps, first, ["A"]) == bm.ORIGIN  # the first count: from the start

    members = bm.member_steps(SPELLS)
    assert members["A"] == [(bm.ORIGIN, 1.0)]
    assert members["B"] == [(bm.ORIGIN, 0.0), (DAYS[3].date(), 1.0)]
    left = SPELLS.assign(removed=[pd.NaT, DAYS[7], DAYS[6]])
    assert bm.first_change(members, bm.member_steps(left), ["A", "B", "C"]) == DAYS[7].date()
    rows = bm.input_rows(bm.MEMBER, members) + bm.input_rows(bm.SHARES, steps)
    assert bm.input_steps(rows) == {bm.MEMBER: members, bm.SHARES: steps}


def test_a_series_from_steps_equals_one_from_the_reported_counts() -> None:
    """partial_sums on `share_steps` (what the refresh passes) equals it on the counts, bit for bit."""
    prices = _prices()
    steps = bm.share_steps(REPORTED, PROFILE, ["A", "B", "C"])
    pd.testing.assert_frame_equal(
        bm.partial_sums(prices, SPELLS, steps=steps), bm.partial_sums(prices, SPELLS, REPORTED, PROFILE)
    )


def _universe(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Series]:
    """A random universe shaped like the store's: gapped daily prices since 1990 in shuffled order (zero
    and missing values among them), spells open and closed, several per company, reported counts repeated,
    restated on one period end, not positive or missing, and profile counts for some companies only."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("1990-01-01", "2026-06-30")
    symbols = [f"S{i:03d}" for i in range(40)]
    prices, spells, reported = [], [], []
    for symbol in symbols:
        own = days[rng.integers(0, len(days) // 2) :]
        own = own[rng.random(len(own)) > 0.05]
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, len(own))))
        value = close * rng.uniform(0.5, 1.0)
        value[rng.random(len(own)) < 0.001] = 0.0
        value[rng.random(len(own)) < 0.001] = np.nan
        prices.append(pd.DataFrame({"symbol": symbol, "date": own, "close": close, "value": value}))
        for _ in range(rng.integers(1, 4)):
            added, removed = sorted(rng.choice(days, 2, replace=False))
            spells.append(
                (symbol, added if rng.random() > 0.2 else pd.NaT, removed if rng.random() > 0.5 else pd.NaT)
            )
        ends = pd.date_range("1989-12-31", "2026-06-30", freq="QE")[rng.integers(0, 40) :]
        counts = np.round(rng.uniform(1e8, 1e9) * np.exp(np.cumsum(rng.normal(0, 0.01, len(ends)))))
        repeat = rng.random(len(ends)) < 0.3  # a quarter that reports the count before it again
        counts[1:][repeat[1:]] = counts[:-1][repeat[1:]]
        for end, count in zip(ends, counts, strict=True):
            reported.append((symbol, end, count))
            if rng.random() < 0.1:  # the fiscal year's count on the same period end, given after
                reported.append((symbol, end, count * rng.choice([1.0, 1.01])))
            if rng.random() < 0.02:
                reported.append((symbol, end, rng.choice([0.0, -5.0, np.nan])))
    frame = pd.concat(prices, ignore_index=True).sample(frac=1.0, random_state=seed, ignore_index=True)
    table = pd.DataFrame(reported, columns=["symbol", "date", "shares"])
    table = table[~table["symbol"].isin(symbols[:3])]  # three companies without a reported count
    profile = pd.Series({s: float(rng.uniform(1e8, 1e9)) for s in symbols[1:4] + symbols[10:12]})
    return frame, pd.DataFrame(spells, columns=["symbol", "added", "removed"]), table, profile


@pytest.mark.parametrize("seed", [1, 7])
def test_sums_and_steps_equal_the_former_path_bit_for_bit(seed: int) -> None:
    """The vectorised steps and per-date sums equal the former loop-and-sort path exactly, on text and on
    coded symbols, from the counts or from their steps, and with dates that are not whole days."""
    prices, spells, reported, profile = _universe(seed)
    symbols = [*sorted(prices["symbol"].unique()), "NONE"]
    steps = bm.share_steps(reported, profile, symbols)
    want_steps = former_benchmark.share_steps(reported, profile, symbols)
    assert steps == want_steps
    assert [type(day) for own in steps.values() for day, _ in own] == [
        type(day) for own in want_steps.values() for day, _ in own
    ]
    coded = prices.assign(
        symbol=pd.Categorical(prices["symbol"], categories=sorted(prices["symbol"].unique()))
    )
    timed = prices.assign(date=prices["date"] + pd.to_timedelta(np.arange(len(prices)) % 3, unit="h"))
    for frame in (prices, coded, timed):
        want = former_benchmark.partial_sums(frame, spells, reported, profile)
        pd.testing.assert_frame_equal(
            bm.partial_sums(frame, spells, reported, profile), want, check_exact=True
        )
        pd.testing.assert_frame_equal(bm.partial_sums(frame, spells, steps=steps), want, check_exact=True)
    assert bm.share_steps(reported.iloc[:0], profile, symbols) == former_benchmark.share_steps(
        reported.iloc[:0], profile, symbols
    )
