"""Print the part of requirements.lock one extra of pyproject.toml needs (its pins with their hashes).

requirements.lock is one lock for every extra (`bash scripts/lock`); pip's hash-checking mode installs
only what a requirements file pins, so each image installs `python3 scripts/lock_subset.py engine`
with `pip install --require-hashes --no-deps` and then `pip check`. The subset is the extra's own
requirements plus everything the lock's `# via` notes trace back to them. Standard library only: it
runs in the images' builder stage before anything is installed.

    python3 scripts/lock_subset.py engine [--lock requirements.lock] [--pyproject pyproject.toml]
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def normalise(name: str) -> str:
    """The PEP 503 form of a project name (`Flask_Login` -> `flask-login`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> dict[str, tuple[str, set[str]]]:
    """Each pinned project of a uv/pip-tools lock: its text block and the projects it is `# via`."""
    entries: dict[str, tuple[str, set[str]]] = {}
    name = ""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not line[0].isspace():
            match = NAME.match(line)
            if match is None:
                raise ValueError(f"unreadable lock line: {line!r}")
            name = normalise(match.group())
            entries[name] = (line + "\n", set())
            continue
        block, parents = entries[name]
        stripped = line.strip()
        if stripped.startswith("#"):
            via = stripped.lstrip("#").strip().removeprefix("via").strip()
            if via and not via.endswith("(pyproject.toml)"):
                parents.add(normalise(NAME.match(via).group()))  # type: ignore[union-attr]
        else:
            entries[name] = (block + line + "\n", parents)
    return entries


def extra_requirements(pyproject: str, extra: str) -> set[str]:
    """The project names an extra of pyproject.toml asks for."""
    extras = tomllib.loads(pyproject)["project"]["optional-dependencies"]
    if extra not in extras:
        raise KeyError(f"pyproject.toml has no extra {extra!r} (has: {', '.join(sorted(extras))})")
    return {normalise(NAME.match(req).group()) for req in extras[extra]}  # type: ignore[union-attr]


def subset(entries: dict[str, tuple[str, set[str]]], roots: set[str]) -> list[str]:
    """Roots plus every locked project whose `# via` chain leads to one of them, sorted."""
    missing = roots - entries.keys()
    if missing:
        raise KeyError(f"not in the lock (run `bash scripts/lock`): {', '.join(sorted(missing))}")
    chosen = set(roots)
    grew = True
    while grew:
        grew = False
        for name, (_, parents) in entries.items():
            if name not in chosen and parents & chosen:
                chosen.add(name)
                grew = True
    return sorted(chosen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("extra")
    parser.add_argument("--lock", type=Path, default=Path("requirements.lock"))
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args(argv)
    try:
        entries = parse_lock(args.lock.read_text())
        names = subset(entries, extra_requirements(args.pyproject.read_text(), args.extra))
    except (KeyError, ValueError) as exc:
        print(f"lock_subset: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(f"# {args.extra} extra of {args.lock.name} (scripts/lock_subset.py)\n")
    sys.stdout.write("".join(entries[name][0] for name in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
