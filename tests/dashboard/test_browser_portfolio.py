"""Task 3 of #27, the portfolio workflow, performed in a real browser as an analyst would: holdings pasted from
Excel, a window, the S&P 500 benchmark, the optimisers side by side, applied in one click. Every number the
page shows is checked against the analytics functions run here on the stored closes and benchmark series.

Its own database, seeded as the other workflow tests' (devkit/workflow_seed.py), and refreshed as an ingest's
end does, so benchmark_returns holds the S&P 500 series of the seeded members.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest

from dashboard.analytics import bounded, evaluate, optimize, portfolio
from tests.conftest import Database
from tests.dashboard.conftest import app_at
from tests.dashboard.test_browser import chromium, shot
from tests.dashboard.test_browser_demo import grid_data
from tests.dashboard.test_browser_ui import SHOTS, tab_for, url_has
from tests.dashboard.test_browser_workflows import Actions, plot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def wf_url(wf_db: Database) -> Iterator[str]:
    with app_at(wf_db) as url:
        yield url


@pytest.fixture(scope="module")
def browser(wf_url: str) -> Iterator[Any]:
    with chromium() as launched:
        yield launched


RF = 0.04  # the page's default risk-free rate (4 %)
GRID_ROUNDING = 6e-5  # the grid's row data is rounded to 4 decimals


def closes(db: Database, symbols: list[str]) -> pd.DataFrame:
    """Stored dividend-adjusted closes (the traded close where none), one column per symbol."""
    with psycopg.connect(db.owner_url) as conn:
        rows = conn.execute(
            "SELECT symbol, date, coalesce(adj_close, close) FROM prices_daily WHERE symbol = ANY(%s)",
            (symbols,),
        ).fetchall()
    wide = pd.DataFrame(rows, columns=["symbol", "date", "close"]).pivot(
        index="date", columns="symbol", values="close"
    )
    wide.index = pd.DatetimeIndex(wide.index)
    return wide.sort_index().astype(float)[symbols]


def chosen(
    db: Database, weights: dict[str, float], *, years: int | None = None, start: str = "", end: str = ""
) -> tuple[pd.DataFrame, pd.Series]:
    """The mix's aligned prices and daily returns over the last `years` years or [start, end]."""
    wide = closes(db, list(weights))
    if years is not None:
        wide = wide[wide.index >= wide.index.max() - pd.DateOffset(years=years)]
    if start:
        wide = wide[(wide.index >= pd.Timestamp(start)) & (wide.index <= pd.Timestamp(end))]
    aligned, _ = portfolio.align_prices(wide)
    return aligned, portfolio.portfolio_returns(aligned, weights)


def stored_benchmark(db: Database, name: str) -> pd.Series:
    """The S&P 500 series the serving refresh stored (benchmark_returns)."""
    with psycopg.connect(db.owner_url) as conn:
        rows = conn.execute(
            "SELECT date, daily_return FROM benchmark_returns WHERE benchmark = %s ORDER BY date", (name,)
        ).fetchall()
    assert rows, f"no {name} rows: the refresh did not fill benchmark_returns"
    return pd.Series([r[1] for r in rows], index=pd.DatetimeIndex([r[0] for r in rows]), dtype=float)


def compare_rows(tab: Any) -> dict[str, dict[str, Any]]:
    """The side-by-side grid's rows by statistic (row data rounded to 4 decimals, as the grid sends it)."""
    return {r["statistic"]: r for r in grid_data(tab, "portfolio-compare-grid")}


def wait_for_stat(
    tab: Any, statistic: str, column: str, want: float, tolerance: float = GRID_ROUNDING
) -> None:
    """Wait until the side-by-side grid shows `want` for the statistic in that portfolio's column."""
    tab.wait_for_function(
        f"(a => {{ let v = null; a && a.forEachNode(n => {{ if (n.data.statistic === {statistic!r})"
        f" v = n.data[{column!r}]; }}); return v !== null && Math.abs(v - {want}) < {tolerance}; }})"
        "(dash_ag_grid.getApi('portfolio-compare-grid'))"
    )


