"""Where a stored close comes from: the run ledger's price item that last fetched that day (its window,
when it was done, the endpoint); as a card's lines, a card, and the price CSVs' `provenance_*` columns
(docs/dashboard.md, "Point in time"). Prices are not versioned: the close is the one the latest fetch left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from dash import html

from dashboard.components import company_data, point_in_time
from dashboard.data import queries
from dashboard.services import services

PRICE_ENDPOINTS = "historical-price-eod/full and historical-price-eod/dividend-adjusted"
COLUMNS = ("provenance_run_id", "provenance_job", "provenance_fetched_at", "provenance_endpoint")


def _window(params: Mapping[str, Any], fetched: Any) -> tuple[date, date] | None:
    """The days one price item wrote or confirmed: its planned window (from the re-adjustment's start when
    FMP re-adjusted the past; after what the plan refused when clipped) up to its end or the day it ran."""
    try:
        start = date.fromisoformat(str((params.get("readjusted") or {}).get("from") or params["from"]))
        end = date.fromisoformat(str(params["to"])) if params.get("to") else pd.Timestamp(fetched).date()
        clipped = params.get("clipped") or {}
        if clipped.get("to"):
            start = max(start, date.fromisoformat(str(clipped["to"])) + timedelta(days=1))
    except (KeyError, TypeError, ValueError):
        return None
    return start, end


def _endpoint(symbol: str, params: Mapping[str, Any], window: tuple[date, date]) -> str:
    if params.get("bulk"):
        return "eod-bulk?date=<each day> (the run's bulk days)"
    return f"{PRICE_ENDPOINTS}?symbol={symbol}&from={window[0]}&to={window[1]}"


def price_trail(symbol: str, days: pd.Index) -> pd.DataFrame:
    """For each day's stored close, the latest price item that fetched it (wrote or found it unchanged):
    provenance_run_id, _job, _fetched_at (when the item was done) and _endpoint, from the run ledger.
    Prices are not versioned: the close stored is the one the latest fetch left."""
    svc = services()
    fetches = svc.cache.cached(
        "price-fetches", (symbol,), lambda: queries.price_fetches(svc.router, [symbol])
    )
    return _covering(fetches, symbol, days)


def close_trails(symbols: Sequence[str], days: Sequence[str | None]) -> pd.DataFrame:
    """`price_trail` of one close per row (a symbol and its day; None: no close), the ledger read once."""
    fetches = queries.price_fetches(services().router, sorted(set(symbols)))
    groups = {str(s): rows for s, rows in fetches.groupby("symbol")} if not fetches.empty else {}
    rows = [
        _covering(groups.get(symbol, fetches.iloc[0:0]), symbol, pd.DatetimeIndex([day])).iloc[0]
        if day is not None
        else pd.Series({name: None for name in COLUMNS})
        for symbol, day in zip(symbols, days, strict=True)
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS)).reset_index(drop=True)


def _covering(fetches: pd.DataFrame, symbol: str, days: pd.Index) -> pd.DataFrame:
    """Each day's latest fetch among one symbol's finished price items (oldest first)."""
    stamps = pd.DatetimeIndex(days).to_numpy(dtype="datetime64[D]")
    run = np.full(len(stamps), np.nan)
    job = np.full(len(stamps), None, dtype=object)
    at = np.full(len(stamps), None, dtype=object)
    where = np.full(len(stamps), None, dtype=object)
    for item in fetches.to_dict("records"):  # oldest first: a later fetch of a day replaces an earlier
        params = item["params"] if isinstance(item["params"], Mapping) else {}
        window = _window(params, item["fetched_at"])
        if window is None:
            continue
        covered = (stamps >= np.datetime64(window[0])) & (stamps <= np.datetime64(window[1]))
        run[covered] = item["run_id"]
        job[covered] = item["job"]
        at[covered] = pd.Timestamp(item["fetched_at"])
        where[covered] = _endpoint(symbol, params, window)
    return pd.DataFrame(
        {
            "provenance_run_id": pd.array(run, dtype="Int64"),
            "provenance_job": job,
            "provenance_fetched_at": at,
            "provenance_endpoint": where,
        },
        index=days,
    )


def close_items(symbol: str, day: str | None, run_id: str) -> tuple[pd.Timestamp, list[Any]] | None:
    """The trail of the stored close on `day` (the last one on or before it; the latest when None), as a
    card's lines: the close traded and adjusted, the run and item that fetched it (line `run_id`), the
    endpoint, and that prices keep no revisions. None: no close by then."""
    history = company_data.prices(symbol)
    upto = history if day is None or history.empty else history.loc[: pd.Timestamp(day)]
    if upto.empty:
        return None
    when = upto.index[-1]
    row = upto.iloc[-1]
    fetch = price_trail(symbol, pd.DatetimeIndex([when])).iloc[0]
    adjusted = row.get("adj_close")
    return when, [
        html.Li(
            [
                html.B(f"Close of {when:%Y-%m-%d}: "),
                f"USD {float(row['close']):,.2f} traded; "
                + (
                    f"USD {float(adjusted):,.2f} dividend-adjusted"
                    if adjusted is not None and pd.notna(adjusted)
                    else "no dividend-adjusted close from FMP (the traded one stands in)"
                ),
            ]
        ),
        html.Li(
            [
                html.B("Fetched by: "),
                f"run #{int(fetch['provenance_run_id'])} ({fetch['provenance_job']}); its {symbol} prices item"
                f" done {pd.Timestamp(fetch['provenance_fetched_at']):%Y-%m-%d %H:%M} UTC"
                if pd.notna(fetch["provenance_run_id"])
                else "no run recorded (loaded outside a run)",
            ],
            id=run_id,
        ),
        html.Li(
            [
                html.B("Endpoint: "),
                f"FMP {fetch['provenance_endpoint']}" if fetch["provenance_endpoint"] else "unknown",
            ]
        ),
        html.Li(
            [
                html.B("Revisions: "),
                "not kept for prices: the store holds the close the latest fetch left (a dividend or split"
                " re-adjusts the whole past, and the run re-fetches it).",
            ]
        ),
    ]


def price_card(symbol: str, day: str | None) -> Any:
    """The trail of the stored close on `day` (the last one on or before it; the latest when None): the
    close traded and adjusted, the run and item that fetched it, the endpoint, and any price row of that
    day withheld as implausible."""
    shown = close_items(symbol, day, "company-price-provenance-run")
    if shown is None:
        return None
    when, items = shown
    day_text = f"{when:%Y-%m-%d}"
    same_day = point_in_time.withheld_text(
        symbol, lambda r: r["dataset"] == "prices" and r["day"] == day_text
    )
    return point_in_time.card(
        f"Where {symbol}'s close of {when:%Y-%m-%d} comes from",
        [*items, html.Li([html.B("Withheld that day: "), same_day or "nothing"])],
        "company-price-provenance",
    )
