"""The soak's measurements: memory per program and disk written, sampled in a thread; the report's figures."""

from __future__ import annotations

import dataclasses
import json
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import psycopg

from . import harness

if TYPE_CHECKING:
    from .soak import Soak
    from .soak_load import Analysts

SAMPLE_S = 30.0
WARM_UP_SHARE = 0.25  # the first quarter (caches filling) is left out of the memory slopes
MONTH_H = 30 * 24
MB = 1024 * 1024
# As the operator (a member of mycfa_audit_reader): no program's role may read the trail.
AUDIT_SQL = "SELECT count(*), pg_total_relation_size('audit.events') FROM audit.events"
LEDGER_SQL = {
    "runs": "SELECT job, state, count(*), sum(resumes) FROM runs GROUP BY 1, 2 ORDER BY 1, 2",
    "failed": "SELECT coalesce(error_class, '?'), count(*) FROM run_items WHERE state = 'failed'"
    " GROUP BY 1 ORDER BY 2 DESC",
    # Items still 'running' in a run that is not over, and in runs another job abandoned (the engine
    # closes those runs but leaves their items as they were).
    "open": "SELECT count(*) FILTER (WHERE r.state <> 'abandoned'), count(*) FILTER (WHERE r.state = 'abandoned')"
    " FROM run_items i JOIN runs r USING (run_id) WHERE i.state = 'running'",
}


@dataclass
class Sample:
    at: float
    pss_mb: dict[str, float]
    wal_bytes: float  # written since the previous sample
    log_bytes: int  # every log file's size now
    audit_rows: int
    audit_bytes: int


@dataclass
class Sampler:
    """Every SAMPLE_S: each program's proportional memory (PSS, so shared buffers count once), WAL
    written, log sizes, audit rows."""

    soak: Soak
    root: Path
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lsn: str | None = None

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _loop(self) -> None:
        while True:
            try:
                self.samples.append(self._sample())
            except (psycopg.Error, psutil.Error, OSError) as exc:  # a failover under way: next time
                harness.log(f"sample skipped: {type(exc).__name__}")
            if self._stop.wait(SAMPLE_S):
                return

    def _programs(self) -> dict[str, list[psutil.Process]]:
        soak = self.soak
        roots: dict[str, list[psutil.Process]] = {
            "dashboard": [],
            "engine": [],
            "postgres": [],
            "fake FMP": [],
        }
        if soak.dashboard.process is not None:
            roots["dashboard"].append(psutil.Process(soak.dashboard.process.pid))
        if soak.scheduler is not None and soak.scheduler.poll() is None:
            roots["engine"].append(psutil.Process(soak.scheduler.pid))
        roots["fake FMP"].append(psutil.Process(soak.fake.proc.pid))
        cluster_root = str(soak.cluster.root)
        for process in psutil.process_iter(["cmdline", "ppid"]):
            cmdline = process.info["cmdline"] or []
            if any(arg.startswith(cluster_root) for arg in cmdline) and "postgres" in " ".join(cmdline[:1]):
                roots["postgres"].append(process)
        return {
            name: [p for r in found for p in (r, *r.children(recursive=True))]
            for name, found in roots.items()
        }

    def _sample(self) -> Sample:
        pss: dict[str, float] = {}
        for name, processes in self._programs().items():
            total = 0.0
            for process in processes:
                try:
                    total += process.memory_full_info().pss
                except psutil.NoSuchProcess:
                    continue
            pss[name] = total / MB
        with psycopg.connect(self.soak_url("admin_url", "postgres"), autocommit=True) as admin:
            row = admin.execute("SELECT pg_current_wal_lsn()::text").fetchone()
            lsn = str(row[0]) if row else None
            written = 0.0
            if self._lsn is not None and lsn is not None:
                diff = admin.execute(
                    "SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)", (lsn, self._lsn)
                ).fetchone()
                written = max(0.0, float(diff[0])) if diff else 0.0
            self._lsn = lsn
        with psycopg.connect(self.soak_url("operator_url"), autocommit=True) as operator:
            audit_rows, audit_bytes = audit_size(operator)
        logs = sum(p.stat().st_size for p in self.root.rglob("*.log") if p.is_file())
        return Sample(time.time(), pss, written, logs, audit_rows, audit_bytes)

    def soak_url(self, which: str, database: str = "mycfa") -> str:
        from .soak import writer_url

        return writer_url(self.soak.cluster, which, database)


