"""How long the Company price chart takes to draw each range in Chromium, and where that time goes.

On the demo's database (`DEMO_NO_SERVE=1 bash scripts/demo` ingests the 503 symbols, prices from 1990,
into the dev cluster's `mycfa`):

    .venv/bin/python scripts/bench_chart.py --database mycfa --symbols AAPL,MSFT,JPM --ranges 5Y,MAX

builds the app in this process on that database, serves it over HTTP on a free loopback port (werkzeug,
threaded, as the browser tests do) and logs in a throwaway admin, removed at the end. Against a
dashboard already running instead: `--url http://127.0.0.1:8050 --user demo --password-stdin`.

For each symbol and range it opens `/?symbol=S&range=OTHER`, then clicks the range and times, in the
page, from the click to Plotly's `plotly_afterplot` for the new figure: what an analyst waits for.
Each draw is split into
  - server: the price answer's request start to response end (Resource Timing), and with `--database`
    the CPU the server's thread spent on it (callback and JSON);
  - payload: that answer's bytes;
  - browser: the tab's main-thread busy time between the click and the drawn figure (Chromium's
    TaskDuration, DevTools protocol), and the wall time from the answer's end to the drawn figure.
A loaded machine stretches the wall times; the CPU figures move much less, so both are printed with
the load average (`--record` keeps them in docs/benchmarks/bench_chart.json). A figure, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devkit.benchrecord import add_record_argument, record  # noqa: E402 (after the path)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
TIMEOUT_MS = 120_000
# Chromium's counters (DevTools Performance.getMetrics, thread CPU time) -> the figure each delta becomes.
COUNTERS = {
    "TaskDuration": "browser_busy_ms",
    "ScriptDuration": "script_ms",
    "LayoutDuration": "layout_ms",
    "RecalcStyleDuration": "style_ms",
}
FIGURES = ("wall_ms", "server_ms", "server_cpu_ms", "kb", *COUNTERS.values(), "drawing_ms", "bars", "traces")

# Resolves once the new figure is drawn (its bar count differs from the other range's); the price answer
# is the largest callback answer fetched after the click (the figure outweighs every other output).
TIMED_CLICK = """async ([range]) => {
  const plot = document.querySelector('#company-price-graph .js-plotly-plot');
  const before = plot.data[0].x.length;
  const start = performance.now();
  const drawn = new Promise(done => plot.on('plotly_afterplot', () => {
    if (plot.data[0].x.length !== before) { done(performance.now()); }
  }));
  document.querySelector(`#company-range input[value='${range}']`).click();
  const end = await drawn;
  const answers = performance.getEntriesByType('resource')
    .filter(e => e.name.includes('_dash-update-component') && e.startTime >= start)
    .sort((a, b) => b.encodedBodySize - a.encodedBodySize);
  const answer = answers[0];
  return {wall_ms: end - start, bars: plot.data[0].x.length, traces: plot.data.length,
          server_ms: answer ? answer.responseEnd - answer.requestStart : null,
          kb: answer ? answer.encodedBodySize / 1000 : null,
          drawing_ms: answer ? end - answer.responseEnd : null};
}"""


class ServerClock:
    """The CPU time the server's request thread spends on each price-chart answer (in-process only)."""

    def __init__(self, server: Any) -> None:
        import flask

        self.answers: list[float] = []

        def _start() -> None:
            flask.g.bench_cpu = time.thread_time()

        def _stop(response: Any) -> Any:
            body = flask.request.get_json(silent=True) if flask.request.path.endswith("-component") else None
            if isinstance(body, dict) and "company-price-graph.figure" in str(body.get("output")):
                self.answers.append((time.thread_time() - flask.g.bench_cpu) * 1000)
            return response

        server.before_request(_start)
        server.after_request(_stop)


