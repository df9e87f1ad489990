"""scripts/stack_check.py's log check: JSON objects only, and never the API key."""

from __future__ import annotations

import pytest

from scripts.stack_check import CheckFailed, check_logs

KEY = "k3y-0123456789abcdef"


def test_check_logs_counts_json_object_lines() -> None:
    """Blank lines are skipped; each other line must be one JSON object."""
    assert check_logs('{"event": "run.start"}\n\n{"event": "run.finish", "ok": true}\n', KEY) == 2


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "printed nothing"),
        ('{"event": "a"}\nTraceback (most recent call last):\n', "line 2 is not JSON"),
        ('["not", "an", "object"]\n', "not an object"),
        (f'{{"event": "fetch", "url": "https://x/stable/profile?apikey={KEY}"}}\n', "API key"),
    ],
)
def test_check_logs_rejects_bad_output(text: str, why: str) -> None:
    """Empty output, a non-JSON line (a raw traceback), a non-object, or the key anywhere fail the check."""
    with pytest.raises(CheckFailed, match=why):
        check_logs(text, KEY)