def test_portfolio_pasted_from_excel_against_the_sp500_and_optimised_in_four_actions(
    browser: Any, wf_url: str, wf_db: Database
) -> None:
    """Task 3: holdings pasted from Excel (tabs, newlines, percentages), a 5-year window, the chosen mix
    beside min-vol, max-Sharpe and HRP against the cap-weighted S&P 500 (the default benchmark): its beta,
    tracking error, information ratio and active return equal `evaluate.relative` on the stored series;
    the equal-weighted S&P 500 is one click away; the minimum-volatility weights applied in one click."""
    tab = tab_for(browser, wf_url, user="ann")
    tab.goto(wf_url + "/portfolio")
    tab.wait_for_selector("#portfolio-compare-grid .ag-row")
    act = Actions(tab)
    tab.fill("#portfolio-holdings", "AAPL\t40%\nMSFT\t30%\nJNJ\t20%\nKO\t10%\n")
    act.click("#portfolio-run")  # typing (or pasting) and Analyse: the one entry counts as this action
    act.click("#portfolio-window-choice label:has-text('5Y')")
    url_has(tab, window="5Y")
    weights = {"AAPL": 0.4, "MSFT": 0.3, "JNJ": 0.2, "KO": 0.1}
    aligned, returns = chosen(wf_db, weights, years=5)
    want = portfolio.performance(returns, risk_free=RF).annualized_volatility
    wait_for_stat(tab, "Annualised volatility", "Chosen", want)
    market = evaluate.returns_over(stored_benchmark(wf_db, "sp500_cap"), aligned.index)
    cap = evaluate.relative(returns, market)
    # The regression beta beside it, by hand: weeks ending Friday, numpy's polyfit slope and corr^2.
    both = pd.concat([returns.rename("r"), market.rename("b")], axis=1).dropna()
    weeks = (1 + both).groupby(both.index.to_period("W-FRI")).prod() - 1
    weekly_beta = np.polyfit(weeks["b"], weeks["r"], 1)[0]
    weekly_r2 = np.corrcoef(weeks["b"], weeks["r"])[0, 1] ** 2
    rows = compare_rows(tab)
    names = ["Chosen", "Minimum volatility", "Maximum Sharpe", "HRP", "S&P 500 (cap weight)"]
    assert all(n in rows["Sharpe"] for n in names)
    for stat, value in (
        ("Beta (vs benchmark)", cap.beta),
        ("Tracking error", cap.tracking_error),
        ("Information ratio", cap.information_ratio),
        ("Active return (vs benchmark, annualised)", cap.active_return),
        ("R² (daily, vs benchmark)", np.corrcoef(both["r"], both["b"])[0, 1] ** 2),
        ("Beta (weekly OLS, vs benchmark)", weekly_beta),
        ("R² (weekly OLS, vs benchmark)", weekly_r2),
    ):
        assert rows[stat]["Chosen"] == pytest.approx(value, abs=GRID_ROUNDING), stat
    assert np.isfinite(cap.beta)
    assert cap.tracking_error > 0
    assert rows["Annualised volatility"]["Minimum volatility"] <= rows["Annualised volatility"]["Chosen"]
    min_vol = rows["Annualised volatility"]["Minimum volatility"]
    frontier = plot(tab, "portfolio-frontier-graph", "d.length === 6")
    mixes = frontier[1:5]  # the mix and the 3 optimised, each its own marker and legend entry
    assert [t["name"] for t in mixes] == names[:4]
    assert len({(t["x"][0], t["y"][0]) for t in mixes}) == 4
    assert len(frontier[5]["x"]) == 4  # each single asset
    act.click("button:has-text('Apply minimum volatility weights')")
    assert act.count == 3
    wait_for_stat(tab, "Annualised volatility", "Chosen", min_vol, 2e-4)
    applied = tab.input_value("#portfolio-holdings")
    weights = {p.split(":")[0]: float(p.split(":")[1]) for p in applied.split(", ")}
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-3)
    aligned, returns = chosen(wf_db, weights, years=5)
    assert portfolio.performance(returns, risk_free=RF).annualized_volatility == pytest.approx(
        min_vol, rel=1e-3
    )
    growth = plot(tab, "portfolio-growth-graph", "d.length === 5")
    assert all(t["y"][0] == 10_000 for t in growth)
    assert "S&P 500 (cap weight)" in [t["name"] for t in growth]
    act.click("#portfolio-benchmark label:has-text('S&P 500 (equal weight)')")
    assert act.count == 4
    url_has(tab, benchmark="sp500_equal")
    equal = evaluate.relative(
        returns, evaluate.returns_over(stored_benchmark(wf_db, "sp500_equal"), aligned.index)
    )
    wait_for_stat(tab, "Beta (vs benchmark)", "Chosen", equal.beta)
    assert "S&P 500 (equal weight)" in compare_rows(tab)["Sharpe"]
    shot(tab, "task3-portfolio", SHOTS)
    tab.context.close()


