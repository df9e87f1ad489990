"""One company's quarterly accounts: the income statement, balance sheet and cash-flow statement columns.

Each builder returns its statement's columns keyed by FMP's field names (no field depends on the
order of a tuple), as integers that obey the accounting identities exactly. The income statement
follows the course's revenue and margin; the balance sheet is sized from earnings, the sector's
return on equity and leverage (equity stays positive, except for the companies known for negative
equity, where buybacks take it below zero over the last decade); the cash-flow statement pays the
dividends the price series' ex-dates paid and the buybacks the share count's fall bought, at the
price of the day, and lands the cash walk on the balance sheet's cash.

Random draws are taken on the course's whole grid and then cut to the quarters reported, so the
numbers of a quarter do not depend on how far "today" is.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date

import numpy as np

from fakefmp.course import Course, month_end
from fakefmp.draws import symbol_rng
from fakefmp.outline import BANK_LEVERAGE, BANK_MARGIN, BANK_ROE, Outline
from fakefmp.prices import PriceSeries
from fakefmp.sectors import Shape

Columns = dict[str, np.ndarray]
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
# capex / depreciation: utilities build out their networks; a REIT's purchases of property are
# acquisitions, its capex is upkeep
CAPEX_TO_DEPRECIATION = {"Utilities": (1.3, 2.0), "Real Estate": (0.2, 0.5)}
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
DEFICIT_YEARS = (8.0, 14.0)  # a negative-equity company's equity starts falling this many years back


def ints(values: np.ndarray) -> np.ndarray:
    rounded: np.ndarray = np.rint(values).astype(np.int64)
    return rounded


@dataclass(slots=True)
class Draws:
    """A statement's random stream, with its vectors drawn on the whole grid and cut to the quarters."""

    rng: np.random.Generator
    grid: slice
    size: int

    def normal(self, scale: float) -> np.ndarray:
        values: np.ndarray = self.rng.normal(0, scale, self.size)[self.grid]
        return values

    def noise(self, scale: float) -> np.ndarray:
        return 1 + self.normal(scale)

    def chance(self, p: float) -> np.ndarray:
        hits: np.ndarray = self.rng.random(self.size)[self.grid] < p
        return hits

    def uniform(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))


@dataclass(slots=True)
class Accounts:
    """The quarterly columns of the three statements and the share counts (as counted after every split)."""

    income: Columns
    balance: Columns
    cashflow: Columns
    shares: np.ndarray
    shares_diluted: np.ndarray


def accounts(seed: int, plan: Outline, path: Course, grid: slice, prices: PriceSeries) -> Accounts:
    """The accounts of the quarters `grid` of the course."""

    def draws(purpose: str) -> Draws:
        return Draws(symbol_rng(seed, plan.symbol, purpose), grid, len(path.ends))

    income_draws = draws("income")
    income, writedowns = income_columns(income_draws, plan, path, grid)
    balance = balance_columns(draws("balance"), plan, path, grid)
    shares = ints(path.shares[grid])
    ends = list(path.ends_iso[grid])
    splits_after = np.array([prices.splits_after(end) for end in ends])
    closes = np.array([prices.close_on_or_before(end) or plan.price for end in ends])
    market = Market(
        dividends=dividends_paid(prices, ends) * shares / splits_after,
        retired=-np.diff(path.shares[grid], prepend=path.shares[grid][0]) * closes / splits_after,
    )
    cashflow = cashflow_columns(draws("cashflow"), plan, income, balance, market, writedowns)
    diluted = ints(shares * income_draws.uniform(1.002, 1.02))
    return Accounts(income, balance, cashflow, shares, diluted)


