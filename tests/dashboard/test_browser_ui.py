"""Every view a link, the keyboard picker, narrow windows and the axe-core audit, in a real browser.

Its own database: the seeded companies plus short tickers that substring matches bury (V, T, MA among
ABBV, TXN, TGT), a company without data (GOOG, a profile and nothing else), and enough more companies
(MORE) that the Screener's grid has more rows than fit its height.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from devkit import seed
from tests.conftest import REPO_ROOT, Cluster, Database, throwaway_database, wait_for_replica
from tests.dashboard.conftest import PASSWORD, app_at
from tests.dashboard.test_browser import chromium, rows, shot, traces, type_in_open_dropdown

pytestmark = pytest.mark.e2e
SHOTS = REPO_ROOT / "artifacts" / "ui"
AXE = REPO_ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
EXTRA = ("V", "T", "MA", "ABBV", "TXN", "TGT")
# No Energy company (a test expects XOM alone there) and no other Alphabet class (GOOG is looked up).
MORE = (
    "AMZN",
    "META",
    "AVGO",
    "MRK",
    "PFE",
    "WMT",
    "HD",
    "BAC",
    "COST",
    "PEP",
    "ORCL",
    "CSCO",
    "ADBE",
    "CRM",
)
PAGES = (
    "/",
    "/valuation",
    "/forecast",
    "/compare",
    "/portfolio",
    "/screener",
    "/history",
    "/status",
    "/no-such-page",
)
WIDTHS = (1440, 1280, 800)
# Patience, not a speed check: a fresh context loads Dash's bundles, slow on a shared 2-core machine.
TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def ui_db(pg_cluster: Cluster) -> Iterator[Database]:
    with throwaway_database(pg_cluster, "ui") as db:
        seed.seed(db.owner_url, seed.SYMBOLS + EXTRA + MORE)
        with psycopg.connect(db.owner_url) as conn:
            conn.execute(
                "INSERT INTO companies (symbol, name, sector, sub_industry, in_index)"
                " VALUES ('GOOG', 'Alphabet Inc. (Class C)', 'Communication Services', 'Interactive Media', true)"
            )
        for user, role in (("ada", "admin"), ("ann", "analyst")):
            seed.add_user(db.owner_url, user, PASSWORD, role)
        wait_for_replica(pg_cluster)
        yield db


@pytest.fixture(scope="module")
def ui_url(ui_db: Database) -> Iterator[str]:
    with app_at(ui_db) as url:
        yield url


@pytest.fixture(scope="module")
def browser(ui_url: str) -> Iterator[Any]:
    """Chromium, started after the database is seeded (the seed runs its own event loop)."""
    with chromium() as launched:
        yield launched


def tab_for(browser: Any, base_url: str, user: str = "ada", width: int = 1440, **options: Any) -> Any:
    """A new browser context (its own cookies and session storage) logged in as `user`."""
    context = browser.new_context(viewport={"width": width, "height": 1000}, **options)
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(base_url + "/login")
    tab.fill("#username", user)
    tab.fill("#password", PASSWORD)
    tab.click("#login-submit")
    tab.wait_for_selector("#nav-company", state="attached")  # folded away on narrow windows
    return tab


def settled(tab: Any, graph: str | None = "company-price-graph") -> None:
    """The page's first answers arrived: `graph` drew (and on Company its header and statements), or,
    without a graph, the network has been quiet for half a second (Dash's callbacks are fetches)."""
    if graph is None:
        tab.wait_for_load_state("networkidle")
    if graph:
        traces(tab, graph)
    if graph == "company-price-graph":
        tab.wait_for_selector("#company-last-close")
        tab.wait_for_selector("#company-statement-grid .ag-row")


def url_has(tab: Any, **params: str) -> None:
    """Wait until the address bar's query holds these parameters (written as the controls change)."""
    checks = " && ".join(f"q.get({k!r}) === {v!r}" for k, v in params.items())
    tab.wait_for_function(f"(q => {checks})(new URLSearchParams(window.location.search))")


def per_share(tab: Any, unlike: str = "") -> str:
    """The Valuation page's value per share once shown (Dash empties it while its callback runs)."""
    return tab.wait_for_function(  # type: ignore[no-any-return]
        f"""(e => e && /^[0-9,.]+$/.test(e.innerText) && e.innerText !== {unlike!r} ? e.innerText : null)
        (document.querySelector('#valuation-per-share'))"""
    ).json_value()


def price_numbers(tab: Any) -> dict[str, Any]:
    """What the price chart shows: its summary, axis type, trace names, bar count and last close."""
    return tab.evaluate(  # type: ignore[no-any-return]
        """() => {
          const plot = document.querySelector('#company-price-graph .js-plotly-plot');
          const candles = plot.data[0];
          return {summary: plot.layout.meta.summary, scale: plot.layout.yaxis.type,
                  names: plot.data.map(t => t.name), bars: candles.x.length,
                  last: candles.close[candles.close.length - 1],
                  header: document.querySelector('#company-last-close').innerText};
        }"""
    )


def test_company_view_survives_a_reload_and_opens_the_same_in_another_browser(
    browser: Any, ui_url: str
) -> None:
    """Controls set by clicking go into the address; a reload and a second browser show the same numbers."""
    tab = tab_for(browser, ui_url)
    tab.goto(ui_url + "/?symbol=MSFT")
    settled(tab)
    tab.click("label:has-text('MAX')")
    tab.click("#company-scale label:has-text('Log')")
    tab.click("label:has-text('RSI 14')")
    tab.click("#company-period label:has-text('Quarterly')")
    url_has(tab, symbol="MSFT", range="MAX", scale="log", osc="rsi", period="Q")
    tab.wait_for_function(
        "document.querySelector('#company-price-graph .js-plotly-plot').layout.yaxis.type === 'log'"
    )
    settled(tab)
    tab.wait_for_selector("#company-statement-grid .ag-row")
    before, statement = price_numbers(tab), rows(tab, "company-statement-grid")
    assert before["scale"] == "log"
    assert "RSI 14" in before["names"]
    assert before["bars"] < 800  # 12 years as weekly bars, not ~3,000 daily candles
    link = tab.url
    tab.reload()
    settled(tab)
    tab.wait_for_selector("#company-statement-grid .ag-row")
    assert price_numbers(tab) == before
    assert rows(tab, "company-statement-grid") == statement
    assert tab.is_checked("#company-range input[value='MAX']")
    other = tab_for(browser, ui_url, user="ann")  # a colleague opening the copied link
    other.goto(link)
    settled(other)
    other.wait_for_selector("#company-statement-grid .ag-row")
    assert price_numbers(other) == before
    assert rows(other, "company-statement-grid") == statement
    # The navbar carries the ticker: Valuation opens on MSFT, and its own inputs go into its link.
    tab.click("#nav-valuation")
    tab.wait_for_selector("#valuation-per-share")
    url_has(tab, symbol="MSFT")
    assert "MSFT" in tab.inner_text("#valuation-summary")
    first = per_share(tab)
    tab.fill("#valuation-terminal", "3.5")
    tab.press("#valuation-terminal", "Enter")
    url_has(tab, symbol="MSFT", terminal="3.5")
    value = per_share(tab, unlike=first)
    other.goto(tab.url)
    assert per_share(other) == value
    assert other.input_value("#valuation-terminal") == "3.5"
    shot(other, "valuation-from-link", SHOTS)
    other.context.close()
    tab.context.close()


def test_only_the_last_close_opens_its_provenance_by_mouse_or_keyboard(browser: Any, ui_url: str) -> None:
    """A click on the price header's date opens nothing; Enter on the focused close opens its card (one
    request, sent by the close: a wider target would have sent one for the date's click too); after a
    reload a click on the close opens it again."""
    tab = tab_for(browser, ui_url)
    tab.goto(ui_url + "/?symbol=MSFT")
    settled(tab)
    asked: list[list[str]] = []

    def record(request: Any) -> None:
        body = request.post_data_json if "/_dash-update-component" in request.url else None
        if body and body.get("output") == "company-price-provenance.children" and body["changedPropIds"]:
            asked.append(body["changedPropIds"])

    tab.on("request", record)
    tab.click("#company-price-header span.text-muted")  # "close of YYYY-MM-DD (traded)"
    tab.focus("#company-last-close")
    tab.keyboard.press("Enter")
    card = tab.wait_for_selector("#company-price-provenance-card")
    assert "MSFT's close of" in card.inner_text()
    assert asked == [["company-last-close.n_clicks"]]
    tab.reload()
    settled(tab)
    assert tab.query_selector("#company-price-provenance-card") is None
    tab.click("#company-last-close")
    tab.wait_for_selector("#company-price-provenance-card")
    tab.context.close()


def test_screener_compare_and_portfolio_links_restore_their_controls(browser: Any, ui_url: str) -> None:
    """The Screener's filters, Compare's tickers and the Portfolio's holdings come back from the address."""
    tab = tab_for(browser, ui_url)
    tab.goto(ui_url + "/screener?sectors=Energy&where=pe%20%3E%3D%200&rank=pe&order=asc")
    tab.wait_for_function(
        "(e => e && e.innerText === '1 company')(document.querySelector('#screener-count'))"
    )
    tab.reload()
    tab.wait_for_function(
        "(e => e && e.innerText === '1 company')(document.querySelector('#screener-count'))"
    )
    url_has(tab, sectors="Energy", where="pe >= 0", rank="pe", order="asc")
    tab.goto(ui_url + "/compare?symbols=KO,PG&span=10Y")
    assert [t["name"] for t in traces(tab, "compare-price-graph")] == ["KO", "PG"]
    tab.click("#compare-span label:has-text('1Y')")
    url_has(tab, symbols="KO,PG", span="1Y")
    tab.goto(ui_url + "/portfolio?holdings=KO:0.5,PG:0.5&rf=3")
    tab.wait_for_selector("#portfolio-stats-grid .ag-row")
    assert tab.input_value("#portfolio-holdings") == "KO:0.5,PG:0.5"
    assert tab.input_value("#portfolio-rf") == "3"
    tab.context.close()


def test_bad_links_say_what_they_ignored(browser: Any, ui_url: str) -> None:
    """An unknown ticker or parameter is named on the page instead of being dropped silently."""
    tab = tab_for(browser, ui_url)
    tab.goto(ui_url + "/?symbol=ZZZZ&range=2Y&colour=red")
    notes = tab.wait_for_selector("#page-link-notes").inner_text()
    assert "ZZZZ is not a company we hold" in notes
    assert "'2Y' is not one of" in notes
    assert "'colour'" in notes
    settled(tab)
    assert tab.is_checked("#company-range input[value='5Y']")
    tab.goto(ui_url + "/compare?symbols=AAPL,ZZZZ,msft")
    notes = tab.wait_for_selector("#page-link-notes").inner_text()
    assert "ZZZZ is not a company we hold" in notes
    assert [t["name"] for t in traces(tab, "compare-price-graph")] == ["AAPL", "MSFT"]
    tab.context.close()


def pick_by_keyboard(tab: Any, text: str, *, open_with: str | None = None) -> list[str]:
    """Tab to the ticker picker, (open it with a key,) type `text`, read the ranked options, press Enter."""
    tab.goto(tab.url)  # focus starts at the top of the page
    settled(tab)
    for _ in range(40):
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement && document.activeElement.id") == "company-symbol":
            break
    else:
        pytest.fail("Tab never reached the ticker picker")
    if open_with:
        tab.keyboard.press(open_with)
        type_in_open_dropdown(tab, text)
    else:  # typed on the closed picker, which opens on the first key and passes it to its search
        tab.keyboard.type(text)
    tab.wait_for_function(
        f"(o => o && o.innerText.startsWith({text + ' · '!r}))(document.querySelector('.dash-dropdown-option'))"
    )
    shown: list[str] = tab.eval_on_selector_all(".dash-dropdown-option", "os => os.map(o => o.innerText)")
    tab.keyboard.press("Enter")
    tab.wait_for_function(f"document.querySelector('#company-profile-symbol').innerText === {text!r}")
    return shown


def test_picker_by_keyboard_alone_ranks_exact_tickers_first(browser: Any, ui_url: str) -> None:
    """Tab, type and Enter pick MSFT, V and T: the exact ticker first, then tickers starting with the text."""
    tab = tab_for(browser, ui_url)
    tab.goto(ui_url + "/")
    settled(tab)
    assert tab.inner_text("#company-profile-symbol")  # opens on a company with data, no link needed
    pick_by_keyboard(tab, "MSFT")
    url_has(tab, symbol="MSFT")
    shown = pick_by_keyboard(tab, "V")
    assert shown[0].startswith("V · ")
    shown = pick_by_keyboard(tab, "T", open_with="Enter")  # opened first: typing still reaches the search
    assert [s.split(" · ")[0] for s in shown[:3]] == ["T", "TGT", "TXN"]
    url_has(tab, symbol="T")
    # Companies without data are marked in the list.
    tab.click("#company-symbol")
    type_in_open_dropdown(tab, "GOOG")
    tab.wait_for_function(
        "(o => o && o.innerText.includes('(no data)'))(document.querySelector('.dash-dropdown-option'))"
    )
    tab.keyboard.press("Escape")
    tab.context.close()


def test_pages_at_1440_1280_and_800_px(browser: Any, ui_url: str) -> None:
    """Every page fits the window's width (no page-wide horizontal scroll); below 992 px the navbar folds
    behind a toggler that opens it. Screenshots of each page at each width go to artifacts/ui/."""
    for width in WIDTHS:
        tab = tab_for(browser, ui_url, width=width)
        for path in PAGES:
            tab.goto(ui_url + path + ("?symbol=AAPL" if path in ("/", "/valuation", "/forecast") else ""))
            tab.wait_for_selector("h1")
            settled(tab, None)
            tab.wait_for_timeout(300)  # grids size their columns after the data arrives
            overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (path, width, overflow)
            name = re.sub(r"[^a-z0-9]+", "-", path.strip("/")) or "company"
            shot(tab, f"{width}px-{name}", SHOTS)
        if width < 992:
            assert not tab.is_visible("#nav-valuation")
            tab.click("#nav-toggler")
            tab.wait_for_selector("#nav-valuation", state="visible")
        tab.context.close()


def axe_violations(tab: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands (WCAG 2.x A/AA rules)."""
    tab.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = tab.evaluate(
        """async () => {
          const result = await axe.run(document, {resultTypes: ['violations']});
          return result.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return found


@pytest.mark.parametrize("width", [1440, 800])
def test_axe_audit_finds_no_serious_violation_on_any_page(browser: Any, ui_url: str, width: int) -> None:
    """axe-core (npm, tests/browser) on every page, the login page included, with its data drawn: no
    serious or critical violation; each page has one h1, a main landmark, lang and a skip link first."""
    assert AXE.is_file(), "run scripts/bootstrap: it installs axe-core from tests/browser/package-lock.json"
    # axe is injected as an inline script, which the dashboard's CSP refuses: this context ignores CSP.
    context = browser.new_context(viewport={"width": width, "height": 1000}, bypass_csp=True)
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(ui_url + "/login")
    assert axe_violations(tab) == [], "login"
    tab.fill("#username", "ada")
    tab.fill("#password", PASSWORD)
    tab.click("#login-submit")
    tab.wait_for_selector("#nav-company", state="attached")
    problems = {}
    for path in PAGES:
        tab.goto(ui_url + path)
        tab.wait_for_selector("h1")
        settled(tab, None)
        tab.wait_for_timeout(300)
        found = axe_violations(tab)
        if found:
            problems[path] = found
        assert tab.evaluate("document.querySelectorAll('h1').length") == 1, path
        assert tab.evaluate("document.documentElement.lang") == "en"
        assert tab.evaluate("document.querySelectorAll('main').length") == 1
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.innerText") == "Skip to the page's content"
    assert problems == {}
    context.close()


def test_error_shows_one_message_and_no_csv(browser: Any, ui_url: str) -> None:
    """A portfolio that cannot be read says so once, and its CSV buttons are not offered."""
    tab = tab_for(browser, ui_url)
    tab.goto(ui_url + "/portfolio?holdings=AAPL")
    tab.wait_for_selector(".error-state")
    settled(tab, None)
    assert tab.locator(".error-state").count() == 1
    assert tab.locator("a[id^='portfolio-export-']:visible").count() == 0
    tab.context.close()


def test_unknown_address_offers_the_way_back(browser: Any, ui_url: str) -> None:
    """A path no page serves shows a page-not-found page with a link home."""
    tab = tab_for(browser, ui_url)
    tab.goto(ui_url + "/no-such-page")
    assert tab.inner_text("h1") == "Page not found"
    tab.click("#not_found_404-home")
    tab.wait_for_selector("#company-symbol")
    tab.context.close()


def test_derived_figures_define_themselves_on_hover(browser: Any, ui_url: str) -> None:
    """A ratio row, a metric column's header and a term in the Valuation summary show their glossary
    definition when the pointer rests on them."""
    from dashboard.components import glossary

    tab = tab_for(browser, ui_url)
    tab.goto(ui_url + "/?symbol=AAPL")
    settled(tab)
    tab.locator("#company-ratio-grid .ag-cell", has_text=re.compile(r"^Tax burden$")).hover()
    tip = tab.wait_for_selector(".ag-tooltip")
    assert tip.inner_text() == glossary.define("tax_burden")

    tab.goto(ui_url + "/screener")
    tab.wait_for_selector("#screener-grid .ag-row")
    tab.locator("#screener-grid .ag-header-cell[col-id='roe']").hover()
    tip = tab.wait_for_selector(".ag-tooltip")
    assert tip.inner_text() == glossary.define("roe")

    tab.goto(ui_url + "/valuation?symbol=AAPL")
    per_share(tab)
    assert tab.get_attribute("#valuation-wacc abbr", "title") == glossary.define("wacc")
    tab.context.close()


def test_screener_grid_shows_about_twenty_rows_then_scrolls(browser: Any, ui_url: str) -> None:
    """S6: with more companies than fit, the Screener's grid shows about 20 rows in view at 1440 px and
    scrolls for the rest (it showed 16 with the theme's 42 px rows)."""
    tab = tab_for(browser, ui_url)
    tab.goto(ui_url + "/screener")
    tab.wait_for_function(
        "(e => e && /^\\d+ companies$/.test(e.innerText))(document.querySelector('#screener-count'))"
    )
    tab.wait_for_selector("#screener-grid .ag-row")
    count = int(tab.inner_text("#screener-count").split()[0])
    view = tab.evaluate(
        """(() => {
        const body = document.querySelector('#screener-grid .ag-body-viewport');
        const box = body.getBoundingClientRect();
        const rows = [...document.querySelectorAll('#screener-grid .ag-center-cols-container .ag-row')];
        const seen = rows.filter(r => { const b = r.getBoundingClientRect();
                                        return b.top >= box.top - 1 && b.bottom <= box.bottom + 1; });
        return {inView: seen.length, scrolls: body.scrollHeight > body.clientHeight + 1};
        })()"""
    )
    assert count > 25, count  # more than fit, so the height (not the row count) decides
    assert 18 <= view["inView"] <= 22, view
    assert view["scrolls"], view
    tab.context.close()
