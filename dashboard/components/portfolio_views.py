"""The Portfolio page's tables and figures, built from an `Analysis`."""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd
from dash import html

from dashboard.components import charts, states, tables
from dashboard.components.formats import Col

FORWARD_COLUMNS = {
    "mix": Col("Return from the as-of date"),
    **{h: Col(h, "pct_signed") for h in ("1M", "3M", "1Y")},
}
# Its clicks open a holding's trail (`pages/portfolio.portfolio_provenance`).
WEIGHTS_GRID = "portfolio-weights-grid"
# Statistic units: the CSV keeps raw values with this unit column; the table formats by it.
UNIT_KINDS = {"fraction": "pct", "fraction (daily)": "pct2", "ratio": "num2", "trading days": "int"}
STATS_COLUMNS = {"statistic": Col("Statistic"), "value": Col("Value")}
WEIGHT_COLUMNS = {
    "symbol": Col("Ticker"),
    "chosen": Col("Chosen (normalised)", "pct"),
    "min_volatility": Col("Minimum volatility", "pct"),
    "max_sharpe": Col("Maximum Sharpe", "pct"),
    "hrp": Col("Hierarchical risk parity", "pct"),
}
PORTFOLIO_MARKERS = ("diamond", "square", "triangle-up", "star", "x", "cross")
# Correlation: a diverging scale centred on 0 (red negative, white none, blue positive), fixed at -1..1.
CORRELATION_SCALE = [
    [0.0, "#b2182b"],
    [0.25, "#ef8a62"],
    [0.5, "#f7f7f7"],
    [0.75, "#67a9cf"],
    [1.0, "#2166ac"],
]


def drawdown_figure(drawdown: pd.DataFrame) -> dict[str, Any]:
    return charts.lines(
        drawdown,
        "Drawdown from the running peak",
        percent=True,
        yaxis="Drawdown",
        names={"drawdown": "drawdown"},
        day_grid=True,
    )


def correlation_figure(corr: pd.DataFrame) -> dict[str, Any]:
    # The matrix as it is: the heatmap leaves every non-finite cell blank (a frame's where cost ~0.3 ms).
    return charts.heatmap(
        corr,
        "Correlation of daily returns",
        colorscale=CORRELATION_SCALE,
        zmin=-1.0,
        zmax=1.0,
        zmid=0.0,
        value_title="Correlation",
        height=380,
    )


def growth_figure(growth: pd.DataFrame) -> dict[str, Any]:
    return charts.lines(
        growth, "Growth of 10,000 (daily rebalanced)", yaxis="Value", hover=",.0f", day_grid=True
    )


def frontier_figure(frontier: pd.DataFrame, points: pd.DataFrame) -> dict[str, Any]:
    """The frontier with the chosen mix, the optimisers' portfolios and each single asset marked."""
    if frontier.empty:
        return charts.empty_figure("No frontier for these holdings.")
    figure = charts.scatter(
        frontier,
        "volatility",
        "expected_return",
        "Efficient frontier (annualised, from daily returns)",
        x_title="Volatility",
        y_title="Expected return",
        percent=True,
        name="Efficient frontier",
    )
    # Each portfolio its own marker and legend entry: text labels of portfolios lying close collide.
    # From the columns' lists: the frame's boolean masks and iterrows cost ~1 ms for a handful of rows.
    names, kinds = points["name"].tolist(), points["kind"].tolist()
    volatility, expected = points["volatility"].tolist(), points["expected_return"].tolist()
    mixes = [i for i, kind in enumerate(kinds) if kind == "portfolio"]
    for i, marker in zip(mixes, itertools.cycle(PORTFOLIO_MARKERS), strict=False):
        figure["data"].append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [volatility[i]],
                "y": [expected[i]],
                "name": names[i],
                "marker": {"symbol": marker, "size": 12},
                "hovertemplate": f"{names[i]}<br>Volatility %{{x:.1%}}<br>Expected return %{{y:.1%}}<extra></extra>",
            }
        )
    assets = [i for i, kind in enumerate(kinds) if kind == "asset"]
    figure["data"].append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "x": [volatility[i] for i in assets],
            "y": [expected[i] for i in assets],
            "text": [names[i] for i in assets],
            "textposition": "top center",
            "marker": {"symbol": "circle-open", "size": 8},
            "name": "Single assets",
            "hovertemplate": "%{text}<br>Volatility %{x:.1%}<br>Expected return %{y:.1%}<extra></extra>",
        }
    )
    figure["layout"]["showlegend"] = True
    return figure


def weights_grid(weights: pd.DataFrame) -> Any:
    grid = tables.grid(WEIGHTS_GRID, weights, columns=WEIGHT_COLUMNS, fit_width=True)
    grid.getRowId = "params.data.symbol"  # a click names its holding (its closes' trail)
    return grid


def compare_grid(stats: pd.DataFrame) -> Any:
    """The side-by-side grid: one column per portfolio, the rows fitting a narrow window."""
    columns = {c: Col(c) for c in stats.columns if c not in ("statistic", "unit")}
    return _statistics("portfolio-compare-grid", stats, {"statistic": Col("Statistic"), **columns}, True)


def stats_grid(stats: pd.DataFrame) -> Any:
    return _statistics("portfolio-stats-grid", stats, STATS_COLUMNS, False)


def _statistics(id_: str, stats: pd.DataFrame, columns: dict[str, Col], fit_width: bool) -> Any:
    """A grid of statistics, each row formatted by its unit and defined on hover."""
    return tables.grid(
        id_,
        stats,
        columns=columns,
        row_kind="kind",
        hidden=("unit",),
        row_tips="statistic",
        fit_width=fit_width,
        row_fields={"kind": [UNIT_KINDS[u] for u in stats["unit"].tolist()]},
    )


def forward_view(forward: pd.DataFrame | None, day: str | None) -> Any:
    """The forward returns' grid, or what to do to see them."""
    if forward is None:
        return states.empty(
            "Choose an as-of date to see what the mix returned after it.", id_="portfolio-forward-empty"
        )
    return html.Div(
        [
            html.P(
                f"Analysis on closes up to {day}; these returns are what came after (blank: not reached yet).",
                className="small text-muted mb-1",
            ),
            tables.grid("portfolio-forward-grid", forward, columns=FORWARD_COLUMNS),
        ]
    )
