"""Cached per-company data and derived frames shared by the Company, Valuation and Forecast pages."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import dcc

from dashboard.analytics import indicators
from dashboard.analytics.fundamentals import dupont, ratios
from dashboard.components import serving_state, statement_order, with_rows
from dashboard.components.inputs import InvalidInput
from dashboard.data import queries
from dashboard.services import services
from serving import company as derive
from serving import lines

RANGES = {"1M": 31, "6M": 183, "1Y": 365, "5Y": 5 * 365, "10Y": 10 * 365, "MAX": None}
OVERLAYS = indicators.keys("price")
OSCILLATORS = indicators.keys("oscillator")
STATEMENT_FIELDS = {
    "income": [
        "revenue",
        "grossProfit",
        "operatingIncome",
        "ebitda",
        "netIncome",
        "eps",
        "epsDiluted",
        "weightedAverageShsOutDil",
    ],
    "balance": [
        "totalAssets",
        "totalCurrentAssets",
        "cashAndCashEquivalents",
        "totalLiabilities",
        "totalDebt",
        "netDebt",
        "totalStockholdersEquity",
    ],
    "cashflow": [
        "operatingCashFlow",
        "capitalExpenditure",
        "freeCashFlow",
        "commonDividendsPaid",
        "commonStockRepurchased",
    ],
}
NOT_LINES = frozenset({"cik", "fiscalYear", "calendarYear"})  # numbers in a payload that are not amounts


def statement_lines(frame: pd.DataFrame, kind: str) -> list[str]:
    """Every line a statement holds (what its CSV export has) in the statement's order (revenue, costs,
    operating income ... EPS; assets, liabilities, equity; operating, investing, financing), then any
    numeric field the order does not know, by name; identifiers left out."""
    numeric = {str(c) for c in frame.select_dtypes("number").columns} - NOT_LINES
    known = [f for f in statement_order.ORDER.get(kind, ()) if f in numeric]
    return known + sorted(numeric - set(known))


CHART_FIELDS = {
    "income": ["revenue", "operatingIncome", "netIncome"],
    "balance": ["totalAssets", "totalLiabilities", "totalStockholdersEquity"],
    "cashflow": ["operatingCashFlow", "freeCashFlow", "capitalExpenditure"],
}
RATIO_FIELDS = ["gross_margin", "operating_margin", "net_margin", "fcf_margin", "roe", "roic", "roic_fmp"]


EARLIEST_AS_OF = date(1990, 1, 1)


def as_of_date(value: object) -> str | None:
    """A page's as-of date (YYYY-MM-DD from a date picker) checked, or None for "latest".

    Raises:
        InvalidInput: not a date, before 1990 or in the future.
    """
    if value in (None, ""):
        return None
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise InvalidInput(f"as-of date {str(value)[:20]!r} is not a date (YYYY-MM-DD)") from exc
    if not EARLIEST_AS_OF <= day <= date.today():
        raise InvalidInput(f"as-of date must be between {EARLIEST_AS_OF} and today")
    return day.isoformat()


def as_of_picker(id_: str, *, md: int, value: str | None = None) -> dbc.Col:
    """The as-of date control of the Company and Valuation pages (empty means the latest figures)."""
    picker = dcc.DatePickerSingle(
        id=id_,
        display_format="YYYY-MM-DD",
        placeholder="latest",
        clearable=True,
        max_date_allowed=date.today().isoformat(),
    )
    if value:  # only a date from the link: an explicit empty one is set again on mount (a 2nd callback)
        picker.date = value  # type: ignore[attr-defined]  # a declared prop, set after construction
    return dbc.Col(
        [
            dbc.Label("As of (empty: latest)", html_for=id_, className="small me-1"),
            picker,
        ],
        md=md,
    )


def prices(symbol: str) -> pd.DataFrame:
    svc = services()
    return svc.cache.cached("prices", (symbol,), lambda: queries.prices(svc.router, symbol))


def adjusted_close(symbol: str) -> pd.Series:
    """One symbol's dividend-adjusted closes (the close where FMP had no adjusted row), cached per symbol
    and shared by every request that holds it; empty when the symbol has no prices. Taken from the
    Company page's cached history when a request already read it, else read alone (a third of it)."""
    svc = services()

    def build() -> pd.Series:
        history = svc.cache.peek("prices", (symbol,))
        if history is None:
            series = queries.adjusted_close(svc.router, symbol)
        else:
            series = history["adj_close"].fillna(history["close"])
        return series if not series.empty else pd.Series(dtype=float)

    return svc.cache.cached("adjusted-close", (symbol,), build)


