"""Ratios and key metrics computed from the generated statements and the price at period end."""

from __future__ import annotations

import math
from typing import Any

from fakefmp.statements import Period


def _div(a: float, b: float) -> float:
    return a / b if b else 0  # FMP reports 0 where a ratio is undefined (e.g. no interest expense)


def _header(symbol: str, period: Period) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "date": period.end_iso,
        "fiscalYear": str(period.fiscal_year),
        "period": period.label,
        "reportedCurrency": "USD",
    }


def ratios_row(
    symbol: str, period: Period, previous: Period | None, mcap: int, splits: float
) -> dict[str, Any]:
    """FMP's `ratios` row: every ratio from its definition over this period's statements, at market cap
    `mcap`, per-share figures on the basis before the last `splits` (see statements.income_row)."""
    i, b, c = period.income, period.balance, period.cashflow
    rev, ni, shares = i["revenue"], i["netIncome"], round(period.shares / splits)
    ev = mcap + b["totalDebt"] - b["cashAndCashEquivalents"]
    pe = _div(mcap, ni)
    eps_now = _div(ni, shares)
    eps_prev = _div(previous.income["netIncome"], round(previous.shares / splits)) if previous else 0
    growth_pct = _div(eps_now - eps_prev, abs(eps_prev)) * 100 if previous else 0
    equity = b["totalStockholdersEquity"]
    debt = b["totalDebt"]
    ocf, capex, fcf = c["operatingCashFlow"], c["capitalExpenditure"], c["freeCashFlow"]
    dividends = -c["commonDividendsPaid"]
    working_capital = b["totalCurrentAssets"] - b["totalCurrentLiabilities"]
    return _header(symbol, period) | {
        "grossProfitMargin": _div(i["grossProfit"], rev),
        "ebitMargin": _div(i["ebit"], rev),
        "ebitdaMargin": _div(i["ebitda"], rev),
        "operatingProfitMargin": _div(i["operatingIncome"], rev),
        "pretaxProfitMargin": _div(i["incomeBeforeTax"], rev),
        "continuousOperationsProfitMargin": _div(i["netIncomeFromContinuingOperations"], rev),
        "netProfitMargin": _div(ni, rev),
        "bottomLineProfitMargin": _div(i["bottomLineNetIncome"], rev),
        "receivablesTurnover": _div(rev, b["netReceivables"]),
        "payablesTurnover": _div(i["costOfRevenue"], b["accountPayables"]),
        "inventoryTurnover": _div(i["costOfRevenue"], b["inventory"]),
        "fixedAssetTurnover": _div(rev, b["propertyPlantEquipmentNet"]),
        "assetTurnover": _div(rev, b["totalAssets"]),
        "currentRatio": _div(b["totalCurrentAssets"], b["totalCurrentLiabilities"]),
        "quickRatio": _div(b["totalCurrentAssets"] - b["inventory"], b["totalCurrentLiabilities"]),
        "solvencyRatio": _div(ni + i["depreciationAndAmortization"], b["totalLiabilities"]),
        "cashRatio": _div(b["cashAndCashEquivalents"], b["totalCurrentLiabilities"]),
        "priceToEarningsRatio": pe,
        "priceToEarningsGrowthRatio": _div(pe, growth_pct),
        "forwardPriceToEarningsGrowthRatio": _div(pe, growth_pct),
        "priceToBookRatio": _div(mcap, equity),
        "priceToSalesRatio": _div(mcap, rev),
        "priceToFreeCashFlowRatio": _div(mcap, fcf),
        "priceToOperatingCashFlowRatio": _div(mcap, ocf),
        "debtToAssetsRatio": _div(debt, b["totalAssets"]),
        "debtToEquityRatio": _div(debt, equity),
        "debtToCapitalRatio": _div(debt, debt + equity),
        "longTermDebtToCapitalRatio": _div(b["longTermDebt"], b["longTermDebt"] + equity),
        "financialLeverageRatio": _div(b["totalAssets"], equity),
        "workingCapitalTurnoverRatio": _div(rev, working_capital),
        "operatingCashFlowRatio": _div(ocf, b["totalCurrentLiabilities"]),
        "operatingCashFlowSalesRatio": _div(ocf, rev),
        "freeCashFlowOperatingCashFlowRatio": _div(fcf, ocf),
        "debtServiceCoverageRatio": _div(i["ebitda"], b["shortTermDebt"] + i["interestExpense"]),
        "interestCoverageRatio": _div(i["operatingIncome"], i["interestExpense"]),
        "shortTermOperatingCashFlowCoverageRatio": _div(ocf, b["shortTermDebt"]),
        "operatingCashFlowCoverageRatio": _div(ocf, debt),
        "capitalExpenditureCoverageRatio": _div(ocf, -capex),
        "dividendPaidAndCapexCoverageRatio": _div(ocf, dividends - capex),
        "dividendPayoutRatio": _div(dividends, ni),
        "dividendYield": _div(dividends, mcap),
        "dividendYieldPercentage": _div(dividends, mcap) * 100,
        "revenuePerShare": _div(rev, shares),
        "netIncomePerShare": eps_now,
        "interestDebtPerShare": _div(debt + i["interestExpense"], shares),
        "cashPerShare": _div(b["cashAndShortTermInvestments"], shares),
        "bookValuePerShare": _div(equity, shares),
        "tangibleBookValuePerShare": _div(equity - b["goodwillAndIntangibleAssets"], shares),
        "shareholdersEquityPerShare": _div(equity, shares),
        "operatingCashFlowPerShare": _div(ocf, shares),
        "capexPerShare": _div(-capex, shares),
        "freeCashFlowPerShare": _div(fcf, shares),
        "netIncomePerEBT": _div(ni, i["incomeBeforeTax"]),
        "ebtPerEbit": _div(i["incomeBeforeTax"], i["ebit"]),
        "priceToFairValue": _div(mcap, equity),
        "debtToMarketCap": _div(b["shortTermDebt"] + b["longTermDebt"], mcap),
        "effectiveTaxRate": _div(i["incomeTaxExpense"], i["incomeBeforeTax"]),
        "enterpriseValueMultiple": _div(ev, i["ebitda"]),
        "dividendPerShare": _div(dividends, shares),
    }


