"""Universe-wide tables (every symbol at once) for the Screener and Valuation pages, cached per data version."""

from __future__ import annotations

import pandas as pd

from dashboard.analytics import screener, valuation
from dashboard.analytics.fundamentals import field
from dashboard.components.inputs import universe
from dashboard.data import queries
from dashboard.services import services

KINDS = ("income", "balance", "cashflow")
# The columns a universe table starts with (Screener, Compare): who, the price, size and two multiples.
LEADING_COLUMNS = ("name", "sector", "price", "market_cap", "shares_source", "pe", "ev_ebitda")


def _long_annual() -> pd.DataFrame:
    """Last three FY rows per symbol with income, balance and cash-flow fields side by side."""
    raw = queries.recent_annual(services().router, KINDS, keep=3)
    merged: pd.DataFrame | None = None
    for kind in KINDS:  # income first: the first kind holding a field wins, as in statements.combine
        part = raw[raw["kind"] == kind]
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


def metrics() -> pd.DataFrame:
    """The screener table: one row per symbol (sector, ratios, multiples, scores, growth, price)."""
    svc = services()

    def build() -> pd.DataFrame:
        long = _long_annual()
        if long.empty:
            return pd.DataFrame()
        latest, previous, before = screener.cross_section_history(long, depth=3)
        closes = queries.latest_closes(svc.router).set_index("symbol")
        price = closes["close"].astype(float).reindex(latest.index)
        counts = queries.share_counts(svc.router).reindex(latest.index)
        # The current share count (profile, else latest quarter), not the last fiscal year's average.
        shares = valuation.current_shares(
            {
                "profile": counts["profile_shares"],
                "quarter": counts["quarter_shares"],
                "annual": field(latest, "weightedAverageShsOutDil"),
            }
        ).reindex(latest.index)
        companies = universe().set_index("symbol")
        table = screener.metrics_table(
            latest,
            previous,
            before=before,
            market_cap=price * shares["shares"],
            sectors=companies["sector"],
            extra=pd.DataFrame(
                {
                    "name": companies["name"],
                    "price": price,
                    "shares": shares["shares"],
                    "shares_source": shares["shares_source"],
                }
            ),
        )
        return table

    return svc.cached("screener-table", (), build)