def adjusted_closes(symbols: Sequence[str], *, days: int | None = None) -> pd.DataFrame:
    """Wide frame of dividend-adjusted closes, one column per symbol in the order asked (columns named
    "symbol"), over the sorted union of their dates, without a frequency (the Portfolio and Compare pages).

    `days` keeps only the dates within that many calendar days of the latest one (Compare's span), as
    cutting the whole frame would, but each history is cut before the frame is put together: a year is
    ~250 rows of a history's ~9,500. Symbols without prices are left out (a symbol whose prices all fall
    before the span stays, empty); when none has prices the frame is empty with the asked columns.
    From each symbol's cached series, so any combination of symbols costs no query once warm; put together
    on arrays (each history has unique, ascending dates), a third of pandas' aligning constructor.
    """
    _read_together(symbols)
    series = {symbol: s for symbol in symbols if not (s := adjusted_close(symbol)).empty}
    if not series:
        return pd.DataFrame(columns=list(symbols), dtype=float)
    indexes = [s.index for s in series.values()]
    closes = [s.to_numpy(dtype=float) for s in series.values()]
    if days is not None:  # on the index and the array: a Series' iloc cost ~40 us a symbol
        start = max(index[-1] for index in indexes) - pd.Timedelta(days=days)
        cuts = [index.searchsorted(start) for index in indexes]
        indexes = [index[at:] for index, at in zip(indexes, cuts, strict=True)]
        closes = [values[at:] for values, at in zip(closes, cuts, strict=True)]
    dates, rows = _date_union(indexes)
    if rows is None:
        values = np.column_stack(closes)
    else:
        values = np.full((len(dates), len(series)), np.nan)
        for j, (where, column) in enumerate(zip(rows, closes, strict=True)):
            values[where, j] = column
    columns = pd.Index(list(series), name="symbol")
    return pd.DataFrame(values, index=pd.DatetimeIndex(dates, freq=None), columns=columns)


def _read_together(symbols: Sequence[str]) -> None:
    """Read the adjusted closes of the `symbols` this worker holds neither alone nor in a history in one
    query and keep each as `adjusted_close` would (one query per symbol cost ~1 ms of CPU each)."""
    svc = services()
    missing = [
        s
        for s in dict.fromkeys(symbols)
        if svc.cache.peek("adjusted-close", (s,)) is None and svc.cache.peek("prices", (s,)) is None
    ]
    if len(missing) < 2:
        return
    read = queries.adjusted_closes(svc.router, missing)
    for symbol in missing:
        svc.cache.cached(
            "adjusted-close", (symbol,), functools.partial(read.get, symbol, pd.Series(dtype=float))
        )


def _date_union(indexes: list[pd.Index]) -> tuple[pd.Index, list[np.ndarray] | None]:
    """The sorted union of ascending, unique date indexes and each one's rows in it (None: all equal).

    Most histories are the longest one or a part of it (a later listing, a gap): then the longest is the
    union and a binary search places the others, instead of sorting every date again (np.unique over
    ~40,000 dates cost ~2 ms). Indexes of different date units take the general path.
    """
    longest = max(indexes, key=len)
    if all(index.equals(longest) for index in indexes):
        return longest, None
    known = longest.to_numpy()
    rows: list[np.ndarray] = []
    for index in indexes:
        dates = index.to_numpy()
        if dates.dtype != known.dtype:
            break
        at = np.searchsorted(known, dates)
        if not (at < len(known)).all() or not (known[at] == dates).all():
            break
        rows.append(at)
    else:
        return longest, rows
    union = pd.DatetimeIndex(
        np.unique(np.concatenate([index.to_numpy() for index in indexes])), name=longest.name
    )
    return union, [union.searchsorted(index) for index in indexes]