def income_columns(draw: Draws, plan: Outline, path: Course, grid: slice) -> tuple[Columns, np.ndarray]:
    """Revenue down to net income: margins from the course, costs by the sector's shape. Also returns each
    quarter's write-down (an impairment in the non-operating line), which the cash-flow statement adds back."""
    kind, sector = plan.kind, plan.sector
    revenue = path.revenue[grid]
    net_margin = path.margin[grid] * draw.noise(0.08)
    writedown = draw.chance(0.01)  # an impairment: a loss quarter out of the blue
    tax_rate = draw.uniform(0.01, 0.03) if kind == "reit" else draw.uniform(0.14, 0.24)
    gross_margin = 1.0 if kind == "bank" else draw.uniform(*sector.gross_margin)
    int_exp = ints(revenue * draw.uniform(*INTEREST_EXPENSE[kind]) * draw.noise(0.05))
    if kind == "bank":
        int_inc = ints(int_exp + revenue * draw.uniform(0.5, 0.7))  # net interest income: most of revenue
    else:
        int_inc = ints(revenue * draw.uniform(0.0, 0.01) * draw.noise(0.05))
    usual = ints(revenue * draw.normal(0.004))
    impairment = ints(np.where(writedown, revenue * draw.uniform(0.5, 1.5), 0))
    non_op = usual - impairment
    # a bank's revenue is its net revenue: net interest income is in it, not below the operating line
    other = non_op if kind == "bank" else int_inc - int_exp + non_op
    pretax_target = revenue * net_margin / (1 - tax_rate)
    op_target = pretax_target - other - impairment  # the write-down comes on top: costs stay as usual
    rev = ints(revenue)
    cogs = ints(revenue * (1 - gross_margin) * draw.noise(0.02))
    gross = rev - cogs
    opex_target = np.maximum(gross - op_target, revenue * 0.02)
    rnd = ints(np.minimum(revenue * draw.uniform(*sector.rnd), opex_target * 0.6))
    other_exp = ints(opex_target * draw.uniform(0.0, 0.08))
    sga = ints(opex_target) - rnd - other_exp
    ga = ints(sga * draw.uniform(0.3, 0.6))
    da = ints(revenue * draw.uniform(*DEPRECIATION[kind]) * draw.noise(0.05))
    opex = rnd + sga + other_exp
    op_income = gross - opex
    net_interest = int_inc - int_exp
    total_other = other
    pretax = op_income + total_other
    tax = ints(np.maximum(pretax, 0) * tax_rate)
    net_income = pretax - tax
    zeros = np.zeros(len(rev), dtype=np.int64)
    columns = {
        "revenue": rev, "costOfRevenue": cogs, "grossProfit": gross, "researchAndDevelopmentExpenses": rnd,
        "generalAndAdministrativeExpenses": ga, "sellingAndMarketingExpenses": sga - ga,
        "sellingGeneralAndAdministrativeExpenses": sga, "otherExpenses": other_exp, "operatingExpenses": opex,
        "costAndExpenses": cogs + opex, "netInterestIncome": net_interest, "interestIncome": int_inc,
        "interestExpense": int_exp, "depreciationAndAmortization": da, "ebitda": op_income + da,
        "ebit": op_income, "nonOperatingIncomeExcludingInterest": non_op, "operatingIncome": op_income,
        "totalOtherIncomeExpensesNet": total_other, "incomeBeforeTax": pretax, "incomeTaxExpense": tax,
        "netIncomeFromContinuingOperations": net_income, "netIncomeFromDiscontinuedOperations": zeros,
        "otherAdjustmentsToNetIncome": zeros, "netIncome": net_income, "netIncomeDeductions": zeros,
        "bottomLineNetIncome": net_income,
    }  # fmt: skip
    return columns, impairment


def _equity_share(draw: Draws, plan: Outline, path: Course, grid: slice, leverage: float) -> np.ndarray:
    """Equity / assets per quarter: 1 / leverage, or for a company known for negative equity, a fall
    from there to a deficit of 5-20 % of assets over its last decade or so (buybacks beyond earnings)."""
    positive = np.full(grid.stop - grid.start, 1 / leverage)
    if not plan.negative_equity:
        return positive
    deficit = -draw.uniform(0.05, 0.2)
    start = -draw.uniform(*DEFICIT_YEARS)
    fall = np.clip((path.t[grid] - start) / -start, 0.0, 1.0)
    share: np.ndarray = positive + (deficit - positive) * fall
    return share


