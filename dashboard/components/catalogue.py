"""The metrics analysts screen and compare on: label, display unit, and which direction is better.

One list for the Screener (conditions typed in display units, the multi-factor score's directions) and
Compare (any metric over time). Keys are the serving tables' columns (docs/serving.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.components import formats, glossary


@dataclass(frozen=True, slots=True)
class Metric:
    """A metric: its column, label, formatter kind (formats.KINDS) and direction.

    `better` is +1 when higher is better (ROE), -1 when lower is (P/E), 0 when neither (volatility is a
    choice, not a virtue): the multi-factor score ranks by it.
    """

    key: str
    label: str
    kind: str
    better: int
    group: str


def _m(key: str, label: str, kind: str, better: int, group: str) -> Metric:
    return Metric(key, label, kind, better, group)


METRICS: tuple[Metric, ...] = (
    _m("market_cap", "Market cap", "usd_bn", 0, "Size and price"),
    _m("price", "Price", "usd", 0, "Size and price"),
    _m("pe", "P/E", "x", -1, "Valuation"),
    _m("ev_ebitda", "EV/EBITDA (CFA EV)", "x", -1, "Valuation"),
    _m("ev_ebitda_fmp", "EV/EBITDA (FMP EV)", "x", -1, "Valuation"),
    _m("ev_sales", "EV/Sales", "x", -1, "Valuation"),
    _m("pb", "P/B", "x", -1, "Valuation"),
    _m("p_fcf", "P/FCF", "x", -1, "Valuation"),
    _m("fcf_yield", "FCF yield", "pct", 1, "Valuation"),
    _m("dividend_yield", "Dividend yield", "pct", 1, "Valuation"),
    _m("gross_margin", "Gross margin", "pct", 1, "Profitability"),
    _m("operating_margin", "Operating margin", "pct", 1, "Profitability"),
    _m("ebitda_margin", "EBITDA margin", "pct", 1, "Profitability"),
    _m("net_margin", "Net margin", "pct", 1, "Profitability"),
    _m("fcf_margin", "FCF margin", "pct", 1, "Profitability"),
    _m("roe", "ROE", "pct", 1, "Returns"),
    _m("roa", "ROA", "pct", 1, "Returns"),
    _m("roic", "ROIC (textbook)", "pct", 1, "Returns"),
    _m("roic_fmp", "ROIC (FMP definition)", "pct", 1, "Returns"),
    _m("revenue_growth", "Revenue growth (y/y)", "pct", 1, "Growth"),
    _m("net_income_growth", "Net income growth (y/y)", "pct", 1, "Growth"),
    _m("eps_growth", "EPS growth (y/y, diluted)", "pct", 1, "Growth"),
    _m("fcf_growth", "FCF growth (y/y)", "pct", 1, "Growth"),
    _m("current_ratio", "Current ratio", "num2", 1, "Health"),
    _m("quick_ratio", "Quick ratio", "num2", 1, "Health"),
    _m("cash_ratio", "Cash ratio", "num2", 1, "Health"),
    _m("debt_to_equity", "Debt/equity", "x", -1, "Health"),
    _m("debt_to_assets", "Debt/assets", "pct", -1, "Health"),
    _m("net_debt_to_ebitda", "Net debt/EBITDA", "x", -1, "Health"),
    _m("interest_coverage", "Interest coverage", "x", 1, "Health"),
    _m("altman_z", "Altman Z (Z or Z'')", "num2", 1, "Health"),
    _m("f_score", "Piotroski F", "int", 1, "Health"),
    _m("asset_turnover", "Asset turnover", "num2", 1, "Efficiency"),
    _m("dso", "DSO (days)", "num2", -1, "Efficiency"),
    _m("dio", "DIO (days)", "num2", -1, "Efficiency"),
    _m("dpo", "DPO (days)", "num2", 0, "Efficiency"),
    _m("cash_conversion_cycle", "Cash conversion cycle (days)", "num2", -1, "Efficiency"),
    _m("effective_tax_rate", "Effective tax rate", "pct", 0, "Efficiency"),
    _m("perf_1m", "Performance 1M", "pct", 1, "Price"),
    _m("perf_ytd", "Performance YTD", "pct", 1, "Price"),
    _m("perf_1y", "Performance 1Y", "pct", 1, "Price"),
    _m("off_52w_high", "Distance from 52-week high", "pct", 1, "Price"),
    _m("volatility_1y", "Volatility 1Y (annualised)", "pct", 0, "Price"),
    _m("revenue_per_share", "Revenue per share", "usd", 1, "Per share"),
    _m("eps", "EPS (net income / diluted shares)", "usd", 1, "Per share"),
    _m("fcf_per_share", "FCF per share", "usd", 1, "Per share"),
    _m("book_value_per_share", "Book value per share", "usd", 1, "Per share"),
    # What only this store knows (serving/restatements.py): counted back from the latest close.
    _m("restatements_1y", "Restatements 1Y", "int", 0, "Restatements"),
    _m("restatements_3y", "Restatements 3Y", "int", 0, "Restatements"),
    _m("restatements_5y", "Restatements 5Y", "int", 0, "Restatements"),
    _m("restatement_change_1y", "Largest restatement 1Y", "pct", 0, "Restatements"),
    _m("restatement_change_3y", "Largest restatement 3Y", "pct", 0, "Restatements"),
    _m("restatement_change_5y", "Largest restatement 5Y", "pct", 0, "Restatements"),
    # Reported figures (Compare's history): amounts in USD, per-share and shares split-adjusted.
    _m("revenue", "Revenue", "usd_bn", 1, "Figures"),
    _m("operating_income", "Operating income", "usd_bn", 1, "Figures"),
    _m("ebitda", "EBITDA", "usd_bn", 1, "Figures"),
    _m("net_income", "Net income", "usd_bn", 1, "Figures"),
    _m("free_cash_flow", "Free cash flow", "usd_bn", 1, "Figures"),
    _m("eps_diluted", "EPS (diluted, reported)", "usd", 1, "Figures"),
    _m("shares_diluted", "Diluted shares", "shares_m", 0, "Figures"),
    _m("net_debt", "Net debt", "usd_bn", -1, "Figures"),
)
BY_KEY = {m.key: m for m in METRICS}
# What a screener row has only from prices or annual scores, and what only a history has.
PRICE_ONLY = frozenset({"price", "perf_1m", "perf_ytd", "perf_1y", "off_52w_high", "volatility_1y"})
ANNUAL_SCORES = frozenset({"altman_z", "f_score"})
FIGURES = frozenset(m.key for m in METRICS if m.group == "Figures")
RESTATEMENTS = frozenset(m.key for m in METRICS if m.group == "Restatements")
SCREEN_KEYS = tuple(m.key for m in METRICS if m.key not in FIGURES)
HISTORY_KEYS = tuple(m.key for m in METRICS if m.key not in PRICE_ONLY | ANNUAL_SCORES | RESTATEMENTS)
# Display units typed into a condition: "15" is 15 % of a percentage, USD 100 bn of a market cap.
INPUT_SCALE = {"pct": 0.01, "usd_bn": 1e9, "shares_m": 1e6}
UNITS = {"pct": "%", "usd_bn": "USD bn", "usd": "USD", "x": "x", "shares_m": "m shares"}


def label(key: str, *, unit: bool = True) -> str:
    """The metric's label, with its display unit in brackets (`ROE (%)`, `Market cap (USD bn)`)."""
    metric = BY_KEY[key]
    suffix = UNITS.get(metric.kind)
    return f"{metric.label} ({suffix})" if unit and suffix and suffix != "x" else metric.label


def to_raw(key: str, value: float) -> float:
    """A value as typed (display units) to what the tables hold (fractions, USD)."""
    return value * INPUT_SCALE.get(BY_KEY[key].kind, 1.0)


def to_display(key: str, value: float) -> float:
    """A stored value in the units typed and shown (the inverse of `to_raw`)."""
    return value / INPUT_SCALE.get(BY_KEY[key].kind, 1.0)


def column(key: str) -> formats.Col:
    """The grid column of a metric: its header with the unit and its formatter kind."""
    metric = BY_KEY[key]
    return formats.METRICS.get(key) or formats.Col(label(key), metric.kind)


def options(keys: tuple[str, ...]) -> list[dict[str, str]]:
    """Dropdown options for `keys`, grouped in the catalogue's order ("Group: label (unit)"), each with
    its definition as the hover title."""
    return glossary.options({k: f"{BY_KEY[k].group}: {label(k)}" for k in keys})
