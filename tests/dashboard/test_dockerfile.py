"""Dockerfile.dashboard is hadolint-clean and keeps the image's promises (non-root, health check, dashboard only)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile.dashboard"


def test_dockerfile_dashboard_passes_hadolint() -> None:
    """hadolint reports nothing at all (info level included)."""
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_dashboard_is_non_root_with_healthcheck() -> None:
    """Slim 3.11 base, dependencies before source, a non-root USER, HEALTHCHECK on /health/live, no engine code."""
    text = DOCKERFILE.read_text()
    lines = [line.split()[0] for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert text.startswith("#")
    assert "ARG PYTHON_IMAGE=python:3.11-slim@sha256:" in text
    assert "lock_subset.py dashboard" in text
    assert "--require-hashes" in text
    assert text.index("pip install") < text.index("COPY dashboard/ ")
    assert "USER 10001" in text
    assert lines.index("USER") > lines.index("RUN")
    assert "HEALTHCHECK" in text
    assert "/health/live" in text
    assert "COPY engine" not in text
    assert "COPY fakefmp" not in text
    assert "COPY . " not in text
    assert "dashboard.app:server" in text
