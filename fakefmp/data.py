"""The fake's universe: constituents, lazily generated and cached per symbol, served as JSON bytes."""

from __future__ import annotations

import zlib
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Generic, TypeVar

import orjson

from fakefmp.constituents import Company
from fakefmp.extended import universe_companies
from fakefmp.metrics import key_metrics_row, ratios_row
from fakefmp.prices import PriceSeries, dumps_compact, generate_prices, symbol_rng
from fakefmp.statements import (
    FIRST_FISCAL_YEAR,
    Period,
    balance_row,
    cashflow_row,
    generate_periods,
    income_row,
)

# The fake's statement vocabulary in one place (independent of the engine's, which it tests;
# tests/test_vocabulary.py proves the two agree): FMP path → dataset, request periods, row labels.
STATEMENT_PATHS = {
    "income-statement": "income",
    "balance-sheet-statement": "balance",
    "cash-flow-statement": "cashflow",
    "ratios": "ratios",
    "key-metrics": "key_metrics",
}
STATEMENT_DATASETS = tuple(STATEMENT_PATHS.values())
REQUEST_PERIODS = ("annual", "quarter")
QUARTERS = ("Q1", "Q2", "Q3", "Q4")
DEFAULT_STATEMENT_LIMIT = 5  # FMP sends 5 periods when no limit is given
MAX_STATEMENT_LIMIT = 1000
HORIZON_DAYS = 400  # data exists this far past the as-of date, so it can be moved forward later

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small least-recently-used cache: generation is cheap enough to redo, memory is not free."""

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K, make: Callable[[], V]) -> V:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = make()
        self._items[key] = value
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return value

    def peek(self, key: K) -> V | None:
        """The cached value, or None (neither generates nor reorders)."""
        return self._items.get(key)

    def clear(self) -> None:
        self._items.clear()


@dataclass(slots=True)
class Entry:
    """One serialised statement-like row with what filtering needs."""

    filing: str
    date: str
    label: str
    body: bytes


Fundamentals = dict[tuple[str, str], list[Entry]]  # (dataset, "annual"|"quarter") → newest first


class Universe:
    """Everything the fake serves. `as_of` is "today": nothing dated (or filed) after it is visible."""

    def __init__(
        self, *, seed: int, symbols: int, as_of: date, price_cache: int = 48, fundamentals_cache: int = 600
    ) -> None:
        self.seed = seed
        self.companies = {c.symbol: c for c in universe_companies(symbols)}
        self.as_of = as_of
        self.horizon = as_of + timedelta(days=HORIZON_DAYS)
        self._prices: LRU[str, PriceSeries] = LRU(price_cache)
        self._fundamentals: LRU[str, Fundamentals] = LRU(fundamentals_cache)
        self.restatements: dict[tuple[str, str, str, str], dict[str, Any]] = {}

    def set_as_of(self, as_of: date) -> None:
        """Move "today"; data was generated up to `horizon`, so later dates need a regeneration."""
        if as_of > self.horizon:
            self.horizon = as_of + timedelta(days=HORIZON_DAYS)
            self._prices.clear()
            self._fundamentals.clear()
        self.as_of = as_of

    def restate(self, symbol: str, dataset: str, period: str, day: str, field: str, value: Any) -> None:
        """Overwrite one value of one period's row (a restatement), visible from the next request on."""
        if symbol not in self.companies or dataset not in STATEMENT_DATASETS or period not in REQUEST_PERIODS:
            raise KeyError("unknown symbol, dataset or period")
        self.restatements.setdefault((symbol, dataset, period, day), {})[field] = value

    # --- bodies -------------------------------------------------------------------------------------

    def constituents_body(self) -> bytes:
        return orjson.dumps([c.constituent_row() for c in self.companies.values()])

    def price_body(
        self, symbol: str, *, adjusted: bool, start: str | None, end: str | None, cap: int
    ) -> tuple[bytes, int]:
        if symbol not in self.companies:
            return b"[]", 0
        series = self.prices(symbol)
        last = self.as_of.isoformat()
        return series.body(
            adjusted=adjusted, start=start, end=min(end, last) if end else last, cap=cap, as_of=last
        )

    def statement_body(self, dataset: str, symbol: str, period: str, limit: int) -> bytes:
        if symbol not in self.companies:
            return b"[]"
        kind = "annual" if period in ("annual", "FY") else "quarter"
        label = period if period in QUARTERS else None
        today = self.as_of.isoformat()
        picked: list[bytes] = []
        for entry in self.fundamentals(symbol)[(dataset, kind)]:
            if entry.filing > today or (label and entry.label != label):
                continue
            body = entry.body
            override = self.restatements.get((symbol, dataset, kind, entry.date))
            if override:
                body = orjson.dumps(orjson.loads(body) | override)
            picked.append(body)
            if len(picked) >= limit:
                break
        return b"[" + b",".join(picked) + b"]"

    def profile_row(self, symbol: str) -> dict[str, Any]:
        """The profile of one company, as `profile` serves it (profile-bulk's rows)."""
        return self._profile(self.companies[symbol])

    def profile_body(self, symbol: str) -> bytes:
        company = self.companies.get(symbol)
        if company is None:
            return b"[]"
        return orjson.dumps([self._profile(company)])

    # --- generation ---------------------------------------------------------------------------------

    def prices(self, symbol: str) -> PriceSeries:
        return self._prices.get(
            symbol, lambda: generate_prices(self.seed, self.companies[symbol], self.horizon)
        )

    def fundamentals(self, symbol: str) -> Fundamentals:
        return self._fundamentals.get(symbol, lambda: self._make_fundamentals(self.companies[symbol]))

    def _make_fundamentals(self, company: Company) -> Fundamentals:
        prices = self.prices(company.symbol)
        quarters, annual = generate_periods(self.seed, company, *self._fiscal_years(company), prices)
        result: Fundamentals = {}
        for kind, periods in (("annual", annual), ("quarter", quarters)):
            rows: dict[str, list[Entry]] = {name: [] for name in STATEMENT_DATASETS}
            previous: Period | None = None
            step = 1 if kind == "annual" else 4  # growth compares like with like: the same quarter a year ago
            for index, period in enumerate(periods):
                previous = periods[index - step] if index >= step else None
                price = prices.close_on_or_before(period.end_iso) or float(prices.close[0])
                made = {
                    "income": income_row(company, period),
                    "balance": balance_row(company, period),
                    "cashflow": cashflow_row(company, period),
                    "ratios": ratios_row(company.symbol, period, previous, price),
                    "key_metrics": key_metrics_row(company.symbol, period, previous, price),
                }
                for name, row in made.items():
                    entry = Entry(period.filing_iso, period.end_iso, period.label, dumps_compact(row))
                    rows[name].append(entry)
            for name, entries in rows.items():
                result[(name, kind)] = entries[::-1]
        return result

    def _latest_quarter(self, company: Company, today: str) -> tuple[float, str] | None:
        """Shares outstanding of the newest quarter filed by `today`, and its period end. From the cached
        fundamentals when they are there; else from the periods alone (a third of the cost: profile-bulk
        asks for every company at once, before their statements are generated)."""
        cached = self._fundamentals.peek(company.symbol)
        if cached is not None:
            entry = next((e for e in cached[("income", "quarter")] if e.filing <= today), None)
            return None if entry is None else (orjson.loads(entry.body)["weightedAverageShsOut"], entry.date)
        quarters, _ = generate_periods(
            self.seed, company, *self._fiscal_years(company), self.prices(company.symbol)
        )
        period = next((p for p in reversed(quarters) if p.filing_iso <= today), None)
        return None if period is None else (period.shares, period.end_iso)

    def _fiscal_years(self, company: Company) -> tuple[int, int]:
        return max(FIRST_FISCAL_YEAR, int(self.prices(company.symbol).dates[0][:4]) + 1), self.horizon.year

    def _profile(self, company: Company) -> dict[str, Any]:
        series = self.prices(company.symbol)
        today = self.as_of.isoformat()
        end = bisect_right(series.dates, today)
        if end == 0:
            end = 1
        close = series.close[:end] * series.split_factor(end)[:end]  # FMP's range is split-adjusted
        last, prev = float(series.close[end - 1]), float(close[-2]) if end > 1 else float(close[-1])
        year = close[-252:]
        shares = 1.0
        latest = self._latest_quarter(company, today)
        if latest is not None:  # as reported then, times any split since
            reported, reported_on = latest
            shares = reported * series.splits_after(reported_on) / series.splits_after(today)
        recent_divs = [v for d, v in series.dividends.items() if d <= today][-4:]
        rng = symbol_rng(self.seed, company.symbol, "profile")
        h = zlib.crc32(company.symbol.encode())
        cusip = f"{h % 10**9:09d}"
        nasdaq = h % 3 == 0
        slug = "".join(ch for ch in company.name.lower() if ch.isalnum())[:20] or company.symbol.lower()
        return {
            "symbol": company.symbol,
            "price": last,
            "marketCap": round(last * shares),
            "beta": series.beta,
            "lastDividend": round(sum(recent_divs), 4),
            "range": f"{float(year.min()):g}-{float(year.max()):g}",
            "change": round(last - prev, 2),
            "changePercentage": round((last - prev) / prev * 100, 5) if prev else 0,
            "volume": int(series.volume[end - 1]),
            "averageVolume": int(series.volume[max(0, end - 60) : end].mean()),
            "companyName": company.name,
            "currency": "USD",
            "cik": company.cik,
            "isin": f"US{cusip}{h % 10}",
            "cusip": cusip,
            "exchangeFullName": "NASDAQ Global Select" if nasdaq else "New York Stock Exchange",
            "exchange": "NASDAQ" if nasdaq else "NYSE",
            "industry": company.sub_sector,
            "website": f"https://www.{slug}.com",
            "description": f"{company.name} operates in {company.sub_sector.lower()} and is headquartered in "
            f"{company.head_quarter}. (Synthetic profile generated by fakefmp.)",
            "ceo": f"CEO of {company.name}",
            "sector": company.sector,
            "country": company.country,
            "fullTimeEmployees": str(int(rng.integers(2_000, 300_000))),
            "phone": f"(555) {h % 900 + 100:03d}-{h % 10000:04d}",
            "address": f"{h % 9000 + 100} Main Street",
            "city": company.city,
            "state": company.state,
            "zip": f"{h % 90000 + 10000:05d}",
            "image": f"https://images.financialmodelingprep.com/symbol/{company.symbol}.png",
            "ipoDate": series.dates[0],
            "defaultImage": False,
            "isEtf": False,
            "isActivelyTrading": True,
            "isAdr": False,
            "isFund": False,
        }
