"""metric_history rows of many companies at once: their statements side by side in one frame per kind.

The Company page computes one company's frames (`company.statement_frames`, `combined`, `ttm_frames`)
and `fundamentals.ratios` on them, a few dozen pandas operations per company. Here the companies of a
batch share each operation: one long frame per statement kind indexed by (symbol, date), combined with
each company's own precedence of kinds (a field comes from the first kind whose statements of that
company carry it, as `statements.combine` decides per company), each company's previous period found
on its own dates (`fundamentals.adjacent`), and `ratios` run once. The FY figures and ratios equal the
page's per-company ones exactly (tests/engine/runs/test_serving_refresh.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from serving.company import (
    DUPONT,
    DUPONT_KINDS,
    FIGURES,
    GROWTH,
    INPUTS,
    KINDS,
    METRIC_COLUMNS,
    PERIOD_LABELS,
    RATIOS,
)
from serving.fundamentals import adjacent, dupont, ratios
from serving.statements import (
    AVERAGED_FLOW_FIELDS,
    CLOSING_FIELDS,
    MAX_TTM_SPAN_DAYS,
    OPENING_FIELDS,
    fiscal_date,
    payload_matrix,
)

Payload = Mapping[str, Any]
# Per company: payloads by period group ("FY", "Q") and kind, oldest first.
Payloads = Mapping[str, Mapping[str, Mapping[str, Sequence[Payload]]]]
# Per (symbol, group, ISO fiscal date): fiscal year, period label, latest updated_at of its statements.
Meta = Mapping[tuple[str, str, str], tuple[int | None, str | None, datetime | None]]


class Kept:
    """One company's statements of one kind and period group as `statement_frame` keeps them: the
    fiscal dates of the payloads of the group's labels (in order of first appearance; the last payload
    of a date wins) and their `payload_matrix` (`columns`, one row per date)."""

    __slots__ = ("columns", "dates", "matrix")

    def __init__(self, dates: list[pd.Timestamp], columns: list[str], matrix: np.ndarray) -> None:
        self.dates, self.columns, self.matrix = dates, columns, matrix


def kept(payloads: Sequence[Payload], labels: Sequence[str]) -> Kept:
    """`Kept` of one company's payloads of one kind: the matrix of every payload of `labels` (a field
    is a column when any of them carries it as a number), the last row of each date kept."""
    items = [payload for payload in payloads if payload.get("period") in labels]
    columns, matrix = payload_matrix(items)
    last = {fiscal_date(payload): at for at, payload in enumerate(items)}
    return Kept(list(last), columns, matrix[list(last.values())] if len(last) < len(items) else matrix)


class Long:
    """One kind's rows of many companies: a float frame indexed by (symbol, date), and per company the
    fields its rows carry (what makes it hold a column in `statement_frame`)."""

    __slots__ = ("frame", "present")

    def __init__(self, frame: pd.DataFrame, present: dict[str, set[str]]) -> None:
        self.frame, self.present = frame, present


def _long(companies: Mapping[str, Kept]) -> Long:
    """`statement_frame` of each company's payloads (`Kept`), stacked, with only the fields
    metric_history is computed from (company.INPUTS: each value depends on its own inputs only, so the
    others change nothing), its INPUTS columns placed among every company's."""
    present: dict[str, set[str]] = {}
    parts: list[tuple[str, list[pd.Timestamp], list[str], np.ndarray]] = []
    for symbol, part in companies.items():
        columns = part.columns
        wanted = [at for at, name in enumerate(columns) if name in INPUTS]
        present[symbol] = {columns[at] for at in wanted}
        if part.dates:
            parts.append((symbol, part.dates, [columns[at] for at in wanted], part.matrix[:, wanted]))
    names = list(dict.fromkeys(name for _, _, columns, _ in parts for name in columns))
    where = {name: at for at, name in enumerate(names)}
    values = np.full((sum(len(dates) for _, dates, _, _ in parts), len(names)), np.nan)
    at = 0
    for _, dates, columns, matrix in parts:
        values[at : at + len(dates), [where[name] for name in columns]] = matrix
        at += len(dates)
    keys = [(symbol, day) for symbol, dates, _, _ in parts for day in dates]
    index = pd.MultiIndex.from_tuples(keys, names=["symbol", "date"]) if keys else _empty_index()
    frame = pd.DataFrame(values, index=index, columns=names)
    return Long(frame.sort_index(), present)


