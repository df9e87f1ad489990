"""FMP stable endpoints declared as data: one spec per dataset, consumed by the one generic fetch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Period = Literal["annual", "quarter"]
PERIODS: tuple[Period, ...] = ("annual", "quarter")
# The period vocabulary, mapped here once: FMP is asked for `annual` or `quarter` rows and labels
# each row FY or Q1..Q4 (the `statements.period` column stores the label).
FISCAL_LABELS: dict[Period, tuple[str, ...]] = {"annual": ("FY",), "quarter": ("Q1", "Q2", "Q3", "Q4")}
STATEMENT_PERIODS: tuple[str, ...] = tuple(label for period in PERIODS for label in FISCAL_LABELS[period])


def request_period(label: str) -> Period:
    """The request period (`annual`/`quarter`) whose rows carry this label (FY, Q1..Q4).

    Raises:
        ValueError: not a period label.
    """
    for period in PERIODS:
        if label in FISCAL_LABELS[period]:
            return period
    raise ValueError(f"unknown period label {label!r}")


# FMP documents "Maximum 1000 records per request" for statements: 1000 covers any company's full
# quarterly history (~120 quarters for 30 years), so one request returns everything.
STATEMENT_LIMIT = 1000

_STATEMENT_KEYS = ("date", "symbol", "fiscalYear", "period")


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """How to ask FMP for one dataset and what a valid row of its answer looks like.

    `required` keys must be present in every row; `numeric` keys must be JSON numbers (or null);
    every other field is kept exactly as FMP sends it.
    """

    dataset: str
    path: str
    required: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    per_symbol: bool = True
    periods: tuple[Period, ...] = ()  # non-empty: the request needs `period` (and gets the full `limit`)
    date_range: bool = False  # takes `from`/`to` (prices)
    fixed_params: Mapping[str, str] = field(default_factory=dict)
    day: bool = False  # takes one `date` (eod-bulk)
    part: bool = False  # takes `part` 0, 1, 2... (profile-bulk: the answer comes in parts)
    csv: bool = False  # the answer is CSV (FMP's bulk endpoints), values as text

    def params(
        self,
        *,
        symbol: str | None = None,
        period: Period | None = None,
        start: date | None = None,
        end: date | None = None,
        limit: int | None = None,
        day: date | None = None,
        part: int | None = None,
    ) -> dict[str, str]:
        """The query parameters for one request (never the key: that travels in a header).

        Raises:
            ValueError: the arguments do not fit this endpoint.
        """
        return {
            **self.fixed_params,
            **self._symbol_params(symbol),
            **self._period_params(period, limit),
            **self._range_params(start, end),
            **self._day_params(day),
            **self._part_params(part),
        }

    def _symbol_params(self, symbol: str | None) -> dict[str, str]:
        if not self.per_symbol:
            if symbol:
                raise ValueError(f"{self.dataset} takes no symbol")
            return {}
        if not symbol:
            raise ValueError(f"{self.dataset} needs a symbol")
        return {"symbol": symbol}

    def _period_params(self, period: Period | None, limit: int | None) -> dict[str, str]:
        if not self.periods:
            if period:
                raise ValueError(f"{self.dataset} takes no period")
            return {}
        if period not in self.periods:
            raise ValueError(f"{self.dataset} needs period in {self.periods}")
        # an incremental run asks only for the latest periods (restatements); default: everything
        return {"period": period, "limit": str(limit or STATEMENT_LIMIT)}

    def _range_params(self, start: date | None, end: date | None) -> dict[str, str]:
        if not self.date_range:
            if start or end:
                raise ValueError(f"{self.dataset} takes no date range")
            return {}
        bounds = {"from": start, "to": end}
        return {name: day.isoformat() for name, day in bounds.items() if day}

    def _day_params(self, day: date | None) -> dict[str, str]:
        if self.day != (day is not None):
            raise ValueError(f"{self.dataset} {'needs' if self.day else 'takes no'} date")
        return {} if day is None else {"date": day.isoformat()}

    def _part_params(self, part: int | None) -> dict[str, str]:
        if self.part != (part is not None):
            raise ValueError(f"{self.dataset} {'needs' if self.part else 'takes no'} part")
        return {} if part is None else {"part": str(part)}


def _statement(
    dataset: str, path: str, *, required: tuple[str, ...], numeric: tuple[str, ...]
) -> EndpointSpec:
    """A statement endpoint: rows keyed by date, symbol, fiscal year and period, asked per period."""
    return EndpointSpec(
        dataset=dataset, path=path, required=(*_STATEMENT_KEYS, *required), numeric=numeric, periods=PERIODS
    )


CONSTITUENTS = EndpointSpec(
    dataset="constituents",
    path="sp500-constituent",
    required=("symbol", "name", "sector", "subSector", "cik"),
    per_symbol=False,
)
# The index's membership changes, newest first: one answer for the whole history (docs/store.md).
SP500_CHANGES = EndpointSpec(
    dataset="sp500_changes",
    path="historical-sp500-constituent",
    required=("date", "symbol", "addedSecurity", "removedTicker", "removedSecurity"),
    per_symbol=False,
)
PROFILE = EndpointSpec(
    dataset="profile",
    path="profile",
    required=("symbol", "companyName", "currency", "cik", "sector", "industry", "exchange"),
    numeric=("price", "marketCap", "beta", "lastDividend", "volume", "averageVolume"),
)
INCOME = _statement(
    "income",
    "income-statement",
    required=("reportedCurrency", "revenue", "netIncome"),
    numeric=(
        "revenue",
        "costOfRevenue",
        "grossProfit",
        "operatingExpenses",
        "operatingIncome",
        "ebitda",
        "incomeBeforeTax",
        "incomeTaxExpense",
        "netIncome",
        "eps",
        "epsDiluted",
        "weightedAverageShsOut",
        "weightedAverageShsOutDil",
    ),
)
BALANCE = _statement(
    "balance",
    "balance-sheet-statement",
    required=("reportedCurrency", "totalAssets", "totalLiabilities", "totalEquity"),
    numeric=(
        "cashAndCashEquivalents",
        "totalCurrentAssets",
        "totalAssets",
        "totalCurrentLiabilities",
        "totalLiabilities",
        "totalStockholdersEquity",
        "totalEquity",
        "totalDebt",
        "netDebt",
    ),
)
CASHFLOW = _statement(
    "cashflow",
    "cash-flow-statement",
    required=("reportedCurrency", "operatingCashFlow", "freeCashFlow"),
    numeric=(
        "netIncome",
        "operatingCashFlow",
        "capitalExpenditure",
        "freeCashFlow",
        "netChangeInCash",
        "cashAtEndOfPeriod",
        "cashAtBeginningOfPeriod",
    ),
)
RATIOS = _statement(
    "ratios",
    "ratios",
    required=(),
    numeric=("grossProfitMargin", "netProfitMargin", "currentRatio", "priceToEarningsRatio"),
)
KEY_METRICS = _statement(
    "key_metrics",
    "key-metrics",
    required=(),
    numeric=("marketCap", "enterpriseValue", "returnOnEquity"),
)
PRICES = EndpointSpec(
    dataset="prices",
    path="historical-price-eod/full",
    required=("symbol", "date", "open", "high", "low", "close", "volume"),
    numeric=("open", "high", "low", "close", "volume", "change", "changePercent", "vwap"),
    date_range=True,
)
PRICES_ADJUSTED = EndpointSpec(
    dataset="prices_adjusted",
    path="historical-price-eod/dividend-adjusted",
    required=("symbol", "date", "adjOpen", "adjHigh", "adjLow", "adjClose", "volume"),
    numeric=("adjOpen", "adjHigh", "adjLow", "adjClose", "volume"),
    date_range=True,
)

# Bulk endpoints (CSV): one answer for every symbol. eod-bulk's columns as FMP documents them; it has
# no vwap: FMP's vwap is the typical price (o+h+l+c)/4 to 4 decimals (true of every row of the
# recorded historical-price-eod/full sample), so the bulk path derives it (engine/runs/bulk.py).
EOD_BULK = EndpointSpec(
    dataset="eod_bulk",
    path="eod-bulk",
    required=("symbol", "date", "open", "low", "high", "close", "adjClose", "volume"),
    numeric=("open", "low", "high", "close", "adjClose", "volume"),
    per_symbol=False,
    day=True,
    csv=True,
)
PROFILE_BULK = EndpointSpec(
    dataset="profile_bulk",
    path="profile-bulk",
    required=PROFILE.required,
    numeric=(*PROFILE.numeric, "change", "changePercentage"),
    per_symbol=False,
    part=True,
    csv=True,
)
PROFILE_BULK_BOOLEANS = ("defaultImage", "isEtf", "isActivelyTrading", "isAdr", "isFund")

EARNINGS_CALENDAR = EndpointSpec(
    dataset="earnings_calendar",
    path="earnings-calendar",
    required=("symbol", "date"),
    numeric=("epsActual", "epsEstimated", "revenueActual", "revenueEstimated"),
    per_symbol=False,
    date_range=True,
)
# FMP documents for earnings-calendar: "Maximum 3000 records per request | Max 90-day date range".
EARNINGS_CALENDAR_CAP = 3000
EARNINGS_CALENDAR_MAX_DAYS = 90

STATEMENT_SPECS = (INCOME, BALANCE, CASHFLOW, RATIOS, KEY_METRICS)
STATEMENT_KINDS: tuple[str, ...] = tuple(spec.dataset for spec in STATEMENT_SPECS)
"""The statement kinds (`statements.kind`): one per statement endpoint, in this order everywhere."""

ENDPOINTS: dict[str, EndpointSpec] = {
    spec.dataset: spec
    for spec in (
        CONSTITUENTS,
        SP500_CHANGES,
        PROFILE,
        *STATEMENT_SPECS,
        PRICES,
        PRICES_ADJUSTED,
        EARNINGS_CALENDAR,
        EOD_BULK,
        PROFILE_BULK,
    )
}
"""Every dataset the engine ingests, by name."""
