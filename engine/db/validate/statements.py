"""Parse and validate statement rows (income, balance, cashflow, ratios, key_metrics) into StatementRows.

Every input row ends up either in the returned rows or in the returned quarantine rows with a
reason: nothing is dropped silently, nothing invalid reaches statements.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from engine.db.plausibility import FIRST_DAY, LAST_DAY, Implausible, check_fields, check_history, shown
from engine.db.rows import QuarantineRow, StatementRow
from engine.db.validate.common import (
    Invalid,
    Parsed,
    canonical_json,
    check_symbol,
    number,
    optional_number,
    parse_day,
)
from engine.fmp.endpoints import STATEMENT_KINDS, STATEMENT_PERIODS

# Assets may differ from liabilities + equity by this share of assets (FMP rounds, and some filers
# report minority interest outside equity) before the balance sheet is refused.
BALANCE_TOLERANCE = 0.01


def _balance_check(row: Mapping[str, Any], tolerance: float) -> None:
    assets = number(row, "totalAssets")
    liabilities = number(row, "totalLiabilities")
    equity = optional_number(row, "totalEquity")
    if equity is None:
        equity = number(row, "totalStockholdersEquity")
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
    check_symbol(row, symbol)
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
    result.payloads = passed
    refused = check_history(passed, market_cap)
    if refused:
        result.rows = [row for index, row in enumerate(result.rows) if index not in refused]
        result.payloads = [row for index, row in enumerate(passed) if index not in refused]
        for index, reason in sorted(refused.items()):
            result.quarantined.append(QuarantineRow("statements", symbol, kind, reason, dict(passed[index])))
    return result