@contextlib.contextmanager
def served_database(name: str) -> Iterator[tuple[str, str, str, ServerClock]]:
    """The app on database `name` of the dev cluster, served on a free port, with a throwaway admin:
    yields (url, user, password, the server's clock)."""
    import psycopg
    from werkzeug.serving import make_server

    from devkit import seed
    from devkit.devcluster import dashboard_env, devdb, with_db

    info = json.loads(devdb("start", "--json"))
    owner_url = with_db(info["owner_url"], name)
    user, password = f"bench{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    seed.add_user(owner_url, user, password, "admin")
    os.environ.update({**dashboard_env(info, name), "MYCFA_LOG_LEVEL": "WARNING"})
    from dashboard.app import create_app

    app = create_app()
    for quiet in ("werkzeug", "mycfa.audit", "mycfa.metrics"):  # a line per request: not the figures
        logging.getLogger(quiet).disabled = True
    clock = ServerClock(app.server)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", user, password, clock
    finally:
        server.shutdown()
        app.server.extensions["mycfa"].router.dispose()
        with psycopg.connect(owner_url, autocommit=True) as conn:
            conn.execute("DELETE FROM dashboard_users WHERE username = %s", (user,))


def counters(cdp: Any) -> dict[str, float]:
    """The CPU seconds the tab spent so far: in all its tasks, in scripts, layout and style."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return {m["name"]: float(m["value"]) for m in metrics if m["name"] in COUNTERS}


def self_times(profile: dict[str, Any]) -> dict[str, float]:
    """Milliseconds of the CPU profile's samples by script and function (self time, not inclusive)."""
    nodes = {n["id"]: n["callFrame"] for n in profile["nodes"]}
    out: dict[str, float] = {}
    for node, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        frame = nodes[node]
        script = frame["url"].rsplit("/", 1)[-1].split("?")[0] or "(native)"
        key = f"{script}:{frame['functionName'] or '(anonymous)'}"
        out[key] = out.get(key, 0.0) + delta / 1000
    return out


