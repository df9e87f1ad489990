"""Mixed: 100 analysts on every page of the whole universe while a full ingest runs on the same primary.

Steps: the whole fake universe (503 symbols) ingested from empty into the database the dashboard will
serve, with nothing else running: that is the ingest's duration alone. `VACUUM (ANALYZE)` of it (what
autovacuum does after a bulk load, done here so it lands in neither measured ingest) while
`scripts/loadtest --all-pages` refreshes the served database's serving tables and starts gunicorn; then 100 users
on the served database while the same full ingest runs from empty into a second database of the same
primary, and the load stops when that ingest ends, so the figures cover exactly the ingest's span.
Goals: p95 < 500 ms on every page, 0 errors, the ingest slowed by less than 50 %.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import psycopg

from . import harness

P95_GOAL_MS = 500
SPAWN_RATE = 20  # users started per second
LOAD_START_S = 300 + 300  # gunicorn up, plus scripts/loadtest's refresh of the serving tables
SLOWDOWN_GOAL = 1.5
LOAD_LIMIT_FACTOR = 3  # the load's own time limit, in ingests alone: it is stopped when the ingest ends


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbols", type=int, default=503, help="universe size (default 503)")
    parser.add_argument("--users", type=int, default=100, help="logged-in analysts (default 100)")
    parser.add_argument("--history-start", default="1990-01-01", help="first price date (default 1990-01-01)")


def ingest(cluster: harness.DrillCluster, fake: Any, database: str, history_start: str) -> tuple[int, float]:
    cluster.createdb(database)
    env = harness.engine_env(
        cluster.url("owner_url", database),
        fake,
        (),
        MYCFA_HISTORY_START=history_start,
        MYCFA_FMP_CONCURRENCY="16",
    )
    harness.migrate(env)
    return harness.timed_run(env, "--job", "full")


def vacuum_analyze(admin_url: str) -> float:
    """`VACUUM (ANALYZE)` of a freshly loaded database, in seconds."""
    started = time.monotonic()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return round(time.monotonic() - started, 1)


def run(args: argparse.Namespace) -> harness.Report:
    report = harness.Report("mixed")
    with harness.drill_folder("mixed") as root:
        cluster = harness.DrillCluster(root / "cluster").start()
        fake = harness.start_fake("--symbols", str(args.symbols), "--price-cache", "16")
        try:
            code, alone_s = ingest(cluster, fake, "served", args.history_start)
            if code != 0:
                raise harness.DrillFailed(f"the ingest of the served database exited {code}")
            harness.log(
                f"ingest alone: {args.symbols} symbols from empty into the served database in {alone_s:.1f} s"
            )
            vacuum_s: list[float] = []
            vacuum = threading.Thread(
                target=lambda: vacuum_s.append(vacuum_analyze(cluster.url("admin_url", "served"))),
                daemon=True,
            )
            vacuum.start()

            figures = root / "loadtest.json"
            load = subprocess.Popen(
                [sys.executable, str(harness.REPO / "scripts" / "loadtest"), "--all-pages", "--database", "served",
                 "--users", str(args.users), "--spawn-rate", str(SPAWN_RATE),
                 "--duration", str(int(alone_s * LOAD_LIMIT_FACTOR) + 60),
                 "--symbols", str(args.symbols), "--json", str(figures)],
                env={**os.environ, "MYCFA_DEVDB_DIR": str(cluster.root)},
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            output: list[str] = []
            reader = threading.Thread(target=lambda: output.extend(load.stdout or []), daemon=True)
            reader.start()
            # Start the ingest once gunicorn serves (caches cold) and every user has logged in (argon2
            # logins are not the load measured).
            deadline = time.monotonic() + LOAD_START_S
            while not any("loadtest: gunicorn on" in line for line in output):
                if load.poll() is not None or time.monotonic() > deadline:
                    raise harness.DrillFailed("the load test did not start: " + "".join(output)[-400:])
                time.sleep(0.5)
            time.sleep(args.users / SPAWN_RATE + 10)
            vacuum.join()
            harness.log(f"VACUUM (ANALYZE) of the served database: {vacuum_s[0] if vacuum_s else 'failed'} s")
            code, mixed_s = ingest(cluster, fake, "mixed", args.history_start)
            harness.log(f"ingest under load: {mixed_s:.1f} s (exit {code}); stopping the load")
            load.send_signal(signal.SIGTERM)  # scripts/loadtest stops Locust, which writes its figures
            load.wait(timeout=300)
            reader.join(timeout=10)
            print("".join(output), end="", flush=True)
            if not figures.exists():
                raise harness.DrillFailed("the load test wrote no figures")
            stats = json.loads(figures.read_text())

            report.add("symbols", args.symbols)
            report.add("users", args.users)
            refreshed = stats.get("refresh") or {}
            report.add("serving refresh before the load, seconds", refreshed.get("seconds"))
            pages = [r for r in stats["rows"] if ":" in r["Name"]]
            for row in pages:
                p95 = float(row["95%"])
                report.add(
                    f"p50/p95/p99 ms, {row['Name']}",
                    f"{row['50%']}/{row['95%']}/{row['99%']}",
                    f"p95 < {P95_GOAL_MS}",
                    p95 < P95_GOAL_MS,
                )
            total = next((r for r in stats["rows"] if r["Name"] == "Aggregated"), None)
            if total is not None:
                report.add(
                    "requests, requests/s", f"{total['Request Count']}, {float(total['Requests/s']):.1f}"
                )
            report.check("errors", int(stats["failures"]), "0", lambda n: n == 0)
            report.check("ingest exit code under load", code, "0", lambda c: c == 0)
            report.add(
                "VACUUM (ANALYZE) after the first ingest, seconds", vacuum_s[0] if vacuum_s else "failed"
            )
            report.add("ingest alone, seconds", alone_s)
            report.add("ingest under load, seconds", mixed_s)
            report.check(
                "ingest slowdown",
                round(mixed_s / alone_s, 3),
                f"< {SLOWDOWN_GOAL}",
                lambda r: r < SLOWDOWN_GOAL,
            )
        finally:
            fake.stop()
            cluster.destroy()
    return report
