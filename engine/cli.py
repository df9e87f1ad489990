"""`mycfa-engine`: the command line ops use to migrate, plan, run and inspect ingestion."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import Callable, Sequence

from engine.config import EngineSettings, load_engine_settings
from engine.db.migrate import MigrationLimits, migrate
from engine.errors import ConfigError, StoreError
from engine.exitcodes import ExitCode
from engine.runs.commands import add_run_verbs

Handler = Callable[[argparse.Namespace, EngineSettings], int]


def cmd_config(args: argparse.Namespace, settings: EngineSettings) -> int:
    """Print the effective settings, secrets masked: what ops check first when a run misbehaves."""
    for name, value in settings.model_dump().items():
        print(f"{EngineSettings.model_config.get('env_prefix', '')}{name.upper()}={value}")
    return ExitCode.OK


def cmd_migrate(args: argparse.Namespace, settings: EngineSettings) -> int:
    """Apply the pending schema/ files in order (idempotent); exit 7 with one line if that fails."""
    try:
        limits = MigrationLimits(
            lock_timeout_s=settings.migrate_lock_timeout_s,
            statement_timeout_s=settings.migrate_statement_timeout_s,
            large_table_mb=settings.migrate_large_table_mb,
        )
        applied = asyncio.run(migrate(settings.database_url.get_secret_value(), limits=limits))
    except StoreError as exc:
        print(f"mycfa-engine: migrate failed: {exc}", file=sys.stderr)
        return ExitCode.DATABASE
    print(f"migrate: applied {', '.join(applied)}" if applied else "migrate: schema up to date")
    return ExitCode.OK


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    parser = argparse.ArgumentParser(prog="mycfa-engine", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    handlers: dict[str, Handler] = {}

    verbs.add_parser("config", help="print the effective settings (secrets masked)")
    handlers["config"] = cmd_config
    verbs.add_parser("migrate", help="apply the pending schema/ files in order (idempotent)")
    handlers["migrate"] = cmd_migrate
    add_run_verbs(verbs, handlers)
    return parser, handlers


def freeze_startup_objects() -> None:
    """Move the objects alive after start-up (numpy's, pandas', the engine's modules: ~97,000) out of
    the cycle collector's reach: they live as long as the process, yet each full collection walked them
    all (~50 ms; ~220 full collections, ~13 s of GC in a 503-symbol ingest from empty). `gc.freeze`
    is CPython's public API for this; the objects made later are collected as before."""
    gc.freeze()


# Allocations between young collections (CPython's default 700). The engine makes millions of short-lived
# containers (FMP's JSON, validated rows, the serving pass's frames), nearly all freed by reference
# counting: at 700 a 503-symbol ingest ran ~34,000 young collections, each walking what happened to be
# alive, 15-21 s of CPU in all; at 20,000, ~600 and 4 s (the older generations' thresholds unchanged).
YOUNG_COLLECTION_THRESHOLD = 20_000


def collect_young_less_often() -> None:
    """Raise the young generation's threshold (`gc.set_threshold`, CPython's public API for it)."""
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the process's own entry (console script, `python -m engine`), not a caller's
        freeze_startup_objects()
        collect_young_less_often()
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_engine_settings()
    except ConfigError as exc:
        print(f"mycfa-engine: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    return handlers[args.verb](args, settings)


if __name__ == "__main__":
    sys.exit(main())
