"""Replica: stopped, paused past the lag limit, resumed, while analysts keep loading pages.

Phases, each watched from outside the dashboard (rows read on each node, from
`pg_stat_database`, and the staleness banner in the answers): the replica serves; the replica is
stopped (the primary serves, no banner); it is started and its replay paused while the primary
writes past the dashboard's lag limit (skipped: the primary serves, no banner); replay resumes (the
replica is used again within the health TTL). Errors must be 0 throughout.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import psycopg

from . import harness

HEALTH_TTL_S = 2.0
MAX_LAG_BYTES = 1024 * 1024
SERVING_SHARE = 0.8  # of the reads, on the node that should serve a phase
BACK_IN_USE_MARGIN_S = 1.0  # past the TTL: one probe round trip and the next page loads
# A backend publishes its row counters at most once a second; one that goes idle less than a second
# after its last flush publishes the rest only after PostgreSQL 15's idle interval (PGSTAT_IDLE_INTERVAL,
# 10 s). So reads made before a phase began can show up in its first 10 s: a 2 s wait let the pooled,
# now idle replica connections count 6 % of a paused phase's reads (2026-11-30).
STATS_FLUSH_S = 11.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbols", type=int, default=20, help="universe size (default 20)")
    parser.add_argument("--analysts", type=int, default=6, help="logged-in page streams (default 6)")
    parser.add_argument("--phase-s", type=float, default=10.0, help="seconds per phase (default 10)")


def rows_read(admin_url: str, database: str) -> int | None:
    """Rows the node's database has returned to queries (None when the node is down).

    Health probes read no table, so this counts page reads only: a node's share of it over a phase
    says which node served the pages.
    """
    try:
        with psycopg.connect(admin_url, connect_timeout=2, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT tup_returned + tup_fetched FROM pg_stat_database WHERE datname = %s", (database,)
            ).fetchone()
    except psycopg.OperationalError:
        return None
    return int(row[0]) if row else None


def first_page_read(admin_url: str, since: float) -> float | None:
    """Epoch seconds of the earliest dashboard query (not a health probe) started on a node after `since`."""
    with psycopg.connect(admin_url, connect_timeout=2, autocommit=True) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM min(query_start)) FROM pg_stat_activity"
            " WHERE application_name = 'mycfa-dashboard' AND query_start > to_timestamp(%s)"
            " AND query NOT LIKE %s AND query NOT LIKE %s",
            (since, "%pg_is_in_recovery%", "%pg_current_wal_lsn%"),
        ).fetchone()
    return float(row[0]) if row and row[0] is not None else None


class Nodes:
    """Reads per node over a phase, measured as row-count deltas in the drill's database."""

    def __init__(self, cluster: harness.DrillCluster) -> None:
        self.urls = {
            "primary": cluster.url("admin_url", "postgres"),
            "replica": cluster.url("admin_replica_url", "postgres"),
        }

    def counts(self) -> dict[str, int | None]:
        return {node: rows_read(url, "mycfa") for node, url in self.urls.items()}

    def replica_share(self, action: Callable[[], None]) -> tuple[float, int]:
        before = self.counts()
        action()
        after = self.counts()
        delta = {
            node: (after[node] or 0) - (before[node] or 0)
            if after[node] is not None and before[node] is not None
            else 0
            for node in self.urls
        }
        total = max(1, delta["primary"] + delta["replica"])
        return delta["replica"] / total, total