def measure(
    tab: Any, cdp: Any, url: str, symbol: str, span: str, other: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Open the symbol on `other`, then time the click to `span` until its chart is drawn."""
    tab.goto(
        f"{url}/?symbol={symbol}&range={other}&bars={args.bars}" + (f"&{args.query}" if args.query else "")
    )
    tab.wait_for_function(
        "(p => !!(p && p.data && p.data.length && typeof p.on === 'function'))"
        "(document.querySelector('#company-price-graph .js-plotly-plot'))"
    )
    tab.wait_for_load_state("networkidle")
    tab.evaluate("() => performance.clearResourceTimings()")
    before = counters(cdp)
    if args.profile:
        cdp.send("Profiler.start")
    result: dict[str, Any] = tab.evaluate(TIMED_CLICK, [span])
    after = counters(cdp)
    result.update({figure: (after[name] - before[name]) * 1000 for name, figure in COUNTERS.items()})
    if args.profile:
        result["profile"] = self_times(cdp.send("Profiler.stop")["profile"])
    return result


def run(
    args: argparse.Namespace, url: str, user: str, password: str, clock: ServerClock | None
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    draws: dict[str, list[dict[str, Any]]] = {}
    spent: dict[str, dict[str, float]] = {}  # with --profile: range -> script:function -> ms
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        tab = browser.new_context(viewport={"width": args.width, "height": 1000}).new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        cdp = tab.context.new_cdp_session(tab)
        cdp.send("Performance.enable", {"timeDomain": "threadTicks"})  # CPU time, not wall
        if args.profile:
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 200})  # microseconds
        tab.goto(url + "/login")
        tab.fill("#username", user)
        tab.fill("#password", password)
        tab.click("#login-submit")
        tab.wait_for_selector("#nav-company", state="attached")
        for symbol in args.symbols.split(","):
            for span in args.ranges.split(","):
                other = "1M" if span != "1M" else "6M"
                for n in range(args.repeat + 1):  # the first draw warms the server's caches: not counted
                    if clock is not None:
                        clock.answers.clear()
                    found = measure(tab, cdp, url, symbol, span, other, args)
                    found["server_cpu_ms"] = clock.answers[-1] if clock and clock.answers else None
                    print(
                        f"{symbol} {span} {'warm-up' if n == 0 else f'run {n}'}: {describe(found)}",
                        flush=True,
                    )
                    if n:
                        draws.setdefault(span, []).append(found)
                        for key, ms in found.pop("profile", {}).items():
                            spent.setdefault(span, {})[key] = spent.get(span, {}).get(key, 0.0) + ms
        browser.close()
    for span, times in spent.items():
        total = sum(times.values())
        print(
            f"{span}: the tab's profile, {total / len(draws[span]):.0f} ms per draw; self time by function:"
        )
        for key, ms in sorted(times.items(), key=lambda kv: -kv[1])[: args.profile]:
            print(f"  {ms / len(draws[span]):7.1f} ms  {100 * ms / total:4.1f} %  {key}")
    return {span: summary(found) for span, found in draws.items()}


def describe(found: dict[str, Any]) -> str:
    def ms(key: str) -> str:
        value = found.get(key)
        return "n/a" if value is None else f"{value:.0f} ms"

    return (
        f"drawn in {ms('wall_ms')}; server {ms('server_ms')} (CPU {ms('server_cpu_ms')}), "
        f"{found.get('kb') or 0:.1f} kB; browser busy {ms('browser_busy_ms')} (script {ms('script_ms')}, "
        f"layout {ms('layout_ms')}, style {ms('style_ms')}), drawing {ms('drawing_ms')} "
        f"after the answer; {found['bars']} bars, {found['traces']} traces"
    )


def summary(draws: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and worst of each figure over the draws of one range."""
    out: dict[str, Any] = {"draws": len(draws)}
    for key in FIGURES:
        values = [d[key] for d in draws if d.get(key) is not None]
        if values:
            out[key] = {"median": round(statistics.median(values), 1), "worst": round(max(values), 1)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--database", help="a database of the dev cluster (the demo's: mycfa)")
    where.add_argument("--url", help="a dashboard already running (with --user and --password-stdin)")
    parser.add_argument("--user")
    parser.add_argument("--password-stdin", action="store_true")
    parser.add_argument("--symbols", default="AAPL,MSFT,JPM")
    parser.add_argument("--ranges", default="1Y,5Y,MAX")
    parser.add_argument("--repeat", type=int, default=3, help="timed draws per symbol and range")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--bars", default="auto", help="auto (the page's default), D, W or M")
    parser.add_argument(
        "--query", default="", help="more of the page's link, e.g. 'overlays=sma_50,bbands&osc=rsi,macd'"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="profile the tab (CDP) and print its N costliest functions",
    )
    add_record_argument(parser)
    args = parser.parse_args(argv)
    load_before = [round(v, 2) for v in os.getloadavg()]
    if args.url:
        if not (args.user and args.password_stdin):
            parser.error("--url needs --user and --password-stdin")
        figures = run(args, args.url, args.user, sys.stdin.readline().rstrip("\n"), None)
    else:
        with served_database(args.database) as (url, user, password, clock):
            figures = run(args, url, user, password, clock)
    load_after = [round(v, 2) for v in os.getloadavg()]
    for span, found in figures.items():
        parts = [f"{k} {v['median']:g}/{v['worst']:g}" for k, v in found.items() if isinstance(v, dict)]
        print(f"{span} (median/worst of {found['draws']}): " + ", ".join(parts))
    print(f"load average {load_before} before, {load_after} after (1, 5, 15 min)")
    if args.record:
        record(
            "bench_chart",
            {
                "database": args.database or "(served at --url)",
                "symbols": args.symbols,
                "bars": args.bars,
                "query": args.query,
                "repeat": args.repeat,
                "load_average_before": load_before,
                "ranges": figures,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