def balance_columns(draw: Draws, plan: Outline, path: Course, grid: slice) -> Columns:
    """Assets from earnings, the return on equity and leverage; liabilities by the shape's weights; retained
    earnings the plug that makes assets = liabilities + equity hold exactly."""
    kind, sector = plan.kind, plan.sector
    roe = draw.uniform(*(BANK_ROE if kind == "bank" else sector.roe))
    leverage = draw.uniform(*(BANK_LEVERAGE if kind == "bank" else sector.leverage))
    margin = max(plan.margin, 0.5 * (BANK_MARGIN if kind == "bank" else sector.net_margin)[0])
    assets_scale = 4 * path.trend[grid] * margin / roe * leverage * draw.noise(0.02)
    equity_share = _equity_share(draw, plan, path, grid, leverage)
    a = {
        k: ints(assets_scale * w * draw.uniform(0.6, 1.4) * draw.noise(0.03))
        for k, w in ASSET_WEIGHTS[kind].items()
    }
    current = ("cash", "sti", "ar", "other_rec", "inventory", "prepaids", "other_ca")
    tca = sum((a[k] for k in current), np.zeros_like(a["cash"]))
    tnca = a["ppe"] + a["goodwill"] + a["intangibles"] + a["lti"] + a["tax_assets"] + a["other_nca"]
    total_assets = tca + tnca
    minority = ints(total_assets * draw.uniform(0.0, 0.01))
    owed = (total_assets - minority) * (1 - equity_share)
    weights = {k: w * draw.uniform(0.7, 1.3) for k, w in LIABILITY_WEIGHTS[kind].items()}
    total_w = sum(weights.values())
    li = {k: ints(owed * w / total_w * draw.noise(0.02)) for k, w in weights.items()}
    tax_pay = ints(li["other_pay"] * draw.uniform(0.2, 0.9))

    def part(lo: float, hi: float) -> np.ndarray:
        return ints(total_assets * draw.uniform(lo, hi) * draw.noise(0.03))

    common, apic, aoci = part(0.0005, 0.01), part(0.0, 0.08), ints(total_assets * draw.normal(0.005))
    treasury = -part(0.0, 0.05) - ints(part(0.3, 0.6) * np.clip(-equity_share * leverage, 0, 1))
    total_payables = li["ap"] + li["other_pay"]
    tcl = total_payables + li["accrued"] + li["std"] + li["cloc"] + li["deferred_rev"] + li["other_cl"]
    tncl = li["ltd"] + li["clonc"] + li["dtl"] + li["other_ncl"]
    total_liabilities = tcl + tncl
    retained = total_assets - total_liabilities - minority - (common + apic + aoci + treasury)
    equity = common + apic + aoci + treasury + retained
    zeros = np.zeros(len(total_assets), dtype=np.int64)
    debt = li["std"] + li["ltd"] + li["cloc"] + li["clonc"]
    return {
        "cashAndCashEquivalents": a["cash"], "shortTermInvestments": a["sti"],
        "cashAndShortTermInvestments": a["cash"] + a["sti"], "netReceivables": a["ar"] + a["other_rec"],
        "accountsReceivables": a["ar"], "otherReceivables": a["other_rec"], "inventory": a["inventory"],
        "prepaids": a["prepaids"], "otherCurrentAssets": a["other_ca"], "totalCurrentAssets": tca,
        "propertyPlantEquipmentNet": a["ppe"], "goodwill": a["goodwill"], "intangibleAssets": a["intangibles"],
        "goodwillAndIntangibleAssets": a["goodwill"] + a["intangibles"], "longTermInvestments": a["lti"],
        "taxAssets": a["tax_assets"], "otherNonCurrentAssets": a["other_nca"], "totalNonCurrentAssets": tnca,
        "otherAssets": zeros, "totalAssets": total_assets, "totalPayables": total_payables,
        "accountPayables": li["ap"], "otherPayables": li["other_pay"], "accruedExpenses": li["accrued"],
        "shortTermDebt": li["std"], "capitalLeaseObligationsCurrent": li["cloc"], "taxPayables": tax_pay,
        "deferredRevenue": li["deferred_rev"], "otherCurrentLiabilities": li["other_cl"],
        "totalCurrentLiabilities": tcl, "longTermDebt": li["ltd"], "capitalLeaseObligationsNonCurrent": li["clonc"],
        "deferredRevenueNonCurrent": zeros, "deferredTaxLiabilitiesNonCurrent": li["dtl"],
        "otherNonCurrentLiabilities": li["other_ncl"], "totalNonCurrentLiabilities": tncl, "otherLiabilities": zeros,
        "capitalLeaseObligations": li["cloc"] + li["clonc"], "totalLiabilities": total_liabilities,
        "treasuryStock": treasury, "preferredStock": zeros, "commonStock": common, "retainedEarnings": retained,
        "additionalPaidInCapital": apic, "accumulatedOtherComprehensiveIncomeLoss": aoci,
        "otherTotalStockholdersEquity": zeros, "totalStockholdersEquity": equity, "totalEquity": equity + minority,
        "minorityInterest": minority, "totalLiabilitiesAndTotalEquity": total_liabilities + equity + minority,
        "totalInvestments": a["sti"] + a["lti"], "totalDebt": debt, "netDebt": debt - a["cash"],
    }  # fmt: skip


@dataclass(slots=True)
class Market:
    """What the stock market did in each quarter: cash dividends paid, shares bought back (in cash)."""

    dividends: np.ndarray
    retired: np.ndarray  # positive: shares retired (a buyback); negative: shares issued


