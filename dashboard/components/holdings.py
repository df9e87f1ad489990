"""Portfolio holdings as analysts paste them: `AAPL 50%`, `MSFT:0.3`, `AAPL MSFT JNJ`, a column pasted
from Excel (tickers and weights separated by tabs, lines by newlines), `;` or `,` between holdings.

Weights are fractions or percentages (`50%`); none at all means equal weights; a ticker given twice is
merged (weights added) and said so. Each problem names the holding and the reason, and every problem of
the text is reported at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dashboard.components.inputs import InvalidInput, bounded_text, known_symbols

MAX_HOLDINGS = 100
MIN_HOLDINGS = 2
MAX_CHARS = 4_000  # 100 holdings pasted from Excel (ticker, tab, weight, newline) fit
TOKEN = re.compile(r"[^\s,;:=]+")
TICKER = re.compile(r"^[A-Za-z][A-Za-z0-9.\-]{0,9}$")
WEIGHT = re.compile(r"^(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))(?P<pct>%?)$")


@dataclass(slots=True)
class Holdings:
    """Parsed holdings: ticker -> weight (as given: fractions, or percentages as fractions), notes."""

    weights: dict[str, float]
    notes: list[str] = field(default_factory=list)
    equal: bool = False  # no weights were given

    def text(self) -> str:
        """The holdings written back as `TICKER:weight` lines (what the field and the link hold)."""
        return ", ".join(f"{s}:{w:.4g}" for s, w in self.weights.items())


def parse(text: object, *, shorts: bool = False) -> Holdings:
    """The holdings of a pasted text.

    Raises:
        InvalidInput: a part that is neither a ticker nor a weight, an unknown ticker, weights given for
            some holdings only, a negative weight without shorts, fewer than 2 or more than 100 holdings.
    """
    entries = _entries(bounded_text(text, name="holdings", max_chars=MAX_CHARS))
    distinct = list(dict.fromkeys(s for s, _ in entries))
    if not MIN_HOLDINGS <= len(distinct) <= MAX_HOLDINGS:
        raise InvalidInput(
            f"a portfolio needs {MIN_HOLDINGS} to {MAX_HOLDINGS} holdings ({len(distinct)} given)"
        )
    known = known_symbols()
    unknown = [s for s in distinct if s not in known]
    if unknown:
        listed = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise InvalidInput(f"not companies we hold: {listed}")
    weights, equal = _summed(entries, shorts=shorts)
    notes = []
    repeated = [s for s in distinct if sum(1 for t, _ in entries if t == s) > 1]
    if repeated:
        notes.append(f"{', '.join(repeated)} given more than once: merged, weights added")
    if equal:
        notes.append(f"no weights given: {len(weights)} holdings at equal weight")
    return Holdings(weights, notes, equal=equal)


def _entries(body: str) -> list[tuple[str, str | None]]:
    """(TICKER, weight text or None) in the order given; every unreadable part reported at once."""
    entries: list[tuple[str, str | None]] = []
    problems: list[str] = []
    for part in TOKEN.findall(body):
        last = entries[-1][1] if entries else None
        if part == "%" and last is not None and not last.endswith("%"):
            entries[-1] = (entries[-1][0], last + "%")  # `AAPL 50 %`
        elif WEIGHT.match(part):
            if not entries or last is not None:
                problems.append(f"{part!r} is a weight without a ticker before it")
            else:
                entries[-1] = (entries[-1][0], part)
        elif TICKER.match(part):
            entries.append((part.upper(), None))
        else:
            problems.append(f"cannot read {part[:20]!r}: write a ticker, then optionally its weight")
    if problems:
        raise InvalidInput("; ".join(problems[:5]))
    return entries


def _summed(entries: list[tuple[str, str | None]], *, shorts: bool) -> tuple[dict[str, float], bool]:
    """Weights per ticker (a repeated ticker's added), equal when none was given; and whether equal."""
    given = [w for _, w in entries if w is not None]
    if given and len(given) < len(entries):
        missing = ", ".join(dict.fromkeys(s for s, w in entries if w is None))
        raise InvalidInput(f"no weight for {missing}: give every holding a weight, or none for equal weights")
    weights: dict[str, float] = {}
    for symbol, raw in entries:
        weights[symbol] = weights.get(symbol, 0.0) + (1.0 if raw is None else _weight(raw))
    negative = [s for s, w in weights.items() if w < 0]
    if negative and not shorts:
        raise InvalidInput(f"negative weight for {', '.join(negative)}: tick 'allow short positions'")
    if not sum(weights.values()) > 0:
        raise InvalidInput("the weights must add up to more than zero")
    if not given:
        return {s: 1.0 / len(weights) for s in weights}, True
    return weights, False


def _weight(raw: str) -> float:
    match = WEIGHT.match(raw)
    assert match is not None  # only called on tokens WEIGHT matched
    value = float(match.group("number"))
    return value / 100.0 if match.group("pct") else value
