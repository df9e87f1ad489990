"""scripts/smoke against a real served dashboard: health, a real login, a logged-in page, and no export
for the smoke login (review L12: the CI deploy roles can read its password)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT
from tests.dashboard.conftest import PASSWORD

SMOKE = REPO_ROOT / "scripts" / "smoke"
HEALTH_PATH = "/health/live"


def smoke(base_url: str, password: str, username: str = "vic") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SMOKE), "--url", base_url, "--health-path", HEALTH_PATH],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"SMOKE_USERNAME": username, "SMOKE_PASSWORD": password},
    )


def test_smoke_passes_with_a_real_login(base_url: str) -> None:
    """Health answers, the login succeeds, the home page renders for the logged-in viewer, and the
    viewer's export is refused."""
    result = smoke(base_url, PASSWORD)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") == 4
    assert "403 (a viewer: no export)" in result.stdout
    assert PASSWORD not in result.stdout


def test_smoke_fails_when_its_login_may_export(base_url: str) -> None:
    """An analyst (or admin) as the smoke login fails the check: its password, readable by the release
    roles, would read every export."""
    result = smoke(base_url, PASSWORD, username="ann")
    assert result.returncode == 1
    assert "make it a viewer" in result.stderr


def test_smoke_fails_on_wrong_password_without_echoing_it(base_url: str) -> None:
    """A refused login fails the check (exit 1) and the password appears nowhere in the output."""
    result = smoke(base_url, "not the password")
    assert result.returncode == 1
    assert "POST /login" in result.stderr
    assert "not the password" not in result.stdout + result.stderr