def window(
    frame: pd.DataFrame, span: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The rows of the last `span` (dated on or after the last date minus its days), or from `start`
    to `end` when given (a span not in RANGES, such as year-to-date or custom dates, gives them).

    On an ascending index of unique dates (every stored history) those rows are a tail, cut by position
    (a binary search and a view, where a mask copies every column); any other index is masked.
    """
    days = RANGES.get(span)
    if frame.empty or (days is None and start is None and end is None):
        return frame
    if start is None and days is not None:
        start = frame.index[-1] - pd.Timedelta(days=days)
    if frame.index.is_monotonic_increasing and frame.index.is_unique:
        first = int(frame.index.searchsorted(start, side="left")) if start is not None else 0
        last = int(frame.index.searchsorted(end, side="right")) if end is not None else len(frame)
        return frame.iloc[first:last]
    keep = np.ones(len(frame), dtype=bool)
    if start is not None:
        keep &= frame.index >= start
    if end is not None:
        keep &= frame.index <= end
    return frame[keep]


def price_view(
    symbol: str,
    *,
    adjusted: bool,
    overlays: tuple[str, ...],
    span: str,
    oscillators: tuple[str, ...] = (),
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, dict[str, pd.Series], list[tuple[indicators.Indicator, dict[str, pd.Series]]]]:
    """OHLCV (adjusted or traded) in the window, the chosen overlays and oscillator panels.

    Every indicator comes from `indicators.REGISTRY` and is computed on the full history (so the window
    starts warmed up), then cut to the window (`start`/`end` as `window` takes them).
    """
    full = prices(symbol)
    if full.empty:
        return full, {}, []
    ohlcv = indicators.ohlcv(full, adjusted=adjusted)
    shown = window(ohlcv, span, start, end)

    # A slice of the history (see `window`): each line's same slice, by position, is its reindex on it.
    first = int(ohlcv.index.searchsorted(shown.index[0])) if len(shown) else len(ohlcv)
    cut = (
        slice(first, first + len(shown))
        if ohlcv.index.is_unique and shown.index.equals(ohlcv.index[first : first + len(shown)])
        else None
    )

    def lines(key: str) -> dict[str, pd.Series]:
        computed = indicators.REGISTRY[key].compute(ohlcv).items()
        if cut is not None:
            return {name: s.iloc[cut] for name, s in computed}
        return {name: s.reindex(shown.index) for name, s in computed}

    overlay_lines = {name: s for key in overlays for name, s in lines(key).items()}
    panels = [(indicators.REGISTRY[key], lines(key)) for key in oscillators]
    return shown, overlay_lines, panels


def _frames(
    symbol: str,
    period: str,
    kinds: Sequence[str],
    as_of: str | None = None,
    figures: str = "restated",
    pin: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Each of `kinds`' frame: the latest from statement_lines (one row each, docs/serving.md); as of a
    date, as first reported, pinned, on a store without the table, or for a statement it has no row of
    (a company without that kind), built from the payloads as before."""
    out: dict[str, pd.DataFrame] = {}
    if (
        as_of is None
        and figures == "restated"
        and pin is None
        and serving_state.usable(serving_state.STATEMENT_LINES)
    ):
        wanted = {kind: lines.stored_basis(kind, period) for kind in kinds}
        stored = queries.statement_lines(services().router, symbol, list(wanted.items()))
        out = {kind: stored[(kind, basis)] for kind, basis in wanted.items() if (kind, basis) in stored}
    missing = [kind for kind in kinds if kind not in out]
    if len(missing) > 1 and period == "TTM":  # each kind's TTM comes from that kind's quarters alone
        ttm = derive.ttm_frames(statements(symbol, "Q", as_of, figures, pin))
        out.update({kind: ttm[kind] for kind in missing})
    elif missing and period == "TTM":
        quarters = statement(symbol, missing[0], "Q", as_of, figures, pin)
        out[missing[0]] = derive.ttm_frames({missing[0]: quarters}).get(missing[0], pd.DataFrame())
    elif missing:
        payloads = queries.statement_payloads(
            services().router, symbol, period, as_of, missing, figures=figures, pin=pin
        )
        out.update(derive.statement_frames(payloads, period))
    return {kind: out[kind] for kind in kinds}


def _together(
    symbol: str, period: str, as_of: str | None, figures: str, pin: int | None
) -> tuple[str, tuple[Any, ...]]:
    """The cache name and key of the three kinds read together (`statements`)."""
    if period == "TTM":
        return "statements-ttm", (symbol, as_of, figures, pin)
    return "statements", (symbol, period, as_of, figures, pin)


def statements(
    symbol: str, period: str, as_of: str | None = None, figures: str = "restated", pin: int | None = None
) -> dict[str, pd.DataFrame]:
    """Frames per kind: period "FY" (annual), "Q" (quarterly) or "TTM" (rolling trailing twelve months).

    `as_of` (YYYY-MM-DD) gives the statements as the store knew them at the end of that day; None the latest.
    `figures` "first" gives each period as first reported, "pit" as known on `as_of` with the fallback to
    what was filed by then (`queries.statement_payloads`); `pin` what the store held when that run ended.
    """
    name, key = _together(symbol, period, as_of, figures, pin)
    return services().cache.cached(
        name, key, lambda: _frames(symbol, period, derive.KINDS, as_of, figures, pin)
    )


def statement(
    symbol: str,
    kind: str,
    period: str,
    as_of: str | None = None,
    figures: str = "restated",
    pin: int | None = None,
) -> pd.DataFrame:
    """`statements(symbol, period, as_of, figures, pin)[kind]`, read and built alone (a third of the three
    kinds) unless this worker already holds the three: the Company page shows one kind at a time."""
    svc = services()
    held = svc.cache.peek(*_together(symbol, period, as_of, figures, pin))
    if held is not None:
        return held.get(kind, pd.DataFrame())
    return svc.cache.cached(
        "statement",
        (symbol, kind, period, as_of, figures, pin),
        lambda: _frames(symbol, period, (kind,), as_of, figures, pin)[kind],
    )


def statement_kinds(
    symbol: str,
    kinds: Sequence[str],
    period: str,
    as_of: str | None = None,
    figures: str = "restated",
    pin: int | None = None,
) -> dict[str, pd.DataFrame]:
    """`statement` of each of `kinds`; those this worker holds neither alone nor among the three are
    read together (one query, each kept as `statement` keeps it)."""
    svc = services()
    if svc.cache.peek(*_together(symbol, period, as_of, figures, pin)) is None:
        missing = [
            kind
            for kind in kinds
            if svc.cache.peek("statement", (symbol, kind, period, as_of, figures, pin)) is None
        ]
        if len(missing) > 1:
            read = _frames(symbol, period, missing, as_of, figures, pin)
            for kind in missing:
                key = (symbol, kind, period, as_of, figures, pin)
                svc.cache.cached("statement", key, functools.partial(read.__getitem__, kind))
    return {kind: statement(symbol, kind, period, as_of, figures, pin) for kind in kinds}


def combined(
    symbol: str, period: str, as_of: str | None = None, figures: str = "restated", pin: int | None = None
) -> pd.DataFrame:
    return derive.combined(statements(symbol, period, as_of, figures, pin))


def history(symbol: str, basis: str, columns: tuple[str, ...], *, first: bool = False) -> pd.DataFrame | None:
    """The symbol's metric_history `columns` of one basis indexed by fiscal date ("date", as the
    statement frames), or None on a store whose table was never filled (docs/serving.md). `first`: as
    first reported (metric_history_first, whose rows only restated companies have: the others' are
    metric_history's own)."""
    table = serving_state.METRIC_HISTORY_FIRST if first else serving_state.METRIC_HISTORY
    if not serving_state.usable(table):
        return None
    svc = services()

    def build() -> pd.DataFrame:
        dates, values = queries.metric_history_values(svc.router, symbol, basis, columns, first=first)
        if first and not dates:
            dates, values = queries.metric_history_values(svc.router, symbol, basis, columns)
        # The dates converted as one array, in the unit pandas gave the Timestamps parsed a row at a
        # time (~0.5 ms per 140 quarters); no rows: the empty index as it built it.
        days: np.ndarray | list[Any] = (
            np.array(dates, dtype="datetime64[D]").astype("datetime64[us]") if dates else []
        )
        index = pd.DatetimeIndex(days, name="date")
        # One float block, in the memory order the frame of the rows cut to `columns` held (pandas copies
        # the matrix a row per column): its reductions sum in the same order.
        return pd.DataFrame(values, index=index, columns=list(columns))

    return svc.cache.cached("metric-history", (symbol, basis, columns, first), build)


def ratio_history(
    symbol: str,
    period: str = "FY",
    as_of: str | None = None,
    figures: str = "restated",
    pin: int | None = None,
) -> pd.DataFrame:
    """`fundamentals.ratios` of the combined statements: the latest (as restated or as first reported)
    from metric_history, an as-of date's computed from the statements known (or filed) then."""
    svc = services()
    latest = as_of is None and pin is None and period == "FY" and figures in ("restated", "first")
    stored = history(symbol, period, derive.RATIOS, first=figures == "first") if latest else None
    if stored is not None:
        return stored if not stored.empty else pd.DataFrame()

    def build() -> pd.DataFrame:
        frame = combined(symbol, period, as_of, figures, pin)
        return ratios(frame) if not frame.empty else pd.DataFrame()

    return svc.cache.cached("ratios", (symbol, period, as_of, figures, pin), build)


# DuPont's factors the ratio table adds (its net margin and asset turnover are already ratios).
DUPONT_FIELDS = list(derive.DUPONT)


def ratio_table(
    symbol: str, as_of: str | None = None, figures: str = "restated", pin: int | None = None
) -> pd.DataFrame:
    """The annual ratios and DuPont's factors (from the same statements and averages), by fiscal date:
    what the Company page's ratio table and its CSV hold (`ratio_history`'s arguments). The latest (as
    restated or as first reported) are metric_history's FY rows, DuPont's factors included (schema 102)."""
    latest = as_of is None and pin is None and figures in ("restated", "first")
    columns = (*derive.RATIOS, *derive.DUPONT)
    stored = history(symbol, "FY", columns, first=figures == "first") if latest else None
    if stored is not None:
        return stored if not stored.empty else pd.DataFrame()
    ratio = ratio_history(symbol, "FY", as_of, figures, pin)
    if ratio.empty:
        return ratio

    def build() -> pd.DataFrame:
        # DuPont needs the income statement and the balance sheet only (one kind is read at a time).
        frame = derive.combined(statement_kinds(symbol, ("income", "balance"), "FY", as_of, figures, pin))
        factors = dupont(frame)[DUPONT_FIELDS] if not frame.empty else pd.DataFrame(columns=DUPONT_FIELDS)
        return ratio.join(factors, how="left")

    return services().cache.cached("ratio-table", (symbol, as_of, figures, pin), build)


def restated(symbol: str, as_of: str | None) -> pd.DataFrame:
    """Statement rows restated after `as_of` (every restated row when None): kind, period, fiscal_date."""
    svc = services()
    return svc.cache.cached(
        "restated",
        (symbol, as_of),
        lambda: with_rows.read(
            "revised",
            symbol,
            queries.RESTATEMENT_COLUMNS,
            lambda: queries.restatements(svc.router, symbol, as_of),
        ),
    )


def profile_fields(row: Mapping[str, object]) -> dict[str, object]:
    profile = row.get("profile") or {}
    profile = profile if isinstance(profile, dict) else {}
    return {
        "Name": row.get("name"),
        "Sector": row.get("sector"),
        "Sub-industry": row.get("sub_industry"),
        "Headquarters": row.get("headquarters"),
        "CEO": profile.get("ceo"),
        "Employees": profile.get("fullTimeEmployees"),
        "Market cap": profile.get("marketCap"),
        "Beta": profile.get("beta"),
        "Exchange": profile.get("exchange"),
        "In the S&P 500 since": row.get("index_added"),
        "Website": profile.get("website"),
    }
