"""The Company and Portfolio pages' consoles, Compare's opening companies and the navbar's fit, in a real browser.

Its own database: the seeded companies plus Alphabet's two share classes (GOOGL and GOOG, one CIK),
given the two largest market caps, so a default "largest companies" pick meets one company twice, and
TSLA, a company without data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from devkit import seed
from tests.conftest import REPO_ROOT, Cluster, Database, throwaway_database, wait_for_replica
from tests.dashboard.conftest import PASSWORD, app_at
from tests.dashboard.test_browser import chromium, shot, traces
from tests.dashboard.test_browser_ui import settled, tab_for

pytestmark = pytest.mark.e2e
SHOTS = REPO_ROOT / "artifacts" / "shell"
ALPHABET = ("GOOGL", "GOOG")


@pytest.fixture(scope="module")
def shell_db(pg_cluster: Cluster) -> Iterator[Database]:
    with throwaway_database(pg_cluster, "shell") as db:
        seed.seed(db.owner_url, seed.SYMBOLS + ALPHABET)
        with psycopg.connect(db.owner_url) as conn:
            # Only AAPL's seeded profile has a market cap: the share classes get larger ones.
            conn.execute(
                "UPDATE companies SET profile = jsonb_set(profile, '{marketCap}', to_jsonb(%s::float8))"
                " WHERE symbol = ANY(%s)",
                (1e14, list(ALPHABET)),
            )
            conn.execute(  # a company with a profile and nothing else
                "INSERT INTO companies (symbol, name, sector, sub_industry)"
                " VALUES ('TSLA', 'Tesla, Inc.', 'Consumer Discretionary', 'Automobile Manufacturers')"
            )
        seed.add_user(db.owner_url, "ada", PASSWORD, "admin")
        wait_for_replica(pg_cluster)
        yield db


@pytest.fixture(scope="module")
def shell_url(shell_db: Database) -> Iterator[str]:
    with app_at(shell_db) as url:
        yield url


@pytest.fixture(scope="module")
def browser(shell_url: str) -> Iterator[Any]:
    """Chromium, started after the database is seeded (the seed runs its own event loop)."""
    with chromium() as launched:
        yield launched


def console_errors(tab: Any) -> list[str]:
    """The tab's console errors and uncaught exceptions from now on (the list fills as they come)."""
    found: list[str] = []
    tab.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: found.append(f"uncaught: {e}"))
    return found


def quiet(tab: Any) -> None:
    """Every callback answered: the network idle (Dash's callbacks are fetches) and no spinner left."""
    tab.wait_for_load_state("networkidle")
    tab.wait_for_function("!document.querySelector('.dash-spinner, [data-dash-is-loading=\"true\"]')")


def test_company_page_logs_no_error_and_a_click_on_a_figure_still_opens_its_trail(
    browser: Any, shell_url: str
) -> None:
    """No console error when the Company page loads, when the statement is switched (the grid is built
    anew) and for a company without statements; a click on a figure opens its provenance card, and another
    choice closes it."""
    tab = tab_for(browser, shell_url, width=1280)
    tab.set_viewport_size({"width": 1280, "height": 800})
    errors = console_errors(tab)
    tab.goto(shell_url + "/?symbol=AAPL")
    settled(tab)
    quiet(tab)
    shot(tab, "company-1280px", SHOTS)
    assert errors == [], errors
    for kind in ("Balance sheet", "Cash flow", "Income"):
        tab.click(f"#company-kind label:has-text('{kind}')")
        tab.wait_for_function(
            f"(e => e && e.textContent.includes({kind!r}))"
            "(document.querySelector('#company-statement-graph .gtitle'))"
        )
        tab.wait_for_selector("#company-statement-grid .ag-row")
        quiet(tab)
        assert errors == [], (kind, errors)
    revenue = tab.locator("#company-statement-grid .ag-row[row-id='revenue'] .ag-cell[col-id^='20']").last
    revenue.click()
    card = tab.wait_for_selector("#company-provenance-card").inner_text()
    assert "Figures:" in card, card
    assert "Filed:" in card, card
    tab.click("#company-period label:has-text('Quarterly')")
    tab.wait_for_selector("#company-provenance-card", state="detached")
    quiet(tab)
    assert errors == [], errors
    tab.goto(shell_url + "/?symbol=TSLA")  # a message where the statement would be
    tab.wait_for_selector("#company-statement-empty")
    quiet(tab)
    assert errors == [], errors
    tab.context.close()