def key_metrics_row(
    symbol: str, period: Period, previous: Period | None, mcap: int, splits: float
) -> dict[str, Any]:
    """FMP's `key-metrics` row: market value, returns, efficiency, from the same statements."""
    i, b, c = period.income, period.balance, period.cashflow
    rev, ni, shares = i["revenue"], i["netIncome"], round(period.shares / splits)
    ev = mcap + b["totalDebt"] - b["cashAndCashEquivalents"]
    ocf, capex, fcf = c["operatingCashFlow"], c["capitalExpenditure"], c["freeCashFlow"]
    equity = b["totalStockholdersEquity"]
    days = 365 if period.label == "FY" else 91.25
    tax_rate = _div(i["incomeTaxExpense"], i["incomeBeforeTax"])
    prev_b = previous.balance if previous else b
    eps, bvps = _div(ni, shares), _div(equity, shares)
    dso = _div(b["netReceivables"], rev) * days
    dpo = _div(b["accountPayables"], i["costOfRevenue"]) * days
    dio = _div(b["inventory"], i["costOfRevenue"]) * days
    working_capital = b["totalCurrentAssets"] - b["totalCurrentLiabilities"]
    return _header(symbol, period) | {
        "marketCap": mcap,
        "enterpriseValue": ev,
        "evToSales": _div(ev, rev),
        "evToOperatingCashFlow": _div(ev, ocf),
        "evToFreeCashFlow": _div(ev, fcf),
        "evToEBITDA": _div(ev, i["ebitda"]),
        "netDebtToEBITDA": _div(b["netDebt"], i["ebitda"]),
        "currentRatio": _div(b["totalCurrentAssets"], b["totalCurrentLiabilities"]),
        "incomeQuality": _div(ocf, ni),
        "grahamNumber": math.sqrt(22.5 * eps * bvps) if eps > 0 and bvps > 0 else 0,
        "grahamNetNet": _div(
            b["cashAndShortTermInvestments"]
            + 0.75 * b["netReceivables"]
            + 0.5 * b["inventory"]
            - b["totalLiabilities"],
            shares,
        ),
        "taxBurden": _div(ni, i["incomeBeforeTax"]),
        "interestBurden": _div(i["incomeBeforeTax"], i["ebit"]),
        "workingCapital": working_capital,
        "investedCapital": working_capital + b["propertyPlantEquipmentNet"],
        "returnOnAssets": _div(ni, b["totalAssets"]),
        "operatingReturnOnAssets": _div(i["operatingIncome"], b["totalAssets"]),
        "returnOnTangibleAssets": _div(ni, b["totalAssets"] - b["goodwillAndIntangibleAssets"]),
        "returnOnEquity": _div(ni, equity),
        "returnOnInvestedCapital": _div(
            i["ebit"] * (1 - tax_rate), equity + b["totalDebt"] - b["cashAndCashEquivalents"]
        ),
        "returnOnCapitalEmployed": _div(i["ebit"], b["totalAssets"] - b["totalCurrentLiabilities"]),
        "earningsYield": _div(ni, mcap),
        "freeCashFlowYield": _div(fcf, mcap),
        "capexToOperatingCashFlow": _div(-capex, ocf),
        "capexToDepreciation": _div(-capex, i["depreciationAndAmortization"]),
        "capexToRevenue": _div(-capex, rev),
        "salesGeneralAndAdministrativeToRevenue": _div(i["sellingGeneralAndAdministrativeExpenses"], rev),
        "researchAndDevelopementToRevenue": _div(i["researchAndDevelopmentExpenses"], rev),
        "stockBasedCompensationToRevenue": _div(c["stockBasedCompensation"], rev),
        "intangiblesToTotalAssets": _div(b["goodwillAndIntangibleAssets"], b["totalAssets"]),
        "averageReceivables": (b["netReceivables"] + prev_b["netReceivables"]) / 2,
        "averagePayables": (b["accountPayables"] + prev_b["accountPayables"]) / 2,
        "averageInventory": (b["inventory"] + prev_b["inventory"]) / 2,
        "daysOfSalesOutstanding": dso,
        "daysOfPayablesOutstanding": dpo,
        "daysOfInventoryOutstanding": dio,
        "operatingCycle": dso + dio,
        "cashConversionCycle": dso + dio - dpo,
        "freeCashFlowToEquity": fcf + c["netDebtIssuance"],
        "freeCashFlowToFirm": fcf + i["interestExpense"] * (1 - tax_rate),
        "tangibleAssetValue": b["totalAssets"] - b["totalLiabilities"] - b["goodwillAndIntangibleAssets"],
        "netCurrentAssetValue": b["totalCurrentAssets"] - b["totalLiabilities"],
    }