def run(args: argparse.Namespace) -> harness.Report:
    report = harness.Report("replica")
    with harness.drill_stack("replica", "--symbols", str(args.symbols)) as (root, cluster, fake):
        dashboard: harness.Dashboard | None = None
        streams: list[harness.PageStream] = []
        try:
            symbols = harness.universe(fake, args.symbols)
            env = harness.engine_env(cluster.url("owner_url"), fake, ())
            harness.migrate(env)
            code, ingest_s = harness.timed_run(env, "--job", "full")
            if code != 0:
                raise harness.DrillFailed(f"the ingest exited {code}")
            harness.wait_replica_caught_up(cluster)
            harness.log(f"{len(symbols)} symbols ingested in {ingest_s:.1f} s")
            dashboard = harness.Dashboard.on(cluster, root / "dashboard")
            dashboard.env.update(
                MYCFA_DASH_HEALTH_TTL_S=str(HEALTH_TTL_S), MYCFA_DASH_MAX_LAG_BYTES=str(MAX_LAG_BYTES)
            )
            dashboard.add_user()
            dashboard.start()
            # Half the analysts load Compare (its answers carry the staleness banner), half the
            # uncached freshness export (every load reads rows, so the per-node row counts say who served).
            streams = [
                harness.PageStream(dashboard, symbols, interval_s=0.2, page=page).start()
                for page in ("compare", "freshness") * max(1, args.analysts // 2)
            ]
            nodes = Nodes(cluster)

            def settle() -> None:  # every worker's router has probed again, and the counters are published
                time.sleep(HEALTH_TTL_S + BACK_IN_USE_MARGIN_S + STATS_FLUSH_S)

            def hold() -> None:
                time.sleep(args.phase_s)

            def stale_answers(since: float) -> int:
                return sum(1 for s in streams for load in s.loads if load.at >= since and load.stale)

            share, reads = nodes.replica_share(hold)
            report.check(
                "healthy: replica share of reads",
                round(share, 3),
                f">= {SERVING_SHARE}",
                lambda v: v >= SERVING_SHARE,
            )
            harness.log(f"healthy: {reads} rows read, {share:.0%} on the replica")

            stopped_at = time.time()
            cluster.devdb("kill", "replica")
            settle()  # the router notices at its next probe
            share, reads = nodes.replica_share(hold)
            report.check("replica stopped: replica share", round(share, 3), "0", lambda v: v == 0)
            report.check("replica stopped: stale banners", stale_answers(stopped_at), "0", lambda n: n == 0)
            harness.log(f"replica stopped: {reads} rows read on the primary")

            cluster.devdb("start", "--json")
            harness.wait_replica_caught_up(cluster)
            with psycopg.connect(cluster.url("admin_replica_url", "postgres"), autocommit=True) as replica:
                replica.execute("SELECT pg_wal_replay_pause()")
            with psycopg.connect(cluster.url("admin_url", "postgres"), autocommit=True) as primary:
                # WAL past the lag limit, in a scratch table of the maintenance database.
                primary.execute("DROP TABLE IF EXISTS drill_wal")
                primary.execute(
                    "CREATE TABLE drill_wal AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g"
                )
                row = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
            paused_at = time.time()
            settle()
            share, reads = nodes.replica_share(hold)
            report.check(
                "replica paused past the limit: replica share", round(share, 3), "< 0.05", lambda v: v < 0.05
            )
            report.check("replica paused: stale banners", stale_answers(paused_at), "0", lambda n: n == 0)
            harness.log(f"replica paused behind {row}: {reads} rows read, {share:.0%} on the replica")

            with psycopg.connect(cluster.url("admin_replica_url", "postgres"), autocommit=True) as replica:
                replica.execute("SELECT pg_wal_replay_resume()")
            resumed_at = time.time()
            back_after: float | None = None
            while back_after is None and time.time() - resumed_at < 4 * HEALTH_TTL_S + 10:
                time.sleep(0.05)
                first = first_page_read(cluster.url("admin_replica_url", "postgres"), resumed_at)
                back_after = None if first is None else first - resumed_at
            limit = HEALTH_TTL_S + BACK_IN_USE_MARGIN_S
            report.check(
                "resumed: seconds until the replica serves again",
                round(back_after, 2) if back_after is not None else "never",
                f"<= {limit:g} (TTL + 1)",
                lambda v: v != "never" and float(v) <= limit,
            )
            settle()  # every worker's router has probed again
            share, reads = nodes.replica_share(hold)
            report.check(
                "resumed: replica share", round(share, 3), f">= {SERVING_SHARE}", lambda v: v >= SERVING_SHARE
            )

            for stream in streams:
                stream.stop()
            errors = [e for s in streams for e in s.errors()]
            report.add("page loads", sum(s.count() for s in streams))
            report.check("dashboard errors", len(errors), "0", lambda n: n == 0)
            if errors:
                harness.log(f"first errors: {[(e.detail, round(e.at - stopped_at, 1)) for e in errors[:5]]}")
        finally:
            for stream in streams:
                stream.stop()
            if dashboard is not None:
                dashboard.stop()
    return report
