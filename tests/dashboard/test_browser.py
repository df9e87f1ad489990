"""Real browser (system Chromium via Playwright): log in, open each page for a seeded ticker, use the controls."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit import seed
from tests.conftest import REPO_ROOT
from tests.dashboard.conftest import PASSWORD

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "artifacts" / "dashboard"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """The system Chromium, headless (ARGS), launched through Playwright; closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


# A deadline, not a speed target: a first cold page on a 2-core machine under load ~40 took over 30 s.
TIMEOUT_MS = 120_000


@contextlib.contextmanager
def logged_in_tab(base_url: str, username: str = "ada") -> Iterator[Any]:
    """A headless Chromium tab logged in as `username`, collecting Content-Security-Policy errors."""
    from playwright.sync_api import ConsoleMessage, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        csp_errors: list[str] = []
        tab.csp_errors = csp_errors  # type: ignore[attr-defined]  # read by the tests through the fixture

        def on_console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                csp_errors.append(message.text)

        tab.on("console", on_console)
        tab.goto(base_url + "/")
        assert "/login" in tab.url
        tab.fill("#username", username)
        tab.fill("#password", PASSWORD)
        tab.click("#login-submit")
        tab.wait_for_selector("#nav-company")
        yield tab
        browser.close()


@pytest.fixture(scope="module")
def page(base_url: str) -> Iterator[Any]:
    with logged_in_tab(base_url) as tab:
        yield tab


def shot(tab: Any, name: str, folder: Path = ARTIFACTS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(Path(folder, f"{name}.png")), full_page=True)


def traces(tab: Any, graph_id: str) -> list[dict[str, Any]]:
    tab.wait_for_function(
        f"document.querySelector('#{graph_id} .js-plotly-plot') && document.querySelector('#{graph_id} .js-plotly-plot').data && document.querySelector('#{graph_id} .js-plotly-plot').data.length > 0"
    )
    found: list[dict[str, Any]] = tab.evaluate(
        f"Array.from(document.querySelector('#{graph_id} .js-plotly-plot').data, t => ({{type: t.type, name: t.name, n: (t.x || t.z || []).length, y0: t.close ? t.close[0] : (t.y ? t.y[0] : null)}}))"
    )
    return found


def changed_row(tab: Any, grid_id: str, label: str, old: str, timeout_s: float = 30) -> str:
    """The row `label` once it shows something other than `old` (its callback has answered)."""
    deadline = time.monotonic() + timeout_s
    while True:
        current = rows(tab, grid_id).get(label)
        if current is not None and current != old:
            return current
        assert time.monotonic() < deadline, f"{grid_id} still shows {label} = {old!r}"
        time.sleep(0.1)


def rows(tab: Any, grid_id: str) -> dict[str, str]:
    """Each displayed row's text (pinned and scrolling parts joined, cells tab-separated), by first cell."""
    texts: list[str] = tab.evaluate(
        f"""() => {{
          const grid = document.querySelector('#{grid_id}');
          const out = {{}};
          grid.querySelectorAll('.ag-row[row-index]').forEach(row => {{
            const i = row.getAttribute('row-index');
            const cells = Array.from(row.querySelectorAll('.ag-cell'), c => c.innerText.trim());
            out[i] = (out[i] || []).concat(cells);
          }});
          return Object.keys(out).sort((a, b) => a - b).map(k => out[k].join('\\t'));
        }}"""
    )
    return {text.split("\t", 1)[0]: text for text in texts}


def fits(tab: Any, grid_id: str, rows: int) -> bool:
    """All `rows` rows are drawn and none hides behind an inner scrollbar."""
    tab.wait_for_selector(f"#{grid_id} .ag-row")
    return tab.evaluate(  # type: ignore[no-any-return]
        f"""() => {{
          const grid = document.querySelector('#{grid_id}');
          const body = grid.querySelector('.ag-body-viewport');
          const drawn = grid.querySelectorAll('.ag-center-cols-container .ag-row').length;
          return drawn === {rows} && body.scrollHeight <= body.clientHeight + 1;
        }}"""
    )


def type_in_open_dropdown(tab: Any, text: str) -> None:
    """Type into an opened Dash dropdown once the focus is in its menu: the menu moves the focus a frame
    after it opens (to its search box, or to the selected option's checkbox, which passes typed keys to
    the search), and keys typed before that reach the trigger button, whose space bar closes the menu
    again (8b4a997)."""
    tab.wait_for_function(
        "document.activeElement && document.activeElement.closest('.dash-dropdown-content') !== null"
    )
    tab.keyboard.type(text)


def choose(tab: Any, dropdown_id: str, text: str) -> None:
    """Open a Dash 4 dropdown, search, click the first matching option."""
    tab.click(f"#{dropdown_id} .dash-dropdown-trigger")
    tab.fill(".dash-dropdown-search", text)
    tab.click(f".dash-dropdown-option:has-text('{text}')")
    tab.keyboard.press("Escape")


