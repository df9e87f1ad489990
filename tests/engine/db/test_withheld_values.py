"""withheld_values (schema 172): each quarantine wording the validators write maps to its rule and field."""

from __future__ import annotations

import json
from collections.abc import Callable

import asyncpg

from engine.db import plausibility
from engine.db.plausibility import Implausible
from engine.db.validate import Invalid, common, parse_day, price_rules, statements
from engine.db.validate.price_rules import PriceValues


def _reason(refuse: Callable[[], object]) -> str:
    """The quarantine reason a validator gives (it raises it, or returns it by row index)."""
    try:
        returned = refuse()
    except (Invalid, Implausible) as exc:
        return str(exc)
    assert isinstance(returned, dict)
    assert returned, "the validator refused nothing"
    return str(next(iter(returned.values())))


HISTORY = [{"revenue": 100.0}, {"revenue": 110.0}, {"revenue": 105.0}, {"revenue": 1e12}]
# (how the engine refuses, the rule the view names, the field it names, that field's raw value in the row)
CASES: list[tuple[Callable[[], object], str, str | None, str | float | None]] = [
    (lambda: common.number({"close": "n/a"}, "close"), "text where a number belongs", "close", "n/a"),
    (lambda: common.number({"close": "NaN"}, "close"), "non-finite number", "close", "NaN"),
    (lambda: common.number({}, "close"), "missing field", "close", None),
    (
        lambda: plausibility.check_field("totalAssets", -5.0, "balance"),
        "negative where it cannot be",
        "totalAssets",
        -5.0,
    ),
    (lambda: plausibility.check_field("eps", 1e12, "income"), "out of bounds", "eps", 1e12),
    (lambda: plausibility.check_history(HISTORY, None), "far above the company's history", "revenue", 1e12),
    (lambda: plausibility.check_history(HISTORY[:1], 0.01), "far above the market cap", "revenue", 100.0),
    (
        lambda: statements._balance_check(
            {"totalAssets": 100.0, "totalLiabilities": 10.0, "totalStockholdersEquity": 10.0}, 0.01
        ),
        "balance sheet does not balance",
        None,
        None,
    ),
    (lambda: common.check_symbol({"symbol": "MSFT"}, "AAPL"), "another company's row", None, None),
    (lambda: price_rules.check(PriceValues(1, 1, 2, 1, 10), {}), "impossible price row", None, None),
    (
        lambda: price_rules.check(PriceValues(1, 3, 1, 2, 1.5), {"volume": 1.5}),
        "impossible price row",
        None,
        None,
    ),
    (lambda: parse_day("yesterday"), "bad date or period", None, None),
    (lambda: parse_day("1066-10-14"), "bad date or period", None, None),
]


async def test_each_reason_maps_to_its_rule_field_and_raw_value(pool: asyncpg.Pool) -> None:
    """Every wording above is the validators' own (called, not copied); none falls through to 'other', and
    the view shows the named field's raw value from the refused row."""
    await pool.execute("DELETE FROM quarantine")
    for at, (refuse, _, field, raw) in enumerate(CASES):
        row: dict[str, object] = {"date": "2024-09-28", "period": "FY"}
        if field is not None and raw is not None:
            row[field] = raw
        await pool.execute(
            "INSERT INTO quarantine (dataset, symbol, kind, reason, payload) VALUES ('statements', $1, 'income', $2, $3)",
            f"S{at}",
            _reason(refuse),
            json.dumps(row),
        )
    seen = {
        r["symbol"]: r
        for r in await pool.fetch("SELECT symbol, rule, field, raw_value, period, day FROM withheld_values")
    }
    for at, (_, rule, field, raw) in enumerate(CASES):
        got = seen[f"S{at}"]
        assert (got["rule"], got["field"], got["period"], got["day"]) == (rule, field, "FY", "2024-09-28"), (
            got
        )
        shown = got["raw_value"]
        assert (float(shown) if isinstance(raw, float) else shown) == raw, got
