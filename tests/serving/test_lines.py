"""statement_lines rows built without frames, held bit for bit to the frames the Company page built."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from devkit import factories
from serving import company, lines
from tests.serving.former import pandas_ttm

STAMP = datetime(2024, 6, 1, tzinfo=UTC)


def _stored(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload as the store gives it back: JSON numbers, keys in JSONB's order (length, then bytes)."""
    plain = json.loads(json.dumps(payload))
    return {key: plain[key] for key in sorted(plain, key=lambda k: (len(k.encode()), k.encode()))}


def _companies() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Companies whose tables take every path: whole histories, a missing quarter, a restated period,
    fewer than four quarters, a field that is a number in one payload and a text in another."""
    out = {}
    for symbol, seed in (("AAA", 1), ("BBB", 2), ("CCC", 3), ("DDD", 4), ("EEE", 5)):
        out[symbol] = {
            kind: [_stored(p | {"symbol": symbol}) for p in payloads]
            for kind, payloads in factories.statement_payloads(symbol, years=6, seed=seed).items()
        }
    for kind in company.KINDS:
        out["BBB"][kind] = [p for p in out["BBB"][kind] if p["date"] != out["BBB"][kind][9]["date"]]
        out["DDD"][kind] = [p for p in out["DDD"][kind] if p["period"] == "FY" or p["date"] < "1995-09-01"]
    income = out["CCC"]["income"]
    income.append(income[7] | {"revenue": income[7]["revenue"] * 1.01})  # restated: the last one wins
    cashflow = out["EEE"]["cashflow"]
    cashflow[3] = cashflow[3] | {"inventory": "n/a", "capitalExpenditure": None}
    return out


def _statement_rows(companies: dict[str, dict[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """The refresh's read (SERVING_STATEMENTS): by symbol, then fiscal date."""
    rows = [
        {
            "symbol": symbol,
            "kind": kind,
            "grp": "FY" if p["period"] == "FY" else "Q",
            "period": p["period"],
            "fiscal_year": int(p["fiscalYear"]),
            "updated_at": STAMP,
            "payload": p,
        }
        for symbol, kinds in companies.items()
        for kind, payloads in kinds.items()
        for p in payloads
    ]
    return sorted(rows, key=lambda r: (r["symbol"], r["payload"]["date"]))


def _pandas_ttm(quarterly: pd.DataFrame) -> pd.DataFrame:
    """`company.ttm_frames`' table as pandas built it before (the oracle): no table under four quarters."""
    if len(quarterly) < 4:
        return pd.DataFrame()
    return pandas_ttm(quarterly).dropna(how="all")


def _bits(frame: pd.DataFrame) -> np.ndarray:
    values = frame.to_numpy(dtype=float)
    return np.where(np.isnan(values), np.nan, values).view(np.int64)


def test_rows_equal_the_company_pages_frames_bit_for_bit() -> None:
    """Every FY, Q and TTM table of every company equals the page's frame (dates, lines in their order,
    each value to the last bit), with each period's fiscal year and label; empty tables get no row."""
    companies = _companies()
    stored = {(r[0], r[1], r[2]): r for r in lines.rows(_statement_rows(companies))}
    expected: dict[tuple[str, str, str], pd.DataFrame] = {}
    for symbol, kinds in companies.items():
        for group in ("FY", "Q"):
            frames = company.statement_frames(kinds, group)
            expected |= {(symbol, kind, group): frame for kind, frame in frames.items()}
            if group == "Q":
                expected |= {(symbol, kind, "TTM"): _pandas_ttm(frames[kind]) for kind in lines.TTM_KINDS}
    expected = {key: frame for key, frame in expected.items() if not frame.empty}
    assert ("DDD", "income", "TTM") not in expected  # three quarters: no TTM table
    assert set(stored) == set(expected)
    for key, frame in expected.items():
        row = stored[key]
        got = lines.table_frame(row[3], row[6], row[7])
        pd.testing.assert_frame_equal(got, frame, check_exact=True, check_freq=False)
        np.testing.assert_array_equal(_bits(got), _bits(frame), err_msg=str(key))
        group = "FY" if key[2] == "FY" else "Q"
        labels = {
            p["date"]: (int(p["fiscalYear"]), p["period"])
            for p in companies[key[0]][key[1]]
            if (p["period"] == "FY") == (group == "FY")
        }
        assert list(zip(row[4], row[5], strict=True)) == [labels[d.isoformat()] for d in row[3]]
        assert row[8] == STAMP
    last = companies["CCC"]["income"][-1]  # the restated quarter: its last payload's figure
    table = stored[("CCC", "income", "FY" if last["period"] == "FY" else "Q")]
    frame = lines.table_frame(table[3], table[6], table[7])
    assert frame.loc[last["date"], "revenue"] == last["revenue"]
