"""Restore: point-in-time recovery from a base backup and the WAL archive, as RDS does it.

Steps: WAL archiving on the drill's primary (`scripts/devdb.py archive`), a base backup, ingest run 1,
the content fingerprinted and the target time taken, ingest run 2 (other symbols), the current WAL
segment archived; then `scripts/devdb.py restore --target-time` into a new cluster and the dashboard
started on it. The restored content must equal the fingerprint at the target, the ledger must hold
run 1 and not run 2. RPO: seconds of work committed before the target that the restore lost. RTO:
seconds from the restore command to the dashboard answering a logged-in page from the restored cluster.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from pathlib import Path

import psycopg

from devkit.fingerprint import fingerprint

from . import harness

RPO_GOAL_S = 3600  # the design's RPO (1 h) and RTO (4 h)
RTO_GOAL_S = 4 * 3600
ARCHIVE_WAIT_S = 60
PROJECTED_SYMBOLS = 5000  # the scale the design plans for (docs/design.md)
MB = 1024 * 1024

LEDGER_SQL = "SELECT run_id, state, greatest(finished_at, heartbeat_at) FROM runs ORDER BY run_id"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbols", type=int, default=30, help="symbols per ingest run (default 30)")


def ledger(url: str) -> list[tuple[int, str, datetime]]:
    with psycopg.connect(url) as conn:
        return [(int(r[0]), str(r[1]), r[2]) for r in conn.execute(LEDGER_SQL).fetchall()]


def archive_current_segment(admin_url: str) -> str:
    """Close the WAL segment in use and wait until the archiver has copied it."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        assert row is not None
        segment = str(row[0])
        deadline = time.monotonic() + ARCHIVE_WAIT_S
        while time.monotonic() < deadline:
            done = conn.execute("SELECT last_archived_wal >= %s FROM pg_stat_archiver", (segment,)).fetchone()
            if done and done[0]:
                return segment
            time.sleep(0.2)
    raise harness.DrillFailed(f"WAL segment {segment} was not archived in {ARCHIVE_WAIT_S} s")


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def run(args: argparse.Namespace) -> harness.Report:
    report = harness.Report("restore")
    with harness.drill_folder("restore") as root:
        cluster = harness.DrillCluster(root / "cluster").start()
        restored = harness.DrillCluster(root / "restored")
        fake = harness.start_fake("--symbols", str(2 * args.symbols))
        dashboard: harness.Dashboard | None = None
        try:
            symbols = harness.universe(fake, 2 * args.symbols)
            first, second = symbols[: args.symbols], symbols[args.symbols :]
            cluster.devdb("archive", str(root / "wal"))
            env = harness.engine_env(cluster.url("owner_url"), fake, first)
            harness.migrate(env)
            dashboard = harness.Dashboard.on(cluster, root / "dashboard", replica=False)
            dashboard.add_user()
            cluster.devdb("basebackup", str(root / "base"))
            harness.log("WAL archiving on; base backup taken")

            code, first_s = harness.timed_run(env, "--job", "full")
            if code != 0:
                raise harness.DrillFailed(f"ingest run 1 exited {code}")
            at_target = fingerprint(cluster.url("owner_url"))
            ledger_at_target = ledger(cluster.url("owner_url"))
            with psycopg.connect(cluster.url("owner_url")) as conn:
                size_row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
                assert size_row is not None
                bytes_at_target = int(size_row[0])
            with psycopg.connect(cluster.url("owner_url")) as conn:
                row = conn.execute("SELECT clock_timestamp()").fetchone()
                assert row is not None
                target: datetime = row[0]
            time.sleep(1.0)  # nothing commits between the target and run 2's start but the clock
            harness.log(
                f"run 1 ({len(first)} symbols) done in {first_s:.1f} s; target time {target.isoformat()}"
            )

            code, second_s = harness.timed_run(
                harness.engine_env(cluster.url("owner_url"), fake, second), "--job", "full"
            )
            if code != 0:
                raise harness.DrillFailed(f"ingest run 2 exited {code}")
            segment = archive_current_segment(cluster.url("admin_url", "postgres"))
            ledger_after = ledger(cluster.url("owner_url"))
            harness.log(
                f"run 2 ({len(second)} symbols) done in {second_s:.1f} s; WAL archived through {segment}"
            )

            started = time.monotonic()
            restored.info = json.loads(
                restored.devdb(
                    "restore",
                    "--from",
                    str(root / "base"),
                    "--wal",
                    str(root / "wal"),
                    "--target-time",
                    target.isoformat(),
                    "--json",
                )
            )
            recovered_s = time.monotonic() - started
            dashboard = harness.Dashboard.on(  # the account came back with the restore
                restored, root / "dashboard-restored", replica=False, password=dashboard.password
            )
            dashboard.start()
            analyst = harness.Analyst(dashboard)
            answer = analyst.callback("company-profile", {"company-symbol": first[0]})
            rto_s = time.monotonic() - started
            answered = answer.status_code == 200 and first[0] in answer.text
            harness.log(
                f"restored in {recovered_s:.1f} s; dashboard answered in {rto_s:.1f} s from the restore command"
            )

            restored_content = fingerprint(restored.url("owner_url"))
            restored_ledger = ledger(restored.url("owner_url"))
            committed_before = [r for r in ledger_after if r[2] <= target]
            last_before = max((r[2] for r in committed_before), default=target)
            last_restored = max((r[2] for r in restored_ledger), default=None)
            rpo_s = 0.0 if last_restored is None else max(0.0, (last_before - last_restored).total_seconds())
            if last_restored is None:
                rpo_s = (target - min(r[2] for r in ledger_after)).total_seconds()

            report.add("symbols per run", args.symbols)
            report.add("run 1 / run 2 seconds", f"{first_s:.1f} / {second_s:.1f}")
            report.add("recovery (copy + replay), seconds", recovered_s)
            # The restore's work grows with the data (base backup copied, WAL replayed); the dashboard's
            # start does not. So the projection scales the recovery by the symbols and adds the rest.
            base_mb, wal_mb = folder_bytes(root / "base") / MB, folder_bytes(root / "wal") / MB
            report.add("database at target, MB", bytes_at_target / MB)
            report.add("base backup / WAL archived, MB", f"{base_mb:,.1f} / {wal_mb:,.1f}")
            report.add("restore rate, MB of data at target a second", bytes_at_target / MB / recovered_s)
            scale = PROJECTED_SYMBOLS / args.symbols
            report.add(f"recovery projected to {PROJECTED_SYMBOLS:,} symbols, seconds", recovered_s * scale)
            report.check(
                f"RTO projected to {PROJECTED_SYMBOLS:,} symbols, seconds",
                recovered_s * scale + (rto_s - recovered_s),
                f"<= {RTO_GOAL_S}",
                lambda s: s <= RTO_GOAL_S,
            )
            report.check(
                "restored content equals content at target", restored_content == at_target, "True", bool
            )
            report.check(
                "runs restored (run 1, not run 2)",
                ", ".join(f"#{r[0]} {r[1]}" for r in restored_ledger),
                "run 1 only",
                lambda _: [r[:2] for r in restored_ledger] == [r[:2] for r in ledger_at_target],
            )
            report.check("dashboard answered from the restored cluster", answered, "True", bool)
            report.check("RPO achieved, seconds", rpo_s, f"<= {RPO_GOAL_S}", lambda s: s <= RPO_GOAL_S)
            report.check("RTO achieved, seconds", rto_s, f"<= {RTO_GOAL_S}", lambda s: s <= RTO_GOAL_S)
            for table, (count, _) in at_target.items():
                report.add(f"rows at target / restored, {table}", f"{count} / {restored_content[table][0]}")
        finally:
            if dashboard is not None:
                dashboard.stop()
            fake.stop()
            restored.destroy()
            cluster.destroy()
    return report