def weights_grid(tab: Any, column: str) -> dict[str, float]:
    """One column of the optimised-weights grid, by ticker."""
    return {r["symbol"]: r[column] for r in grid_data(tab, "portfolio-weights-grid")}


def wait_for_weight(tab: Any, symbol: str, column: str, want: float, tolerance: float = 1e-6) -> None:
    tab.wait_for_function(
        f"(a => {{ let v = null; a && a.forEachNode(n => {{ if (n.data.symbol === {symbol!r}) v = n.data[{column!r}]; }});"
        f" return v !== null && Math.abs(v - {want}) < {tolerance}; }})(dash_ag_grid.getApi('portfolio-weights-grid'))"
    )


def test_portfolio_weight_cap_and_shorts_optimise_within_their_bounds(
    browser: Any, wf_url: str, wf_db: Database
) -> None:
    """Task 3 (caps and shorts): a 25 % cap on five holdings gives the capped optimum (bounded.optimize_all
    on the stored closes) and every weight under it; a cap too small for five holdings is named beside the
    cap field while the last analysis stays; a short without shorts allowed is named beside the holdings,
    and ticking the box optimises from -100 % to 100 %."""
    tab = tab_for(browser, wf_url, user="ann")
    tab.goto(wf_url + "/portfolio")
    tab.wait_for_selector("#portfolio-compare-grid .ag-row")
    act = Actions(tab)
    symbols = ["AAPL", "MSFT", "JNJ", "KO", "XOM"]
    tab.fill("#portfolio-holdings", " ".join(symbols))
    act.click("#portfolio-run")
    act.type_enter("#portfolio-cap", "25")
    url_has(tab, cap="25")
    aligned, _ = chosen(wf_db, dict.fromkeys(symbols, 0.2))
    capped = bounded.optimize_all(aligned, bounded.Bounds.of(cap=0.25), risk_free=RF, points=15)
    best = capped.portfolios["min_volatility"]
    assert isinstance(best, optimize.OptimizedPortfolio)
    top, weight = max(best.weights.items(), key=lambda item: item[1])
    wait_for_weight(tab, top, "min_volatility", weight, 1e-4)
    shown = weights_grid(tab, "min_volatility")
    for symbol in symbols:
        assert shown[symbol] == pytest.approx(best.weights[symbol], abs=1e-4), symbol
    assert max(shown.values()) <= 0.25 + 1e-6
    assert max(weights_grid(tab, "max_sharpe").values()) <= 0.25 + 1e-6
    assert "each weight from 0% to 25%" in tab.inner_text("#portfolio-window")
    assert act.count == 2
    act.type_enter("#portfolio-cap", "15")
    feedback = tab.wait_for_selector("#portfolio-cap-feedback .error-state").inner_text()
    assert "needs at least 7 holdings (5 given)" in feedback
    tab.wait_for_selector("#portfolio-cap.is-invalid")
    assert tab.locator("#portfolio-compare-grid .ag-row").count() > 0
    assert not tab.inner_text("#portfolio-holdings-feedback")
    tab.fill("#portfolio-cap", "100")
    tab.fill("#portfolio-holdings", "AAPL:-0.2, MSFT:0.6, JNJ:0.6")
    tab.click("#portfolio-run")
    tab.wait_for_selector("#portfolio-holdings-feedback:has-text('negative weight for AAPL')")
    assert not tab.inner_text("#portfolio-cap-feedback")
    act.click("#portfolio-shorts label")
    url_has(tab, shorts="shorts")
    aligned, _ = chosen(wf_db, {"AAPL": -0.2, "MSFT": 0.6, "JNJ": 0.6})
    free = bounded.optimize_all(aligned, bounded.Bounds.of(shorts=True), risk_free=RF, points=15)
    best = free.portfolios["min_volatility"]
    assert isinstance(best, optimize.OptimizedPortfolio)
    wait_for_weight(tab, "AAPL", "min_volatility", best.weights["AAPL"], 1e-4)
    wait_for_weight(tab, "AAPL", "chosen", -0.2)
    shown = weights_grid(tab, "min_volatility")
    for symbol in ("AAPL", "MSFT", "JNJ"):
        assert shown[symbol] == pytest.approx(best.weights[symbol], abs=1e-4), symbol
    shot(tab, "task3-portfolio-caps", SHOTS)
    tab.context.close()


