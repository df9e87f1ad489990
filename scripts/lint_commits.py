"""Fail when a commit since the rule came has a subject longer than 72 characters (CONTRIBUTING.md).

Usage: python scripts/lint_commits.py [--base REV] [--require-history] [--repo DIR]

Which commits: every commit reachable from HEAD and not from BASE (`git rev-list BASE..HEAD`, merges
included), BASE being af83061, main's tip when the rule became a check: the history before it is
left as it is (main's history is never rewritten). The subject is what `git log --format=%s` prints
(the first paragraph of the message on one line), measured in characters.

Without BASE in the history (a shallow clone, a tarball without .git) nothing can be checked: the
check says so on stderr and exits 0, so the test suite still runs from a source tree; with
`--require-history` (CI's lint job, which fetches the whole history) that is a failure instead.
Exit 0: clean or not checkable; 1: subjects too long (each listed with its length); 2: not
checkable with --require-history. Standard library only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASE = "af83061"  # main's tip when the check came; an ancestor of every later main
MAX_SUBJECT = 72


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str


class NoHistory(Exception):
    """BASE or HEAD cannot be read from the repository: the commits cannot be checked."""


def git(repo: Path, *args: str) -> str:
    """git's standard output; NoHistory with git's own words when it fails or is missing."""
    try:
        result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise NoHistory("git is not installed") from None
    if result.returncode != 0:
        raise NoHistory(result.stderr.strip() or f"git {' '.join(args)} exited {result.returncode}")
    return result.stdout


def commits_since(repo: Path, base: str) -> list[Commit]:
    """The commits on HEAD after `base`, newest first."""
    git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    try:
        git(repo, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    except NoHistory:
        shallow = git(repo, "rev-parse", "--is-shallow-repository").strip() == "true"
        hint = " (a shallow clone: `git fetch --unshallow`)" if shallow else ""
        raise NoHistory(f"commit {base} is not in this repository's history{hint}") from None
    out = git(repo, "log", "--format=%H%x00%s%x00", f"{base}..HEAD")
    fields = out.split("\x00")
    return [Commit(sha.strip(), subject) for sha, subject in zip(fields[::2], fields[1::2], strict=False)]


def too_long(commits: list[Commit], limit: int = MAX_SUBJECT) -> list[str]:
    """`<short sha> <length> chars: <subject>` for each subject over `limit` characters."""
    return [f"{c.sha[:10]} {len(c.subject)} chars: {c.subject}" for c in commits if len(c.subject) > limit]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default=BASE, help=f"check the commits after this one (default {BASE})")
    parser.add_argument("--repo", type=Path, default=REPO, help="the repository (default: this one)")
    parser.add_argument(
        "--require-history", action="store_true", help="fail (exit 2) when BASE is not in the history"
    )
    args = parser.parse_args(argv)
    try:
        commits = commits_since(args.repo, args.base)
    except NoHistory as exc:
        print(f"lint_commits: commit subjects NOT checked: {exc}", file=sys.stderr)
        return 2 if args.require_history else 0
    problems = too_long(commits)
    for problem in problems:
        print(problem)
    if problems:
        print(
            f"lint_commits: {len(problems)} of {len(commits)} commit(s) after {args.base} have a subject over"
            f" {MAX_SUBJECT} characters. Say what changed in at most {MAX_SUBJECT}; put the why and the"
            " figures in the body (CONTRIBUTING.md, Commits). Reword them before landing:"
            " `git rebase -i` on your branch, never on main."
        )
        return 1
    print(
        f"lint_commits: {len(commits)} commit(s) after {args.base}, every subject at most {MAX_SUBJECT} characters"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
