"""The checks of `scripts/stack check` that need more than a shell: the engine's log lines, the dashboard page.

    python scripts/stack_check.py logs FILE           # every line a JSON object, no MYCFA_FMP_API_KEY value
    python scripts/stack_check.py page URL SYMBOL     # log in (STACK_DASH_USER/_PASSWORD), numbers drawn

Both read the secrets they compare against or log in with from the environment, never argv, and
print what they saw on success; a failure exits 1 with one line saying what was wrong.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 60_000
NUMBER = re.compile(r"\d{1,3}(,\d{3})*\.\d")


class CheckFailed(Exception):
    """What a check found wrong, in one line."""


def check_logs(text: str, api_key: str) -> int:
    """Every non-empty line is a JSON object and none holds the API key; returns the line count.

    Raises:
        CheckFailed: no lines, a line that is not a JSON object, or the key anywhere in the output.
    """
    if api_key and api_key in text:
        raise CheckFailed("the engine's output holds the FMP API key")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise CheckFailed("the engine printed nothing")
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise CheckFailed(f"line {number} is not JSON: {line[:120]!r}") from None
        if not isinstance(record, dict):
            raise CheckFailed(f"line {number} is JSON but not an object: {line[:120]!r}")
    return len(lines)


def check_page(base_url: str, symbol: str, user: str, password: str) -> str:
    """Log in through the form, open the company page, wait for its prices and statements; describe them.

    Raises:
        CheckFailed: the login did not lead to the app, or the page drew no prices or no revenue figure.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    graph = "#company-price-graph .js-plotly-plot"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.set_default_timeout(TIMEOUT_MS)
            tab.goto(f"{base_url}/login")
            tab.fill("#username", user)
            tab.fill("#password", password)
            tab.click("#login-submit")
            tab.wait_for_selector("#nav-company")
            tab.goto(f"{base_url}/?symbol={symbol}")
            tab.wait_for_function(
                f"document.querySelector('{graph}') && document.querySelector('{graph}').data"
                f" && document.querySelector('{graph}').data.length > 0"
                f" && document.querySelector('{graph}').data[0].x.length > 0"
            )
            points, close = tab.evaluate(
                f"[document.querySelector('{graph}').data[0].x.length,"
                f" document.querySelector('{graph}').data[0].close.slice(-1)[0]]"
            )
            tab.wait_for_selector("#company-statement-grid .ag-row")
            # ag-grid draws a row's pinned and scrolling cells in separate containers: join them.
            revenue = tab.evaluate(
                "Array.from(document.querySelectorAll(\"#company-statement-grid .ag-row[row-index='0']\"),"
                " row => row.innerText).join(' ')"
            )
        except PlaywrightError as exc:
            raise CheckFailed(f"dashboard page: {str(exc).splitlines()[0]}") from None
        finally:
            browser.close()
    if not points or not isinstance(close, int | float) or not NUMBER.search(revenue):
        raise CheckFailed(f"dashboard page drew no numbers: {points} prices, first statement row {revenue!r}")
    return f"{symbol}: {points} daily prices drawn, last close {close}; statements row: {' '.join(revenue.split())}"


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 2 and argv[0] == "logs":
            count = check_logs(Path(argv[1]).read_text(), os.environ.get("MYCFA_FMP_API_KEY", ""))
            print(f"{count} JSON lines, no API key")
        elif len(argv) == 3 and argv[0] == "page":
            print(
                check_page(argv[1], argv[2], os.environ["STACK_DASH_USER"], os.environ["STACK_DASH_PASSWORD"])
            )
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except CheckFailed as exc:
        print(f"check failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
