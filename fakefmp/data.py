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
from fakefmp.course import course
from fakefmp.extended import universe_companies
from fakefmp.facts import EXCHANGE_NAMES
from fakefmp.filings import annual_schedule, quarter_schedule
from fakefmp.membership import Change, history
from fakefmp.metrics import key_metrics_row, ratios_row
from fakefmp.outline import outline
from fakefmp.prices import PriceSeries, dumps_compact, generate_prices, symbol_rng
from fakefmp.statements import Period, balance_row, cashflow_row, generate_periods, income_row

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


def index_history(companies: dict[str, Company]) -> tuple[list[Change], dict[str, Company]]:
    """The S&P 500 changes that concern `companies` (newest first) and the former members they name."""
    changes, departures = history()
    kept = [
        c for c in changes if c.added is None or c.added.symbol in companies or c.added.symbol in departures
    ]
    former = {c.removed.symbol: c.removed for c in kept if c.removed is not None}
    kept = [c for c in kept if c.added is None or c.added.symbol in companies or c.added.symbol in former]
    return kept, former


class Universe:
    """Everything the fake serves. `as_of` is "today": nothing dated (or filed) after it is visible."""

    def __init__(
        self, *, seed: int, symbols: int, as_of: date, price_cache: int = 48, fundamentals_cache: int = 600
    ) -> None:
        self.seed = seed
        self.companies = {c.symbol: c for c in universe_companies(symbols)}
        self.changes, self.former = index_history(self.companies)
        self.as_of = as_of
        self.horizon = as_of + timedelta(days=HORIZON_DAYS)
        self._prices: LRU[str, PriceSeries] = LRU(price_cache)
        self._fundamentals: LRU[tuple[str, float], Fundamentals] = LRU(fundamentals_cache)
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
        if self.company(symbol) is None or dataset not in STATEMENT_DATASETS or period not in REQUEST_PERIODS:
            raise KeyError("unknown symbol, dataset or period")
        self.restatements.setdefault((symbol, dataset, period, day), {})[field] = value

    def company(self, symbol: str) -> Company | None:
        """A served company: a constituent of this universe, or a former member of the index."""
        return self.companies.get(symbol) or self.former.get(symbol)

    # --- bodies -------------------------------------------------------------------------------------

    def constituents_body(self) -> bytes:
        return orjson.dumps([c.constituent_row() for c in self.companies.values()])

    def historical_constituents_body(self) -> bytes:
        """FMP's `historical-sp500-constituent`: every change of the index, newest first."""
        return orjson.dumps([change.row() for change in self.changes])

    def price_body(
        self, symbol: str, *, adjusted: bool, start: str | None, end: str | None, cap: int
    ) -> tuple[bytes, int]:
        if self.company(symbol) is None:
            return b"[]", 0
        series = self.prices(symbol)
        last = self.as_of.isoformat()
        return series.body(
            adjusted=adjusted, start=start, end=min(end, last) if end else last, cap=cap, as_of=last
        )

    def statement_body(self, dataset: str, symbol: str, period: str, limit: int) -> bytes:
        if self.company(symbol) is None:
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
        company = self.company(symbol)
        if company is None:
            return b"[]"
        return orjson.dumps([self._profile(company)])

    # --- generation ---------------------------------------------------------------------------------

    def prices(self, symbol: str) -> PriceSeries:
        return self._prices.get(symbol, lambda: generate_prices(self.seed, self._known(symbol), self.horizon))

    def fundamentals(self, symbol: str) -> Fundamentals:
        """Every statement-like row of `symbol`, per-share figures on the basis of its latest filing."""
        company = self._known(symbol)
        splits = self.prices(symbol).splits_after(self._latest_filing(company))
        return self._fundamentals.get((symbol, splits), lambda: self._make_fundamentals(company, splits))

    def _known(self, symbol: str) -> Company:
        company = self.company(symbol)
        if company is None:
            raise KeyError(symbol)
        return company

    def _latest_filing(self, company: Company) -> str:
        """The company's latest filing date by "today" (its per-share basis), or "" before its first."""
        plan, today = outline(self.seed, company), self.as_of
        filed = [
            f
            for _, f in quarter_schedule(plan, today.year + 1) + annual_schedule(plan, today.year + 1)
            if f <= today
        ]
        return max(filed).isoformat() if filed else ""

    def _make_fundamentals(self, company: Company, splits: float) -> Fundamentals:
        prices = self.prices(company.symbol)
        quarters, annual = generate_periods(self.seed, company, self.horizon.year, prices)
        result: Fundamentals = {}
        for kind, periods in (("annual", annual), ("quarter", quarters)):
            rows: dict[str, list[Entry]] = {name: [] for name in STATEMENT_DATASETS}
            previous: Period | None = None
            step = 1 if kind == "annual" else 4  # growth compares like with like: the same quarter a year ago
            for index, period in enumerate(periods):
                previous = periods[index - step] if index >= step else None
                close = prices.close_on_or_before(period.end_iso) or float(prices.close[0])
                mcap = round(close * period.shares / prices.splits_after(period.end_iso))  # as traded then
                made = {
                    "income": income_row(company, period, splits),
                    "balance": balance_row(company, period),
                    "cashflow": cashflow_row(company, period),
                    "ratios": ratios_row(company.symbol, period, previous, mcap, splits),
                    "key_metrics": key_metrics_row(company.symbol, period, previous, mcap, splits),
                }
                for name, row in made.items():
                    entry = Entry(period.filing_iso, period.end_iso, period.label, dumps_compact(row))
                    rows[name].append(entry)
            for name, entries in rows.items():
                result[(name, kind)] = entries[::-1]
        return result

    def _shares_now(self, company: Company, today: str) -> float:
        """Shares outstanding today: the newest quarter filed by `today`, times any split since."""
        plan = outline(self.seed, company)
        filed = [
            end for end, filing in quarter_schedule(plan, self.as_of.year + 1) if filing.isoformat() <= today
        ]
        if not filed:
            return 1.0
        counted = round(float(course(self.seed, plan).shares[course(self.seed, plan).index_of(filed[-1])]))
        return counted / self.prices(company.symbol).splits_after(today)

    def _profile(self, company: Company) -> dict[str, Any]:
        series = self.prices(company.symbol)
        today = self.as_of.isoformat()
        end = bisect_right(series.dates, today)
        if end == 0:
            end = 1
        close = series.close[:end] * series.split_factor(end)[:end]  # FMP's range is split-adjusted
        last, prev = float(series.close[end - 1]), float(close[-2]) if end > 1 else float(close[-1])
        year = close[-252:]
        shares = self._shares_now(company, today)
        plan = outline(self.seed, company)
        recent_divs = [v for d, v in series.dividends.items() if d <= today][-4:]
        rng = symbol_rng(self.seed, company.symbol, "profile")
        h = zlib.crc32(company.symbol.encode())
        cusip = f"{h % 10**9:09d}"
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
            "exchangeFullName": EXCHANGE_NAMES[plan.exchange],
            "exchange": plan.exchange,
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
            "isActivelyTrading": plan.last_day is None or plan.last_day.isoformat() > today,
            "isAdr": False,
            "isFund": False,
        }
