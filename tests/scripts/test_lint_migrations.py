"""scripts/lint_migrations: squawk on the schema files newer than it, every exception argued in the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

LINT = REPO_ROOT / "scripts" / "lint_migrations"


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LINT), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )


def test_lint_migrations_repository_schema_clean() -> None:
    """The repository's own schema files pass (those newer than the linter, and nothing else is asked)."""
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_migrations_blocking_statements_found_with_lines(tmp_path: Path) -> None:
    """An index built under lock on an existing table and a column retyped in place are reported with
    their 1-based lines and rules, and the lint fails."""
    migration = tmp_path / "150_unsafe.sql"
    migration.write_text(
        "-- prices by volume\nCREATE INDEX prices_volume ON prices_daily (volume);\n"
        "ALTER TABLE companies ALTER COLUMN name TYPE varchar(200);\n"
    )
    result = lint(migration)
    assert result.returncode == 1
    assert f"{migration}:2: require-concurrent-index-creation" in result.stdout
    assert f"{migration}:3: changing-column-type" in result.stdout
    assert "CONTRIBUTING.md" in result.stdout


def test_lint_migrations_argued_exception_passes(tmp_path: Path) -> None:
    """A squawk-ignore with a `-- why:` line right above it is accepted."""
    migration = tmp_path / "151_argued.sql"
    migration.write_text(
        "-- why: companies holds one row per constituent (~500); retyping it takes milliseconds\n"
        "-- squawk-ignore changing-column-type\n"
        "ALTER TABLE companies ALTER COLUMN name TYPE text;\n"
    )
    result = lint(migration)
    assert result.returncode == 0, result.stdout


def test_lint_migrations_unargued_exception_fails(tmp_path: Path) -> None:
    """A squawk-ignore without its argument fails the lint, naming the line to argue."""
    migration = tmp_path / "152_unargued.sql"
    migration.write_text(
        "-- squawk-ignore changing-column-type\nALTER TABLE companies ALTER COLUMN name TYPE text;\n"
    )
    result = lint(migration)
    assert result.returncode == 1
    assert f"{migration}:1: squawk-ignore without its argument" in result.stdout