def _empty_index() -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [pd.Index([], dtype=object), pd.DatetimeIndex([])], names=["symbol", "date"]
    )


def _combine(parts: Sequence[Long]) -> pd.DataFrame:
    """`statements.combine` per company: each field from the first kind carrying it for that company."""
    parts = [p for p in parts if not p.frame.empty]
    if not parts:
        return pd.DataFrame(index=_empty_index())
    index = parts[0].frame.index
    for part in parts[1:]:
        index = index.union(part.frame.index)
    index = index.sort_values()
    symbols = index.get_level_values("symbol")
    names = list(dict.fromkeys(symbols))
    codes = pd.Index(names).get_indexer(symbols)
    aligned = [p.frame.reindex(index) for p in parts]
    out: dict[str, np.ndarray] = {}
    # Columns as lists: pandas' str Index yields its names one Python-level call at a time.
    for field in dict.fromkeys(c for p in parts for c in p.frame.columns.tolist()):
        values = np.full(len(index), np.nan)
        taken = np.zeros(len(names), dtype=bool)
        for part, frame in zip(parts, aligned, strict=True):
            if field not in frame.columns:
                continue
            carries = np.array([field in part.present.get(s, ()) for s in names]) & ~taken
            if carries.any():
                rows = carries[codes]
                values[rows] = frame[field].to_numpy(dtype=float)[rows]
                taken |= carries
        out[field] = values
    return pd.DataFrame(out, index=index)


def _segments(index: pd.MultiIndex) -> list[tuple[int, int, pd.DatetimeIndex]]:
    """Each company's rows: (start, stop, its dates), in index order."""
    symbols = index.get_level_values("symbol")
    dates = pd.DatetimeIndex(index.get_level_values("date"))
    starts = np.flatnonzero(np.r_[True, symbols[1:] != symbols[:-1]]) if len(index) else np.array([], int)
    stops = np.r_[starts[1:], len(index)]
    return [(int(a), int(b), dates[a:b]) for a, b in zip(starts, stops, strict=True)]


Lag = tuple[np.ndarray, np.ndarray]  # per row: the row `periods` back, and whether it is adjacent


def _lag(segments: list[tuple[int, int, pd.DatetimeIndex]], periods: int) -> Lag:
    """Per row, the row `periods` back within its company and whether that row is that many periods
    earlier by date (`fundamentals.adjacent` on the company's own dates), once for every column."""
    rows = sum(stop - start for start, stop, _ in segments)
    valid = np.zeros(rows, dtype=bool)
    for start, stop, dates in segments:
        valid[start:stop] = adjacent(dates, periods)
        valid[start : min(stop, start + periods)] = False
    return np.maximum(np.arange(rows) - periods, 0), valid


def _lagged(values: np.ndarray, lag: Lag) -> np.ndarray:
    """Each row's value `periods` rows back within its company (`_lag`), NaN unless that row is
    adjacent."""
    source, valid = lag
    out = values[source]
    out[~valid] = np.nan
    return out


def _previous(frame: pd.DataFrame, lag: Lag) -> pd.DataFrame:
    """`fundamentals.previous_period` per company."""
    values = _lagged(frame.to_numpy(dtype=float), lag)
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


