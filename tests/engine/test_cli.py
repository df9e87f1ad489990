"""`mycfa-engine`'s entry: the start-up objects frozen out of the cycle collector's walks."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from engine import cli

PROBE = """
import gc, sys
sys.argv = ["mycfa-engine", "--help"]
from engine.cli import main
before = gc.get_freeze_count()
try:
    main()
except SystemExit:
    pass
print(before, gc.get_freeze_count(), len(gc.get_objects()), gc.get_threshold()[0])
"""


def test_process_entry_freezes_the_start_up_objects() -> None:
    """Run as the process's entry, main() leaves the modules' objects frozen (gc.freeze's permanent
    generation), so full collections no longer walk them; what is made afterwards is still tracked."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    before, frozen, tracked, young = (int(v) for v in done.stdout.split()[-4:])
    assert before == 0
    assert frozen > 10_000  # numpy's, pandas' and the engine's modules
    assert tracked < frozen
    assert young == cli.YOUNG_COLLECTION_THRESHOLD != gc.get_threshold()[0]


def test_a_caller_of_main_keeps_its_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    """main(argv) called by a program (the tests) freezes nothing and leaves the collector's thresholds:
    the caller's garbage stays collectable as before."""
    frozen: list[int] = []
    thresholds: list[tuple[int, ...]] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(1))
    monkeypatch.setattr(gc, "set_threshold", lambda *given: thresholds.append(given))
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert frozen == []
    assert thresholds == []
    monkeypatch.setattr(sys, "argv", ["mycfa-engine", "--help"])
    with pytest.raises(SystemExit):
        cli.main()
    assert frozen == [1]
    assert [given[0] for given in thresholds] == [cli.YOUNG_COLLECTION_THRESHOLD]
