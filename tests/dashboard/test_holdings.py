"""Holdings as analysts paste them (#27, review R4): separators, percentages, equal weights, duplicates,
shorts, and one message per problem naming the holding."""

from __future__ import annotations

import pytest

from dashboard.components import holdings
from dashboard.components.inputs import InvalidInput

KNOWN = frozenset({"AAPL", "MSFT", "JNJ", "KO", "BRK.B"} | {f"T{i:03d}" for i in range(200)})


@pytest.fixture(autouse=True)
def _known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(holdings, "known_symbols", lambda: KNOWN)


@pytest.mark.parametrize(
    "text",
    [
        "AAPL:0.5, MSFT:0.3, JNJ:0.2",
        "AAPL\t50%\nMSFT\t30%\r\nJNJ\t20%\n",  # a column pasted from Excel
        "aapl 50 %; msft 30%; jnj 20%",
        "AAPL=.5 MSFT=.3 JNJ=.2",
    ],
)
def test_the_usual_ways_of_writing_weights_agree(text: str) -> None:
    parsed = holdings.parse(text)
    assert parsed.weights == pytest.approx({"AAPL": 0.5, "MSFT": 0.3, "JNJ": 0.2})
    assert parsed.notes == []


def test_no_weights_means_equal_weights_and_says_so() -> None:
    parsed = holdings.parse("AAPL MSFT JNJ KO")
    assert parsed.weights == {"AAPL": 0.25, "MSFT": 0.25, "JNJ": 0.25, "KO": 0.25}
    assert parsed.equal
    assert parsed.notes == ["no weights given: 4 holdings at equal weight"]


def test_duplicates_are_merged_with_a_note() -> None:
    parsed = holdings.parse("AAPL:0.5, AAPL:0.5, MSFT:0.5")
    assert parsed.weights == {"AAPL": 1.0, "MSFT": 0.5}
    assert parsed.notes == ["AAPL given more than once: merged, weights added"]


def test_one_hundred_holdings_fit_and_two_hundred_are_counted() -> None:
    hundred = "\n".join(f"T{i:03d}\t1%" for i in range(100))
    assert len(holdings.parse(hundred).weights) == 100
    with pytest.raises(InvalidInput, match=r"2 to 100 holdings \(200 given\)"):
        holdings.parse(" ".join(f"T{i:03d}" for i in range(200)))


@pytest.mark.parametrize(
    ("text", "shorts", "message"),
    [
        ("AAPL:-0.2, MSFT:1.2", False, "negative weight for AAPL: tick 'allow short positions'"),
        ("AAPL:0.5, ZZZZ:0.5, QQQQ:0.1", False, "not companies we hold: ZZZZ, QQQQ"),
        ("AAPL:0.5, MSFT", False, "no weight for MSFT"),
        ("AAPL:0.5, MSFT:0.5x", False, "cannot read '0.5x'"),
        ("0.5 AAPL MSFT", False, "'0.5' is a weight without a ticker before it"),
        ("AAPL", False, "2 to 100 holdings (1 given)"),
        ("AAPL:0, MSFT:0", False, "must add up to more than zero"),
        ("AAPL:-1, MSFT:0.5", True, "must add up to more than zero"),
    ],
)
def test_each_problem_names_the_holding_and_the_reason(text: str, shorts: bool, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        holdings.parse(text, shorts=shorts)
    assert message in str(raised.value)


def test_shorts_when_allowed_and_the_text_written_back() -> None:
    parsed = holdings.parse("AAPL:1.3, MSFT:-0.3, BRK.B:0", shorts=True)
    assert parsed.weights == {"AAPL": 1.3, "MSFT": -0.3, "BRK.B": 0.0}
    assert holdings.parse(parsed.text(), shorts=True).weights == parsed.weights
