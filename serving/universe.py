"""The universe's screener rows and sector medians, from the last fiscal years, closes and share counts.

`screener_table` is what the Screener, Compare and Valuation pages show; the engine's refresh writes it
to `screener_rows` (with `price_columns` added) and the dashboard computes it itself only when that
table is missing or was never filled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from serving import basis, fitting, screener, valuation
from serving.fundamentals import field, safe_div

KINDS = ("income", "balance", "cashflow")
DEPTH = 3  # fiscal years read per symbol: the latest, the one before (averages, growth), and t-2 (F-score)
# The price statistics the refresh adds to each row (prices_stats in engine/db/queries.py).
PRICE_STATS = ("price_date", "perf_1m", "perf_ytd", "perf_1y", "off_52w_high", "volatility_1y")
# Columns added for analysts' screens beyond what `screener_table` returns (docs/serving.md).
ADDED = ("fiscal_date", "dividend_yield", "fcf_yield", "eps_growth", *PRICE_STATS)
TEXT_COLUMNS = frozenset({"sector", "altman_model", "name", "shares_source"})
DATE_COLUMNS = frozenset({"fiscal_date", "price_date"})


def long_annual(raw: pd.DataFrame) -> pd.DataFrame:
    """The last FY rows per symbol with income, balance and cash-flow fields side by side.

    Args:
        raw: columns kind, symbol, fiscal_date, payload (a dict): the last DEPTH FY rows of each kind.
    """
    merged: pd.DataFrame | None = None
    for kind in KINDS:  # income first: the first kind holding a field wins, as in statements.combine
        part = raw[raw["kind"] == kind] if not raw.empty else raw
        if part.empty:
            continue
        body = pd.json_normalize(list(part["payload"])).drop(columns=["symbol", "date"], errors="ignore")
        body = body.select_dtypes("number")
        body["symbol"], body["date"] = list(part["symbol"]), pd.to_datetime(list(part["fiscal_date"]))
        if merged is None:
            merged = body
        else:
            extra = [c for c in body.columns if c not in merged.columns or c in ("symbol", "date")]
            merged = merged.merge(body[extra], on=["symbol", "date"], how="outer")
    return merged if merged is not None else pd.DataFrame(columns=["symbol", "date"])


def screener_table(
    raw: pd.DataFrame, closes: pd.DataFrame, counts: pd.DataFrame, companies: pd.DataFrame
) -> pd.DataFrame:
    """One row per company of `companies` with a statement: sector, ratios, multiples, scores, growth,
    price, shares.

    Args:
        raw: the last DEPTH FY rows of each kind (see `long_annual`).
        closes: symbol, date, close: each symbol's last stored close.
        counts: share-count candidates indexed by symbol (profile_shares, quarter_shares).
        companies: symbol, name, sector (and sub_industry: banks, insurers and lenders get no EV
            multiples, `fitting.firm_flags`) of the serving universe: the index's current members (the
            view sp500_members). A symbol of `raw` outside it (a former member, kept for point-in-time
            reads) gets no row, so it is neither screened nor in the sector medians.
    """
    if not raw.empty:
        raw = raw[raw["symbol"].isin(companies["symbol"])]
    long = long_annual(raw)
    if long.empty:
        return pd.DataFrame()
    latest, previous, before = screener.cross_section_history(long, depth=DEPTH)
    price = closes.set_index("symbol")["close"].astype(float).reindex(latest.index)
    counts = counts.reindex(latest.index)
    # The current share count (profile, else latest quarter), not the last fiscal year's average.
    shares = valuation.current_shares(
        {
            "profile": counts["profile_shares"],
            "quarter": counts["quarter_shares"],
            "annual": field(latest, "weightedAverageShsOutDil"),
        }
    ).reindex(latest.index)
    who = companies.set_index("symbol")
    return screener.metrics_table(
        latest,
        previous,
        before=before,
        market_cap=price * shares["shares"],
        sectors=who["sector"],
        firm=fitting.firm_flags(who["sub_industry"]) if "sub_industry" in who.columns else None,
        extra=pd.DataFrame(
            {
                "name": who["name"],
                "price": price,
                "shares": shares["shares"],
                "shares_source": shares["shares_source"],
            }
        ),
    )


def latest_close_day(closes: pd.DataFrame) -> pd.Timestamp | None:
    """The newest of the symbols' last closes (symbol, date, close): the day the table reflects."""
    days = pd.to_datetime(closes["date"]) if not closes.empty else pd.Series(dtype="datetime64[ns]")
    return None if days.dropna().empty else pd.Timestamp(days.max())


