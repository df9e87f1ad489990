"""Failover: the primary dies mid-ingest, the replica is promoted, the engine resumes on it.

Steps: a clean reference ingest (its own database); the drill's ingest starts; once a share of its
items are done the primary is killed (`pg_ctl stop -m immediate`) while a logged-in analyst keeps
loading pages; the replica is promoted (`scripts/devdb.py promote`); the engine, pointed at the new
primary, resumes the interrupted run; the final content must equal the clean run's.
"""

from __future__ import annotations

import argparse
import json
import time

import psycopg

from . import harness

KILL_AT_SHARE = 0.4  # of the run's items done when the primary dies
ENGINE_EXIT_WAIT_S = 120


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbols", type=int, default=60, help="universe size (default 60)")


def done_share(owner_url: str) -> float:
    """Share of the newest run's items that are done (0 before the run has planned)."""
    try:
        with psycopg.connect(owner_url, connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT r.items_total, count(i.*) FILTER (WHERE i.state = 'done') FROM runs r"
                " LEFT JOIN run_items i USING (run_id) GROUP BY r.run_id ORDER BY r.run_id DESC LIMIT 1"
            ).fetchone()
    except psycopg.Error:
        return 0.0
    if not row or not row[0]:
        return 0.0
    return float(row[1]) / float(row[0])


def run(args: argparse.Namespace) -> harness.Report:
    report = harness.Report("failover")
    with harness.drill_stack("failover", "--symbols", str(args.symbols)) as (root, cluster, fake):
        dashboard: harness.Dashboard | None = None
        stream: harness.PageStream | None = None
        try:
            symbols = harness.universe(fake, args.symbols)
            clean_s = harness.clean_reference(cluster, fake, symbols)

            env = harness.engine_env(cluster.url("owner_url"), fake, ())
            harness.migrate(env)
            dashboard = harness.Dashboard.on(cluster, root / "dashboard")
            dashboard.add_user()
            dashboard.start()
            stream = harness.PageStream(dashboard, symbols).start()
            harness.log(f"dashboard on {dashboard.base}; an analyst loads a page every {stream.interval_s} s")

            engine_log = root / "engine.log"
            process = harness.start_engine(env, "run", "--job", "full", log_file=engine_log)
            while process.poll() is None and done_share(cluster.url("owner_url")) < KILL_AT_SHARE:
                time.sleep(0.1)
            if process.poll() is not None:
                raise harness.DrillFailed(
                    f"the run ended ({process.returncode}) before the primary could be killed"
                )
            share = done_share(cluster.url("owner_url"))
            killed_at = time.time()
            cluster.devdb("kill", "primary")
            harness.log(f"primary killed with {share:.0%} of the run's items done")
            try:
                engine_code = process.wait(timeout=ENGINE_EXIT_WAIT_S)
            except Exception:
                process.kill()
                raise
            harness.log(f"the engine exited {engine_code} after losing its primary")

            promoted = json.loads(cluster.devdb("promote", "--json"))
            cluster.info = {**cluster.info, **promoted}
            promoted_at = time.time()
            harness.log(
                f"replica promoted in {promoted['promote_seconds']:.2f} s; new primary on port {promoted['primary_port']}"
            )

            env = harness.engine_env(cluster.url("owner_url"), fake, ())
            resume_code, resume_s = harness.timed_run(env, "--job", "full")
            with psycopg.connect(cluster.url("owner_url")) as conn:
                runs = conn.execute("SELECT run_id, state, resumes FROM runs ORDER BY run_id").fetchall()
            harness.log(f"resumed run exited {resume_code} in {resume_s:.1f} s; ledger {runs}")
            time.sleep(1.0)  # a few more page loads on the new topology
            stream.stop()
            equal, drill_rows, clean_rows = harness.same_content(
                cluster.url("owner_url"), cluster.url("owner_url", "clean")
            )

            loads = stream.count()
            errors = stream.errors()
            report.add("symbols", len(symbols))
            report.add("clean run, seconds", clean_s)
            report.add("items done when the primary died", f"{share:.0%}")
            report.add("engine exit after the kill", engine_code)
            report.add("seconds to promote", float(promoted["promote_seconds"]))
            report.add("seconds to rebuild a replica", float(promoted["rebuild_seconds"]))
            report.add("page loads during the drill", loads)
            report.add("page loads, primary down to promoted", stream.count(killed_at, promoted_at))
            report.check("dashboard errors", len(errors), "0", lambda n: n == 0)
            report.check("resumed run exit code", resume_code, "0", lambda c: c == 0)
            report.check(
                "runs in the ledger (one, resumed)",
                ", ".join(f"#{r[0]} {r[1]} resumes={r[2]}" for r in runs),
                "1 succeeded",
                lambda _: len(runs) == 1 and runs[0][1] == "succeeded" and runs[0][2] >= 1,
            )
            for table, (count, _) in clean_rows.items():
                lost = count - drill_rows[table][0]
                report.check(f"rows lost, {table}", lost, "0", lambda n: n == 0)
            report.check("content equals the clean run's", equal, "True", bool)
            if errors:
                harness.log(f"first errors: {[(e.detail, round(e.at - killed_at, 1)) for e in errors[:5]]}")
        finally:
            if stream is not None:
                stream.stop()
            if dashboard is not None:
                dashboard.stop()
    return report
