"""The dashboard's read-only queries: all parameterised, all through the replica router.

Table and column names are fixed here, never taken from input. Every function marks the current
request stale (`flask.g.mycfa_stale`) when its rows came from a replica behind the primary.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import flask
import numpy as np
import pandas as pd

from dashboard.data.router import QueryFailed, ReadResult, ReplicaRouter
from dashboard.vocabulary import FISCAL_PERIODS, STATEMENT_KINDS, fiscal_labels
from serving import lines
from serving import rows as derived_rows

# "As of date D" is what the store knew at the end of that day (statements_as_of takes a timestamp).
AS_OF_CUTOFF = "(CAST(:as_of AS date) + 1)::timestamptz - interval '1 microsecond'"


def _result(
    router: ReplicaRouter, sql: str, params: Mapping[str, Any] | None = None, *, fresh: bool = False
) -> ReadResult:
    """One read, noted on the request (which node answered, whether it may be behind)."""
    result: ReadResult = router.read(sql, params, fresh=fresh)
    if flask.has_request_context():
        flask.g.mycfa_node = result.node
        if result.stale:
            flask.g.mycfa_stale = True
    return result


def _read(
    router: ReplicaRouter, sql: str, params: Mapping[str, Any] | None = None, *, fresh: bool = False
) -> pd.DataFrame:
    return _result(router, sql, params, fresh=fresh).frame


def companies(router: ReplicaRouter) -> pd.DataFrame:
    """symbol, name, sector, sub_industry, member (bool) and cik (the issuer: share classes share it) for
    every company ever in the index.

    `member`: in the view sp500_members (the index's current members), the one definition of membership
    the engine's serving refresh uses too.
    """
    return _read(
        router,
        "SELECT symbol, name, sector, sub_industry, symbol IN (SELECT symbol FROM sp500_members) AS member,"
        " cik"
        " FROM companies ORDER BY symbol",
    )


def profiled_symbols(router: ReplicaRouter) -> list[str]:
    """Symbols of the companies whose profile is stored (the subjects of the per-company pages)."""
    frame = _read(router, "SELECT symbol FROM companies WHERE profile IS NOT NULL ORDER BY symbol")
    return [str(s) for s in frame["symbol"]] if not frame.empty else []


def company(router: ReplicaRouter, symbol: str) -> dict[str, Any] | None:
    """One company's row as a dict (None: no such company). From the row itself, not a one-row frame:
    the values are the same objects, without ~0.4 ms of pandas per profile."""
    result = _result(
        router,
        "SELECT symbol, name, sector, sub_industry, headquarters, cik, founded, index_added,"
        " index_removed, profile FROM companies WHERE symbol = :symbol",
        {"symbol": symbol},
    )
    return dict(zip(result.columns, result.rows[0], strict=True)) if result.rows else None


PRICE_COLUMNS = ("open", "high", "low", "close", "adj_close", "volume")
EPOCH = np.datetime64("1970-01-01", "D")


# Each price column packed by Postgres into one big-endian binary string: (name, send function, value).
PACKED_PRICES = {
    "days": ("int4send", "date - DATE '1970-01-01'"),
    "open": ("float8send", "open"),
    "high": ("float8send", "high"),
    "low": ("float8send", "low"),
    "close": ("float8send", "close"),
    "adj_close": ("float8send", "coalesce(adj_close, 'NaN')"),
    "volume": ("int8send", "volume"),
    # The dividend-adjusted close, the traded close where FMP had no adjusted one (Compare, Portfolio).
    "adjusted": (
        "float8send",
        "CASE WHEN adj_close IS NULL OR adj_close = 'NaN' THEN close ELSE adj_close END",
    ),
}


def _packed_prices(
    router: ReplicaRouter, symbol: str, names: Sequence[str]
) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray]]:
    """One symbol's `names` columns of PACKED_PRICES by ascending date (empty arrays without prices)."""
    return _packed_histories(router, [symbol], names).get(symbol) or _no_prices(names)


def _no_prices(names: Sequence[str]) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray]]:
    empty = pd.DatetimeIndex([], dtype="datetime64[s]", name="date")
    return empty, {name: np.array([], dtype=float) for name in names}


def _packed_histories(
    router: ReplicaRouter, symbols: Sequence[str], names: Sequence[str]
) -> dict[str, tuple[pd.DatetimeIndex, dict[str, np.ndarray]]]:
    """Each of `symbols`' `names` columns of PACKED_PRICES by ascending date, in one query; symbols
    without prices are absent.

    One row per symbol, each column packed by Postgres into one big-endian binary string read with
    numpy: a 36-year history is ~9,000 rows, and turning its ~63,000 cells into Python objects and a
    frame cost ~20 ms of CPU per symbol; this costs ~1 ms. A NULL adj_close arrives as NaN.
    """
    packed = ", ".join(
        f"string_agg({PACKED_PRICES[name][0]}({PACKED_PRICES[name][1]}), ''::bytea) AS {name}"
        for name in ("days", *names)
    )
    # Rows fed in date order from the subquery (PostgreSQL aggregates them in that order, as its docs
    # describe); the days are checked below all the same.
    where, params = (
        ("symbol = :symbol", {"symbol": symbols[0]})
        if len(symbols) == 1
        else ("symbol = ANY(:symbols)", {"symbols": list(symbols)})
    )
    result = _result(
        router,
        f"SELECT symbol, {packed} FROM (SELECT * FROM prices_daily WHERE {where} ORDER BY symbol, date) p"
        " GROUP BY symbol",
        params,
    )
    out = {}
    for row in result.rows:
        cells = dict(zip(result.columns, row, strict=True))
        if cells["days"] is None:
            continue
        days = np.frombuffer(cells["days"], dtype=">i4").astype("int64")
        order = np.argsort(days, kind="stable") if np.any(np.diff(days) < 0) else slice(None)
        dtypes = {name: ">i8" if name == "volume" else ">f8" for name in names}
        columns = {
            name: np.frombuffer(cells[name], dtype=dtypes[name]).astype("float64")[order] for name in names
        }
        index = pd.DatetimeIndex((EPOCH + days[order]).astype("datetime64[s]"), name="date")
        out[str(cells["symbol"])] = (index, columns)
    return out


def prices(router: ReplicaRouter, symbol: str) -> pd.DataFrame:
    """Daily prices of one symbol, indexed by date (open, high, low, close, adj_close, volume as floats)."""
    index, columns = _packed_prices(router, symbol, PRICE_COLUMNS)
    return pd.DataFrame(columns, index=index)


def adjusted_close(router: ReplicaRouter, symbol: str) -> pd.Series:
    """One symbol's dividend-adjusted closes (the close where FMP had no adjusted one) by date, named
    "adj_close"; empty without prices. A third of a whole history's read (`prices`)."""
    index, columns = _packed_prices(router, symbol, ("adjusted",))
    return pd.Series(columns["adjusted"], index=index, name="adj_close")


def adjusted_closes(router: ReplicaRouter, symbols: Sequence[str]) -> dict[str, pd.Series]:
    """`adjusted_close` of several symbols in one query (Compare's and Portfolio's cold reads); symbols
    without prices are absent."""
    return {
        symbol: pd.Series(columns["adjusted"], index=index, name="adj_close")
        for symbol, (index, columns) in _packed_histories(router, symbols, ("adjusted",)).items()
    }