def _ttm(part: Long) -> Long:
    """`statements.ttm(rolling=True).dropna(how="all")` per company: flows summed over four consecutive
    quarters (NaN unless all four are known), share counts averaged, closing and opening balances."""
    frame = part.frame
    if frame.empty:
        return part
    values = frame.to_numpy(dtype=float)
    out = np.full(values.shape, np.nan)
    columns = frame.columns.tolist()
    averaged = np.array([i for i, c in enumerate(columns) if c in AVERAGED_FLOW_FIELDS], dtype=np.intp)
    closing = np.array([i for i, c in enumerate(columns) if c in CLOSING_FIELDS], dtype=np.intp)
    opening = np.array([i for i, c in enumerate(columns) if c in OPENING_FIELDS], dtype=np.intp)
    other = {*averaged.tolist(), *closing.tolist(), *opening.tolist()}
    flows = np.array([i for i in range(len(columns)) if i not in other], dtype=np.intp)
    keep = np.zeros(len(frame), dtype=bool)
    for start, stop, dates in _segments(frame.index):
        if stop - start < 4:
            continue
        rows = np.arange(start + 3, stop)
        window = np.stack([values[rows - k] for k in range(4)])  # 4 x rows x columns
        span = (dates[3:] - dates[:-3]).days.to_numpy()
        out[np.ix_(rows, flows)] = window[:, :, flows].sum(axis=0)
        out[np.ix_(rows, averaged)] = window[:, :, averaged].mean(axis=0)
        out[np.ix_(rows, closing)] = window[0][:, closing]
        out[np.ix_(rows, opening)] = window[3][:, opening]
        out[rows[span > MAX_TTM_SPAN_DAYS]] = np.nan
        keep[rows] = True
    keep &= ~np.isnan(out).all(axis=1)
    result = pd.DataFrame(out[keep], index=frame.index[keep], columns=frame.columns)
    # A company left without a row has no TTM frame of this kind: another kind's fields take its place.
    kept = set(result.index.get_level_values("symbol"))
    return Long(result, {s: keys if s in kept else set() for s, keys in part.present.items()})


