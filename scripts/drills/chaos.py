"""Chaos: one ingest through FMP faults and timeouts, primary restarts and kill -9 of the engine.

The fake FMP answers 20 % of requests with a fault (5xx, HTML, truncated bodies, reset connections
and stalls longer than the client's 30 s timeout). While the engine runs, the primary is restarted
twice (`pg_ctl stop -m immediate`, then started) and the engine is killed with SIGKILL three times,
each time started again; then the engine runs until it exits 0 (faults still on). The final content
must equal a clean run's, no run or item may be left `running`, and every failure must carry a reason.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import time

import psycopg

from . import harness

FAULT_RATE = "0.2"
STALL_S = "35"  # past the client's 30 s timeout
CLIENT_TIMEOUT_S = 30
EVENTS = ("kill-engine", "restart-primary", "kill-engine", "restart-primary", "kill-engine")
FINAL_RUNS = 6  # runs after the chaos, until one exits 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbols", type=int, default=20, help="universe size (default 20)")
    parser.add_argument("--every-s", type=float, default=8.0, help="seconds between chaos events (default 8)")


def run(args: argparse.Namespace) -> harness.Report:
    report = harness.Report("chaos")
    rng = random.Random(11)
    with harness.drill_folder("chaos") as root:
        cluster = harness.DrillCluster(root / "cluster").start()
        clean_fake = harness.start_fake("--symbols", str(args.symbols))
        fake = harness.start_fake(
            "--symbols", str(args.symbols), "--fault-rate", FAULT_RATE, "--stall-s", STALL_S
        )
        process: subprocess.Popen[bytes] | None = None
        try:
            symbols = harness.universe(clean_fake, args.symbols)
            harness.clean_reference(cluster, clean_fake, symbols)

            env = harness.engine_env(cluster.url("owner_url"), fake, ())
            harness.migrate(env)
            engine_log = root / "engine.log"
            exits: list[int] = []
            process = harness.start_engine(env, "run", "--job", "full", log_file=engine_log)
            for event in EVENTS:
                time.sleep(args.every_s * (0.75 + rng.random() / 2))
                if process.poll() is not None:
                    exits.append(process.returncode)
                    process = harness.start_engine(env, "run", "--job", "full", log_file=engine_log)
                    time.sleep(2.0)
                if event == "kill-engine":
                    process.send_signal(signal.SIGKILL)
                    exits.append(process.wait())
                    harness.log("engine killed with SIGKILL; started again")
                    process = harness.start_engine(env, "run", "--job", "full", log_file=engine_log)
                else:
                    cluster.devdb("kill", "primary")
                    time.sleep(1.0)
                    cluster.devdb("start", "--json")
                    harness.log("primary restarted")
            exits.append(process.wait(timeout=600))
            process = None
            final_code, attempts = exits[-1], 0
            while final_code != 0 and attempts < FINAL_RUNS:
                attempts += 1
                final_code, _ = harness.timed_run(env, "--job", "full")
                exits.append(final_code)
            harness.log(f"engine exit codes, in order: {exits}")

            with psycopg.connect(cluster.url("owner_url")) as conn:
                runs = conn.execute("SELECT run_id, state FROM runs ORDER BY run_id").fetchall()
                open_items = conn.execute("SELECT count(*) FROM run_items WHERE state = 'running'").fetchone()
                failures = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE coalesce(error_class, '') = ''"
                    " OR coalesce(error_message, '') = '') FROM run_items WHERE state IN ('failed', 'skipped')"
                ).fetchone()
                classes = conn.execute(
                    "SELECT error_class, count(*) FROM run_items WHERE state = 'failed'"
                    " GROUP BY 1 ORDER BY 2 DESC"
                ).fetchall()
            assert open_items is not None
            assert failures is not None
            equal, drill_rows, clean_rows = harness.same_content(
                cluster.url("owner_url"), cluster.url("owner_url", "clean")
            )
            stats = fake.stats()

            report.add("symbols", len(symbols))
            report.add("engine exits, in order", " ".join(map(str, exits)))
            faults = stats.get("faults") or {}
            kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(faults.items()))
            report.add("requests at the fake", stats.get("requests"))
            report.add("faults injected", f"{sum(faults.values())} ({kinds})")
            report.add("runs (id state)", ", ".join(f"#{r[0]} {r[1]}" for r in runs))
            report.add("failed items by class", ", ".join(f"{c}={n}" for c, n in classes) or "none")
            report.check("final run exit code", final_code, "0", lambda c: c == 0)
            report.check(
                "runs left running", sum(1 for r in runs if r[1] == "running"), "0", lambda n: n == 0
            )
            report.check("items left running", int(open_items[0]), "0", lambda n: n == 0)
            report.check("failures without a reason", int(failures[1]), "0", lambda n: n == 0)
            for table, (count, _) in clean_rows.items():
                report.add(f"rows {table} (drill / clean)", f"{drill_rows[table][0]} / {count}")
            report.check("content equals the clean run's", equal, "True", bool)
        finally:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
            fake.stop()
            clean_fake.stop()
            cluster.destroy()
    return report
