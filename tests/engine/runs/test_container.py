"""Dockerfile.engine: lint-clean (hadolint), engine-only, non-root, dependencies in sync with pyproject."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "Dockerfile.engine"
HADOLINT = Path(sys.executable).parent / "hadolint"


def engine_dependencies() -> set[str]:
    """The dependency lines of pyproject.toml's `# engine` block."""
    text = (REPO / "pyproject.toml").read_text()
    block = text.split("# engine", 1)[1].split("# dashboard", 1)[0]
    return set(re.findall(r'"([^"]+)"', block))


def test_dockerfile_engine_passes_hadolint() -> None:
    """hadolint (from PyPI) reports nothing at its default threshold."""
    result = subprocess.run([str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_engine_installs_exactly_the_engine_dependencies() -> None:
    """The pip layer lists pyproject's engine dependencies, no more (no dashboard stack) and no fewer."""
    text = DOCKERFILE.read_text()
    installed = set(
        re.findall(r'"([a-zA-Z][^"]*[<>=][^"]*)"', text.split("RUN pip install", 1)[1].split("RUN ", 1)[0])
    )
    assert installed == engine_dependencies()


def test_dockerfile_engine_copies_only_engine_and_schema_and_runs_unprivileged() -> None:
    """Source arrives after the dependency layer, only engine/ and schema/; non-root; the fixed entrypoint."""
    text = DOCKERFILE.read_text()
    copies = re.findall(r"^COPY (\S+)", text, flags=re.MULTILINE)
    assert copies == ["schema/", "engine/"]
    assert text.index("RUN pip install") < text.index("COPY ")
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    user = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert user and user[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["mycfa-engine"]' in text
    assert 'CMD ["run", "--job", "full"]' in text
    assert "PYTHONUNBUFFERED=1" in text
