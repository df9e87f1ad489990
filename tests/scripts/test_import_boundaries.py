"""The scripts lint-imports cannot see (no .py suffix) keep its contract too: they import no tests."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT


def python_scripts_without_suffix() -> list[Path]:
    return sorted(
        path
        for path in (REPO_ROOT / "scripts").iterdir()
        if path.is_file()
        and not path.suffix
        and path.read_text(errors="replace").startswith("#!/usr/bin/env python")
    )


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_scripts_without_suffix_import_no_tests() -> None:
    """loadtest, drill, smoke and friends import nothing from tests/ (shared helpers live in devkit)."""
    scripts = python_scripts_without_suffix()
    assert {path.name for path in scripts} >= {"loadtest", "drill", "smoke"}  # the scan finds them
    offenders = {
        path.name: sorted(
            name for name in imported_modules(path) if name == "tests" or name.startswith("tests.")
        )
        for path in scripts
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_import_scan_sees_function_level_imports(tmp_path: Path) -> None:
    """The scan finds an import inside a function, as the scripts write them after their sys.path set-up."""
    script = tmp_path / "tool"
    script.write_text("#!/usr/bin/env python3\ndef main():\n    from tests.dashboard import seed\n")
    assert "tests.dashboard" in imported_modules(script)
