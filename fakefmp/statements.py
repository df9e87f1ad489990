"""Deterministic income, balance-sheet and cash-flow statements that obey the accounting identities.

Quarters are generated first (integers, so every identity holds exactly); a fiscal year sums its
four quarters' flows and takes its fourth quarter's balance sheet, as filers do.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from fakefmp.constituents import Company
from fakefmp.market import ANCHOR, market_cap_of
from fakefmp.prices import PriceSeries, symbol_rng
from fakefmp.sectors import Shape, sector_of, shape

FIRST_FISCAL_YEAR = 1995
Statement = dict[str, Any]

INCOME_FLOWS = (
    "revenue", "costOfRevenue", "grossProfit", "researchAndDevelopmentExpenses",
    "generalAndAdministrativeExpenses", "sellingAndMarketingExpenses",
    "sellingGeneralAndAdministrativeExpenses", "otherExpenses", "operatingExpenses", "costAndExpenses",
    "netInterestIncome", "interestIncome", "interestExpense", "depreciationAndAmortization", "ebitda", "ebit",
    "nonOperatingIncomeExcludingInterest", "operatingIncome", "totalOtherIncomeExpensesNet", "incomeBeforeTax",
    "incomeTaxExpense", "netIncomeFromContinuingOperations", "netIncomeFromDiscontinuedOperations",
    "otherAdjustmentsToNetIncome", "netIncome", "netIncomeDeductions", "bottomLineNetIncome",
)  # fmt: skip
BALANCE_FIELDS = (
    "cashAndCashEquivalents", "shortTermInvestments", "cashAndShortTermInvestments", "netReceivables",
    "accountsReceivables", "otherReceivables", "inventory", "prepaids", "otherCurrentAssets",
    "totalCurrentAssets", "propertyPlantEquipmentNet", "goodwill", "intangibleAssets",
    "goodwillAndIntangibleAssets", "longTermInvestments", "taxAssets", "otherNonCurrentAssets",
    "totalNonCurrentAssets", "otherAssets", "totalAssets", "totalPayables", "accountPayables", "otherPayables",
    "accruedExpenses", "shortTermDebt", "capitalLeaseObligationsCurrent", "taxPayables", "deferredRevenue",
    "otherCurrentLiabilities", "totalCurrentLiabilities", "longTermDebt", "capitalLeaseObligationsNonCurrent",
    "deferredRevenueNonCurrent", "deferredTaxLiabilitiesNonCurrent", "otherNonCurrentLiabilities",
    "totalNonCurrentLiabilities", "otherLiabilities", "capitalLeaseObligations", "totalLiabilities",
    "treasuryStock", "preferredStock", "commonStock", "retainedEarnings", "additionalPaidInCapital",
    "accumulatedOtherComprehensiveIncomeLoss", "otherTotalStockholdersEquity", "totalStockholdersEquity",
    "totalEquity", "minorityInterest", "totalLiabilitiesAndTotalEquity", "totalInvestments", "totalDebt",
    "netDebt",
)  # fmt: skip
CASHFLOW_FIELDS = (
    "netIncome", "depreciationAndAmortization", "deferredIncomeTax", "stockBasedCompensation",
    "changeInWorkingCapital", "accountsReceivables", "inventory", "accountsPayables", "otherWorkingCapital",
    "otherNonCashItems", "netCashProvidedByOperatingActivities", "investmentsInPropertyPlantAndEquipment",
    "acquisitionsNet", "purchasesOfInvestments", "salesMaturitiesOfInvestments", "otherInvestingActivities",
    "netCashProvidedByInvestingActivities", "netDebtIssuance", "longTermNetDebtIssuance",
    "shortTermNetDebtIssuance", "netStockIssuance", "netCommonStockIssuance", "commonStockIssuance",
    "commonStockRepurchased", "netPreferredStockIssuance", "netDividendsPaid", "commonDividendsPaid",
    "preferredDividendsPaid", "otherFinancingActivities", "netCashProvidedByFinancingActivities",
    "effectOfForexChangesOnCash", "netChangeInCash", "cashAtEndOfPeriod", "cashAtBeginningOfPeriod",
    "operatingCashFlow", "capitalExpenditure", "freeCashFlow", "incomeTaxesPaid", "interestPaid",
)  # fmt: skip
BALANCE_STOCK = set(BALANCE_FIELDS)

# Recessions as (first quarter end, last quarter end, depth): revenue falls by depth x the sector's
# cyclicality, margins by five times that (so deep ones bring losses to cyclical companies).
RECESSIONS = (
    (date(2001, 4, 1), date(2002, 6, 30), 0.05),
    (date(2008, 10, 1), date(2009, 12, 31), 0.10),
    (date(2020, 4, 1), date(2020, 9, 30), 0.09),
)
SECTOR_SHOCKS = {
    "Energy": ((date(2015, 4, 1), date(2016, 12, 31), 0.25), (date(2020, 4, 1), date(2020, 12, 31), 0.2)),
    "Financial Services": ((date(2008, 7, 1), date(2009, 9, 30), 0.18),),
    "Technology": ((date(2001, 4, 1), date(2002, 12, 31), 0.12),),
}
BANK_MARGIN, BANK_ROE, BANK_LEVERAGE = (0.2, 0.32), (0.08, 0.15), (9.0, 12.0)
INTEREST_EXPENSE: dict[Shape, tuple[float, float]] = {
    "industrial": (0.003, 0.03),
    "bank": (0.15, 0.3),
    "reit": (0.12, 0.2),
}
DEPRECIATION: dict[Shape, tuple[float, float]] = {
    "industrial": (0.02, 0.07),
    "bank": (0.01, 0.03),
    "reit": (0.25, 0.35),
}
# Shares of total assets (each drawn x 0.6-1.4) and of total liabilities (x 0.7-1.3), by statement shape.
ASSET_WEIGHTS: dict[Shape, dict[str, float]] = {
    "industrial": dict(cash=0.07, sti=0.04, ar=0.08, other_rec=0.01, inventory=0.06, prepaids=0.01, other_ca=0.02,
                       ppe=0.25, goodwill=0.15, intangibles=0.07, lti=0.08, tax_assets=0.02, other_nca=0.04),
    "bank": dict(cash=0.08, sti=0.18, ar=0.01, other_rec=0.01, inventory=0.0, prepaids=0.0, other_ca=0.01,
                 ppe=0.01, goodwill=0.02, intangibles=0.005, lti=0.6, tax_assets=0.005, other_nca=0.07),
    "reit": dict(cash=0.02, sti=0.0, ar=0.02, other_rec=0.005, inventory=0.0, prepaids=0.005, other_ca=0.01,
                 ppe=0.8, goodwill=0.01, intangibles=0.03, lti=0.06, tax_assets=0.0, other_nca=0.04),
}  # fmt: skip
LIABILITY_WEIGHTS: dict[Shape, dict[str, float]] = {
    "industrial": dict(ap=0.12, other_pay=0.04, accrued=0.05, std=0.04, cloc=0.01, deferred_rev=0.03,
                       other_cl=0.06, ltd=0.4, clonc=0.03, dtl=0.05, other_ncl=0.17),
    "bank": dict(ap=0.01, other_pay=0.01, accrued=0.01, std=0.05, cloc=0.0, deferred_rev=0.0, other_cl=0.72,
                 ltd=0.14, clonc=0.0, dtl=0.01, other_ncl=0.05),
    "reit": dict(ap=0.04, other_pay=0.01, accrued=0.02, std=0.02, cloc=0.005, deferred_rev=0.01, other_cl=0.02,
                 ltd=0.8, clonc=0.02, dtl=0.0, other_ncl=0.05),
}  # fmt: skip


@dataclass(slots=True)
class Period:
    """One reported period: its header fields and the three statements' values."""

    end: date
    fiscal_year: int
    label: str  # "FY" or "Q1".."Q4"
    filing: date
    income: dict[str, int]
    shares: int
    shares_diluted: int
    balance: dict[str, int]
    cashflow: dict[str, int]
    end_iso: str = ""
    filing_iso: str = ""

    def __post_init__(self) -> None:
        self.end_iso, self.filing_iso = self.end.isoformat(), self.filing.isoformat()