def test_portfolio_custom_window_beside_the_fixed_ones_and_its_bad_ranges_named(
    browser: Any, wf_url: str, wf_db: Database
) -> None:
    """Task 3 (custom window): typing a from and a to date analyses exactly those days (the volatility
    equals `performance` on the stored closes between them) and puts them in the link; an end before the
    start and a start before the holdings' data are each named beside the dates, the last analysis stays;
    5Y is still one click away."""
    tab = tab_for(browser, wf_url, user="ann")
    tab.goto(wf_url + "/portfolio")
    tab.wait_for_selector("#portfolio-compare-grid .ag-row")
    act = Actions(tab)
    tab.fill("#portfolio-holdings", "AAPL\t50%\nKO\t50%")
    act.click("#portfolio-run")
    act.type_enter("#portfolio-from", "2018-01-02")
    act.type_enter("#portfolio-to", "2020-12-31")
    url_has(tab, window="Custom", **{"from": "2018-01-02", "to": "2020-12-31"})
    weights = {"AAPL": 0.5, "KO": 0.5}
    _, returns = chosen(wf_db, weights, start="2018-01-02", end="2020-12-31")
    want = portfolio.performance(returns, risk_free=RF).annualized_volatility
    wait_for_stat(tab, "Annualised volatility", "Chosen", want)
    assert "2018-01-02 to 2020-12-31" in tab.inner_text("#portfolio-window")
    assert act.count == 3
    tab.fill("#portfolio-to", "2017-06-30")
    tab.press("#portfolio-to", "Enter")
    feedback = tab.wait_for_selector("#portfolio-dates-feedback .error-state").inner_text()
    assert "end (2017-06-30) must be after its start (2018-01-02)" in feedback
    tab.wait_for_selector("#portfolio-to.is-invalid")
    assert tab.locator("#portfolio-compare-grid .ag-row").count() > 0
    assert not tab.inner_text("#portfolio-holdings-feedback")
    tab.fill("#portfolio-from", "2001-01-02")
    tab.press("#portfolio-from", "Enter")
    tab.fill("#portfolio-to", "2020-12-31")
    tab.press("#portfolio-to", "Enter")
    tab.wait_for_selector(
        '#portfolio-dates-feedback:has-text("from 2001-01-02 is before these holdings\' common prices begin")'
    )
    assert "2018-01-02 to 2020-12-31" in tab.inner_text("#portfolio-window")  # the last analysis stays
    act.click("#portfolio-window-choice label:has-text('5Y')")
    url_has(tab, window="5Y")
    _, returns = chosen(wf_db, weights, years=5)
    wait_for_stat(
        tab,
        "Annualised volatility",
        "Chosen",
        portfolio.performance(returns, risk_free=RF).annualized_volatility,
    )
    tab.wait_for_function("!document.querySelector('#portfolio-dates-feedback .error-state')")
    shot(tab, "task3-portfolio-window", SHOTS)
    tab.context.close()


