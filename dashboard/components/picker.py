"""The ticker picker: options marked by whether a company has data, and the company a page opens on."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dashboard.components.inputs import universe
from dashboard.data import queries
from dashboard.services import services

NO_DATA = "no data"
CLASS = re.compile(r"\s*\(Class [A-Z0-9]+\)\s*$")  # "Alphabet Inc. (Class C)": the share class in a name


@dataclass(frozen=True, slots=True)
class Picker:
    """Options (companies with prices first, then the others marked "no data"), and the default ticker:
    the largest company by market cap that has prices (the first one listed when no cap is known)."""

    options: list[dict[str, Any]]
    default: str | None
    with_data: frozenset[str]
    as_of: str | None = None  # the newest stored close: the header's "data as of"
    # Up to ten companies with prices, largest market cap first (then as listed), one share class each.
    leading: tuple[str, ...] = ()

    def defaults(self, count: int) -> list[str]:
        """`count` tickers to open a multi-company page on: the leading ones, then others listed."""
        chosen = list(self.leading[:count])
        for option in self.options:
            if len(chosen) >= count:
                break
            if option["value"] not in chosen:
                chosen.append(str(option["value"]))
        return chosen


def picker() -> Picker:
    """Built once per data version (every page view shows it)."""
    return services().cache.cached("symbol-picker", (), _build)


def _build() -> Picker:
    svc = services()
    frame = universe()
    if frame.empty:
        return Picker([], None, frozenset())
    closes = queries.latest_closes(svc.router)
    priced = closes.dropna(subset=["close"]) if not closes.empty else closes
    close = (
        pd.Series(priced["close"].astype(float).to_numpy(), index=priced["symbol"])
        if not priced.empty
        else pd.Series(dtype=float)
    )
    counts = queries.profile_shares(svc.router)
    shares = counts.reindex(close.index) if not counts.empty else pd.Series(np.nan, index=close.index)
    caps = (close * shares).dropna()
    with_data = frozenset(close.index)
    options: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    for symbol, name in zip(frame["symbol"].tolist(), frame["name"].tolist(), strict=True):
        if symbol in with_data:
            options.append({"label": f"{symbol} · {name}", "value": symbol})
        else:
            later.append({"label": f"{symbol} · {name} ({NO_DATA})", "value": symbol, "nodata": True})
    if not caps.empty:
        default: str | None = str(caps.idxmax())
    elif options:
        default = str(options[0]["value"])
    else:
        default = str(later[0]["value"]) if later else None
    newest = pd.to_datetime(priced["date"]).max() if not priced.empty else None
    return Picker(
        options + later,
        default,
        with_data,
        newest.strftime("%Y-%m-%d") if newest is not None else None,
        one_class_each(
            [
                *caps.sort_values(ascending=False).index,
                *(o["value"] for o in options if o["value"] not in caps),
            ],
            frame,
            limit=10,
        ),
    )


def one_class_each(symbols: Iterable[str], frame: pd.DataFrame, limit: int | None = None) -> tuple[str, ...]:
    """`symbols` in order, keeping the first of each issuer (the first `limit` of them): GOOGL and GOOG
    (one CIK, two share classes) are one company, which a comparison or a portfolio should not open on
    twice. Without a CIK the name less its "(Class A)" suffix names the issuer; without either, the symbol.

    Plain dicts and one pass: a pandas lookup per symbol cost ~0.8 s at 5,000 symbols."""
    names = dict(zip(frame["symbol"].tolist(), frame["name"].tolist(), strict=True))
    ciks = dict(zip(frame["symbol"].tolist(), frame["cik"].tolist(), strict=True)) if "cik" in frame else {}
    seen: set[str] = set()
    kept: list[str] = []
    for symbol in symbols:
        if limit is not None and len(kept) >= limit:
            break
        cik = ciks.get(symbol)
        name = names.get(symbol, symbol)
        issuer = (
            cik
            if isinstance(cik, str) and cik.strip("0")
            else CLASS.sub("", name)
            if isinstance(name, str)
            else str(symbol)
        )
        if issuer not in seen:
            seen.add(issuer)
            kept.append(str(symbol))
    return tuple(kept)
