"""Every derived figure a page shows has one definition, and the page puts it where the figure is."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dashboard.analytics import evaluate, indicators
from dashboard.analytics.fundamentals import dupont, ratios
from dashboard.analytics.portfolio import report
from dashboard.components import catalogue, company_data, formats, glossary, inputs, tables, universe_data
from devkit import factories
from serving import company as derive

# Names a page shows that are not derived: identities, stored amounts, the DCF's own inputs.
PLAIN = {"symbol", "name", "sector", "year", "fcf", "value", "revenue", "operating_income", "net_income"}


def shown_figures() -> set[str]:
    """The derived figures of every page: grid columns and rows, options, the Valuation summary's terms."""
    from dashboard.components import portfolio_views
    from dashboard.pages import company, forecast, valuation  # after the app

    prices = factories.random_portfolio(1)
    stats = report(prices, dict.fromkeys(prices.columns, 1.0)).stats
    return {
        *derive.RATIOS,
        *derive.GROWTH,
        *company_data.DUPONT_FIELDS,
        *formats.METRICS,
        *universe_data.LEADING_COLUMNS,
        *indicators.REGISTRY,
        *(k for k in company.VIEWS_SHOWN if k != "values"),
        *forecast.METHODS,
        *stats["statistic"],
        *(label for label, _ in evaluate.ROWS),
        *portfolio_views.WEIGHT_COLUMNS,
        *valuation.PROJECTION_COLUMNS,
        *valuation.MULTIPLE_NAMES,
        "premium",
        "sector_median",
        "score",
        *catalogue.BY_KEY,
        # the Valuation summary, the price header and the forecast backtest
        *("dcf_value", "terminal_value", "mid_year", "upside", "wacc", "enterprise_value", "week52", "mape"),
    } - PLAIN


def test_every_derived_figure_has_a_definition(dash_app: object) -> None:
    missing = sorted(f for f in shown_figures() if not glossary.define(f))
    assert missing == []


def test_grid_headers_and_figure_rows_carry_the_definition() -> None:
    """A metric column's header and a ratio row's first cell show the figure's definition on hover."""
    metrics = tables.grid("g", pd.DataFrame({"symbol": ["A"], "roe": [0.1], "price": [3.0]}))
    headers = {d["field"]: d.get("headerTooltip") for d in metrics.columnDefs}
    assert headers == {"symbol": None, "roe": glossary.define("roe"), "price": glossary.define("price")}

    ratios = pd.DataFrame(
        {"roe": [0.1, 0.2], "tax_burden": [0.8, 0.7], "notAFigure": [1.0, 2.0]},
        index=pd.DatetimeIndex(["2023-12-31", "2024-12-31"], name="date"),
    )
    grid = tables.statement_grid("r", ratios, list(ratios.columns), columns={})
    assert grid.columnDefs[0]["field"] == "item"
    assert grid.columnDefs[0]["tooltipField"] == tables.TIP
    assert [r[tables.TIP] for r in grid.rowData] == [
        glossary.define("roe"),
        glossary.define("tax_burden"),
        None,
    ]
    assert tables.TIP not in {d["field"] for d in grid.columnDefs}  # sent, not shown


def test_figure_rows_by_label_and_options_carry_the_definition(dash_app: object) -> None:
    from dashboard.components import portfolio_views

    stats = pd.DataFrame({"statistic": ["Sharpe", "Unknown"], "value": [0.5, 1.0], "unit": ["ratio"] * 2})
    grid = portfolio_views.stats_grid(stats)
    assert grid.columnDefs[0]["tooltipField"] == tables.TIP
    assert [r[tables.TIP] for r in grid.rowData] == [glossary.define("Sharpe"), None]

    options = glossary.options({"roe": "ROE", "own": "Own"})
    assert options == [
        {"label": "ROE", "value": "roe", "title": glossary.define("roe")},
        {"label": "Own", "value": "own"},
    ]
    radio = inputs.radio_column("x", {"rsi": "RSI 14", "plain": "Plain"}, "rsi", md=2, label="L")
    labels: list[Any] = radio.children.children[1].options
    assert labels[0]["label"].title == glossary.define("rsi")
    assert labels[1]["label"] == "Plain"


def test_dupont_factors_multiply_to_the_ratio_tables_roe() -> None:
    """The ratio table's DuPont factors come from the same statements and averages as its ROE."""
    payloads = factories.statement_payloads(years=6)
    frames = derive.statement_frames(payloads, "FY")
    assert not frames["income"].empty
    frame = derive.combined(frames)
    table = ratios(frame).join(dupont(frame)[company_data.DUPONT_FIELDS])
    product = (
        table["tax_burden"]
        * table["interest_burden"]
        * table["ebit_margin"]
        * table["asset_turnover"]
        * table["equity_multiplier"]
    )
    known = product.notna() & table["roe"].notna()
    assert known.sum() >= 3
    np.testing.assert_allclose(product[known], table["roe"][known], rtol=1e-9)
