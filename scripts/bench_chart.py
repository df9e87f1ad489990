"""How long the Company price chart takes to draw each range in Chromium, for a running dashboard.

Against `scripts/demo` (503 symbols, 30+ years of prices):

    DEMO_PORT=8050 bash scripts/demo &      # then, once it serves:
    .venv/bin/python scripts/bench_chart.py --url http://127.0.0.1:8050 --user demo --password-stdin \\
        --symbols AAPL,MSFT,JPM --ranges 5Y,MAX --repeat 3 <<< demo-password

For each symbol and range it loads `/?symbol=S&range=R` in a fresh tab (the server's caches warm after
the first), then clicks the range again from another one and times, in the page, from the click to
Plotly's `plotly_afterplot` for the new figure: the server's answer plus the browser's drawing, what an
analyst waits for. It prints one line per measure and the median and worst per range. A figure, not a
test: the machine's load (`uptime`) belongs next to it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devkit.benchrecord import add_record_argument, record

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
TIMEOUT_MS = 120_000

TIMED_CLICK = """async ([range]) => {
  const plot = document.querySelector('#company-price-graph .js-plotly-plot');
  const before = plot.data[0].x.length;  // the other range's bar count: the new figure's differs
  const start = performance.now();
  const drawn = new Promise(done => plot.on('plotly_afterplot', () => {
    if (plot.data[0].x.length !== before) { done(performance.now()); }
  }));
  document.querySelector(`#company-range input[value='${range}']`).click();
  const end = await drawn;
  return {ms: end - start, bars: plot.data[0].x.length};
}"""


def measure(tab: Any, url: str, symbol: str, span: str, other: str, bars: str) -> dict[str, Any]:
    """Open the symbol on `other`, then time the click to `span` until its chart is drawn."""
    tab.goto(f"{url}/?symbol={symbol}&range={other}&bars={bars}")
    tab.wait_for_function(
        "(p => !!(p && p.data && p.data.length && typeof p.on === 'function'))(document.querySelector('#company-price-graph .js-plotly-plot'))"
    )
    tab.wait_for_load_state("networkidle")
    result: dict[str, Any] = tab.evaluate(TIMED_CLICK, [span])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-stdin", action="store_true", required=True)
    parser.add_argument("--symbols", default="AAPL,MSFT,JPM")
    parser.add_argument("--ranges", default="1Y,5Y,MAX")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--bars", default="auto", help="auto (the page's default), D, W or M")
    add_record_argument(parser)
    args = parser.parse_args(argv)
    password = sys.stdin.readline().rstrip("\n")
    from playwright.sync_api import sync_playwright

    timings: dict[str, list[float]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        tab = browser.new_context(viewport={"width": args.width, "height": 1000}).new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        tab.goto(args.url + "/login")
        tab.fill("#username", args.user)
        tab.fill("#password", password)
        tab.click("#login-submit")
        tab.wait_for_selector("#nav-company", state="attached")
        for symbol in args.symbols.split(","):
            for span in args.ranges.split(","):
                other = "1M" if span != "1M" else "6M"
                for run in range(args.repeat):
                    found = measure(tab, args.url, symbol, span, other, args.bars)
                    timings.setdefault(span, []).append(found["ms"])
                    print(
                        f"{symbol} {span} run {run + 1}: {found['ms']:.0f} ms, {found['bars']} bars",
                        flush=True,
                    )
        browser.close()
    figures: dict[str, object] = {"bars": args.bars, "width": args.width, "symbols": args.symbols}
    for span, values in timings.items():
        print(
            f"{span}: median {statistics.median(values):.0f} ms, worst {max(values):.0f} ms ({len(values)} draws)"
        )
        figures[span] = {
            "median_ms": round(statistics.median(values)),
            "worst_ms": round(max(values)),
            "draws": len(values),
        }
    if args.record:
        record("bench_chart", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