def last_close(router: ReplicaRouter, symbol: str, as_of: str | None = None) -> float:
    """One symbol's last traded close that is a number (not NaN), on or before `as_of` when given; NaN
    when there is none. One backward probe of the primary key."""
    result = _result(
        router,
        "SELECT close FROM prices_daily WHERE symbol = :symbol AND close <> 'NaN'"
        " AND (CAST(:as_of AS date) IS NULL OR date <= CAST(:as_of AS date)) ORDER BY date DESC LIMIT 1",
        {"symbol": symbol, "as_of": as_of},
    )
    return float(result.rows[0][0]) if result.rows else math.nan


def latest_closes(router: ReplicaRouter) -> pd.DataFrame:
    """The last stored close of every company (symbol, date, close): one index probe per symbol."""
    return _read(
        router,
        "SELECT c.symbol, p.date, p.close FROM companies c CROSS JOIN LATERAL"
        " (SELECT date, close FROM prices_daily d WHERE d.symbol = c.symbol ORDER BY date DESC LIMIT 1) p",
    )


def statements(router: ReplicaRouter, symbol: str, kind: str, periods: Sequence[str]) -> pd.DataFrame:
    """One statement kind of one symbol as a frame of FMP fields indexed by fiscal date (oldest first)."""
    if kind not in STATEMENT_KINDS or any(p not in FISCAL_PERIODS for p in periods):
        raise ValueError("unknown statement kind or period")
    frame = _read(
        router,
        "SELECT fiscal_date, period, fiscal_year, payload FROM statements"
        " WHERE symbol = :symbol AND kind = :kind AND period = ANY(:periods) ORDER BY fiscal_date",
        {"symbol": symbol, "kind": kind, "periods": list(periods)},
    )
    return payload_frame(frame)


FIGURES = ("restated", "first", "pit")


# A pinned view's knowledge: what the store held when run :pin ended (schema 173's `knowledge`).
PINNED_AT = "(SELECT coalesce(finished_at, heartbeat_at) FROM runs WHERE run_id = CAST(:pin AS bigint))"


def run_ended(router: ReplicaRouter, run_id: int) -> Any:
    """When a run ended (its last heartbeat while it runs), None when the ledger has no such run."""
    frame = _read(router, f"SELECT {PINNED_AT} AS at", {"pin": run_id})
    return None if frame.empty else frame["at"].iloc[0]


def latest_run(router: ReplicaRouter) -> int | None:
    """The newest run that ended (succeeded or partly): what "Pin this view" pins."""
    frame = _read(router, "SELECT max(run_id) AS run_id FROM runs WHERE state IN ('succeeded', 'partial')")
    value = None if frame.empty else frame["run_id"].iloc[0]
    return int(value) if value is not None and not pd.isna(value) else None