def audit_size(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """Rows and bytes of the audit trail: `audit.events` since schema 140 (the dashboard no longer
    writes `public.audit_events`, and the engine's role may not read the trail)."""
    row = conn.execute(AUDIT_SQL).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (time s, value), per hour."""
    if len(points) < 3:
        return 0.0
    return float(statistics.linear_regression([t for t, _ in points], [v for _, v in points]).slope) * 3600


def memory_figures(report: harness.Report, samples: list[Sample]) -> None:
    warm = samples[int(len(samples) * WARM_UP_SHARE) :]
    if len(warm) < 3:
        report.add("memory", f"{len(samples)} samples: too few for a slope")
        return
    for name in warm[0].pss_mb:
        points = [(s.at, s.pss_mb.get(name, 0.0)) for s in warm]
        values = [v for _, v in points]
        report.add(
            f"memory (PSS) {name}: after warm-up first / max / last MB, slope MB/h",
            f"{values[0]:,.0f} / {max(values):,.0f} / {values[-1]:,.0f}, {slope_per_hour(points):+,.1f}",
        )


def disk_figures(report: harness.Report, samples: list[Sample]) -> None:
    if len(samples) < 2:
        return
    hours = (samples[-1].at - samples[0].at) / 3600
    wal = sum(s.wal_bytes for s in samples[1:]) / MB / hours
    logs = (samples[-1].log_bytes - samples[0].log_bytes) / MB / hours
    rows = (samples[-1].audit_rows - samples[0].audit_rows) / hours
    audit_mb = (samples[-1].audit_bytes - samples[0].audit_bytes) / MB / hours
    report.add("WAL written, MB/h -> GB per 30-day month", f"{wal:,.0f} -> {wal * MONTH_H / 1024:,.1f}")
    report.add("logs written, MB/h -> GB per month", f"{logs:,.1f} -> {logs * MONTH_H / 1024:,.2f}")
    report.add(
        "audit rows /h (table MB/h) -> rows (GB) per month",
        f"{rows:,.0f} ({audit_mb:,.1f}) -> {rows * MONTH_H:,.0f} ({audit_mb * MONTH_H / 1024:,.2f})",
    )


def request_figures(
    report: harness.Report, events: list[tuple[float, str, str]], analysts: Analysts, started: float
) -> None:
    loads = analysts.requests
    failed = [r for r in loads if not r.ok]
    kinds: dict[str, int] = {}
    for r in failed:
        kinds[f"{r.name} {r.detail}".strip()] = kinds.get(f"{r.name} {r.detail}".strip(), 0) + 1
    report.add("requests (logins included), failed", f"{len(loads):,}, {len(failed):,}")
    report.add(
        "failures by request and reason", ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())) or "none"
    )
    answered = sorted(r.ms for r in loads if r.ok and r.name != "login")
    if len(answered) > 20:
        cuts = statistics.quantiles(answered, n=100)
        report.add(
            "answered clicks p50 / p95 / p99 ms", f"{cuts[49]:,.0f} / {cuts[94]:,.0f} / {cuts[98]:,.0f}"
        )
    seconds, who, since = analysts.longest_outage()
    report.add(
        "longest outage an analyst saw, seconds",
        f"{seconds:,.1f}"
        + (f" (analyst {who}, from +{max(0.0, since - started):,.0f} s)" if who > -2 else ""),
    )
    starts = [at for at, _, _ in events] + [float("inf")]
    for (at, kind, what), until in zip(events, starts[1:], strict=False):
        window = [r for r in loads if at <= r.at < until]
        errors = sum(1 for r in window if not r.ok)
        report.add(
            f"fault +{at - started:,.0f} s {kind}",
            f"{what}; until the next: {errors} of {len(window)} failed",
        )


def ledger_figures(report: harness.Report, soak: Soak, catch_up: list[int]) -> None:
    from .soak import writer_url

    with psycopg.connect(writer_url(soak.cluster, "owner_url")) as conn:
        runs = conn.execute(LEDGER_SQL["runs"]).fetchall()
        failed = conn.execute(LEDGER_SQL["failed"]).fetchall()
        still_open = conn.execute(LEDGER_SQL["open"]).fetchone()
    report.add("runs by job and state (resumes)", ", ".join(f"{j} {s} {n} ({r})" for j, s, n, r in runs))
    report.add("failed items by reason", ", ".join(f"{c} {n}" for c, n in failed) or "none")
    report.check("items left running in runs not abandoned", int(still_open[0]) if still_open else -1, "0",
                 lambda n: n == 0)  # fmt: skip
    report.add("items still marked running in abandoned runs", int(still_open[1]) if still_open else -1)
    report.check("catch-up full run exits", " ".join(map(str, catch_up)), "ends 0", lambda s: s.endswith("0"))
    equal, soaked, clean = harness.same_content(
        writer_url(soak.cluster, "owner_url"), soak.cluster.url("owner_url", "clean")
    )
    for table, (count, _) in clean.items():
        report.add(f"rows {table} (soak / clean)", f"{soaked[table][0]} / {count}")
    report.check("content equals the clean ingest's (0 lost, 0 duplicated)", equal, "True", bool)


def dump(path: Path, soak: Soak, analysts: Analysts, sampler: Sampler) -> None:
    """Every request, sample and fault as JSON (kept with MYCFA_DRILL_KEEP), to recount afterwards."""
    path.write_text(
        json.dumps(
            {
                "requests": [dataclasses.astuple(r) for r in analysts.requests],
                "samples": [dataclasses.asdict(s) for s in sampler.samples],
                "events": soak.events,
            }
        )
    )


def figures(
    report: harness.Report, soak: Soak, analysts: Analysts, sampler: Sampler, started: float, ended: float,
    catch_up: list[int],
) -> None:  # fmt: skip
    report.add("minutes, analysts", f"{(ended - started) / 60:,.1f}, {analysts.count}")
    report.add("load average at the end (1/5/15 min)", " ".join(f"{x:.1f}" for x in psutil.getloadavg()))
    request_figures(report, soak.events, analysts, started)
    memory_figures(report, sampler.samples)
    disk_figures(report, sampler.samples)
    try:  # last, and caught: an hour's figures above must print even when the ledger cannot be read
        ledger_figures(report, soak, catch_up)
    except psycopg.Error as exc:
        report.check("ledger and content against the clean ingest", f"not read: {exc}".strip(), "read",
                     lambda s: False)  # fmt: skip


def recount(path: Path, availability_goal: float) -> harness.Report:
    """The figures of a kept `soak-raw.json` (MYCFA_DRILL_KEEP=1) without the cluster: requests,
    faults, memory and disk; the ledger and the rows against the clean ingest need the live cluster."""
    from .soak_load import Analysts, Request

    raw = json.loads(path.read_text())
    requests = [Request(*row) for row in raw["requests"]]
    samples = [Sample(**sample) for sample in raw["samples"]]
    events = [(float(at), str(kind), str(what)) for at, kind, what in raw["events"]]
    analysts = Analysts(dashboard=None, symbols=[], count=len({r.analyst for r in requests if r.analyst >= 0}),  # type: ignore[arg-type]
                        requests=requests)  # fmt: skip
    started = min((r.at for r in requests), default=0.0)
    ended = max((r.at + r.ms / 1000 for r in requests), default=started)
    report = harness.Report("soak (recounted)")
    report.add("recounted from", str(path))
    report.add("minutes, analysts", f"{(ended - started) / 60:,.1f}, {analysts.count}")
    request_figures(report, events, analysts, started)
    memory_figures(report, samples)
    disk_figures(report, samples)
    report.check(
        "availability, % of requests answered", analysts.availability(),
        f">= {availability_goal:g} (design 99.5)", lambda a: a >= availability_goal,
    )  # fmt: skip
    return report
