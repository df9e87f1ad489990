"""Byte-compile what a program imports, for a runtime image that carries no other .pyc files.

The dashboard's builder stage installs its packages without .pyc files (pip's `--no-compile`: all of
them would add 185 MB, mostly for modules nothing imports) and runs this with `PYTHONPYCACHEPREFIX`
set: importing the named modules, and every submodule of the named packages, writes the .pyc of each
module they load (the standard library's and third-party ones included) into that one tree. The
runtime stage copies the tree and points `PYTHONPYCACHEPREFIX` at it, so gunicorn's workers start
from bytecode. A module that fails to import fails the build: a runtime dependency missing from the
lock shows there already. Standard library only.

    PYTHONPYCACHEPREFIX=/opt/pycache python3 compile_imports.py dashboard.app dashboard.analytics
"""

from __future__ import annotations

import importlib
import pkgutil
import sys


def import_all(names: list[str]) -> int:
    """Import each named module and, for packages, all their submodules; the number of modules loaded."""
    for name in names:
        module = importlib.import_module(name)
        for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{name}."):
            importlib.import_module(info.name)
    return len(sys.modules)


def main(argv: list[str]) -> int:
    if not argv or sys.pycache_prefix is None:
        print("usage: PYTHONPYCACHEPREFIX=DIR python3 compile_imports.py MODULE...", file=sys.stderr)
        return 2
    print(f"compile_imports: {import_all(argv)} modules compiled into {sys.pycache_prefix}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
