"""Every file a Dockerfile copies from the build context is in the context `.dockerignore` leaves."""

from __future__ import annotations

import fnmatch
import shlex
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

DOCKERFILES = sorted(REPO_ROOT.glob("Dockerfile.*"))


def _rules() -> list[tuple[bool, str]]:
    """(.dockerignore's rules in order: include?, pattern without a trailing slash)."""
    rules = []
    for raw in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            include = line.startswith("!")
            rules.append((include, line.lstrip("!").rstrip("/")))
    return rules


def in_context(path: str) -> bool:
    """Docker's reading: the last rule matching the path (or a folder above it) decides."""
    parts = path.rstrip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for include, pattern in _rules():
        if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            included = include
    return included


def copied_sources(dockerfile_text: str) -> list[str]:
    """The context paths of each COPY without --from (the last word is the destination)."""
    sources = []
    for line in dockerfile_text.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True) if line.strip().startswith("COPY") else []
        if words and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def test_in_context_reads_dockerignore_as_docker_does() -> None:
    """The matcher itself: a folder let in is in with its files; caches and unlisted folders are out."""
    assert in_context("engine/")
    assert in_context("engine/db/pool.py")
    assert not in_context("tests/conftest.py")
    assert not in_context("engine/__pycache__/x.pyc")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_every_copied_path_is_in_the_build_context(dockerfile: Path) -> None:
    """A COPY of a path the context filters out fails the build (the serving/ package once did)."""
    sources = copied_sources(dockerfile.read_text())
    assert sources
    missing = [s for s in sources if not in_context(s) or not (REPO_ROOT / s).exists()]
    assert not missing, f"{dockerfile.name}: not in the build context: {missing}"
