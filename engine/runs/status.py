"""`status`: the key's FMP plan, recent runs and their outcome (with what the plan withheld or clipped),
rows per dataset, freshness, and failed items with FMP's own words."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg
import orjson

from engine.db.pool import store_boundary
from engine.db.queries import SERVING_STATUS

RECENT_RUNS = 10
FAILED_ITEMS = 20

RUNS_SQL = """
SELECT r.run_id, r.job, r.state, r.started_at, r.finished_at, r.heartbeat_at, r.resumes, r.exit_code,
       r.items_total, r.requests, r.rows_changed, r.metrics, r.error, r.symbols, r.notes,
       coalesce((SELECT jsonb_object_agg(state, n) FROM
                   (SELECT state, count(*) AS n FROM run_items i WHERE i.run_id = r.run_id GROUP BY state) c),
                '{}'::jsonb) AS items,
       (SELECT count(*) FROM run_items i WHERE i.run_id = r.run_id AND i.params ? 'clipped') AS clipped
  FROM runs r ORDER BY r.run_id DESC LIMIT $1"""
PROBE_SQL = """
SELECT probed_at, plan, entitlements, requests FROM fmp_probes ORDER BY probed_at DESC, probe_id DESC LIMIT 1"""
USAGE_SQL = "SELECT day, requests FROM fmp_usage ORDER BY day DESC LIMIT 1"
CLIPPED_SQL = """
SELECT symbol, dataset, params->'clipped' AS clipped FROM run_items
 WHERE run_id = (SELECT max(run_id) FROM runs) AND params ? 'clipped'
 ORDER BY symbol, dataset LIMIT $1"""
ROW_COUNTS_SQL = """
SELECT 'companies' AS dataset, count(*) AS n, NULL::date AS latest FROM companies
UNION ALL
SELECT kind || CASE WHEN period = 'FY' THEN '_annual' ELSE '_quarter' END, count(*), max(fiscal_date)
  FROM statements GROUP BY 1
UNION ALL
SELECT 'prices', count(*), max(date) FROM prices_daily"""
REFRESHED_SQL = """
SELECT dataset, max(finished_at) AS refreshed_at FROM run_items WHERE state = 'done' GROUP BY dataset"""
FAILED_SQL = """
SELECT run_id, symbol, dataset, state, attempts, error_class, error_message, finished_at
  FROM run_items
 WHERE run_id = (SELECT max(run_id) FROM runs)
   AND state IN ('failed', 'skipped')
 ORDER BY symbol, dataset LIMIT $1"""


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith("{"):
        return orjson.loads(value)  # jsonb columns arrive as text
    return value


@store_boundary
async def collect_status(pool: asyncpg.Pool) -> dict[str, Any]:
    """Everything `status` shows, as JSON-ready data (the metrics are those of the EMF lines)."""
    runs = [{k: _jsonable(v) for k, v in dict(r).items()} for r in await pool.fetch(RUNS_SQL, RECENT_RUNS)]
    refreshed = {r["dataset"]: r["refreshed_at"] for r in await pool.fetch(REFRESHED_SQL)}
    datasets: dict[str, dict[str, Any]] = {}
    for row in await pool.fetch(ROW_COUNTS_SQL):
        name = row["dataset"]
        datasets[name] = {
            "rows": int(row["n"]),
            "latest_date": _jsonable(row["latest"]),
            "refreshed_at": _jsonable(refreshed.get("profile" if name == "companies" else name)),
        }
    failed = [
        {k: _jsonable(v) for k, v in dict(r).items()} for r in await pool.fetch(FAILED_SQL, FAILED_ITEMS)
    ]
    clipped = [
        {k: _jsonable(v) for k, v in dict(r).items()} for r in await pool.fetch(CLIPPED_SQL, FAILED_ITEMS)
    ]
    probe = await pool.fetchrow(PROBE_SQL)
    usage = await pool.fetchrow(USAGE_SQL)
    return {
        "fmp_plan": {k: _jsonable(v) for k, v in dict(probe).items()} if probe else None,
        "fmp_usage": {k: _jsonable(v) for k, v in dict(usage).items()} if usage else None,
        "runs": runs,
        "datasets": datasets,
        "failed_items": failed,
        "clipped_items": clipped,
        "serving": await _serving(pool),
    }


async def _serving(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """The derived tables' last refresh each (docs/serving.md); empty before schema 100."""
    try:
        rows = await pool.fetch(SERVING_STATUS)
    except asyncpg.UndefinedTableError:
        return []
    return [{k: _jsonable(v) for k, v in dict(r).items()} for r in rows]