def added_columns(raw: pd.DataFrame, table: pd.DataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    """The columns of ADDED for each row of `table` (indexed by symbol).

    Args:
        raw: as for `screener_table`.
        table: its result.
        stats: per symbol (index), the PRICE_STATS columns.
    """
    latest, previous, _ = screener.cross_section_history(long_annual(raw), depth=DEPTH)
    latest, previous = latest.reindex(table.index), previous.reindex(table.index)
    cap = table["market_cap"].where(table["market_cap"] > 0)
    eps, eps_before = field(latest, "epsDiluted"), field(previous, "epsDiluted")
    out = pd.DataFrame(
        {
            "fiscal_date": pd.to_datetime(latest["date"]).dt.date,
            # Dividends paid are negative in the cash-flow statement.
            "dividend_yield": safe_div(-field(latest, "commonDividendsPaid"), cap),
            "fcf_yield": safe_div(field(latest, "freeCashFlow"), cap),
            "eps_growth": safe_div(eps - eps_before, eps_before.where(eps_before > 0)),
        },
        index=table.index,
    )
    return out.join(stats.reindex(table.index)[list(PRICE_STATS)])


def medians(table: pd.DataFrame, columns: tuple[str, ...] = valuation.MULTIPLES) -> pd.DataFrame:
    """sector_medians rows (sector, metric, median, n) over a screener table."""
    by_sector = valuation.sector_medians(table, table["sector"], columns)
    counts = table[list(columns)].notna().groupby(table["sector"]).sum()
    rows = [
        (sector, metric, float(by_sector.at[sector, metric]), int(counts.at[sector, metric]))
        for sector in by_sector.index
        for metric in columns
    ]
    frame = pd.DataFrame(rows, columns=["sector", "metric", "median", "n"])
    frame["median"] = frame["median"].astype(float).where(np.isfinite(frame["median"]))
    return frame


def medians_frame(rows: pd.DataFrame, columns: tuple[str, ...] = valuation.MULTIPLES) -> pd.DataFrame:
    """sector_medians rows back into `valuation.sector_medians`' frame (sectors x metrics)."""
    if rows.empty:
        return pd.DataFrame(columns=list(columns), index=pd.Index([], name="sector"), dtype=float)
    wide = rows.pivot(index="sector", columns="metric", values="median").astype(float)
    wide.columns.name = None
    return wide.reindex(columns=list(columns))


def price_day(table: pd.DataFrame) -> pd.Timestamp | None:
    """The newest close a screener table reflects (its `price_date`), or None when it holds none."""
    if "price_date" in table.columns and table["price_date"].notna().any():
        return pd.Timestamp(max(d for d in table["price_date"] if d is not None and d == d))
    return None


def ttm_basis(
    table: pd.DataFrame, ttm_rows: pd.DataFrame, firm: pd.Series, reference: pd.Timestamp | None
) -> pd.DataFrame:
    """The screener table on the TTM basis (`basis.clear_basis`), as the pages show it: `table` the
    screener rows indexed by symbol as the pages read them, `ttm_rows` each company's latest TTM
    metric_history row (serving/rows.py types both), `firm` `fitting.firm_flags` per symbol and
    `reference` the day ages are measured from (`price_day`, else the latest close)."""
    return basis.clear_basis(table, basis.latest(ttm_rows), reference=reference, firm=firm)
