"""Deterministic income, balance-sheet and cash-flow statements that obey the accounting identities.

Quarters are generated first (integers, so every identity holds exactly); a fiscal year sums its
four quarters' flows and takes its fourth quarter's balance sheet, as filers do.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from fakefmp.constituents import Company
from fakefmp.prices import symbol_rng

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


def _month_end(year: int, month: int) -> date:
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, calendar.monthrange(year, month)[1])


def _ints(values: np.ndarray) -> np.ndarray:
    rounded: np.ndarray = np.rint(values).astype(np.int64)
    return rounded


def generate_periods(
    seed: int, company: Company, first_year: int, last_year: int, shares_scale: float
) -> tuple[list[Period], list[Period]]:
    """Quarterly and annual periods from `first_year` to `last_year`, oldest first.

    `shares_scale` sets the share count (so market values come out plausible against the prices).
    """
    rng = symbol_rng(seed, company.symbol, "fundamentals")
    fye_month = int(rng.choice([12, 12, 12, 12, 9, 6, 3, 1]))
    years = np.arange(first_year, last_year + 1)
    q = len(years) * 4
    t = np.arange(q) / 4.0
    growth = rng.uniform(0.02, 0.12)
    revenue = rng.uniform(5e7, 1.5e9) * np.exp(growth * t + np.cumsum(rng.normal(0, 0.03, q)))
    revenue *= 1 + 0.05 * np.sin(np.arange(q) * np.pi / 2)  # seasonality

    def noise(scale: float) -> np.ndarray:
        factors: np.ndarray = 1 + rng.normal(0, scale, q)
        return factors

    rev = _ints(revenue)
    cogs = _ints(revenue * rng.uniform(0.3, 0.75) * noise(0.02))
    rnd = _ints(revenue * rng.uniform(0.0, 0.15) * noise(0.05))
    ga = _ints(revenue * rng.uniform(0.03, 0.1) * noise(0.05))
    sm = _ints(revenue * rng.uniform(0.02, 0.08) * noise(0.05))
    other_exp = _ints(revenue * rng.uniform(0.0, 0.02) * noise(0.1))
    da = _ints(revenue * rng.uniform(0.02, 0.08) * noise(0.05))
    int_inc = _ints(revenue * rng.uniform(0.0, 0.01) * noise(0.1))
    int_exp = _ints(revenue * rng.uniform(0.0, 0.03) * noise(0.1))
    non_op = _ints(revenue * rng.normal(0, 0.005, q))
    gross = rev - cogs
    sga = ga + sm
    opex = rnd + sga + other_exp
    op_income = gross - opex
    net_interest = int_inc - int_exp
    total_other = net_interest + non_op
    ibt = op_income + total_other
    tax = _ints(np.maximum(ibt, 0) * rng.uniform(0.12, 0.26))
    net_income = ibt - tax
    shares = _ints(shares_scale * np.exp(rng.uniform(-0.02, 0.02) * (t - t[-1])))
    shares_dil = _ints(shares * rng.uniform(1.0, 1.02))

    assets_scale = revenue * 4 * rng.uniform(0.6, 2.0)

    def part(lo: float, hi: float) -> np.ndarray:
        return _ints(assets_scale * rng.uniform(lo, hi) * noise(0.03))

    cash, sti = part(0.03, 0.12), part(0.0, 0.1)
    ar, other_rec = part(0.04, 0.12), part(0.0, 0.03)
    inventory, prepaids, other_ca = part(0.0, 0.1), part(0.0, 0.02), part(0.0, 0.04)
    ppe, goodwill, intangibles = part(0.1, 0.4), part(0.0, 0.2), part(0.0, 0.1)
    lti, tax_assets, other_nca = part(0.0, 0.15), part(0.0, 0.03), part(0.0, 0.06)
    ap, other_pay, accrued = part(0.03, 0.1), part(0.0, 0.04), part(0.0, 0.03)
    std, cloc, deferred_rev, other_cl = part(0.0, 0.05), part(0.0, 0.01), part(0.0, 0.03), part(0.0, 0.05)
    ltd, clonc, dtl, other_ncl = part(0.05, 0.3), part(0.0, 0.03), part(0.0, 0.03), part(0.0, 0.06)
    tax_pay = _ints(other_pay * rng.uniform(0.2, 0.9))
    minority = part(0.0, 0.01)
    common, apic, aoci = part(0.01, 0.05), part(0.0, 0.1), _ints(assets_scale * rng.normal(0, 0.01, q))
    treasury = -part(0.0, 0.05)

    total_payables = ap + other_pay
    tca = cash + sti + ar + other_rec + inventory + prepaids + other_ca
    tnca = ppe + goodwill + intangibles + lti + tax_assets + other_nca
    total_assets = tca + tnca
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
    purchases, sales = -part(0.0, 0.02), part(0.0, 0.02)
    other_inv = _ints(revenue * rng.normal(0, 0.003, q))
    investing = capex + acquisitions + purchases + sales + other_inv
    lt_debt_iss, st_debt_iss = np.diff(ltd, prepend=ltd[0]), np.diff(std, prepend=std[0])
    stock_iss, repurchased = part(0.0, 0.003), -_ints(np.maximum(net_income, 0) * rng.uniform(0.0, 0.5))
    dividends = -_ints(np.maximum(net_income, 0) * rng.uniform(0.0, 0.5))
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
    for y, year in enumerate(years.tolist()):
        block = slice(4 * y, 4 * y + 4)
        last = 4 * y + 3
        cf = {k: int(v[block].sum()) for k, v in cashflow_cols.items()}
        cf["cashAtEndOfPeriod"] = int(cashflow_cols["cashAtEndOfPeriod"][last])
        cf["cashAtBeginningOfPeriod"] = int(cashflow_cols["cashAtBeginningOfPeriod"][4 * y])
        end = _month_end(year, fye_month)
        annual.append(
            Period(
                end=end,
                fiscal_year=year,
                label="FY",
                filing=end + timedelta(days=60 + y % 9),
                income={k: int(v[block].sum()) for k, v in income_cols.items()},
                shares=int(shares[block].mean()),
                shares_diluted=int(shares_dil[block].mean()),
                balance={k: v[last] for k, v in bal_rows.items()},
                cashflow=cf,
            )
        )
    return quarters, annual


def _header(company: Company, period: Period) -> Statement:
    return {
        "date": period.end.isoformat(),
        "symbol": company.symbol,
        "reportedCurrency": "USD",
        "cik": company.cik,
        "filingDate": period.filing.isoformat(),
        "acceptedDate": f"{period.filing.isoformat()} 16:{period.end.day % 60:02d}:{period.end.month * 3:02d}",
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