def test_browser_company_page(page: Any, base_url: str) -> None:
    """Company: candles + volume drawn, ticker search, adjusted toggle changes prices, statements table, freshness."""
    page.goto(base_url + "/?symbol=AAPL")
    first = traces(page, "company-price-graph")
    assert [t["type"] for t in first] == ["candlestick", "scatter", "bar"]
    choose(page, "company-symbol", "MSFT")
    page.wait_for_function(
        "document.querySelector('#company-profile-symbol') && document.querySelector('#company-profile-symbol').innerText === 'MSFT'"
    )
    page.wait_for_function(
        "document.querySelector('#company-price-graph .js-plotly-plot').layout.meta.summary.startsWith('MSFT')"
    )
    adjusted_first = traces(page, "company-price-graph")[0]["y0"]
    page.click("label[for='_dbcprivate_radioitems_company-adjusted_input_raw']")
    page.wait_for_function(
        "document.querySelector('#company-price-graph .js-plotly-plot').layout.meta.summary.includes('traded')"
    )
    raw_first = traces(page, "company-price-graph")[0]["y0"]
    assert raw_first > adjusted_first
    # Oscillator panel: tick RSI and MFI; each draws on its own axis, values in their 0-100 range.
    page.click("label:has-text('RSI 14')")
    page.click("label:has-text('MFI 14')")
    page.wait_for_function(
        "Array.from(document.querySelector('#company-price-graph .js-plotly-plot').data, t => t.name)"
        ".includes('MFI 14')"
    )
    panels = page.evaluate(
        """() => {
          const plot = document.querySelector('#company-price-graph .js-plotly-plot');
          const pick = name => plot.data.find(t => t.name === name);
          const values = t => t.y.filter(v => v !== null);
          return {
            rsi: values(pick('RSI 14')), mfi: values(pick('MFI 14')),
            axes: [pick('RSI 14').yaxis, pick('MFI 14').yaxis, pick('price').xaxis, pick('RSI 14').xaxis],
            rsiTitle: plot.layout.yaxis3.title.text,
          };
        }"""
    )
    assert panels["axes"] == ["y3", "y4", "x", "x"]
    assert panels["rsiTitle"] == "RSI (0-100)"
    assert len(panels["rsi"]) > 200
    assert all(0 <= v <= 100 for v in panels["rsi"] + panels["mfi"])
    assert 20 < sum(panels["rsi"]) / len(panels["rsi"]) < 80  # a random walk's RSI centres near 50
    page.wait_for_selector("#company-statement-grid .ag-row")
    statement = rows(page, "company-statement-grid")
    assert re.match(r"Revenue\tUSD m\t\d{1,3}(,\d{3})*\.\d\t", statement["Revenue"]), statement
    assert re.match(r"EPS \(diluted\)\tUSD\t\d+\.\d\d\t", statement["EPS (diluted)"])
    page.wait_for_selector("#company-freshness-grid .ag-row")
    assert "prices" in page.inner_text("#company-freshness-grid")
    shot(page, "company")
    # As of 2024-03-31 (AAPL): FY2024 not yet filed, FY2023 revenue as filed and marked restated.
    before = statement["Revenue"]
    choose(page, "company-symbol", "AAPL")
    page.wait_for_function("document.querySelector('#company-profile-symbol').innerText === 'AAPL'")
    page.wait_for_function("document.querySelector('#company-asof-text').innerText.startsWith('Latest')")
    latest = changed_row(page, "company-statement-grid", "Revenue", before)
    page.fill("#company-asof", "2024-03-31")
    page.press("#company-asof", "Enter")
    page.wait_for_function(
        "document.querySelector('#company-asof-text').innerText.startsWith('As of 2024-03-31')"
    )
    page.wait_for_selector("#company-statement-grid .ag-row")
    headers = page.inner_text("#company-statement-grid .ag-header")
    assert "2023-12-31 (restated)" in headers
    assert "2024-12-31" not in headers
    then = rows(page, "company-statement-grid")["Revenue"]
    # The FY2023 cell (oldest to newest): the last period column as of 2024-03-31, the one before it in
    # the latest view.
    filed = float(then.split("\t")[-1].replace(",", ""))
    restated = float(latest.split("\t")[-2].replace(",", ""))
    assert restated == pytest.approx(filed * 1.02, rel=1e-3)  # the seeded 2 % restatement, as displayed
    shot(page, "company-as-of")
    assert page.csp_errors == []