def cashflow_columns(
    draw: Draws, plan: Outline, income: Columns, balance: Columns, market: Market, writedowns: np.ndarray
) -> Columns:
    """Operating cash from earnings, capex from depreciation, financing from the market's payouts; other
    financing the plug that lands the cash walk on the balance sheet's cash. A write-down costs no cash:
    it is added back among the other non-cash items, as filers do."""
    revenue, net_income, da = income["revenue"], income["netIncome"], income["depreciationAndAmortization"]
    ar, inventory, ap = balance["accountsReceivables"], balance["inventory"], balance["accountPayables"]
    ltd, std, cash = balance["longTermDebt"], balance["shortTermDebt"], balance["cashAndCashEquivalents"]
    dit, sbc = ints(revenue * draw.normal(0.003)), ints(revenue * draw.uniform(0.0, 0.04))
    wc_ar, wc_inv = -np.diff(ar, prepend=ar[0]), -np.diff(inventory, prepend=inventory[0])
    wc_ap, wc_other = np.diff(ap, prepend=ap[0]), ints(revenue * draw.normal(0.005))
    wc = wc_ar + wc_inv + wc_ap + wc_other
    other_noncash = ints(revenue * draw.normal(0.005)) + writedowns
    ocf = net_income + da + dit + sbc + wc + other_noncash
    capex = -ints(
        da * draw.uniform(*CAPEX_TO_DEPRECIATION.get(plan.sector_name, (0.8, 1.6))) * draw.noise(0.1)
    )
    acquisitions = -ints(np.where(draw.chance(0.05), revenue * draw.uniform(0.1, 0.5), 0))
    purchases, sales = -ints(revenue * draw.uniform(0.0, 0.08)), ints(revenue * draw.uniform(0.0, 0.08))
    other_inv = ints(revenue * draw.normal(0.003))
    investing = capex + acquisitions + purchases + sales + other_inv
    lt_debt_iss, st_debt_iss = np.diff(ltd, prepend=ltd[0]), np.diff(std, prepend=std[0])
    stock_iss = ints(np.maximum(-market.retired, 0) + revenue * draw.uniform(0.0, 0.003))
    repurchased = -ints(np.maximum(market.retired, 0))
    dividends = -ints(market.dividends)
    prev_cash = np.concatenate(([int(cash[0] * 0.95)], cash[:-1]))
    net_change = cash - prev_cash
    paid_out = lt_debt_iss + st_debt_iss + stock_iss + repurchased + dividends
    other_fin = net_change - ocf - investing - paid_out
    financing = paid_out + other_fin
    zeros = np.zeros(len(revenue), dtype=np.int64)
    return {
        "netIncome": net_income, "depreciationAndAmortization": da, "deferredIncomeTax": dit,
        "stockBasedCompensation": sbc, "changeInWorkingCapital": wc, "accountsReceivables": wc_ar,
        "inventory": wc_inv, "accountsPayables": wc_ap, "otherWorkingCapital": wc_other,
        "otherNonCashItems": other_noncash, "netCashProvidedByOperatingActivities": ocf,
        "investmentsInPropertyPlantAndEquipment": capex, "acquisitionsNet": acquisitions,
        "purchasesOfInvestments": purchases, "salesMaturitiesOfInvestments": sales,
        "otherInvestingActivities": other_inv, "netCashProvidedByInvestingActivities": investing,
        "netDebtIssuance": lt_debt_iss + st_debt_iss, "longTermNetDebtIssuance": lt_debt_iss,
        "shortTermNetDebtIssuance": st_debt_iss, "netStockIssuance": stock_iss + repurchased,
        "netCommonStockIssuance": stock_iss + repurchased, "commonStockIssuance": stock_iss,
        "commonStockRepurchased": repurchased, "netPreferredStockIssuance": zeros, "netDividendsPaid": dividends,
        "commonDividendsPaid": dividends, "preferredDividendsPaid": zeros, "otherFinancingActivities": other_fin,
        "netCashProvidedByFinancingActivities": financing, "effectOfForexChangesOnCash": zeros,
        "netChangeInCash": net_change, "cashAtEndOfPeriod": cash, "cashAtBeginningOfPeriod": prev_cash,
        "operatingCashFlow": ocf, "capitalExpenditure": capex, "freeCashFlow": ocf + capex,
        "incomeTaxesPaid": ints(np.maximum(income["incomeTaxExpense"], 0) * 0.9),
        "interestPaid": income["interestExpense"],
    }  # fmt: skip


def dividends_paid(prices: PriceSeries, ends: list[str]) -> np.ndarray:
    """Per quarter (ending on `ends`), the cash dividends per share whose ex-date falls in it."""
    paid = np.zeros(len(ends))
    for ex_date, amount in prices.dividends.items():
        index = bisect_left(ends, ex_date)
        if 0 < index < len(ends) or (index == 0 and ex_date > _three_months_before(ends[0])):
            paid[min(index, len(ends) - 1)] += amount
    return paid


def _three_months_before(day: str) -> str:
    end = date.fromisoformat(day)
    return month_end(end.year, end.month - 3).isoformat()
