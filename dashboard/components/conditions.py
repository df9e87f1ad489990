"""Screener conditions as analysts type them: `market cap >= 100; P/E <= 20; ROE >= 15`.

Values are in the units the table shows (15 means 15 % of a percentage, 100 means USD 100 bn of a market
cap); a metric is named by its label or key, case-insensitively. Conditions are joined by AND and
separated by `;`, a new line, `and`, or a comma before the next name. Each one that cannot be read is
reported on its own, with its position and the reason; the others still apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dashboard.components import catalogue
from dashboard.components.inputs import InvalidInput, bounded_text

MAX_CONDITIONS = 30
OPERATORS = {">=": ">=", "=>": ">=", "≥": ">=", "<=": "<=", "=<": "<=", "≤": "<=", ">": ">", "<": "<"}
SEPARATOR = re.compile(r"\s*(?:;|\n|\r|,(?=\s*[^\d\s.\-+])|\band\b)\s*", re.IGNORECASE)
CONDITION = re.compile(r"^(?P<name>.+?)\s*(?P<op>>=|=>|<=|=<|≥|≤|>|<)\s*(?P<value>\S.*?)\s*$")
NUMBER = re.compile(r"^(?P<number>[+-]?(?:\d[\d_]*\.?\d*|\.\d+))\s*(?P<unit>%|bn|b|x|usd|m)?$", re.IGNORECASE)
ALIASES = {
    "cap": "market_cap",
    "mcap": "market_cap",
    "market capitalisation": "market_cap",
    "market capitalization": "market_cap",
    "p/e": "pe",
    "pe ratio": "pe",
    "p/b": "pb",
    "p/fcf": "p_fcf",
    "ev/ebitda": "ev_ebitda",
    "ev/sales": "ev_sales",
    "d/e": "debt_to_equity",
    "yield": "dividend_yield",
    "dividend": "dividend_yield",
    "div yield": "dividend_yield",
    "roic": "roic",
    "f-score": "f_score",
    "piotroski": "f_score",
    "altman": "altman_z",
    "volatility": "volatility_1y",
    "52w high": "off_52w_high",
}


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition: the metric's key, the operator and the value in display units."""

    metric: str
    op: str
    value: float

    @property
    def raw(self) -> float:
        """The value in the table's units (fractions, USD)."""
        return catalogue.to_raw(self.metric, self.value)

    def text(self) -> str:
        """The condition as written back into the field and the link (`roe >= 15`)."""
        return f"{self.metric} {self.op} {self.value:g}"

    def describe(self) -> str:
        """For the page: `ROE (%) ≥ 15`."""
        return (
            f"{catalogue.label(self.metric)} {self.op.replace('>=', '≥').replace('<=', '≤')} {self.value:g}"
        )


@dataclass(frozen=True, slots=True)
class Problem:
    """A condition that could not be read: its position (from 1), its text and why."""

    position: int
    text: str
    reason: str

    def message(self) -> str:
        return f"Condition {self.position} ({self.text!r}): {self.reason}."


def _names(keys: tuple[str, ...]) -> dict[str, str]:
    names: dict[str, str] = {}
    for key in keys:
        metric = catalogue.BY_KEY[key]
        for name in (key, key.replace("_", " "), metric.label, re.sub(r"\s*\(.*?\)", "", metric.label)):
            names.setdefault(name.lower(), key)
    names.update({alias: key for alias, key in ALIASES.items() if key in keys})
    return names


def metric_of(name: str, keys: tuple[str, ...]) -> str:
    """The key a typed name stands for (a label with or without its unit, a key or a common alias).

    Raises:
        InvalidInput: no metric of `keys` is called that.
    """
    cleaned = re.sub(r"\s+", " ", name.strip().lower())
    names = _names(keys)
    found = names.get(cleaned) or names.get(re.sub(r"\s*\(.*?\)\s*$", "", cleaned))
    if found is None:
        raise InvalidInput(f"no metric called {name.strip()[:40]!r}")
    return found


def value_of(text: str, metric: str) -> float:
    """A typed value in display units; a `%`, `bn` or `x` after it is accepted where it fits the metric.

    Raises:
        InvalidInput: not a number, or a unit the metric is not shown in.
    """
    match = NUMBER.match(text.strip().replace(",", ""))
    if match is None:
        raise InvalidInput(f"{text.strip()[:30]!r} is not a number")
    unit = (match.group("unit") or "").lower()
    kind = catalogue.BY_KEY[metric].kind
    fits = {
        "%": ("pct",),
        "bn": ("usd_bn",),
        "b": ("usd_bn",),
        "x": ("x", "num2"),
        "usd": ("usd",),
        "m": ("shares_m",),
    }
    if unit and kind not in fits.get(unit, ()):
        shown = catalogue.UNITS.get(kind, "a plain number")
        raise InvalidInput(f"{catalogue.BY_KEY[metric].label} is typed in {shown}, not {unit}")
    return float(match.group("number").replace("_", ""))


def parse(text: object, keys: tuple[str, ...]) -> tuple[list[Condition], list[Problem]]:
    """The conditions of the text, and each part that could not be read (the rest still counts).

    Raises:
        InvalidInput: not text, too long, or more than MAX_CONDITIONS conditions.
    """
    body = bounded_text(text, name="conditions")
    parts = [p for p in SEPARATOR.split(body) if p and p.strip()]
    if len(parts) > MAX_CONDITIONS:
        raise InvalidInput(f"at most {MAX_CONDITIONS} conditions ({len(parts)} given)")
    conditions: list[Condition] = []
    problems: list[Problem] = []
    for position, part in enumerate(parts, start=1):
        match = CONDITION.match(part.strip())
        if match is None:
            problems.append(Problem(position, part.strip(), "write it as metric, >= or <=, value"))
            continue
        try:
            metric = metric_of(match.group("name"), keys)
            conditions.append(
                Condition(metric, OPERATORS[match.group("op")], value_of(match.group("value"), metric))
            )
        except InvalidInput as exc:
            problems.append(Problem(position, part.strip(), str(exc)))
    return conditions, problems


def join(conditions: list[Condition]) -> str:
    """The conditions as one text for the field and the link."""
    return "; ".join(c.text() for c in conditions)