def test_portfolio_page_logs_no_error_and_a_click_on_a_holding_opens_its_trail(
    browser: Any, shell_url: str
) -> None:
    """No console error when the Portfolio page loads (its provenance callback reads the weights grid's
    clicks before the first answer builds the grid); a click on a holding still opens its card."""
    tab = tab_for(browser, shell_url)
    errors = console_errors(tab)
    tab.goto(shell_url + "/portfolio")
    tab.wait_for_selector("#portfolio-weights-grid .ag-row[row-id='AAPL']")
    quiet(tab)
    assert errors == [], errors
    tab.click("#portfolio-weights-grid .ag-row[row-id='AAPL'] .ag-cell[col-id='chosen']")
    assert "AAPL" in tab.wait_for_selector("#portfolio-provenance-card").inner_text()
    assert errors == [], errors
    tab.context.close()


def test_compare_opens_on_distinct_companies(browser: Any, shell_url: str) -> None:
    """Compare opens on the largest companies, one share class each (GOOGL or GOOG, not both), then
    AAPL (the only other known cap), then the next company listed that is not a share class again."""
    tab = tab_for(browser, shell_url)
    tab.goto(shell_url + "/compare")
    names = [t["name"] for t in traces(tab, "compare-price-graph")]
    assert names[0] in ALPHABET, names
    assert names[1:] == ["AAPL", "JNJ"], names  # by cap, then alphabetically among those without one
    tab.context.close()


NAV_BOXES = """() => {
  const box = e => { const r = e.getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; };
  const links = Array.from(document.querySelectorAll('#nav-pages .nav-link'), a => {
    const s = getComputedStyle(a);
    const pad = parseFloat(s.paddingTop) + parseFloat(s.paddingBottom);
    return {text: a.innerText, ...box(a), lines: Math.round((a.getBoundingClientRect().height - pad) / parseFloat(s.lineHeight))};
  });
  const bar = document.querySelector('header nav');
  const items = Array.from(bar.querySelectorAll('.navbar-brand, #nav-pages .nav-link, #nav-as-of, #nav-user-menu'))
    .filter(e => e.getBoundingClientRect().width > 0).map(e => ({text: e.innerText, ...box(e)}));
  return {links, items, bar: box(bar), width: window.innerWidth};
}"""


def overlapping(boxes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (a["text"], b["text"])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a["x"] < b["x"] + b["w"] - 0.5
        and b["x"] < a["x"] + a["w"] - 0.5
        and a["y"] < b["y"] + b["h"] - 0.5
        and b["y"] < a["y"] + a["h"] - 0.5
    ]


@pytest.mark.parametrize("width", [1280, 1024])
def test_navbar_fits_one_line(browser: Any, shell_url: str, width: int) -> None:
    """At 1280 x 800 and 1024 x 768 every navbar link is one line of text, all in one row with the brand
    and the account menu, none overlapping another, none past the window's edge; the account menu opens
    and logs out."""
    tab = tab_for(browser, shell_url, width=width)
    tab.set_viewport_size({"width": width, "height": 800 if width == 1280 else 768})
    tab.goto(shell_url + "/?symbol=AAPL")
    settled(tab)
    found = tab.evaluate(NAV_BOXES)
    shot(tab, f"navbar-{width}px", SHOTS)
    tab.locator("header").screenshot(path=str(SHOTS / f"navbar-{width}px-bar.png"))
    links = found["links"]
    assert len(links) == 8, links  # the admin's pages
    assert [link["lines"] for link in links] == [1] * len(links), json.dumps(links)
    assert overlapping(found["items"]) == [], found["items"]
    middle = found["items"][0]["y"] + found["items"][0]["h"] / 2
    for item in found["items"]:
        assert abs(item["y"] + item["h"] / 2 - middle) <= 4, (item, middle)  # one row
        assert item["x"] + item["w"] <= found["width"], item
    assert found["bar"]["h"] < 80, found["bar"]
    if width >= 1200:  # the data's date in the bar too
        assert any(i["text"] == "Data as of 2024-12-31" for i in found["items"]), found["items"]
    tab.click("#nav-valuation")
    tab.wait_for_selector("#valuation-per-share")
    tab.click("#nav-user")
    assert "Data as of 2024-12-31" in tab.inner_text("#nav-menu-as-of")
    tab.screenshot(
        path=str(SHOTS / f"navbar-{width}px-menu.png"), clip={"x": 0, "y": 0, "width": width, "height": 200}
    )
    tab.click("#nav-logout")
    tab.wait_for_url("**/login")
    tab.context.close()
