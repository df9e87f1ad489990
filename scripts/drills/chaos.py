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

from drills.harness import (
    DrillCluster,
    DrillFailed,
    Report,
    drill_folder,
    engine_env,
    log,
    migrate,
    same_content,
    start_engine,
    start_fake,
    timed_run,
    universe,
)

FAULT_RATE = "0.2"
STALL_S = "35"  # past the client's 30 s timeout
CLIENT_TIMEOUT_S = 30
EVENTS = ("kill-engine", "restart-primary", "kill-engine", "restart-primary", "kill-engine")
FINAL_RUNS = 6  # runs after the chaos, until one exits 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbols", type=int, default=20, help="universe size (default 20)")
    parser.add_argument("--every-s", type=float, default=8.0, help="seconds between chaos events (default 8)")


def run(args: argparse.Namespace) -> Report:
    report = Report("chaos")
    rng = random.Random(11)
    with drill_folder("chaos") as root:
        cluster = DrillCluster(root / "cluster").start()
        clean_fake = start_fake("--symbols", str(args.symbols))
        fake = start_fake("--symbols", str(args.symbols), "--fault-rate", FAULT_RATE, "--stall-s", STALL_S)
        process: subprocess.Popen[bytes] | None = None
        try:
            symbols = universe(clean_fake, args.symbols)
            cluster.createdb("clean")
            clean_env = engine_env(cluster.url("owner_url", "clean"), clean_fake, ())
            migrate(clean_env)
            code, clean_s = timed_run(clean_env, "--job", "full")
            if code != 0:
                raise DrillFailed(f"the clean reference run exited {code}")
            log(f"clean reference run: {clean_s:.1f} s for {len(symbols)} symbols")

            env = engine_env(cluster.url("owner_url"), fake, ())
            migrate(env)
            engine_log = root / "engine.log"
            exits: list[int] = []
            process = start_engine(env, "run", "--job", "full", log_file=engine_log)
            for event in EVENTS:
                time.sleep(args.every_s * (0.75 + rng.random() / 2))
                if process.poll() is not None:
                    exits.append(process.returncode)
                    process = start_engine(env, "run", "--job", "full", log_file=engine_log)
                    time.sleep(2.0)
                if event == "kill-engine":
                    process.send_signal(signal.SIGKILL)
                    exits.append(process.wait())
                    log("engine killed with SIGKILL; started again")
                    process = start_engine(env, "run", "--job", "full", log_file=engine_log)
                else:
                    cluster.devdb("kill", "primary")
                    time.sleep(1.0)
                    cluster.devdb("start", "--json")
                    log("primary restarted")
            exits.append(process.wait(timeout=600))
            process = None
            final_code, attempts = exits[-1], 0
            while final_code != 0 and attempts < FINAL_RUNS:
                attempts += 1
                final_code, _ = timed_run(env, "--job", "full")
                exits.append(final_code)
            log(f"engine exit codes, in order: {exits}")

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
            assert open_items is not None and failures is not None
            equal, drill_rows, clean_rows = same_content(
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