def _growth(values: np.ndarray, lag: Lag) -> np.ndarray:
    """Growth against the adjacent period `lag` finds; NaN unless that base is positive."""
    base = _lagged(values, lag)
    base = np.where(base > 0, base, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((values - base) / base, dtype=float)


def metric_frame(payloads: Payloads, meta: Meta) -> pd.DataFrame:
    """metric_history rows (METRIC_COLUMNS) of every company of `payloads`, on every basis."""
    return kept_metric_frame(
        {
            (group, kind): {s: kept(p.get(group, {}).get(kind, ()), labels) for s, p in payloads.items()}
            for group, labels in PERIOD_LABELS.items()
            for kind in KINDS
        },
        meta,
    )


def kept_metric_frame(tables: Mapping[tuple[str, str], Mapping[str, Kept]], meta: Meta) -> pd.DataFrame:
    """`metric_frame` of each company's `Kept` statements by (period group, kind) and symbol (the
    statement pass builds them once for metric_history and statement_lines, serving/statement_pass.py)."""
    longs = {group: [_long(tables[(group, k)]) for k in KINDS] for group in PERIOD_LABELS}
    income, balance, cashflow = longs["Q"]
    sources = {"FY": longs["FY"], "Q": longs["Q"], "TTM": [_ttm(income), balance, _ttm(cashflow)]}
    fy_ends: dict[tuple[str, int | None], date] = {
        (s, m[0]): date.fromisoformat(day) for (s, g, day), m in meta.items() if g == "FY" and m[0]
    }
    rolled = _rolled_known(meta)
    parts = []
    for basis, kinds in sources.items():
        frame = _combine(kinds)
        if frame.empty:
            continue
        lag = _lag(_segments(frame.index), 1 if basis == "FY" else 4)
        group = "FY" if basis == "FY" else "Q"
        symbols = frame.index.get_level_values("symbol").tolist()
        dates = pd.DatetimeIndex(frame.index.get_level_values("date"))
        keys = list(zip(symbols, np.datetime_as_string(dates.to_numpy(), unit="D").tolist(), strict=True))
        info = [meta.get((s, group, day), (None, None, None)) for s, day in keys]
        columns: dict[str, Any] = {
            "symbol": symbols,
            "basis": basis,
            "fiscal_date": dates.date,
            "fiscal_year": [m[0] for m in info],
            "period": [m[1] for m in info],
            "fiscal_year_end": [fy_ends.get((s, m[0])) for (s, _), m in zip(keys, info, strict=True)],
            "known_since": [
                rolled.get(key) if basis == "TTM" else m[2] for key, m in zip(keys, info, strict=True)
            ],
        }
        for column, name in FIGURES.items():
            columns[column] = _field(frame, name)
        if basis == "Q":
            columns.update({column: np.full(len(frame), np.nan) for column in RATIOS})
        else:
            previous = _previous(frame, lag) if basis == "FY" else None
            values = ratios(frame, previous=previous, average=basis == "FY")
            columns.update({column: values[column].to_numpy(dtype=float) for column in RATIOS})
        for column, name in GROWTH.items():
            columns[column] = _growth(_field(frame, name), lag)
        factors = _dupont(kinds) if basis == "FY" else None
        for column in DUPONT:
            columns[column] = (
                factors[column].reindex(frame.index).to_numpy(dtype=float)
                if factors is not None
                else np.full(len(frame), np.nan)
            )
        parts.append(pd.DataFrame(columns))
    if not parts:
        return pd.DataFrame(columns=list(METRIC_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(METRIC_COLUMNS)]


def _dupont(kinds: Sequence[Long]) -> pd.DataFrame:
    """`fundamentals.dupont` of each company's income statement and balance sheet combined (what the
    Company page computed per request: only those two kinds, so a field the cash flow statement alone
    carries never enters), each balance averaged with the company's own previous period."""
    frame = _combine([part for kind, part in zip(KINDS, kinds, strict=True) if kind in DUPONT_KINDS])
    if frame.empty:
        return pd.DataFrame(columns=list(DUPONT), index=frame.index)
    return dupont(frame, previous=_previous(frame, _lag(_segments(frame.index), 1)))[list(DUPONT)]


def _field(frame: pd.DataFrame, name: str) -> np.ndarray:
    values: np.ndarray = (
        frame[name].to_numpy(dtype=float) if name in frame.columns else np.full(len(frame), np.nan)
    )
    return values


def _rolled_known(meta: Meta) -> dict[tuple[str, str], datetime | None]:
    """Per (symbol, quarter date): the latest change of the four quarters a TTM row sums."""
    quarters: dict[str, list[tuple[str, datetime | None]]] = {}
    for (symbol, group, day), m in sorted(meta.items()):
        if group == "Q":
            quarters.setdefault(symbol, []).append((day, m[2]))
    out: dict[tuple[str, str], datetime | None] = {}
    for symbol, days in quarters.items():
        for at, (day, _) in enumerate(days):
            stamps = [k for _, k in days[max(0, at - 3) : at + 1] if k is not None]
            out[(symbol, day)] = max(stamps, default=None)
    return out


def group_statements(rows: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], dict[Any, Any]]:
    """`metric_frame`'s arguments from statement rows (symbol, kind, grp "FY"/"Q", period, fiscal_date,
    fiscal_year, updated_at, payload as a dict): payloads by symbol, period group and kind, and per
    (symbol, group, fiscal date) its fiscal year, period label and latest change."""
    payloads: dict[str, Any] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    meta: dict[Any, Any] = {}
    for row in rows:
        symbol, group = row["symbol"], row["grp"]
        payloads[symbol][group][row["kind"]].append(row["payload"])
        key = (symbol, group, row["fiscal_date"].isoformat())
        known, stamp = meta.get(key), row["updated_at"]
        meta[key] = (row["fiscal_year"], row["period"], stamp if known is None else max(known[2], stamp))
    return payloads, meta