def render_plan_line(status: dict[str, Any]) -> list[str]:
    """The key's FMP plan as the last probe found it, and the requests spent on the last day counted."""
    probe = status.get("fmp_plan")
    if not probe:
        return ["FMP plan: not probed yet (`mycfa-engine probe`, or the next run, finds out)"]
    ent = probe["entitlements"] or {}
    refused = [c["name"] for c in ent.get("checks", ()) if not c["allowed"]]
    lines = [
        f"FMP plan: {probe['plan']} (probed {probe['probed_at'][:19]}; refused: {', '.join(refused) or 'nothing'})"
    ]
    usage = status.get("fmp_usage")
    if usage:
        limit = ent.get("daily_limit")
        lines.append(
            f"FMP requests on {usage['day']}: {usage['requests']}" + (f" of {limit} a day" if limit else "")
        )
    return lines


def _run_lines(run: dict[str, Any]) -> list[str]:
    """One run: its outcome, bulk endpoints, and what the key's FMP plan changed about it."""
    items = " ".join(f"{n} {state}" for state, n in sorted(run["items"].items()))
    metrics = run["metrics"] or {}
    lines = [
        f"  #{run['run_id']:<5} {run['job']:<13} {run['state']:<11} started {run['started_at'][:19]}"
        f"  {items or 'no items'}  requests {run['requests'] or metrics.get('requests', 0)}"
        f"  rows {run['rows_changed']}  exit {run['exit_code'] if run['exit_code'] is not None else '-'}"
    ]
    if metrics.get("bulk"):
        lines.append(
            "         bulk: " + ", ".join(f"{path} {state}" for path, state in metrics["bulk"].items())
        )
    notes = run.get("notes") or {}
    if notes.get("universe") and notes["universe"] != "FMP's sp500-constituent":
        lines.append(f"         universe: {notes['universe']}")
    plan = notes.get("fmp_plan", "FMP")
    lines.extend(
        f"         withheld by the {plan} plan: {what}"
        for name, what in (notes.get("withheld") or {}).items()
        if name != "constituents"
    )
    if run.get("clipped"):
        lines.append(f"         clipped to the plan: {run['clipped']} item(s)")
    if run.get("error"):
        lines.append(f"         stopped: {run['error']}")
    return lines


def _item_lines(status: dict[str, Any]) -> list[str]:
    """The latest run's clipped and failed items, with FMP's words."""
    lines = []
    if status.get("clipped_items"):
        lines.append("clipped items (latest run): loaded with less than planned, as FMP's plan allows")
        for item in status["clipped_items"]:
            clip = item["clipped"] or {}
            span = (
                f"{clip['from']}..{clip['to']}"
                if "from" in clip
                else f"limit {clip.get('asked')} -> {clip.get('limit')}"
            )
            lines.append(f"  {item['symbol']:<6} {item['dataset']:<20} {span}: {clip.get('fmp')}")
    if status["failed_items"]:
        lines.append("failed items (latest run):")
        for item in status["failed_items"]:
            lines.append(
                f"  {item['symbol']:<6} {item['dataset']:<20} {item['state']:<8} "
                f"{item['error_class']}: {item['error_message']}"
            )
    return lines


def render_status(status: dict[str, Any]) -> str:
    """A terminal view of `collect_status`."""
    lines = [*render_plan_line(status), "recent runs:"]
    for run in status["runs"]:
        lines.extend(_run_lines(run))
    if not status["runs"]:
        lines.append("  (none yet)")
    lines.append("datasets:")
    for name, info in status["datasets"].items():
        lines.append(
            f"  {name:<22}{info['rows']:>12} rows  latest {info['latest_date'] or '-':<10}"
            f"  refreshed {info['refreshed_at'][:19] if info['refreshed_at'] else '-'}"
        )
    lines.extend(_item_lines(status))
    lines.append("serving tables (docs/serving.md):")
    for table in status.get("serving", []):
        when = (table["succeeded_at"] or "-")[:19]
        line = f"  {table['name']:<22}{table['state']:<8} last ok {when}  data {table['data_as_of'] or '-'}"
        lines.append(line + (f"  FAILED: {table['error']}" if table["state"] != "ok" else ""))
    if not status.get("serving"):
        lines.append("  (never refreshed: `mycfa-engine refresh --all`)")
    return "\n".join(lines)