def _month_end(year: int, month: int) -> date:
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, calendar.monthrange(year, month)[1])


def _ints(values: np.ndarray) -> np.ndarray:
    rounded: np.ndarray = np.rint(values).astype(np.int64)
    return rounded


def _quarter_ends(fye_month: int, years: np.ndarray) -> list[date]:
    return [_month_end(int(y), fye_month - 3 * (3 - q)) for y in years for q in range(4)]


def _depth(ends: list[date], episodes: tuple[tuple[date, date, float], ...]) -> np.ndarray:
    """Per quarter, how deep in recession it ends (0 = not at all)."""
    return np.array([sum(d for lo, hi, d in episodes if lo <= end <= hi) for end in ends])


def generate_periods(
    seed: int, company: Company, first_year: int, last_year: int, prices: PriceSeries
) -> tuple[list[Period], list[Period]]:
    """Quarterly and annual periods from `first_year` to `last_year`, oldest first, sized so that on
    ANCHOR the company is worth its index-like market cap at a P/E, margin and return on equity typical
    of its sector, and consistent with `prices` (share counts follow the splits, dividends paid are
    the ex-dates' dividends times the shares, buybacks are the shares retired times the price)."""
    rng = symbol_rng(seed, company.symbol, "fundamentals")
    sector, kind = sector_of(company), shape(company)
    fye_month = int(rng.choice([12, 12, 12, 12, 9, 6, 3, 1]))
    years = np.arange(first_year, last_year + 1)
    q = len(years) * 4
    ends = _quarter_ends(fye_month, years)
    ends_iso = [end.isoformat() for end in ends]
    t = np.array([(end - ANCHOR).days / 365.25 for end in ends])  # years from the anchor

    def noise(scale: float) -> np.ndarray:
        factors: np.ndarray = 1 + rng.normal(0, scale, q)
        return factors

    # what the company looks like on the anchor: market cap, P/E, margin, hence revenue
    market_cap = market_cap_of(seed, company.symbol)
    anchor_close = prices.close_on_or_before(ANCHOR.isoformat()) or float(prices.close[0])
    pe = sector.pe * float(np.exp(np.clip(rng.normal(0.0, 0.3), -0.6, 0.6)))
    margin = rng.uniform(*(BANK_MARGIN if kind == "bank" else sector.net_margin))
    revenue_now = market_cap / pe / margin  # yearly, at the anchor

    # revenue grows as the stock did (per share, plus the share count's drift), with recessions
    first = max(0, prices.index_on_or_before(ends_iso[0]))
    anchor_index = prices.index_on_or_before(ANCHOR.isoformat())
    span = max((anchor_index - first) / 252.0, 1.0)
    traded = prices.close * prices.split_factor(len(prices.dates))
    price_growth = float(np.log(traded[anchor_index] / traded[first])) / span
    share_drift = rng.uniform(*sector.buyback)
    growth = float(np.clip(price_growth + share_drift, -0.01, 0.25)) * rng.uniform(0.8, 1.1)
    depth = sector.cyclical * _depth(ends, RECESSIONS) + _depth(ends, SECTOR_SHOCKS.get(company.sector, ()))
    wobble = np.zeros(q)
    shocks = rng.normal(0, 0.025, q)
    for i in range(1, q):
        wobble[i] = 0.85 * wobble[i - 1] + shocks[i]
    trend = revenue_now / 4 * np.exp(growth * t + wobble - depth)
    revenue = trend * (1 + 0.03 * np.sin(np.arange(q) * np.pi / 2))  # seasonality
    net_margin = margin * (1 - 5.0 * depth + wobble) * noise(0.08)
    writedown = rng.random(q) < 0.01  # an impairment: a loss quarter out of the blue

    rev = _ints(revenue)
    tax_rate = rng.uniform(0.01, 0.03) if kind == "reit" else rng.uniform(0.14, 0.24)
    gross_margin = 1.0 if kind == "bank" else rng.uniform(*sector.gross_margin)
    int_exp = _ints(revenue * rng.uniform(*INTEREST_EXPENSE[kind]) * noise(0.05))
    int_inc = _ints(
        revenue * (rng.uniform(0.6, 0.9) if kind == "bank" else rng.uniform(0.0, 0.01)) * noise(0.05)
    )
    if kind == "bank":
        int_inc = _ints(int_exp + revenue * rng.uniform(0.5, 0.7))  # net interest income: most of revenue
    non_op = _ints(
        revenue * rng.normal(0, 0.004, q) - np.where(writedown, revenue * rng.uniform(0.5, 1.5), 0)
    )
    pretax_target = revenue * net_margin / (1 - tax_rate)
    op_target = pretax_target - (int_inc - int_exp) - non_op
    cogs = _ints(revenue * (1 - gross_margin) * noise(0.02))
    gross = rev - cogs
    opex_target = np.maximum(gross - op_target, revenue * 0.02)
    rnd = _ints(np.minimum(revenue * rng.uniform(*sector.rnd), opex_target * 0.6))
    other_exp = _ints(opex_target * rng.uniform(0.0, 0.08))
    sga = _ints(opex_target) - rnd - other_exp
    ga = _ints(sga * rng.uniform(0.3, 0.6))
    sm = sga - ga
    da = _ints(revenue * rng.uniform(*DEPRECIATION[kind]) * noise(0.05))
    opex = rnd + sga + other_exp
    op_income = gross - opex
    net_interest = int_inc - int_exp
    total_other = net_interest + non_op
    ibt = op_income + total_other
    tax = _ints(np.maximum(ibt, 0) * tax_rate)
    net_income = ibt - tax

    # shares: drift (buybacks or issuance) around the anchor's count, as reported before each split
    splits_after = np.array([prices.splits_after(end) for end in ends_iso])
    base_shares = market_cap / anchor_close * np.exp(share_drift * t + rng.normal(0, 0.003, q))
    shares = _ints(base_shares / splits_after)
    shares_dil = _ints(shares * rng.uniform(1.002, 1.02))
    closes = np.array([prices.close_on_or_before(end) or anchor_close for end in ends_iso])
    retired = -np.diff(base_shares, prepend=base_shares[0]) / splits_after * closes  # cash, as traded

    # balance sheet: assets from revenue and the sector's turnover; equity from the return on equity
    roe = rng.uniform(*(BANK_ROE if kind == "bank" else sector.roe))
    leverage = rng.uniform(*(BANK_LEVERAGE if kind == "bank" else sector.leverage))
    negative_equity = kind == "industrial" and company.sector != "Utilities" and rng.random() < 0.03
    assets_scale = 4 * trend * margin / roe * leverage * noise(0.02)
    equity_share = -rng.uniform(0.05, 0.2) if negative_equity else 1 / leverage
    assets_w, liabilities_w = ASSET_WEIGHTS[kind], LIABILITY_WEIGHTS[kind]
    a = {k: _ints(assets_scale * w * rng.uniform(0.6, 1.4) * noise(0.03)) for k, w in assets_w.items()}
    cash, sti, ar, other_rec, inventory, prepaids, other_ca = (
        a[k] for k in ("cash", "sti", "ar", "other_rec", "inventory", "prepaids", "other_ca")
    )
    ppe, goodwill, intangibles, lti, tax_assets, other_nca = (
        a[k] for k in ("ppe", "goodwill", "intangibles", "lti", "tax_assets", "other_nca")
    )
    tca = cash + sti + ar + other_rec + inventory + prepaids + other_ca
    tnca = ppe + goodwill + intangibles + lti + tax_assets + other_nca
    total_assets = tca + tnca
    minority = _ints(total_assets * rng.uniform(0.0, 0.01))
    owed = (total_assets - minority) * (1 - equity_share)
    weights = {k: w * rng.uniform(0.7, 1.3) for k, w in liabilities_w.items()}
    total_w = sum(weights.values())
    li = {k: _ints(owed * w / total_w * noise(0.02)) for k, w in weights.items()}
    ap, other_pay, accrued, std, cloc, deferred_rev, other_cl = (
        li[k] for k in ("ap", "other_pay", "accrued", "std", "cloc", "deferred_rev", "other_cl")
    )
    ltd, clonc, dtl, other_ncl = (li[k] for k in ("ltd", "clonc", "dtl", "other_ncl"))
    tax_pay = _ints(other_pay * rng.uniform(0.2, 0.9))

    def part(lo: float, hi: float) -> np.ndarray:
        return _ints(total_assets * rng.uniform(lo, hi) * noise(0.03))

    common, apic, aoci = part(0.0005, 0.01), part(0.0, 0.08), _ints(total_assets * rng.normal(0, 0.005, q))
    treasury = -part(0.3, 0.6) if negative_equity else -part(0.0, 0.05)

    total_payables = ap + other_pay
    tcl = total_payables + accrued + std + cloc + deferred_rev + other_cl
    tncl = ltd + clonc + dtl + other_ncl
    total_liabilities = tcl + tncl
    # retained earnings is the plug that makes assets = liabilities + equity hold exactly
    retained = total_assets - total_liabilities - minority - (common + apic + aoci + treasury)
    equity = common + apic + aoci + treasury + retained

    dit, sbc = _ints(revenue * rng.normal(0, 0.003, q)), _ints(revenue * rng.uniform(0.0, 0.04))
    wc_ar, wc_inv = -np.diff(ar, prepend=ar[0]), -np.diff(inventory, prepend=inventory[0])
    wc_ap, wc_other = np.diff(ap, prepend=ap[0]), _ints(revenue * rng.normal(0, 0.005, q))
    wc = wc_ar + wc_inv + wc_ap + wc_other
    other_noncash = _ints(revenue * rng.normal(0, 0.005, q))
    ocf = net_income + da + dit + sbc + wc + other_noncash
    capex = -_ints(da * rng.uniform(0.8, 1.6) * noise(0.1))
    acquisitions = -_ints(np.where(rng.random(q) < 0.05, revenue * rng.uniform(0.1, 0.5), 0))
    purchases, sales = -_ints(revenue * rng.uniform(0.0, 0.08)), _ints(revenue * rng.uniform(0.0, 0.08))
    other_inv = _ints(revenue * rng.normal(0, 0.003, q))
    investing = capex + acquisitions + purchases + sales + other_inv
    lt_debt_iss, st_debt_iss = np.diff(ltd, prepend=ltd[0]), np.diff(std, prepend=std[0])
    stock_iss = _ints(np.maximum(-retired, 0) + revenue * rng.uniform(0.0, 0.003))
    repurchased = -_ints(np.maximum(retired, 0))
    dividends = -_ints(_dividends_paid(prices, ends_iso) * shares)
    prev_cash = np.concatenate(([int(cash[0] * 0.95)], cash[:-1]))
    net_change = cash - prev_cash
    # other financing is the plug that makes the cash walk land on the balance sheet's cash
    other_fin = (
        net_change - ocf - investing - (lt_debt_iss + st_debt_iss + stock_iss + repurchased + dividends)
    )
    financing = lt_debt_iss + st_debt_iss + stock_iss + repurchased + dividends + other_fin
    zeros = np.zeros(q, dtype=np.int64)

    income_cols: dict[str, np.ndarray] = dict(
        zip(
            INCOME_FLOWS,
            (rev, cogs, gross, rnd, ga, sm, sga, other_exp, opex, cogs + opex, net_interest, int_inc, int_exp, da,
             op_income + da, op_income, non_op, op_income, total_other, ibt, tax, net_income, zeros, zeros,
             net_income, zeros, net_income),
            strict=True,
        )
    )  # fmt: skip
    balance_cols: dict[str, np.ndarray] = dict(
        zip(
            BALANCE_FIELDS,
            (cash, sti, cash + sti, ar + other_rec, ar, other_rec, inventory, prepaids, other_ca, tca, ppe,
             goodwill, intangibles, goodwill + intangibles, lti, tax_assets, other_nca, tnca, zeros,
             total_assets, total_payables, ap, other_pay, accrued, std, cloc, tax_pay, deferred_rev, other_cl,
             tcl, ltd, clonc, zeros, dtl, other_ncl, tncl, zeros, cloc + clonc, total_liabilities, treasury,
             zeros, common, retained, apic, aoci, zeros, equity, equity + minority, minority,
             total_liabilities + equity + minority, sti + lti, std + ltd + cloc + clonc,
             std + ltd + cloc + clonc - cash),
            strict=True,
        )
    )  # fmt: skip
    cashflow_cols: dict[str, np.ndarray] = dict(
        zip(
            CASHFLOW_FIELDS,
            (net_income, da, dit, sbc, wc, wc_ar, wc_inv, wc_ap, wc_other, other_noncash, ocf, capex,
             acquisitions, purchases, sales, other_inv, investing, lt_debt_iss + st_debt_iss, lt_debt_iss,
             st_debt_iss, stock_iss + repurchased, stock_iss + repurchased, stock_iss, repurchased, zeros,
             dividends, dividends, zeros, other_fin, financing, zeros, net_change, cash, prev_cash, ocf, capex,
             ocf + capex, _ints(np.maximum(tax, 0) * 0.9), int_exp),
            strict=True,
        )
    )  # fmt: skip

    quarters: list[Period] = []
    annual: list[Period] = []
    inc_rows = {k: v.tolist() for k, v in income_cols.items()}
    bal_rows = {k: v.tolist() for k, v in balance_cols.items()}
    cf_rows = {k: v.tolist() for k, v in cashflow_cols.items()}
    shares_l, shares_dil_l = shares.tolist(), shares_dil.tolist()
    for i in range(q):
        year, quarter = int(years[i // 4]), i % 4 + 1
        end = _month_end(year, fye_month - 3 * (4 - quarter))
        quarters.append(
            Period(
                end=end,
                fiscal_year=year,
                label=f"Q{quarter}",
                filing=end + timedelta(days=35 + i % 7),
                income={k: v[i] for k, v in inc_rows.items()},
                shares=shares_l[i],
                shares_diluted=shares_dil_l[i],
                balance={k: v[i] for k, v in bal_rows.items()},
                cashflow={k: v[i] for k, v in cf_rows.items()},
            )
        )

    def yearly(cols: dict[str, np.ndarray]) -> dict[str, list[int]]:
        return {k: v.reshape(-1, 4).sum(axis=1).tolist() for k, v in cols.items()}

    inc_years, cf_years = yearly(income_cols), yearly(cashflow_cols)
    for y, year in enumerate(years.tolist()):
        block = slice(4 * y, 4 * y + 4)
        last = 4 * y + 3
        cf = {k: v[y] for k, v in cf_years.items()}
        cf["cashAtEndOfPeriod"] = int(cashflow_cols["cashAtEndOfPeriod"][last])
        cf["cashAtBeginningOfPeriod"] = int(cashflow_cols["cashAtBeginningOfPeriod"][4 * y])
        end = _month_end(year, fye_month)
        annual.append(
            Period(
                end=end,
                fiscal_year=year,
                label="FY",
                filing=end + timedelta(days=60 + y % 9),
                income={k: v[y] for k, v in inc_years.items()},
                shares=int(shares[block].mean()),
                shares_diluted=int(shares_dil[block].mean()),
                balance={k: v[last] for k, v in bal_rows.items()},
                cashflow=cf,
            )
        )
    return quarters, annual


def _dividends_paid(prices: PriceSeries, ends: list[str]) -> np.ndarray:
    """Per quarter (ending on `ends`), the cash dividends per share whose ex-date falls in it."""
    paid = np.zeros(len(ends))
    for ex_date, amount in prices.dividends.items():
        index = bisect_left(ends, ex_date)
        if 0 < index < len(ends) or (index == 0 and ex_date > _three_months_before(ends[0])):
            paid[min(index, len(ends) - 1)] += amount
    return paid


def _three_months_before(day: str) -> str:
    end = date.fromisoformat(day)
    return _month_end(end.year, end.month - 3).isoformat()


def _header(company: Company, period: Period) -> Statement:
    filing = period.filing_iso
    return {
        "date": period.end_iso,
        "symbol": company.symbol,
        "reportedCurrency": "USD",
        "cik": company.cik,
        "filingDate": filing,
        "acceptedDate": f"{filing} 16:{period.end.day % 60:02d}:{period.end.month * 3:02d}",
        "fiscalYear": str(period.fiscal_year),
        "period": period.label,
    }


def income_row(company: Company, period: Period) -> Statement:
    row = _header(company, period) | period.income
    ni = period.income["netIncome"]
    # FMP's key order puts eps and shares last
    row["eps"] = round(ni / period.shares, 2) if period.shares else 0
    row["epsDiluted"] = round(ni / period.shares_diluted, 2) if period.shares_diluted else 0
    row["weightedAverageShsOut"] = period.shares
    row["weightedAverageShsOutDil"] = period.shares_diluted
    return row


def balance_row(company: Company, period: Period) -> Statement:
    return _header(company, period) | period.balance


def cashflow_row(company: Company, period: Period) -> Statement:
    return _header(company, period) | period.cashflow
