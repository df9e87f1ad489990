"""Deterministic income, balance-sheet and cash-flow statements that obey the accounting identities.

Quarters are generated first (integers, so every identity holds exactly: fakefmp/accounts.py); a
fiscal year sums its four quarters' flows and takes its fourth quarter's balance sheet, as filers
do. Share counts and per-share figures are served on the basis of the company's latest filing:
a filing after a split restates the earlier periods' per-share figures (as 10-Ks restate their
comparatives), so a share count never jumps without a split, and never at a split either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fakefmp.accounts import Accounts, Columns, accounts
from fakefmp.constituents import Company
from fakefmp.course import course, quarter_ends
from fakefmp.filings import FIRST_FISCAL_YEAR, Schedule, annual_schedule, first_fiscal_year, quarter_schedule
from fakefmp.outline import outline
from fakefmp.prices import PriceSeries

__all__ = ["FIRST_FISCAL_YEAR", "Period", "balance_row", "cashflow_row", "generate_periods", "income_row"]
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


@dataclass(slots=True)
class Period:
    """One reported period: its header fields and the three statements' values (share counts as counted
    after every split: divide by the splits after the basis date to serve them)."""

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


def _ordered(columns: Columns, fields: tuple[str, ...]) -> dict[str, list[int]]:
    """The columns in FMP's field order, as lists (refuses a missing or unknown field)."""
    if set(columns) != set(fields) or len(columns) != len(fields):
        raise ValueError(f"fields differ: {sorted(set(columns) ^ set(fields))}")
    return {name: columns[name].tolist() for name in fields}


def generate_periods(
    seed: int, company: Company, last_year: int, prices: PriceSeries
) -> tuple[list[Period], list[Period]]:
    """Quarterly and annual periods, oldest first, of every fiscal year from the company's first to
    `last_year` that it filed (consistent with `prices`: dividends paid are the ex-dates' dividends
    times the shares, buybacks the shares retired times the price)."""
    plan = outline(seed, company)
    path = course(seed, plan)
    first = first_fiscal_year(plan)
    years = max(0, last_year - first + 1)
    start = path.index_of(quarter_ends(plan.fye_month, first, first)[0])
    grid = slice(start, start + 4 * years)
    made = accounts(seed, plan, path, grid, prices)
    return _quarters(made, quarter_schedule(plan, last_year), first), _years(
        made, annual_schedule(plan, last_year), first
    )


def _quarters(made: Accounts, schedule: Schedule, first: int) -> list[Period]:
    income, balance = _ordered(made.income, INCOME_FLOWS), _ordered(made.balance, BALANCE_FIELDS)
    cashflow = _ordered(made.cashflow, CASHFLOW_FIELDS)
    shares, diluted = made.shares.tolist(), made.shares_diluted.tolist()
    return [
        Period(
            end=end,
            fiscal_year=first + i // 4,
            label=f"Q{i % 4 + 1}",
            filing=filing,
            income={k: v[i] for k, v in income.items()},
            shares=shares[i],
            shares_diluted=diluted[i],
            balance={k: v[i] for k, v in balance.items()},
            cashflow={k: v[i] for k, v in cashflow.items()},
        )
        for i, (end, filing) in enumerate(schedule)
    ]


def _years(made: Accounts, schedule: Schedule, first: int) -> list[Period]:
    """Fiscal years: flows summed over their quarters, the fourth quarter's balance sheet."""

    def yearly(columns: Columns, fields: tuple[str, ...]) -> dict[str, list[int]]:
        return {k: columns[k].reshape(-1, 4).sum(axis=1).tolist() for k in fields}

    income, cashflow = yearly(made.income, INCOME_FLOWS), yearly(made.cashflow, CASHFLOW_FIELDS)
    balance = _ordered(made.balance, BALANCE_FIELDS)
    cash_end, cash_start = made.cashflow["cashAtEndOfPeriod"], made.cashflow["cashAtBeginningOfPeriod"]
    periods = []
    for y, (end, filing) in enumerate(schedule):
        last = 4 * y + 3
        flows = {k: v[y] for k, v in cashflow.items()}
        flows["cashAtEndOfPeriod"] = int(cash_end[last])
        flows["cashAtBeginningOfPeriod"] = int(cash_start[4 * y])
        block = slice(4 * y, 4 * y + 4)
        periods.append(
            Period(
                end=end,
                fiscal_year=first + y,
                label="FY",
                filing=filing,
                income={k: v[y] for k, v in income.items()},
                shares=int(made.shares[block].mean()),
                shares_diluted=int(made.shares_diluted[block].mean()),
                balance={k: v[last] for k, v in balance.items()},
                cashflow=flows,
            )
        )
    return periods


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


def income_row(company: Company, period: Period, splits: float = 1.0) -> Statement:
    """The income statement row, share counts and EPS on the basis before the last `splits` (a product
    of split ratios; 1: the latest basis)."""
    row = _header(company, period) | period.income
    ni = period.income["netIncome"]
    shares, diluted = round(period.shares / splits), round(period.shares_diluted / splits)
    # FMP's key order puts eps and shares last
    row["eps"] = round(ni / shares, 2) if shares else 0
    row["epsDiluted"] = round(ni / diluted, 2) if diluted else 0
    row["weightedAverageShsOut"] = shares
    row["weightedAverageShsOutDil"] = diluted
    return row


def balance_row(company: Company, period: Period) -> Statement:
    return _header(company, period) | period.balance


def cashflow_row(company: Company, period: Period) -> Statement:
    return _header(company, period) | period.cashflow
