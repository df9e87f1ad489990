"""What each derived figure means: one definition per figure, shown on hover wherever the figure is.

Keyed by the figure's name as the pages hold it: the metric and ratio columns (`serving.company.RATIOS`,
`formats.METRICS`, the DuPont factors), FMP's derived statement lines, the Portfolio statistics by
their label, and the Valuation page's terms. Grids show a definition on their column header
(`tables`), or on the row's first cell where each row is a figure (ratios, statistics, multiples);
dropdown and radio options carry it as their title; `term` wraps a figure named in running text.
docs/analytics.md says more about how each is computed.
"""

from __future__ import annotations

from typing import Any

from dash import html

TTM = "the period shown (the trailing twelve months where four quarters exist, else the fiscal year)"
AVERAGE = "the average of the period's opening and closing balances"
PER_SHARE = "over the diluted weighted average share count"
_YOY = "Change over the same period a year before (the previous fiscal year for annual rows)."

DEFINITIONS: dict[str, str] = {
    # Prices and size
    "price": "The last stored close (traded, not dividend-adjusted).",
    "market_cap": "Last close x current share count (see 'Share count from').",
    "shares_source": "Where the share count comes from: the profile (market cap / price), else the"
    " latest quarter's diluted average, else the fiscal year's.",
    "week52": "The lowest and highest traded close over the last 52 weeks.",
    # Multiples
    "pe": f"Market cap over net income of {TTM} (n/m on a loss).",
    "pb": "Market cap over shareholders' equity (n/a when equity is not positive).",
    "p_fcf": f"Market cap over free cash flow of {TTM}.",
    "ev_ebitda": "EV/EBITDA on the CFA enterprise value: market cap + total debt - cash and equivalents"
    " - short-term investments (FMP's EV subtracts cash only).",
    "ev_ebitda_fmp": "EV/EBITDA on FMP's enterprise value: market cap + total debt - cash and equivalents.",
    "ev_sales": "Enterprise value (CFA definition) over revenue.",
    "fcf_yield": f"Free cash flow of {TTM} over market cap (n/a when the cap is not positive).",
    "dividend_yield": f"Common dividends paid in {TTM} over market cap.",
    # Price statistics (dividend-adjusted closes, else traded)
    "perf_1m": "Change of the close over the last month: the latest close over the last close a month"
    " before, minus 1.",
    "perf_ytd": "Change of the close this year: the latest close over the last close of the previous"
    " year, minus 1.",
    "perf_1y": "Change of the close over the last year: the latest close over the last close a year"
    " before, minus 1.",
    "off_52w_high": "The latest close over the highest close of the last 52 weeks, minus 1 (0 at a high).",
    "volatility_1y": "Standard deviation of the last 252 daily log returns, x sqrt(252).",
    # Restatements (serving/restatements.py)
    **{
        f"restatements_{n}y": f"How many times the company's statements were restated in the {n} year{'s' * (n > 1)}"
        " to the latest close: one per restated period and time the store saw it (split-only revisions left"
        " out; 0 when never restated since the store began keeping revisions)."
        for n in (1, 3, 5)
    },
    **{
        f"restatement_change_{n}y": f"The largest restated change in the {n} year{'s' * (n > 1)} to the latest"
        " close, (new - old) / |old| of the line that moved most, with its sign: positive restated up,"
        " negative restated down (blank when never restated)."
        for n in (1, 3, 5)
    },
    # Margins
    "gross_margin": "Gross profit over revenue.",
    "operating_margin": "Operating income over revenue.",
    "ebitda_margin": "EBITDA over revenue.",
    "net_margin": "Net income over revenue.",
    "fcf_margin": "Free cash flow (operating cash flow - capital expenditure) over revenue.",
    # Returns
    "roa": f"Net income over total assets ({AVERAGE}).",
    "roe": f"Net income over shareholders' equity ({AVERAGE}).",
    "roic": "Textbook ROIC (Koller): NOPAT = operating income x (1 - effective tax rate; 0 on a pre-tax"
    f" loss) over invested capital = total debt + equity - cash ({AVERAGE}).",
    "roic_fmp": "ROIC as FMP computes it: the same NOPAT over closing total assets - current liabilities"
    " + short-term debt + current lease obligations (cash stays in the base, so it reads lower).",
    # Liquidity and solvency
    "current_ratio": "Current assets over current liabilities.",
    "quick_ratio": "Cash + short-term investments + receivables, over current liabilities.",
    "cash_ratio": "Cash and equivalents over current liabilities.",
    "debt_to_equity": "Total debt over shareholders' equity (n/a when equity is not positive).",
    "debt_to_assets": "Total debt over total assets.",
    "net_debt_to_ebitda": "Net debt (total debt - cash and equivalents) over EBITDA.",
    "interest_coverage": "Operating income (EBIT) over interest expense.",
    # Efficiency
    "asset_turnover": f"Revenue over total assets ({AVERAGE}).",
    "dso": f"Days sales outstanding: receivables ({AVERAGE}) over revenue, x 365.",
    "dio": f"Days inventory outstanding: inventory ({AVERAGE}) over cost of revenue, x 365.",
    "dpo": f"Days payables outstanding: payables ({AVERAGE}) over cost of revenue, x 365.",
    "cash_conversion_cycle": "DSO + DIO - DPO: days between paying suppliers and collecting from customers.",
    # Per share and tax
    "revenue_per_share": f"Revenue {PER_SHARE}.",
    "eps": f"Net income {PER_SHARE}.",
    "fcf_per_share": f"Free cash flow {PER_SHARE}.",
    "book_value_per_share": f"Shareholders' equity {PER_SHARE}.",
    "effective_tax_rate": "Income tax expense over income before tax (n/a on a pre-tax loss).",
    # DuPont (ROE = net margin x asset turnover x equity multiplier
    #              = tax burden x interest burden x EBIT margin x asset turnover x equity multiplier)
    "equity_multiplier": f"DuPont: total assets over shareholders' equity ({AVERAGE}); ROE = net margin"
    " x asset turnover x equity multiplier.",
    "tax_burden": "DuPont: net income over income before tax (what tax leaves).",
    "interest_burden": "DuPont: income before tax over operating income (what interest leaves).",
    "ebit_margin": "DuPont: operating income (EBIT) over revenue; ROE = tax burden x interest burden x"
    " EBIT margin x asset turnover x equity multiplier.",
    # Growth
    "revenue_growth": "Revenue: " + _YOY,
    "net_income_growth": "Net income: " + _YOY,
    "eps_growth": "Diluted EPS: " + _YOY,
    "fcf_growth": "Free cash flow: " + _YOY,
    # Scores
    "f_score": "Piotroski F-score (0-9): one point each for positive ROA, operating cash flow, ROA up,"
    " cash flow above net income, leverage down, current ratio up, no new shares, gross margin up,"
    " asset turnover up (the last two fiscal years).",
    "score": "Multi-factor score (0-1): the mean of the company's percentile ranks on the chosen"
    " metrics, each ranked in its better direction (lower P/E, higher ROE); a missing metric is left out.",
    "altman_z": "Altman Z (1968: 1.2 WC/TA + 1.4 RE/TA + 3.3 EBIT/TA + 0.6 MVE/TL + 1.0 Sales/TA) for"
    " manufacturers, Z'' (1995, four factors on book equity) for other sectors, none for financials;"
    " the model used is in the next column.",
    "altman_model": "Which Altman model the sector gets: Z (1968, manufacturing) or Z'' (1995, other"
    " sectors); financials get none (their balance sheet is the business).",
    # FMP's derived statement lines
    "ebitda": "FMP's EBITDA: operating income + depreciation and amortization.",
    "freeCashFlow": "Operating cash flow - capital expenditure.",
    "netDebt": "Total debt - cash and equivalents (FMP's field).",
    "epsDiluted": "Net income over the diluted weighted average share count (as reported).",
    "weightedAverageShsOutDil": "The period's weighted average share count, diluted by options and"
    " convertibles.",
    # The same figures under the serving tables' names (Compare's history)
    "free_cash_flow": "Operating cash flow - capital expenditure.",
    "net_debt": "Total debt - cash and equivalents (FMP's field).",
    "eps_diluted": "Net income over the diluted weighted average share count (as reported, split-adjusted).",
    "shares_diluted": "The period's weighted average share count, diluted by options and convertibles"
    " (split-adjusted).",
    # Statement views
    "yoy": "Each line's change over the same period a year before (four quarters back for quarters).",
    "common": "Each line as a share of revenue (income, cash flow) or of total assets (balance sheet).",
    # Valuation (DCF)
    "dcf_value": "Enterprise value from the projected free cash flow and a Gordon terminal value,"
    " discounted at the WACC at each year's end, less net debt, over the share count.",
    "mid_year": "The same DCF with each year's cash flow discounted half a year less (cash arrives"
    " through the year).",
    "wacc": "Weighted average cost of capital: cost of equity (CAPM: risk-free rate + beta x equity risk"
    " premium) and after-tax cost of debt, weighted by equity (at market, else book) and total debt.",
    "upside": "The DCF value per share over the last close, minus 1.",
    "terminal_value": "Gordon growth: the last year's FCF x (1 + terminal growth) / (WACC - terminal"
    " growth), discounted to today.",
    "enterprise_value": "Value of the operations to all capital holders: here the DCF's present value"
    " of free cash flow; the multiples use the CFA EV (market cap + debt - cash - short-term investments).",
    "growth": "The assumed growth of free cash flow in each explicit year.",
    "discount_factor": "1 / (1 + WACC)^year: what a dollar of that year is worth today.",
    "pv": "Free cash flow x discount factor.",
    "premium": "The company's multiple over its sector's median, minus 1.",
    "implied_growth": "Reverse DCF: the FCF growth in the explicit years at which the DCF value per share"
    " equals the last close, with the WACC, fade and terminal growth as set (bisection).",
    "exit_multiple": "Terminal value as a price: the exit EV/EBITDA x the last projected year's EBITDA"
    " (the base year's, grown with FCF), discounted from that year; beside the Gordon value as a check.",
    "fade": "Two-stage growth: after the explicit years, growth steps down in equal steps towards the"
    " terminal growth over the fade years.",
    "sector_median": "The median of the multiple over the companies of the sector this store holds that"
    " have one (each on its own latest basis; n/m left out).",
    "companies": "How many companies the sector median covers: those of the sector this store holds with"
    " a value of the multiple.",
    # Portfolio (statistics by label, weights by column)
    "Cumulative return": "Growth of the weighted portfolio over the common window (weights kept each day).",
    "Annualised return": "Compound annual growth rate: (1 + cumulative)^(252 / days) - 1.",
    "Annualised volatility": "Standard deviation of daily returns x sqrt(252).",
    "Sharpe": "Mean daily return over the risk-free rate, over its standard deviation, x sqrt(252).",
    "Sortino": "As Sharpe, over the downside deviation (only returns below the risk-free rate count).",
    "Max drawdown": "The largest fall from a running peak of the portfolio's value.",
    "Calmar": "Annualised return over the absolute max drawdown.",
    "VaR 95% (daily, hist.)": "Historical value at risk: the daily return that 5% of days fell below.",
    "CVaR 95% (daily, hist.)": "Conditional VaR (expected shortfall): the mean of the days at or below"
    " the VaR.",
    "Observations": "Daily returns in the common window.",
    "Active return (vs benchmark, annualised)": "Mean daily return above the benchmark's, x 252.",
    "Tracking error": "Standard deviation of the daily return above the benchmark's, x sqrt(252).",
    "Information ratio": "Active return over tracking error: how steadily the portfolio beat the benchmark.",
    "Beta (vs benchmark)": "Covariance of daily returns with the benchmark's over the benchmark's variance.",
    "R² (daily, vs benchmark)": "Share of the daily returns' variance the benchmark explains (the OLS fit of"
    " the daily returns on the benchmark's, whose slope is the beta above).",
    "Beta (weekly OLS, vs benchmark)": "Slope of an ordinary least-squares fit of weekly returns (compounded to"
    " Fridays) on the benchmark's: less swayed by stale daily closes than the daily beta.",
    "R² (weekly OLS, vs benchmark)": "Share of the weekly returns' variance the benchmark explains in that fit.",
    "chosen": "The weights typed, normalised to sum to 100% over the companies with prices.",
    "min_volatility": "Long-only weights with the lowest volatility on the historical covariance.",
    "max_sharpe": "Long-only weights with the highest Sharpe ratio on historical mean returns.",
    "hrp": "Hierarchical risk parity (Lopez de Prado): weights from clustered correlations, no"
    " expected returns.",
    # Price indicators (on the daily history, shown at each bar's last day)
    "sma_50": "Simple moving average of the last 50 daily closes.",
    "sma_200": "Simple moving average of the last 200 daily closes.",
    "ema_20": "Exponential moving average of the daily closes, span 20 (weight 2/21 on the newest).",
    "bbands": "Bollinger bands: the 20-day moving average and 2 standard deviations of the closes"
    " above and below it.",
    "rsi": "Relative strength index (Wilder, 14 days): 100 - 100 / (1 + average gain / average loss);"
    " above 70 read as overbought, below 30 as oversold.",
    "macd": "MACD: the 12-day EMA minus the 26-day EMA of the closes; the signal line is its 9-day EMA"
    " and the histogram the difference.",
    "stoch": "Stochastic oscillator (5/3/3): where the close sits in the 5-day high-low range (0-100),"
    " smoothed over 3 days (%K) and again (%D); 20/80 guides.",
    "adx": "Average directional index (14 days): the strength of a trend, up or down (0-100).",
    "atr": "Average true range (14 days): the average of each day's largest move (high-low, or against"
    " the previous close), in USD.",
    "obv": "On-balance volume: a running total adding the day's volume on up closes and subtracting"
    " it on down closes.",
    "mfi": "Money flow index (14 days): RSI on typical price x volume (0-100); 20/80 guides.",
    # Forecast
    "mape": "Mean absolute percentage error of the holdout's forecasts against what happened.",
    "ets": "Exponential smoothing with a damped additive trend (statsmodels ETS), 80/95% intervals.",
    "loglinear": "A straight line through the logarithm of the series: constant growth, with intervals.",
}


def define(name: str) -> str | None:
    """The definition of a figure, or None for one that needs none (a name, a date, a stored line)."""
    return DEFINITIONS.get(name)


def term(text: str, name: str, **props: Any) -> Any:
    """`text` with the figure's definition on hover (dotted underline), or plain text without one."""
    definition = DEFINITIONS.get(name)
    if definition is None:
        return text
    return html.Abbr(text, title=definition, className="mycfa-term", **props)


def options(labels: dict[str, str]) -> list[dict[str, str]]:
    """Dropdown/radio options of figures with their definition as the option's hover title."""
    out = []
    for value, label in labels.items():
        option = {"label": label, "value": value}
        definition = DEFINITIONS.get(value)
        if definition is not None:
            option["title"] = definition
        out.append(option)
    return out
