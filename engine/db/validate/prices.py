"""Parse and validate historical price rows (full and dividend-adjusted) into PriceRows.

Every input row ends up either in the returned rows or in the returned quarantine rows with a
reason: nothing is dropped silently, nothing invalid reaches prices_daily.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from engine.db.rows import PriceRow, QuarantineRow
from engine.db.validate import price_rules
from engine.db.validate.common import Invalid, Parsed, check_symbol, number, optional_number, parse_day
from engine.db.validate.price_batch import clean_adjusted, clean_prices
from engine.db.validate.price_rules import PriceValues


def _price(row: Mapping[str, Any], symbol: str, adjusted: Mapping[date, float]) -> PriceRow:
    check_symbol(row, symbol)
    day = parse_day(row.get("date"))
    values = PriceValues(
        number(row, "open"),
        number(row, "high"),
        number(row, "low"),
        number(row, "close"),
        number(row, "volume"),
    )
    price_rules.check(values, row)
    vwap = optional_number(row, "vwap")
    open_, high, low, close, volume = values
    return PriceRow(symbol, day, open_, high, low, close, adjusted.get(day), int(volume), vwap)


def _adjusted(row: Mapping[str, Any], symbol: str) -> tuple[date, float]:
    check_symbol(row, symbol)
    day = parse_day(row.get("date"))
    return day, number(row, "adjClose")


def parse_prices(
    symbol: str,
    rows: Iterable[Mapping[str, Any]],
    adjusted: Iterable[Mapping[str, Any]] = (),
    *,
    checked: bool = False,
) -> Parsed[PriceRow]:
    """Turn historical-price-eod/full rows into PriceRows, merged by date with dividend-adjusted rows.

    Args:
        symbol: the symbol the batch was fetched for; rows carrying another symbol are refused.
        rows: historical-price-eod/full rows (symbol, date, open, high, low, close, volume, vwap, ...).
        adjusted: historical-price-eod/dividend-adjusted rows (symbol, date, adjClose, ...);
            their adjClose fills `adj_close` for the same date.
        checked: the rows come from FMPClient, which already checked that every numeric field is
            a JSON number or null (rows failing that come marked, as `UncheckedRow`), so the
            whole-batch pass need not check the values' types again.

    The value rules are price_rules.RULES. A batch that breaks none of them (nor a parsing rule) is
    parsed whole, column by column (price_batch.py); any other batch row by row (`_price`,
    `_adjusted`), which finds the bad rows and gives each its reason.

    Returns:
        The valid rows (not yet deduplicated) and the quarantined ones.
    """
    rows, adjusted = list(rows), list(adjusted)
    clean = _clean_batch(symbol, rows, adjusted, typed=checked)
    if clean is not None:
        return clean
    result: Parsed[PriceRow] = Parsed()
    adj_close: dict[date, float] = {}
    adjusted_raw: dict[date, Mapping[str, Any]] = {}
    for raw in adjusted:
        try:
            day, value = _adjusted(raw, symbol)
        except Invalid as exc:
            result.quarantined.append(QuarantineRow("prices_adjusted", symbol, None, str(exc), dict(raw)))
            continue
        # Duplicate dates: keep the greatest, as dedupe_prices does, so input order never matters.
        if day not in adj_close or value > adj_close[day]:
            adj_close[day] = value
            adjusted_raw[day] = raw
    unmatched = set(adj_close)
    for raw in rows:
        try:
            row = _price(raw, symbol, adj_close)
        except Invalid as exc:
            result.quarantined.append(QuarantineRow("prices", symbol, None, str(exc), dict(raw)))
            continue
        if row.adj_close is not None:
            unmatched.discard(row.date)
        result.rows.append(row)
    result.quarantined += _orphans(symbol, unmatched, adjusted_raw)
    return result


def _orphans(
    symbol: str, days: Iterable[date], adjusted_raw: Mapping[date, Mapping[str, Any]]
) -> list[QuarantineRow]:
    """An adjusted close with no unadjusted row cannot make a full price row; keep it visible."""
    reason = "adjusted row without an unadjusted row"
    return [
        QuarantineRow("prices_adjusted", symbol, None, reason, dict(adjusted_raw[day]))
        for day in sorted(days)
    ]


def _clean_batch(
    symbol: str, rows: list[Mapping[str, Any]], adjusted: list[Mapping[str, Any]], *, typed: bool
) -> Parsed[PriceRow] | None:
    """The batch parsed whole (price_batch.py) when no row breaks a rule, else None."""
    adj_close = clean_adjusted(adjusted, symbol, typed=typed)
    parsed = None if adj_close is None else clean_prices(rows, symbol, adj_close, typed=typed)
    if adj_close is None or parsed is None:
        return None
    # Every row whose date has an adjusted close got it; adj_close keeps `adjusted`'s order (dates unique).
    unmatched = adj_close.keys() - {row.date for row in parsed}
    return Parsed(parsed, _orphans(symbol, unmatched, dict(zip(adj_close, adjusted, strict=True))))
