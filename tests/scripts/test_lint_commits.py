"""scripts/lint_commits.py: every commit subject after the base at most 72 characters, on real git."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

LINT = REPO_ROOT / "scripts" / "lint_commits.py"


@pytest.fixture
def git_env(tmp_path: Path) -> dict[str, str]:
    """git with no user or system configuration (no hooks, no signing) and no repository above tmp_path."""
    return {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CEILING_DIRECTORIES": str(tmp_path),
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }


def git(repo: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def commit(repo: Path, env: dict[str, str], subject: str) -> str:
    git(repo, env, "commit", "--allow-empty", "--quiet", "-m", subject, "-m", "The body may be long. " * 10)
    return git(repo, env, "rev-parse", "HEAD")


def lint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LINT), *args], env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture
def repo(tmp_path: Path, git_env: dict[str, str]) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, git_env, "init", "--quiet")
    return path


def test_lint_commits_long_subjects_listed_with_lengths(repo: Path, git_env: dict[str, str]) -> None:
    """Each subject over 72 characters after the base is listed with its hash and length and the check
    fails; the base's own history, a 72-character subject and a 72-character one in multi-byte
    characters pass."""
    commit(repo, git_env, "old history " + "x" * 100)
    base = commit(repo, git_env, "the base " + "y" * 100)
    commit(repo, git_env, "a" * 72)
    too_long = commit(repo, git_env, "b" * 73)
    commit(repo, git_env, "→" * 72)
    far_too_long = commit(repo, git_env, "c" * 144)
    result = lint(git_env, "--repo", str(repo), "--base", base)
    assert result.returncode == 1, result.stdout + result.stderr
    listed = [line for line in result.stdout.splitlines() if " chars: " in line]
    assert listed == [f"{far_too_long[:10]} 144 chars: {'c' * 144}", f"{too_long[:10]} 73 chars: {'b' * 73}"]
    assert "2 of 4 commit(s)" in result.stdout
    assert "CONTRIBUTING.md" in result.stdout


def test_lint_commits_short_subjects_pass(repo: Path, git_env: dict[str, str]) -> None:
    """Subjects of at most 72 characters after the base pass, counted."""
    base = commit(repo, git_env, "the base " + "y" * 100)
    commit(repo, git_env, "Add the thing")
    commit(repo, git_env, "d" * 72)
    result = lint(git_env, "--repo", str(repo), "--base", base)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 commit(s)" in result.stdout


def test_lint_commits_shallow_clone_not_checked(repo: Path, tmp_path: Path, git_env: dict[str, str]) -> None:
    """In a shallow clone without the base the check says it checked nothing and why (exit 0), and fails
    with --require-history."""
    base = commit(repo, git_env, "the base")
    commit(repo, git_env, "e" * 80)
    shallow = tmp_path / "shallow"
    git(tmp_path, git_env, "clone", "--quiet", "--depth", "1", f"file://{repo}", str(shallow))
    result = lint(git_env, "--repo", str(shallow), "--base", base)
    assert result.returncode == 0
    assert "commit subjects NOT checked" in result.stderr
    assert f"commit {base} is not in this repository's history" in result.stderr
    assert "git fetch --unshallow" in result.stderr
    strict = lint(git_env, "--repo", str(shallow), "--base", base, "--require-history")
    assert strict.returncode == 2
    assert "NOT checked" in strict.stderr


def test_lint_commits_no_git_directory_not_checked(tmp_path: Path, git_env: dict[str, str]) -> None:
    """A source tree without .git (a tarball) is reported as not checked, with git's reason."""
    tree = tmp_path / "tarball"
    tree.mkdir()
    result = lint(git_env, "--repo", str(tree))
    assert result.returncode == 0
    assert "commit subjects NOT checked" in result.stderr
    assert "not a git repository" in result.stderr
    assert lint(git_env, "--repo", str(tree), "--require-history").returncode == 2


def test_lint_commits_repository_history_clean() -> None:
    """This repository's commits after the base all have short subjects (or, without its history, the
    check says it did not look)."""
    result = lint(dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every subject at most 72" in result.stdout or "NOT checked" in result.stderr