def statement_payloads(
    router: ReplicaRouter,
    symbol: str,
    period: str,
    as_of: str | None = None,
    kinds: Sequence[str] = STATEMENT_KINDS,
    figures: str = "restated",
    pin: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Each of `kinds`' FMP rows for one symbol (every kind's by default), oldest first: period "FY"
    (annual) or "Q" (the quarters).

    With `as_of` (YYYY-MM-DD): as the store knew them at the end of that day, through schema/002's
    `statements_as_of` (rows first seen later are absent, restated rows carry the payload current then).
    `figures` "first": each period as first reported (filed by `as_of` when given); "pit": as known at the
    end of `as_of`, else as first reported when filed by then (schema 173's `statement_versions`). `pin`:
    only what the store held when that run ended (a frozen view).
    """
    if any(kind not in STATEMENT_KINDS for kind in kinds):
        raise ValueError("unknown statement kind")
    if figures not in FIGURES:
        raise ValueError("unknown figures")
    periods = fiscal_labels(period)
    params: dict[str, Any] = {"symbol": symbol, "periods": list(periods), "kinds": list(kinds)}
    source = "statements WHERE symbol = :symbol AND"
    if figures != "restated" or pin is not None:
        source = (
            f"statement_versions(:mode, CAST(:as_of AS date), {PINNED_AT if pin is not None else 'NULL'},"
            " ARRAY[CAST(:symbol AS text)], NULL, CAST(:periods AS text[])) WHERE"
        )
        mode = "first" if figures == "first" else "pit" if figures == "pit" and as_of else "known"
        params.update(mode=mode, as_of=as_of, pin=pin)
    elif as_of is not None:
        source, params["as_of"] = f"statements_as_of({AS_OF_CUTOFF}, :symbol) WHERE", as_of
    frame = _read(
        router,
        f"SELECT kind, payload FROM {source} kind = ANY(:kinds) AND period = ANY(:periods) ORDER BY fiscal_date",
        params,
    )
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for kind, payload in zip(frame.get("kind", []), frame.get("payload", []), strict=True):
        out[kind].append(payload)
    return out


def latest_annual(router: ReplicaRouter, kind: str, symbols: Sequence[str] | None = None) -> pd.DataFrame:
    """The latest FY statement of one kind for every symbol (or the given ones), indexed by symbol."""
    if kind not in STATEMENT_KINDS:
        raise ValueError("unknown statement kind")
    frame = _read(
        router,
        "SELECT DISTINCT ON (symbol) symbol, fiscal_date, payload FROM statements"
        " WHERE kind = :kind AND period = 'FY' AND (CAST(:symbols AS text[]) IS NULL OR symbol = ANY(:symbols))"
        " ORDER BY symbol, fiscal_date DESC",
        {"kind": kind, "symbols": list(symbols) if symbols is not None else None},
    )
    if frame.empty:
        return pd.DataFrame()
    body = pd.json_normalize(list(frame["payload"]))
    body.index = pd.Index(frame["symbol"], name="symbol")
    body["fiscal_date"] = list(frame["fiscal_date"])
    return body


def annual_history(router: ReplicaRouter, kind: str, symbols: Sequence[str]) -> pd.DataFrame:
    """All FY rows of one kind for some symbols, long format (symbol, fiscal_date, FMP fields...)."""
    frame = _read(
        router,
        "SELECT symbol, fiscal_date, payload FROM statements"
        " WHERE kind = :kind AND period = 'FY' AND symbol = ANY(:symbols) ORDER BY symbol, fiscal_date",
        {"kind": kind, "symbols": list(symbols)},
    )
    if frame.empty:
        return pd.DataFrame()
    body = pd.json_normalize(list(frame["payload"]))
    body["symbol"] = list(frame["symbol"])
    body["fiscal_date"] = pd.to_datetime(list(frame["fiscal_date"]))
    return body


def freshness(
    router: ReplicaRouter, symbol: str, as_of: str | None = None, pin: int | None = None
) -> pd.DataFrame:
    """Per dataset: the latest period stored and when it was last changed; with `as_of` or `pin`, as the
    store held them at the end of that day or when that run ended (closes dated up to the earlier day)."""
    if as_of is not None or pin is not None:
        pinned = PINNED_AT if pin is not None else "NULL"
        return _read(
            router,
            "SELECT 'prices' AS dataset, max(date)::text AS latest, NULL::timestamptz AS changed, count(*) AS rows"
            f" FROM prices_daily WHERE symbol = :symbol AND date <= least(CAST(:as_of AS date), CAST({pinned} AS date))"
            " UNION ALL SELECT kind || ' ' || CASE WHEN period = 'FY' THEN 'annual' ELSE 'quarterly' END,"
            f" max(fiscal_date)::text, max(known_since), count(*) FROM statement_versions('known', CAST(:as_of AS date),"
            f" {pinned}, ARRAY[CAST(:symbol AS text)]) GROUP BY kind, period = 'FY' ORDER BY 1",
            {"symbol": symbol, "as_of": as_of, "pin": pin},
        )
    return _read(
        router,
        "SELECT 'prices' AS dataset, max(date)::text AS latest, NULL::timestamptz AS changed, count(*) AS rows"
        " FROM prices_daily WHERE symbol = :symbol"
        " UNION ALL SELECT kind || ' ' || CASE WHEN period = 'FY' THEN 'annual' ELSE 'quarterly' END,"
        " max(fiscal_date)::text, max(updated_at), count(*) FROM statements WHERE symbol = :symbol"
        " GROUP BY kind, period = 'FY' ORDER BY 1",
        {"symbol": symbol},
    )


def data_version(router: ReplicaRouter) -> str:
    """Changes whenever an ingest may have changed data: the latest run's id, state and row count."""
    try:
        frame = _read(
            router,
            "SELECT run_id, state, rows_changed, finished_at::text AS finished FROM runs"
            " ORDER BY run_id DESC LIMIT 1",
        )
    except QueryFailed:  # no run ledger yet (schema 050 absent): fall back to the statements' clock
        frame = _read(router, "SELECT max(updated_at)::text AS changed FROM statements")
    return "|".join(str(v) for v in frame.iloc[0].tolist()) if not frame.empty else "empty"


def user(router: ReplicaRouter, username: str, session_id: str = "") -> dict[str, Any] | None:
    """The account's hash, role and session version, and whether `session_id` was logged out, read
    from the primary first: a revoked session must not live on through a replica's lag."""
    result = _result(
        router,
        "SELECT username, password_hash, role, session_version, EXISTS (SELECT FROM dashboard_revoked_sessions"
        " WHERE session_id = :session_id) AS logged_out FROM dashboard_users WHERE username = :username",
        {"username": username, "session_id": session_id},
        fresh=True,
    )
    # A plain dict, no DataFrame: this runs on every request (the session check).
    return dict(zip(result.columns, result.rows[0], strict=True)) if result.rows else None


# -- Status page (run ledger; absent tables give empty frames) ---------------------------------------
RUN_COLUMNS = (
    "run_id",
    "job",
    "state",
    "started_at",
    "finished_at",
    "exit_code",
    "items_total",
    "requests",
    "rows_changed",
    "resumes",
    "error",
    "metrics",
)
FAILURE_COLUMNS = (
    "run_id",
    "symbol",
    "dataset",
    "state",
    "attempts",
    "error_class",
    "error_message",
    "finished_at",
)
_RUNS = f"SELECT {', '.join(RUN_COLUMNS)} FROM runs ORDER BY run_id DESC LIMIT :limit"
_FAILURES = (
    f"SELECT {', '.join(FAILURE_COLUMNS)} FROM run_items WHERE state IN ('failed', 'skipped')"
    " ORDER BY run_id DESC, symbol LIMIT :failures"
)
# Both in one round trip for the Status page: the failure-only columns padded onto the runs' rows and
# the other way round, typed as in schema/050 so every value comes back as from its own query.
_RUNS_AND_FAILURES = (
    f"SELECT * FROM ((SELECT 'run' AS part, row_number() OVER (ORDER BY run_id DESC) AS n,"
    f" {', '.join(RUN_COLUMNS)}, NULL::text AS symbol, NULL::text AS dataset, NULL::integer AS attempts,"
    " NULL::text AS error_class, NULL::text AS error_message FROM runs ORDER BY run_id DESC LIMIT :limit)"
    " UNION ALL (SELECT 'failure', row_number() OVER (ORDER BY run_id DESC, symbol), run_id, NULL::text,"
    " state, NULL::timestamptz, finished_at, NULL::smallint, NULL::integer, NULL::bigint, NULL::bigint,"
    " NULL::integer, NULL::text, NULL::jsonb, symbol, dataset, attempts, error_class, error_message"
    " FROM run_items WHERE state IN ('failed', 'skipped') ORDER BY run_id DESC, symbol LIMIT :failures)) both_"
    " ORDER BY part, n"
)


def recent_runs(router: ReplicaRouter, limit: int = 20) -> pd.DataFrame:
    return _optional(router, _RUNS, {"limit": limit})


def recent_failures(router: ReplicaRouter, limit: int = 50) -> pd.DataFrame:
    return _optional(router, _FAILURES, {"failures": limit})


def recent_runs_and_failures(
    router: ReplicaRouter, runs: int = 20, failures: int = 50
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`recent_runs` and `recent_failures` (the same frames) in one query; both empty without a ledger."""
    try:
        result = _result(router, _RUNS_AND_FAILURES, {"limit": runs, "failures": failures})
    except QueryFailed:
        return pd.DataFrame(), pd.DataFrame()
    position = {name: i for i, name in enumerate(result.columns)}

    def part(kind: str, columns: Sequence[str]) -> pd.DataFrame:
        picks = [position[c] for c in columns]
        rows = [tuple(row[i] for i in picks) for row in result.rows if row[0] == kind]
        return pd.DataFrame(rows, columns=list(columns))

    return part("run", RUN_COLUMNS), part("failure", FAILURE_COLUMNS)


def _optional(router: ReplicaRouter, sql: str, params: Mapping[str, Any]) -> pd.DataFrame:
    try:
        return _read(router, sql, params)
    except QueryFailed:
        return pd.DataFrame()


def payload_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with a jsonb `payload` → FMP fields as columns, indexed by fiscal date."""
    if frame.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="fiscal_date"))
    body = pd.json_normalize(list(frame["payload"]))
    body.index = pd.DatetimeIndex(pd.to_datetime(list(frame["fiscal_date"])), name="fiscal_date")
    body["period"] = list(frame["period"])
    body["fiscal_year"] = list(frame["fiscal_year"])
    return body