# The page's parts at 800 px: each must sit inside the window and apart from every other (R5).
PARTS = (
    "#portfolio-holdings",
    "#portfolio-rf",
    "#portfolio-cap",
    "#portfolio-window-choice",
    "#portfolio-from",
    "#portfolio-to",
    "#portfolio-benchmark",
    "#portfolio-run",
    "#portfolio-compare-grid",
    "#portfolio-stats-grid",
    "#portfolio-growth-graph",
    "#portfolio-correlation-graph",
    "#portfolio-frontier-graph",
    "#portfolio-drawdown-graph",
    "#portfolio-weights-grid",
)
GRIDS = ("portfolio-compare-grid", "portfolio-stats-grid", "portfolio-weights-grid")


def boxes(tab: Any, selectors: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Each element's box in page coordinates (left, top, right, bottom)."""
    found: dict[str, dict[str, float]] = tab.evaluate(
        """sels => Object.fromEntries(sels.map(s => {
             const r = document.querySelector(s).getBoundingClientRect();
             return [s, {left: r.left + scrollX, top: r.top + scrollY, right: r.right + scrollX,
                         bottom: r.bottom + scrollY}];
           }))""",
        list(selectors),
    )
    return found


def clipped_cells(tab: Any, grid: str) -> list[str]:
    """The grid's cells whose text is cut off (wider than the cell) or that end outside the grid's box."""
    found: list[str] = tab.evaluate(
        """id => {
             const root = document.getElementById(id).getBoundingClientRect();
             return [...document.querySelectorAll('#' + id + ' .ag-cell, #' + id + ' .ag-header-cell-text')]
               .filter(c => c.scrollWidth > c.clientWidth + 1
                            || c.getBoundingClientRect().right > root.right + 1)
               .map(c => c.textContent.trim() || c.getAttribute('col-id'));
           }""",
        grid,
    )
    return found


def test_portfolio_at_800_px_nothing_overlaps_or_is_cut_off(browser: Any, wf_url: str) -> None:
    """R5: at 800 px every control, grid and chart of the page lies inside the window and overlaps no
    other, no page-wide horizontal scroll, no grid cell (statistic values: was "0.3", "9,55") is cut off,
    and the frontier's percent ticks are all different (was "11 %, 11 %, 12 %, 12 %")."""
    tab = tab_for(browser, wf_url, user="ann", width=800)
    tab.goto(wf_url + "/portfolio?holdings=AAPL:0.4,MSFT:0.3,JNJ:0.2,KO:0.1&window=5Y")
    for grid in GRIDS:
        tab.wait_for_selector(f"#{grid} .ag-row")
    plot(tab, "portfolio-frontier-graph", "d.length >= 3")
    tab.wait_for_timeout(300)  # grids size their columns after the data arrives
    shot(tab, "r5-portfolio-800px", SHOTS)
    assert tab.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    width = tab.evaluate("window.innerWidth")
    found = boxes(tab, PARTS)
    for name, box in found.items():
        assert box["left"] >= 0, (name, box)
        assert box["right"] <= width + 1, (name, box, width)
        assert box["right"] > box["left"], (name, box)
        assert box["bottom"] > box["top"], (name, box)
    names = list(found)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            p, q = found[a], found[b]
            apart = (
                p["right"] <= q["left"] + 1
                or q["right"] <= p["left"] + 1
                or p["bottom"] <= q["top"] + 1
                or q["bottom"] <= p["top"] + 1
            )
            assert apart, (a, p, b, q)
    for grid in GRIDS:
        assert clipped_cells(tab, grid) == [], (grid, clipped_cells(tab, grid))
    ticks = tab.eval_on_selector_all(
        "#portfolio-frontier-graph .ytick text", "els => els.map(e => e.textContent)"
    )
    assert len(ticks) >= 3, ticks
    assert len(set(ticks)) == len(ticks), ticks
    tab.context.close()