def test_browser_valuation_and_forecast(page: Any, base_url: str) -> None:
    """Valuation shows a numeric value per share that moves with terminal growth; Forecast shows intervals and MAPE."""
    page.goto(base_url + "/valuation?symbol=KO")
    # A number, read in the same check: Dash empties the element while a callback runs.
    before = page.wait_for_function(
        "(v => !isNaN(v) ? v : null)"
        "(parseFloat((document.querySelector('#valuation-per-share') || {innerText: ''}).innerText.replace(/,/g, '')))"
    ).json_value()
    page.fill("#valuation-terminal", "3.5")
    page.press("#valuation-terminal", "Enter")
    # Dash empties the element while the callback runs, and fill + Enter can run it twice: wait for a
    # number, and a different one, and take it from that same check (a second read may find it empty).
    after = page.wait_for_function(
        f"(v => !isNaN(v) && v !== {before} ? v : null)"
        "(parseFloat(document.querySelector('#valuation-per-share').innerText.replace(/,/g, '')))"
    ).json_value()
    assert float(after) > before
    assert traces(page, "valuation-grid-graph")[0]["type"] == "heatmap"
    assert fits(page, "valuation-projection-grid", 5)
    page.wait_for_selector("#valuation-multiples-grid .ag-row")
    multiples = rows(page, "valuation-multiples-grid")
    assert re.fullmatch(r"P/E\t\d+\.\dx\t\d+\.\dx\t\d+\t[+-]\d+\.\d%", multiples["P/E"]), multiples
    shot(page, "valuation")
    # Mid-year beside end-year: flows half a year sooner are worth more.
    end_year = float(page.inner_text("#valuation-per-share").replace(",", ""))
    assert float(page.inner_text("#valuation-per-share-mid").replace(",", "")) > end_year
    # As of 2024-03-31: the close then (seeded KO prices) and the statements known then.
    page.fill("#valuation-asof", "2024-03-31")
    page.press("#valuation-asof", "Enter")
    page.wait_for_function(
        "document.querySelector('#valuation-base-year') &&"
        " document.querySelector('#valuation-base-year').innerText.includes('known on 2024-03-31')"
    )
    closes = {r[1].isoformat(): r[5] for r in seed.price_rows("KO", seed.SYMBOLS.index("KO") + 1)}
    close_then = closes[max(d for d in closes if d <= "2024-03-31")]
    assert f"Last close USD {close_then:,.2f}" in page.inner_text("#valuation-summary")
    page.goto(base_url + "/forecast?symbol=PG")
    names = [t["name"] for t in traces(page, "forecast-graph")]
    assert names == ["history", "95% interval", "80% interval", "forecast"]
    assert re.match(r"MAPE \d+\.\d%", page.inner_text("#forecast-mape"))
    shot(page, "forecast")


def test_browser_compare_portfolio_screener_status(page: Any, base_url: str) -> None:
    """Compare draws one line per ticker; Portfolio fills its statistics; Screener counts; Status lists nodes."""
    page.goto(base_url + "/compare?symbols=AAPL,XOM,JPM")
    assert [t["name"] for t in traces(page, "compare-price-graph")] == ["AAPL", "XOM", "JPM"]
    shot(page, "compare")
    page.goto(base_url + "/portfolio")
    page.wait_for_selector("#portfolio-stats-grid .ag-row")
    stats = rows(page, "portfolio-stats-grid")
    assert re.fullmatch(r"Sharpe\t-?\d+\.\d\d", stats["Sharpe"]), stats
    assert re.fullmatch(r"Annualised return\t-?\d+\.\d%", stats["Annualised return"])
    assert re.fullmatch(r"Max drawdown\t-\d+\.\d%", stats["Max drawdown"])
    assert fits(page, "portfolio-stats-grid", 10)
    assert traces(page, "portfolio-correlation-graph")[0]["type"] == "heatmap"
    shot(page, "portfolio")
    page.goto(base_url + "/screener")
    page.wait_for_function(
        "document.querySelector('#screener-count') && document.querySelector('#screener-count').innerText === '8 companies'"
    )
    choose(page, "screener-sectors", "Energy")
    page.wait_for_function("document.querySelector('#screener-count').innerText === '1 company'")
    shot(page, "screener")
    page.goto(base_url + "/status")
    page.wait_for_selector("#status-nodes-grid .ag-row")
    assert "replica1" in page.inner_text("#status-nodes-grid")
    shot(page, "status")
    assert page.csp_errors == []


def test_browser_csrf_and_post_logout(page: Any, base_url: str) -> None:
    """In the browser, a callback POST without the session's token (XHR, outside Dash's patched fetch)
    is refused; the account menu's Log out button posts its form and the session ends. Runs last here."""
    page.goto(base_url + "/compare")
    page.wait_for_selector("#nav-logout", state="attached")
    status = page.evaluate(
        """() => new Promise((done) => {
            const xhr = new XMLHttpRequest();
            xhr.open("POST", "/_dash-update-component");
            xhr.setRequestHeader("Content-Type", "application/json");
            xhr.onload = () => done(xhr.status);
            xhr.send("{}");
        })"""
    )
    assert status == 403
    page.click("#nav-user")  # the account menu
    page.click("#nav-logout")
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(base_url + "/compare")
    assert "/login" in page.url