def _date_index(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    frame = frame.set_index(pd.DatetimeIndex(pd.to_datetime(frame[column]), name=column)).drop(columns=column)
    for name in ("open", "high", "low", "close", "adj_close"):
        if name in frame:
            frame[name] = frame[name].astype(float)
    if "volume" in frame:
        frame["volume"] = frame["volume"].astype("float64")
    return frame


def month_end_closes(router: ReplicaRouter, symbol: str) -> pd.Series:
    """Each month's last finite close of one symbol (adjusted, else traded), by its trading date.

    What the Forecast page resamples to month ends: `forecast.monthly` of this equals `monthly` of the
    full daily `adj_close.fillna(close)`, at ~1/20 of the rows (adj_close NULL or NaN falls back to close,
    as pandas' fillna; non-finite values are skipped, as forecast's cleaning does).
    """
    frame = _read(
        router,
        "SELECT DISTINCT ON (date_trunc('month', date)) date, value FROM (SELECT date,"
        " CASE WHEN adj_close IS NULL OR adj_close = 'NaN' THEN close ELSE adj_close END AS value"
        " FROM prices_daily WHERE symbol = :symbol) p"
        " WHERE value NOT IN ('NaN', 'Infinity', '-Infinity')"
        " ORDER BY date_trunc('month', date), date DESC",
        {"symbol": symbol},
    )
    if frame.empty:
        return pd.Series(dtype=float)
    index = pd.DatetimeIndex(pd.to_datetime(frame["date"]), name="date")
    return pd.Series(frame["value"].astype(float).to_numpy(), index=index, name="adj_close")


def recent_annual(router: ReplicaRouter, kinds: Sequence[str], keep: int = 2) -> pd.DataFrame:
    """The last `keep` FY rows of each kind for every symbol: kind, symbol, fiscal_date, payload."""
    if any(k not in STATEMENT_KINDS for k in kinds):
        raise ValueError("unknown statement kind")
    return _read(
        router,
        "SELECT kind, symbol, fiscal_date, payload FROM (SELECT kind, symbol, fiscal_date, payload,"
        " row_number() OVER (PARTITION BY symbol, kind ORDER BY fiscal_date DESC) AS rn FROM statements"
        " WHERE period = 'FY' AND kind = ANY(:kinds)) ranked WHERE rn <= :keep",
        {"kinds": list(kinds), "keep": keep},
    )


def recent_annual_first(
    router: ReplicaRouter, symbols: Sequence[str], kinds: Sequence[str], keep: int = 2
) -> pd.DataFrame:
    """`recent_annual` of some symbols as first reported (each period's first payload, schema 173)."""
    return recent_annual_versions(router, kinds, keep, mode="first", symbols=symbols)


def recent_annual_versions(
    router: ReplicaRouter,
    kinds: Sequence[str],
    keep: int = 2,
    *,
    mode: str,
    symbols: Sequence[str] | None = None,
    pin: int | None = None,
    as_of: str | None = None,
) -> pd.DataFrame:
    """`recent_annual` from schema 173's `statement_versions(mode)` (every symbol when `symbols` is None):
    'first' as first reported, 'known' as held, 'pit' as known at the end of `as_of` (else as first
    reported when filed by then); as the store held them when run `pin` ended."""
    if any(k not in STATEMENT_KINDS for k in kinds) or mode not in ("first", "known", "pit"):
        raise ValueError("unknown statement kind or mode")
    return _read(
        router,
        "SELECT kind, symbol, fiscal_date, payload FROM (SELECT kind, symbol, fiscal_date, payload,"
        " row_number() OVER (PARTITION BY symbol, kind ORDER BY fiscal_date DESC) AS rn"
        f" FROM statement_versions(:mode, CAST(:as_of AS date), {PINNED_AT if pin is not None else 'NULL'},"
        " CAST(:symbols AS text[]), CAST(:kinds AS text[]), '{FY}')) ranked WHERE rn <= :keep",
        {
            "mode": mode,
            "as_of": as_of,
            "symbols": list(symbols) if symbols is not None else None,
            "kinds": list(kinds),
            "keep": keep,
            "pin": pin,
        },
    )


def pinned_inputs(
    router: ReplicaRouter, pin: int | None, as_of: str | None = None
) -> dict[str, pd.DataFrame]:
    """What a screen pinned to run `pin` is computed from, as the store held it when that run ended: the
    S&P 500 members on that day (symbol, name, sector), each company's last close on or before it
    (symbol, date, close: a close dated later cannot have been held), the latest quarter's diluted share
    count known then (profile_shares NaN: the profile is not versioned), and the restated lines seen by
    then (split-only ones left out). With `as_of` (and no pin, or an earlier day than the run's end): the
    same as the store knew it at the end of that day (the share counts as first reported when filed by
    then and the store's history starts later)."""
    if pin is None and as_of is None:
        raise ValueError("a pinned run or an as-of date")
    knowledge = PINNED_AT if pin is not None else "CAST(NULL AS timestamptz)"
    day = f"least(CAST({knowledge} AS date), CAST(:as_of AS date))"
    seen_by = f"least({knowledge}, {AS_OF_CUTOFF})"
    mode = "pit" if as_of is not None else "known"
    members = _read(
        router,
        "SELECT c.symbol, c.name, c.sector FROM companies c WHERE EXISTS (SELECT 1 FROM sp500_membership m"
        f" WHERE m.symbol = c.symbol AND (m.added IS NULL OR m.added <= {day})"
        f" AND (m.removed IS NULL OR m.removed > {day})) ORDER BY c.symbol",
        {"pin": pin, "as_of": as_of},
    )
    closes = _read(
        router,
        "SELECT c.symbol, p.date, p.close FROM companies c CROSS JOIN LATERAL (SELECT date, close"
        f" FROM prices_daily d WHERE d.symbol = c.symbol AND d.date <= {day} ORDER BY date DESC LIMIT 1) p",
        {"pin": pin, "as_of": as_of},
    )
    counts = _read(
        router,
        "SELECT DISTINCT ON (symbol) symbol, NULL::float8 AS profile_shares, fiscal_date AS quarter_date,"
        " CASE WHEN jsonb_typeof(payload->'weightedAverageShsOutDil') = 'number'"
        " THEN CAST(payload->>'weightedAverageShsOutDil' AS float8) END AS quarter_shares"
        f" FROM statement_versions('{mode}', CAST(:as_of AS date), {knowledge}, NULL, '{{income}}',"
        " CAST(:quarters AS text[])) ORDER BY symbol, fiscal_date DESC",
        {"pin": pin, "as_of": as_of, "quarters": list(fiscal_labels("Q"))},
    )
    if counts.empty:
        counts = pd.DataFrame(columns=["symbol", "profile_shares", "quarter_date", "quarter_shares"])
    counts = counts.set_index("symbol")
    for name in ("profile_shares", "quarter_shares"):
        counts[name] = pd.to_numeric(counts[name], errors="coerce").astype(float)
    lines = _read(
        router,
        "SELECT symbol, kind, period, fiscal_date, seen_at, restated_on, change FROM statement_changes"
        f" WHERE NOT per_share_only AND seen_at <= {seen_by}",
        {"pin": pin, "as_of": as_of},
    )
    return {"members": members, "closes": closes, "counts": counts, "lines": lines}


def restated_symbols(router: ReplicaRouter) -> list[str]:
    """The companies with a restated income statement, balance sheet or cash-flow statement: the only
    ones whose figures as first reported differ from the figures held now."""
    frame = _read(
        router,
        "SELECT DISTINCT symbol FROM statement_revisions WHERE kind IN ('income', 'balance', 'cashflow')"
        " ORDER BY symbol",
    )
    return [str(s) for s in frame["symbol"]] if not frame.empty else []


PROFILE_SHARES = (
    "CASE WHEN jsonb_typeof(c.profile->'marketCap') = 'number' AND jsonb_typeof(c.profile->'price') = 'number'"
    " THEN CAST(c.profile->>'marketCap' AS float8) / NULLIF(CAST(c.profile->>'price' AS float8), 0)"
    " END AS profile_shares"
)


def profile_shares(router: ReplicaRouter) -> pd.Series:
    """`share_counts`' profile_shares of every company, indexed by symbol (NaN without them): the
    companies table alone. The ticker picker's market caps need no more; share_counts' latest quarter
    per company (a backward probe of every statements partition for each of ~900 companies) took
    1-5 s of Postgres on each worker's first page view at 503 symbols."""
    frame = _read(router, f"SELECT c.symbol, {PROFILE_SHARES} FROM companies c")
    if frame.empty:
        return pd.Series(dtype=float, name="profile_shares")
    values = pd.to_numeric(frame["profile_shares"], errors="coerce").astype(float).to_numpy()
    return pd.Series(values, index=pd.Index(frame["symbol"].tolist(), name="symbol"), name="profile_shares")


# A company `c`'s latest quarter `q` (LATEST_QUARTER, binding :quarters) and its share count.
QUARTER_SHARES = (
    "q.fiscal_date AS quarter_date, CASE WHEN jsonb_typeof(q.payload->'weightedAverageShsOutDil') = 'number'"
    " THEN CAST(q.payload->>'weightedAverageShsOutDil' AS float8) END AS quarter_shares"
)
LATEST_QUARTER = (
    "LEFT JOIN LATERAL (SELECT fiscal_date, payload FROM statements s"
    " WHERE s.symbol = c.symbol AND s.kind = 'income' AND s.period = ANY(:quarters)"
    " ORDER BY fiscal_date DESC LIMIT 1) q ON true"
)


def share_counts(router: ReplicaRouter, symbols: Sequence[str] | None = None) -> pd.DataFrame:
    """Current share-count candidates per symbol, indexed by symbol.

    Columns: profile_shares (the profile's marketCap / price, NaN without both), quarter_shares (the latest
    quarter's weightedAverageShsOutDil) and quarter_date (its fiscal date).
    """
    frame = _read(
        router,
        f"SELECT c.symbol, {PROFILE_SHARES}, {QUARTER_SHARES} FROM companies c {LATEST_QUARTER}"
        " WHERE CAST(:symbols AS text[]) IS NULL OR c.symbol = ANY(:symbols)",
        {"quarters": list(fiscal_labels("Q")), "symbols": list(symbols) if symbols is not None else None},
    )
    if frame.empty:
        return pd.DataFrame(columns=["profile_shares", "quarter_date", "quarter_shares"], dtype=float)
    frame = frame.set_index("symbol")
    for name in ("profile_shares", "quarter_shares"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return frame


def valuation_base(router: ReplicaRouter, symbol: str, columns: Sequence[str]) -> dict[str, Any] | None:
    """A company's latest DCF figures in one read: metric_history's last annual row's `fiscal_date` and
    `columns` (names of its columns, never input; None without such a row), `share_counts`' candidates
    and the profile's beta (None unless a number); None for a symbol not in companies. The three reads
    that gave them (metric_history, share_counts, the profile) cost more in their own work than the SQL."""
    chosen = ", ".join(f"m.{column}" for column in ("fiscal_date", *columns))
    result = _result(
        router,
        f"SELECT {chosen}, {PROFILE_SHARES}, {QUARTER_SHARES},"
        " CASE WHEN jsonb_typeof(c.profile->'beta') = 'number' THEN CAST(c.profile->>'beta' AS float8)"
        f" END AS beta FROM companies c {LATEST_QUARTER}"
        " LEFT JOIN LATERAL (SELECT * FROM metric_history h WHERE h.symbol = c.symbol AND h.basis = 'FY'"
        " ORDER BY h.fiscal_date DESC LIMIT 1) m ON true"
        " WHERE c.symbol = :symbol",
        {"symbol": symbol, "quarters": list(fiscal_labels("Q"))},
    )
    return dict(zip(result.columns, result.rows[0], strict=True)) if result.rows else None


def restatements(router: ReplicaRouter, symbol: str, as_of: str | None) -> pd.DataFrame:
    """Statement rows of one symbol restated after `as_of` (all rows ever restated when None).

    Columns kind, period, fiscal_date (date), restated (the first restatement after `as_of`).
    """
    return _read(
        router,
        "SELECT kind, period, fiscal_date, min(valid_to) AS restated FROM statement_revisions"
        " WHERE symbol = :symbol AND (CAST(:as_of AS date) IS NULL"
        f" OR (valid_to > {AS_OF_CUTOFF} AND valid_from <= {AS_OF_CUTOFF}))"
        " GROUP BY kind, period, fiscal_date ORDER BY fiscal_date",
        {"symbol": symbol, "as_of": as_of},
    )


RESTATEMENT_COLUMNS = ("kind", "period", "fiscal_date", "restated")  # `restatements`' columns


def _distinct_symbols(name: str, table: str) -> str:
    """A recursive query `name` of the distinct symbols of `table` (its index leads with symbol) by a
    skip scan: one index probe per company, where DISTINCT would read every row."""
    return (
        f"{name}(symbol) AS ((SELECT symbol FROM {table} ORDER BY symbol LIMIT 1) UNION ALL"
        f" SELECT (SELECT t.symbol FROM {table} t WHERE t.symbol > s.symbol ORDER BY t.symbol LIMIT 1)"
        f" FROM {name} s WHERE s.symbol IS NOT NULL)"
    )


_WITH_ROWS = (
    f"WITH RECURSIVE {_distinct_symbols('revised', 'statement_revisions')},"
    f" {_distinct_symbols('changed', 'statement_changes')}"
    " SELECT 'revised' AS part, symbol FROM revised WHERE symbol IS NOT NULL"
    " UNION ALL SELECT 'changed', symbol FROM changed WHERE symbol IS NOT NULL"
    " UNION ALL (SELECT DISTINCT 'withheld', symbol FROM withheld_values WHERE symbol IS NOT NULL)"
)


def companies_with_rows(router: ReplicaRouter) -> dict[str, frozenset[str]]:
    """The companies with any row `restatements` ("revised": statement_revisions), `company_changes`
    ("changed": statement_changes) or `withheld_rows` ("withheld") could read, in one query: for the
    others (most companies on most stores) those per-company reads have no rows, and are not sent."""
    result = _result(router, _WITH_ROWS)
    found: dict[str, set[str]] = {"revised": set(), "changed": set(), "withheld": set()}
    for part, symbol in result.rows:
        found[str(part)].add(str(symbol))
    return {part: frozenset(symbols) for part, symbols in found.items()}


def no_rows(columns: Sequence[str]) -> pd.DataFrame:
    """The frame `_read` gives for a query of these columns that found no rows: one per columns, shared
    as the answer cache shares its answers (read only; building it cost ~0.25 ms each time)."""
    return _no_rows(tuple(columns))


@functools.cache
def _no_rows(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame([], columns=list(columns))


# -- The serving layer's derived tables (schema/100, docs/serving.md) ----------------------------------
def serving_state(router: ReplicaRouter) -> dict[str, dict[str, Any]]:
    """Each derived table's last refresh (state, succeeded_at, error, data_as_of); {} before schema 100."""
    try:
        result = _result(
            router,
            "SELECT name, state, attempted_at, succeeded_at, error, data_as_of FROM serving_refreshes",
        )
    except QueryFailed:
        return {}
    return {row[0]: dict(zip(result.columns, row, strict=True)) for row in result.rows}


def screener_rows(router: ReplicaRouter) -> pd.DataFrame:
    """The stored screener table, indexed by symbol (sorted as Python sorts), doubles as floats."""
    return _typed(_result(router, "SELECT * FROM screener_rows")).set_index("symbol").sort_index()


def screener_basis_rows(router: ReplicaRouter) -> pd.DataFrame:
    """The stored TTM-basis screener table (schema 120), indexed by symbol, typed as `basis.clear_basis`
    returns it (basis as objects with None, stale as bool)."""
    frame = _typed(_result(router, "SELECT * FROM screener_basis_rows")).set_index("symbol").sort_index()
    frame["basis"] = pd.Series(frame["basis"].tolist(), index=frame.index, dtype=object).where(
        frame["basis"].notna(), None
    )
    frame["stale"] = frame["stale"].astype(bool)
    return frame


def sector_medians(router: ReplicaRouter) -> pd.DataFrame:
    """sector, metric, median (float, NaN for NULL), n of every sector and metric."""
    return _typed(_result(router, "SELECT sector, metric, median, n FROM sector_medians"))


def metric_history(
    router: ReplicaRouter,
    symbol: str,
    basis: str,
    columns: Sequence[str] | None = None,
    *,
    first: bool = False,
) -> pd.DataFrame:
    """One symbol's metric_history rows of one basis ("FY", "Q", "TTM"), oldest first: every column, or
    `fiscal_date` and the `columns` given (names of metric_history's columns, never input); of
    metric_history_first with `first` (only restated companies have rows there)."""
    chosen = "*" if columns is None else ", ".join(["fiscal_date", *columns])
    table = "metric_history_first" if first else "metric_history"
    result = _result(
        router,
        f"SELECT {chosen} FROM {table} WHERE symbol = :symbol AND basis = :basis ORDER BY fiscal_date",
        {"symbol": symbol, "basis": basis},
    )
    return _typed(result)


def metric_history_values(
    router: ReplicaRouter, symbol: str, basis: str, columns: Sequence[str], *, first: bool = False
) -> tuple[list[Any], np.ndarray]:
    """`metric_history`'s rows of double-precision `columns` as their fiscal dates and one float matrix
    (a row per date, NULL → NaN): the values `_typed` gives those columns, without a frame per read (a
    frame of ~30 columns built and then cut cost ~1.5 ms of a cold ratio table).

    Raises:
        ValueError: a column that is not a double (a key or a label: `_typed` keeps those as objects).
    """
    if any(column in derived_rows.NOT_FLOAT for column in columns):
        raise ValueError("metric_history_values reads double-precision columns only")
    table = "metric_history_first" if first else "metric_history"
    result = _result(
        router,
        f"SELECT fiscal_date, {', '.join(columns)} FROM {table}"
        " WHERE symbol = :symbol AND basis = :basis ORDER BY fiscal_date",
        {"symbol": symbol, "basis": basis},
    )
    values = np.array([row[1:] for row in result.rows], dtype=float).reshape(len(result.rows), len(columns))
    return [row[0] for row in result.rows], values


def stored_month_end_closes(router: ReplicaRouter, symbol: str) -> pd.Series:
    """month_end_closes of one symbol as `month_end_closes` gives them (by trading date, name adj_close)."""
    result = _result(
        router,
        "SELECT date, close FROM month_end_closes WHERE symbol = :symbol ORDER BY month",
        {"symbol": symbol},
    )
    return _date_series(result, "adj_close")


def benchmark_returns(router: ReplicaRouter, benchmark: str) -> pd.Series:
    """The daily returns of one stored benchmark (schema 181: sp500_cap, sp500_equal) by date (read it
    once serving_state says the table was filled)."""
    result = _result(
        router,
        "SELECT date, daily_return FROM benchmark_returns WHERE benchmark = :benchmark ORDER BY date",
        {"benchmark": benchmark},
    )
    return _date_series(result, benchmark)


def _date_series(result: ReadResult, name: str) -> pd.Series:
    """(date, value) rows as a float Series on a DatetimeIndex named date (NULL → NaN); no rows: an
    empty, unnamed float Series."""
    if not result.rows:
        return pd.Series(dtype=float)
    index = pd.DatetimeIndex(pd.to_datetime([r[0] for r in result.rows]), name="date")
    return pd.Series(np.array([r[1] for r in result.rows], dtype=float), index=index, name=name)


def _typed(result: ReadResult) -> pd.DataFrame:
    """The rows of a derived table as a frame (serving/rows.py: doubles as float64, NULL → NaN)."""
    return derived_rows.typed(result.columns, result.rows)


# -- #27: histories for Compare and Valuation, the TTM basis for the Screener --------------------------
# metric_history as first reported: metric_history_first's rows of the restated companies, metric_history's
# of the others (schema 173: both tables have the same columns in the same order).
METRIC_HISTORY_AS_FIRST = (
    "(SELECT * FROM metric_history_first UNION ALL SELECT * FROM metric_history m"
    " WHERE NOT EXISTS (SELECT 1 FROM metric_history_first f WHERE f.symbol = m.symbol))"
)


def _metric_table(first: bool) -> str:
    return f"{METRIC_HISTORY_AS_FIRST} AS h" if first else "metric_history"


def latest_ttm(router: ReplicaRouter, *, first: bool = False) -> pd.DataFrame:
    """Each symbol's latest TTM metric_history row (the Screener's trailing-twelve-month basis); as first
    reported with `first`."""
    result = _result(
        router,
        f"SELECT DISTINCT ON (symbol) * FROM {_metric_table(first)} WHERE basis = 'TTM'"
        " ORDER BY symbol, fiscal_date DESC",
    )
    return _typed(result)


def metric_histories(
    router: ReplicaRouter, symbols: Sequence[str], basis: str, *, first: bool = False
) -> pd.DataFrame:
    """metric_history rows of several symbols and one basis ("FY", "Q", "TTM"), by symbol, oldest first;
    as first reported with `first`."""
    result = _result(
        router,
        f"SELECT * FROM {_metric_table(first)} WHERE basis = :basis AND symbol = ANY(:symbols)"
        " ORDER BY symbol, fiscal_date",
        {"basis": basis, "symbols": list(symbols)},
    )
    return _typed(result)


def statement_lines(
    router: ReplicaRouter, symbol: str, tables: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], pd.DataFrame]:
    """One symbol's statement tables from statement_lines (schema 101) by (statement, stored basis), for
    the `tables` asked that have a row; each as the page built it from the payloads (`lines.table_frame`)."""
    result = _result(
        router,
        "SELECT statement, basis, fiscal_dates, lines, line_values FROM statement_lines"
        " WHERE symbol = :symbol AND (statement, basis) IN"
        " (SELECT * FROM unnest(CAST(:statements AS text[]), CAST(:bases AS text[])))",
        {"symbol": symbol, "statements": [t[0] for t in tables], "bases": [t[1] for t in tables]},
    )
    return {(kind, basis): lines.table_frame(*cells) for kind, basis, *cells in result.rows}


def statement_rows(
    router: ReplicaRouter,
    symbols: Sequence[str],
    *,
    first: bool = False,
    pin: int | None = None,
    as_of: str | None = None,
) -> list[dict[str, Any]]:
    """The statement rows metric_history is computed from (`serving.history.group_statements` takes them),
    for a store whose serving tables are not filled yet; each period's first payload with `first` (what
    the engine computes metric_history_first from); as the store held them when run `pin` ended; as it
    knew them at the end of `as_of` (else as first reported when filed by then)."""
    source = (
        "(SELECT symbol, kind, period, fiscal_date, fiscal_year, known_since AS updated_at, payload"
        f" FROM statement_versions(:mode, CAST(:as_of AS date), {PINNED_AT if pin is not None else 'NULL'},"
        " CAST(:symbols AS text[]))) AS s"
        if first or pin is not None or as_of is not None
        else "statements"
    )
    result = _result(
        router,
        "SELECT symbol, kind, CASE WHEN period = 'FY' THEN 'FY' ELSE 'Q' END AS grp, period, fiscal_date,"
        f" fiscal_year, updated_at, payload FROM {source}"
        " WHERE symbol = ANY(:symbols) AND kind IN ('income', 'balance', 'cashflow') ORDER BY symbol, fiscal_date",
        {
            "symbols": list(symbols),
            "mode": "first" if first else "pit" if as_of is not None else "known",
            "pin": pin,
            "as_of": as_of,
        },
    )
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def closes_on(router: ReplicaRouter, symbols: Sequence[str], days: Sequence[Any]) -> pd.DataFrame:
    """For each (symbol, day) pair, the last traded close on or before that day (symbol, day, close):
    one index probe per pair (multiples at period ends of many companies)."""
    result = _result(
        router,
        "SELECT q.symbol, q.day, p.close FROM unnest(CAST(:symbols AS text[]), CAST(:days AS date[]))"
        " AS q(symbol, day) CROSS JOIN LATERAL (SELECT close FROM prices_daily d WHERE d.symbol = q.symbol"
        " AND d.date <= q.day ORDER BY date DESC LIMIT 1) p",
        {"symbols": list(symbols), "days": list(days)},
    )
    frame = pd.DataFrame(result.rows, columns=result.columns or ["symbol", "day", "close"])
    frame["close"] = pd.to_numeric(frame["close"], errors="coerce").astype(float)
    return frame


# -- What only this store knows (#29, schema 170-173, docs/dashboard.md "Point in time") ----------------
def _number(payload: str, field: str) -> str:
    """A payload's number as float8 (NULL when absent or not a number)."""
    return f"CASE WHEN jsonb_typeof({payload} -> '{field}') = 'number' THEN ({payload} ->> '{field}')::float8 END"


RESTATEMENT_LIMIT = 500


def restatement_feed(
    router: ReplicaRouter,
    *,
    symbol: str | None = None,
    sector: str | None = None,
    field: str | None = None,
    min_change: float = 0.0,
) -> pd.DataFrame:
    """Restated statement lines, newest first (at most RESTATEMENT_LIMIT): statement_changes with the
    company's name and sector; `min_change` a fraction of |change| (a line that appeared or went counts)."""
    return _read(
        router,
        "SELECT c.restated_on, c.symbol, co.name, co.sector, c.kind, c.period, c.fiscal_date, c.field,"
        " c.old_value, c.new_value, c.change, c.seen_at, c.old_filing_date, c.new_filing_date,"
        " c.old_run_id, c.new_run_id, c.per_share_only"
        " FROM statement_changes c LEFT JOIN companies co USING (symbol)"
        " WHERE (CAST(:symbol AS text) IS NULL OR c.symbol = :symbol)"
        " AND (CAST(:sector AS text) IS NULL OR co.sector = :sector)"
        " AND (CAST(:field AS text) IS NULL OR c.field = :field)"
        " AND (c.change IS NULL OR abs(c.change) >= :min_change)"
        " ORDER BY c.restated_on DESC, c.seen_at DESC, c.symbol, c.kind, c.fiscal_date DESC, c.field"
        f" LIMIT {RESTATEMENT_LIMIT}",
        {"symbol": symbol, "sector": sector, "field": field, "min_change": float(min_change)},
    )


def restated_lines(router: ReplicaRouter) -> pd.DataFrame:
    """Every restated line but the split-only ones (serving/restatements.py counts them per company): the
    Screener's restatement columns on a store whose screener_rows were never refreshed."""
    return _read(
        router,
        "SELECT symbol, kind, period, fiscal_date, seen_at, restated_on, change FROM statement_changes"
        " WHERE NOT per_share_only",
    )


def restatement_choices(router: ReplicaRouter) -> pd.DataFrame:
    """Each restated (symbol, sector, field) once: the feed's filter choices."""
    return _read(
        router,
        "SELECT DISTINCT c.symbol, co.sector, c.field FROM statement_changes c"
        " LEFT JOIN companies co USING (symbol) ORDER BY 1, 3",
    )


def withheld_by_rule(router: ReplicaRouter) -> pd.DataFrame:
    """Values withheld as implausible (schema 172), per rule: rows, companies, last seen."""
    return _read(
        router,
        "SELECT rule, count(*) AS rows, count(DISTINCT symbol) AS companies, max(last_seen) AS last_seen"
        " FROM withheld_values GROUP BY rule ORDER BY rows DESC, rule",
    )


WITHHELD_COLUMNS = (
    "last_seen", "symbol", "dataset", "kind", "period", "day", "rule", "field", "raw_value", "reason", "times_seen",
)  # fmt: skip


def withheld_rows(router: ReplicaRouter, symbol: str | None = None, limit: int = 200) -> pd.DataFrame:
    """The latest withheld rows (of one company, when given): what, the rule, the raw value, the reason."""
    return _read(
        router,
        f"SELECT {', '.join(WITHHELD_COLUMNS)}"
        " FROM withheld_values WHERE CAST(:symbol AS text) IS NULL OR symbol = :symbol"
        " ORDER BY last_seen DESC, quarantine_id DESC LIMIT :limit",
        {"symbol": symbol, "limit": limit},
    )


def members_on(router: ReplicaRouter, day: str) -> pd.DataFrame:
    """The S&P 500 members on `day` (sp500_membership: added <= day < removed) that this store holds,
    with what was known of each then: the latest annual income statement and balance sheet as the store
    knew them at the end of that day, or as first reported when filed by then and the store's history
    starts later (`basis` 'known' or 'first'); the close on that day and adjusted closes 1, 3 and 12
    months on (a company whose prices end earlier counts at its last close). Also `held_members`: every
    member that day, held or not."""
    latest = "SELECT max(date) FROM prices_daily p WHERE p.symbol = h.symbol"
    ahead = (
        "LEFT JOIN LATERAL (SELECT coalesce(adj_close, close) AS adj FROM prices_daily p"
        " WHERE p.symbol = h.symbol AND p.date <= CAST(:day AS date) + interval '{span}'"
        " ORDER BY p.date DESC LIMIT 1) {name} ON true"
    )
    return _read(
        router,
        "WITH members AS (SELECT DISTINCT ON (m.symbol) m.symbol, m.added, m.removed FROM sp500_membership m"
        " WHERE (m.added IS NULL OR m.added <= :day) AND (m.removed IS NULL OR m.removed > :day)"
        " ORDER BY m.symbol, m.added DESC NULLS LAST),"
        " held AS (SELECT m.*, c.name, c.sector FROM members m JOIN companies c USING (symbol)"
        " WHERE EXISTS (SELECT 1 FROM prices_daily p WHERE p.symbol = m.symbol)"
        " OR EXISTS (SELECT 1 FROM statements s WHERE s.symbol = m.symbol)),"
        " fy AS (SELECT DISTINCT ON (v.symbol, v.kind) v.symbol, v.kind, v.fiscal_date, v.filing_date, v.basis,"
        " v.payload FROM statement_versions('pit', CAST(:day AS date), NULL,"
        " (SELECT array_agg(symbol) FROM held), '{income,balance}', '{FY}') v"
        " ORDER BY v.symbol, v.kind, v.fiscal_date DESC)"
        " SELECT h.symbol, h.name, h.sector, h.added, h.removed, (SELECT count(*) FROM members) AS members,"
        " i.fiscal_date, i.filing_date, i.basis,"
        f" {_number('i.payload', 'revenue')} AS revenue, {_number('i.payload', 'netIncome')} AS net_income,"
        f" {_number('i.payload', 'epsDiluted')} AS eps_diluted,"
        f" {_number('b.payload', 'totalStockholdersEquity')} AS equity,"
        " p0.date AS price_date, p0.close, p0.adj AS adj0, m1.adj AS adj1m, m3.adj AS adj3m, y1.adj AS adj1y,"
        f" ({latest}) AS last_price_date"
        " FROM held h"
        " LEFT JOIN fy i ON i.symbol = h.symbol AND i.kind = 'income'"
        " LEFT JOIN fy b ON b.symbol = h.symbol AND b.kind = 'balance'"
        " LEFT JOIN LATERAL (SELECT p.date, p.close, coalesce(p.adj_close, p.close) AS adj FROM prices_daily p"
        " WHERE p.symbol = h.symbol AND p.date <= :day AND p.date > CAST(:day AS date) - 14"
        " ORDER BY p.date DESC LIMIT 1) p0 ON true "
        + " ".join(
            ahead.format(span=span, name=name)
            for span, name in (("1 month", "m1"), ("3 months", "m3"), ("1 year", "y1"))
        )
        + " ORDER BY h.symbol",
        {"day": day},
    )


def statement_basis(
    router: ReplicaRouter,
    symbol: str | Sequence[str],
    period: str,
    mode: str,
    as_of: str | None,
    pin: int | None = None,
) -> pd.DataFrame:
    """Which payload each period of one symbol (or of each of several) comes from in `mode` ('first': as
    first reported; 'pit': as known at the end of `as_of`, else as first reported when filed by then;
    'known': as held), as the store knew it when run `pin` ended (now when None): symbol, kind,
    fiscal_date, filing_date, known_since, run_id, basis, and the run's job and start."""
    if mode not in ("first", "pit", "known"):
        raise ValueError("unknown mode")
    symbols = [symbol] if isinstance(symbol, str) else list(symbol)
    return _read(
        router,
        "SELECT v.kind, v.fiscal_date, v.filing_date, v.known_since, v.run_id, v.basis, r.job, r.started_at,"
        f" v.symbol FROM statement_versions(:mode, CAST(:as_of AS date), {PINNED_AT if pin is not None else 'NULL'},"
        " CAST(:symbols AS text[]), NULL, CAST(:periods AS text[])) v LEFT JOIN runs r ON r.run_id = v.run_id"
        " ORDER BY v.symbol, v.kind, v.fiscal_date",
        {
            "mode": mode,
            "as_of": as_of,
            "symbols": symbols,
            "periods": list(fiscal_labels(period)),
            "pin": pin,
        },
    )


STATEMENT_ENDPOINTS = {
    "income": "income-statement",
    "balance": "balance-sheet-statement",
    "cashflow": "cash-flow-statement",
}


CHANGE_COLUMNS = (
    "fiscal_date", "period", "field", "old_value", "new_value", "change", "seen_at", "restated_on",
    "old_filing_date", "new_filing_date", "old_run_id", "new_run_id", "per_share_only",
)  # fmt: skip


def company_changes(router: ReplicaRouter, symbol: str, kind: str, periods: Sequence[str]) -> pd.DataFrame:
    """One company's restated lines of one statement kind and periods, newest restatement first."""
    return _read(
        router,
        f"SELECT {', '.join(CHANGE_COLUMNS)} FROM statement_changes"
        " WHERE symbol = :symbol AND kind = :kind AND period = ANY(:periods)"
        " ORDER BY seen_at DESC, fiscal_date DESC, field",
        {"symbol": symbol, "kind": kind, "periods": list(periods)},
    )


def provenance(
    router: ReplicaRouter,
    symbol: str,
    kind: str,
    period: str,
    day: str,
    mode: str,
    as_of: str | None,
    pin: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Where one statement period's figures come from: the payload shown (`mode` as in
    statement_versions: 'known' the current one when `as_of` is None), the run and run item that fetched
    it, the withheld rows of that period (schema 172)."""
    shown = _read(
        router,
        "SELECT v.period, v.fiscal_date, v.filing_date, v.known_since, v.run_id, v.basis, r.job, r.started_at,"
        " r.finished_at, i.dataset, i.finished_at AS fetched_at, i.params"
        f" FROM statement_versions(:mode, CAST(:as_of AS date), {PINNED_AT if pin is not None else 'NULL'},"
        " ARRAY[CAST(:symbol AS text)],"
        " ARRAY[CAST(:kind AS text)], CAST(:periods AS text[])) v"
        " LEFT JOIN runs r ON r.run_id = v.run_id"
        " LEFT JOIN run_items i ON i.run_id = v.run_id AND i.symbol = :symbol AND i.dataset = :dataset"
        " WHERE v.fiscal_date = CAST(:day AS date)",
        {
            "mode": mode,
            "as_of": as_of,
            "symbol": symbol,
            "kind": kind,
            "periods": list(fiscal_labels(period)),
            "dataset": f"{kind}_{'annual' if period == 'FY' else 'quarter'}",
            "day": day,
            "pin": pin,
        },
    )
    withheld = _read(
        router,
        "SELECT rule, field, raw_value, reason, last_seen FROM withheld_values"
        " WHERE dataset = 'statements' AND symbol = :symbol AND kind = :kind AND day = :day ORDER BY last_seen DESC",
        {"symbol": symbol, "kind": kind, "day": day},
    )
    return {"shown": shown, "withheld": withheld}


def price_fetches(router: ReplicaRouter, symbols: Sequence[str]) -> pd.DataFrame:
    """The finished price items of `symbols` in the run ledger, oldest first: symbol, run_id, job,
    started_at, fetched_at and params (the planned window, and any re-adjustment or clip the run noted);
    served by run_items_symbol_done_idx (schema 175)."""
    return _read(
        router,
        "SELECT i.symbol, i.run_id, r.job, r.started_at, i.finished_at AS fetched_at, i.params FROM run_items i"
        " JOIN runs r ON r.run_id = i.run_id WHERE i.symbol = ANY(:symbols) AND i.dataset = 'prices'"
        " AND i.state = 'done' ORDER BY i.finished_at, i.run_id",
        {"symbols": list(symbols)},
    )


def profile_fetch(router: ReplicaRouter, symbol: str) -> pd.DataFrame:
    """The last finished profile item of one symbol in the run ledger (run_id, job, started_at,
    fetched_at): the fetch that left the profile stored (companies.profile keeps only the last one)."""
    return _read(
        router,
        "SELECT i.run_id, r.job, r.started_at, i.finished_at AS fetched_at FROM run_items i"
        " JOIN runs r ON r.run_id = i.run_id WHERE i.symbol = :symbol AND i.dataset = 'profile'"
        " AND i.state = 'done' ORDER BY i.finished_at DESC, i.run_id DESC LIMIT 1",
        {"symbol": symbol},
    )


def coverage(router: ReplicaRouter) -> pd.DataFrame:
    """Per dataset across the index's current members: how many have it, the newest period, the last
    change, and how many are stale (prices a week behind the newest close; annual statements 15 months
    and quarterly 6 months behind the newest period of their kind)."""
    return _read(
        router,
        "WITH members AS (SELECT symbol FROM sp500_members),"
        " last_price AS (SELECT m.symbol, p.date FROM members m LEFT JOIN LATERAL (SELECT date FROM prices_daily d"
        " WHERE d.symbol = m.symbol ORDER BY date DESC LIMIT 1) p ON true),"
        " st AS (SELECT symbol, kind, period = 'FY' AS annual, max(fiscal_date) AS latest, max(updated_at) AS changed"
        " FROM statements WHERE symbol IN (SELECT symbol FROM members) GROUP BY 1, 2, 3)"
        " SELECT 'prices' AS dataset, count(date) AS companies, (SELECT count(*) FROM members) AS members,"
        " max(date) AS newest, NULL::timestamptz AS last_changed,"
        " count(*) FILTER (WHERE date < (SELECT max(date) FROM last_price) - 7) AS stale FROM last_price"
        " UNION ALL SELECT kind || CASE WHEN annual THEN ' annual' ELSE ' quarterly' END, count(*),"
        " (SELECT count(*) FROM members), max(latest), max(changed),"
        " count(*) FILTER (WHERE latest < (SELECT max(s2.latest) FROM st s2 WHERE s2.kind = st.kind"
        " AND s2.annual = st.annual) - CASE WHEN annual THEN interval '15 months' ELSE interval '6 months' END)"
        " FROM st GROUP BY kind, annual ORDER BY 1",
    )


def restatements_per_week(router: ReplicaRouter, weeks: int = 52) -> pd.DataFrame:
    """Restated lines and companies per week the store saw them, newest first."""
    return _read(
        router,
        "SELECT date_trunc('week', seen_at)::date AS week, count(*) AS lines, count(DISTINCT symbol) AS companies,"
        " count(*) FILTER (WHERE per_share_only) AS split_only FROM statement_changes"
        " GROUP BY 1 ORDER BY 1 DESC LIMIT :weeks",
        {"weeks": weeks},
    )
