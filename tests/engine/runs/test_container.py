"""Dockerfile.engine: lint-clean (hadolint), engine-only, non-root, dependencies from the lock's engine extra."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "Dockerfile.engine"
HADOLINT = Path(sys.executable).parent / "hadolint"


def test_dockerfile_engine_passes_hadolint() -> None:
    """hadolint (from PyPI) reports nothing at its default threshold."""
    result = subprocess.run([str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_engine_installs_the_engine_extra_from_the_lock() -> None:
    """The builder installs the lock's `engine` subset hash-checked; no dependency list of its own."""
    text = DOCKERFILE.read_text()
    assert "lock_subset.py engine" in text
    assert "--require-hashes" in text
    assert "pip check" in text
    assert 'pip install "' not in text  # no version specifiers repeated from pyproject


def test_dockerfile_engine_copies_only_engine_and_schema_and_runs_unprivileged() -> None:
    """Source arrives after the dependency layer, only engine/, serving/ (the derived tables'
    computations) and schema/ (plus the database trust roots of deploy/tls/); non-root; the fixed
    entrypoint."""
    text = DOCKERFILE.read_text()
    copies = re.findall(r"^COPY (\S+)", text, flags=re.MULTILINE)
    assert copies == ["pyproject.toml", "--from=builder", "schema/", "engine/", "serving/", "deploy/tls/"]
    runtime = text.split("FROM ${PYTHON_IMAGE}\n", 1)[1]
    assert runtime.index("COPY --from=builder") < runtime.index("COPY engine/")
    assert "ARG PYTHON_IMAGE=python:3.11-slim@sha256:" in text
    assert "AS builder" in text
    user = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert user
    assert user[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["mycfa-engine"]' in text
    assert 'CMD ["run", "--job", "full"]' in text
    assert "PYTHONUNBUFFERED=1" in text
