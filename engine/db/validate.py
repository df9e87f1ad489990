"""Parse and validate FMP rows (FMP's field names, as the client returns them) into typed rows.

Every input row ends up either in the returned typed rows or in the returned quarantine rows with
a reason: nothing is dropped silently, nothing invalid reaches the main tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

import orjson

from engine.db.plausibility import (
    FIRST_DAY,
    LAST_DAY,
    MAX_PRICE,
    Implausible,
    check_fields,
    check_history,
    shown,
)
from engine.db.price_batch import clean_adjusted, clean_prices
from engine.db.rows import PriceRow, QuarantineRow, StatementRow
from engine.fmp.endpoints import STATEMENT_KINDS, STATEMENT_PERIODS

R = TypeVar("R")

# Assets may differ from liabilities + equity by this share of assets (FMP rounds, and some filers
# report minority interest outside equity) before the balance sheet is refused.
BALANCE_TOLERANCE = 0.01


class Invalid(ValueError):
    """A row failed one validation rule; the message is the quarantine reason."""


@dataclass(slots=True)
class Parsed(Generic[R]):
    """The outcome of validating one batch: the good rows and the refused ones."""

    rows: list[R] = field(default_factory=list)
    quarantined: list[QuarantineRow] = field(default_factory=list)


def canonical_json(payload: Mapping[str, Any]) -> str:
    """Sorted-key JSON text: equal payloads give equal text, so dedup winners are stable."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def parse_day(value: object, name: str = "date") -> date:
    if not isinstance(value, str):
        raise Invalid(f"unparseable {name}: {value!r}")
    try:
        day = date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise Invalid(f"unparseable {name}: {value!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(f"{name} out of range: {value!r}")
    return day


def _number(row: Mapping[str, Any], name: str, *, required: bool = True) -> float | None:
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(f"missing {name}")
        return None
    if isinstance(value, bool):
        raise Invalid(f"non-numeric {name}: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"non-numeric {name}: {value!r}") from None
    if not math.isfinite(number):
        raise Invalid(f"non-finite {name}: {value!r}")
    return number


def _check_symbol(row: Mapping[str, Any], symbol: str) -> None:
    got = row.get("symbol")
    if got != symbol:
        raise Invalid(f"symbol mismatch: expected {symbol!r}, got {got!r}")


def _price(row: Mapping[str, Any], symbol: str, adjusted: Mapping[date, float]) -> PriceRow:
    _check_symbol(row, symbol)
    day = parse_day(row.get("date"))
    open_, high, low, close = (_number(row, name) for name in ("open", "high", "low", "close"))
    volume = _number(row, "volume")
    assert open_ is not None
    assert high is not None
    assert low is not None
    assert close is not None
    assert volume is not None
    _check_values(row, open_, high, low, close, volume)
    vwap = _number(row, "vwap", required=False)
    return PriceRow(symbol, day, open_, high, low, close, adjusted.get(day), int(volume), vwap)


def _check_values(
    row: Mapping[str, Any], open_: float, high: float, low: float, close: float, volume: float
) -> None:
    """The checks on parsed values (engine/db/price_batch.py applies the same ones to whole columns)."""
    if open_ < 0 or low < 0 or close < 0:
        raise Invalid(f"negative price: open {shown(open_)}, low {shown(low)}, close {shown(close)}")
    if high > MAX_PRICE:
        raise Invalid(f"high out of bounds: {shown(high)} (> {MAX_PRICE:.0e})")
    if volume < 0:
        raise Invalid(f"negative volume: {row.get('volume')!r}")
    if volume != int(volume):
        raise Invalid(f"fractional volume: {row.get('volume')!r}")
    if high < low:
        raise Invalid(f"high < low: {high!r} < {low!r}")


def _adjusted(row: Mapping[str, Any], symbol: str) -> tuple[date, float]:
    _check_symbol(row, symbol)
    day = parse_day(row.get("date"))
    value = _number(row, "adjClose")
    assert value is not None
    return day, value


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

    One set of rules, applied in one of two ways with the same outcome: a batch that breaks no rule
    is parsed whole, column by column (engine/db/price_batch.py); any other batch row by row
    (`_price`, `_adjusted`), which finds the bad rows and gives each its reason.

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
    """The batch parsed whole (engine/db/price_batch.py) when no row breaks a rule, else None."""
    adj_close = clean_adjusted(adjusted, symbol, typed=typed)
    parsed = None if adj_close is None else clean_prices(rows, symbol, adj_close, typed=typed)
    if adj_close is None or parsed is None:
        return None
    # Every row whose date has an adjusted close got it; adj_close keeps `adjusted`'s order (dates unique).
    unmatched = adj_close.keys() - {row.date for row in parsed}
    return Parsed(parsed, _orphans(symbol, unmatched, dict(zip(adj_close, adjusted, strict=True))))


def _balance_check(row: Mapping[str, Any], tolerance: float) -> None:
    assets = _number(row, "totalAssets")
    liabilities = _number(row, "totalLiabilities")
    equity = _number(row, "totalEquity", required=False)
    if equity is None:
        equity = _number(row, "totalStockholdersEquity")
    assert assets is not None
    assert liabilities is not None
    assert equity is not None
    gap = abs(assets - (liabilities + equity))
    if gap > tolerance * max(abs(assets), 1.0):
        raise Invalid(
            f"assets != liabilities + equity: {shown(assets)} vs {shown(liabilities + equity)} "
            f"(gap {shown(gap)} > {tolerance:.2%} of assets)"
        )


def _check_numeric(row: Mapping[str, Any], numeric: Iterable[str]) -> None:
    """Each named field is a finite JSON number or null (a `"NaN"` string or a bool is refused)."""
    for name in numeric:
        value = row.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"non-numeric {name}: {shown(value)}")
        if not math.isfinite(value):
            raise Invalid(f"non-finite {name}: {shown(value)}")


def _statement(
    row: Mapping[str, Any], symbol: str, kind: str, tolerance: float, numeric: tuple[str, ...]
) -> StatementRow:
    _check_symbol(row, symbol)
    _check_numeric(row, numeric)
    try:
        check_fields(row, kind)
    except Implausible as exc:
        raise Invalid(str(exc)) from None
    fiscal_date = parse_day(row.get("date"))
    period = row.get("period")
    if period not in STATEMENT_PERIODS:
        raise Invalid(f"unknown period: {period!r}")
    try:
        fiscal_year = int(str(row.get("fiscalYear")).strip())
    except ValueError:
        raise Invalid(f"unparseable fiscalYear: {row.get('fiscalYear')!r}") from None
    if not FIRST_DAY.year <= fiscal_year <= LAST_DAY.year:
        raise Invalid(f"fiscalYear out of range: {fiscal_year}")
    if kind == "balance":
        _balance_check(row, tolerance)
    try:
        filing_date: date | None = parse_day(row.get("filingDate"), "filingDate")
    except Invalid:
        filing_date = None  # informative only; the payload keeps FMP's value as sent
    currency = row.get("reportedCurrency")
    return StatementRow(
        symbol,
        kind,
        str(period),
        fiscal_date,
        fiscal_year,
        currency if isinstance(currency, str) else None,
        filing_date,
        canonical_json(row),
    )


def parse_statements(
    symbol: str,
    kind: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    numeric: tuple[str, ...] = (),
    market_cap: float | None = None,
    balance_tolerance: float = BALANCE_TOLERANCE,
) -> Parsed[StatementRow]:
    """Turn statement rows (income, balance, cashflow, ratios, key_metrics) into StatementRows.

    Refused, each row on its own (the others still load): a wrong symbol, a `numeric` field holding
    anything but a finite number or null, an unparseable date or fiscalYear, a period outside
    FY/Q1..Q4, a value breaking its family's plausibility rules (engine/db/plausibility.py; the
    headline amounts also against the batch's median and `market_cap`), and for `balance` a sheet
    whose totalAssets differ from totalLiabilities + totalEquity by more than `balance_tolerance`
    of assets.

    Raises:
        ValueError: `kind` is not one of the five statement kinds (a caller bug, not a data error).
    """
    if kind not in STATEMENT_KINDS:
        raise ValueError(f"unknown statement kind {kind!r}")
    result: Parsed[StatementRow] = Parsed()
    passed: list[Mapping[str, Any]] = []
    for raw in rows:
        try:
            result.rows.append(_statement(raw, symbol, kind, balance_tolerance, numeric))
        except Invalid as exc:
            result.quarantined.append(QuarantineRow("statements", symbol, kind, str(exc), dict(raw)))
        else:
            passed.append(raw)
    refused = check_history(passed, market_cap)
    if refused:
        result.rows = [row for index, row in enumerate(result.rows) if index not in refused]
        for index, reason in sorted(refused.items()):
            result.quarantined.append(QuarantineRow("statements", symbol, kind, reason, dict(passed[index])))
    return result
