"""No template or compose file holds a secret value: secrets are interpolated or resolved inside AWS."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.deploy.deploytools import (
    COMPOSE_FILE,
    SECRET_NAME,
    TEMPLATES,
    environment,
    load_template,
    resources,
    secret_findings,
)


def test_secrets_none_in_compose_file() -> None:
    """compose.yaml takes every password and key from the environment, never a literal."""
    text = COMPOSE_FILE.read_text()
    assert secret_findings(yaml.safe_load(text), text) == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_secrets_none_in_template(path: Any) -> None:
    """A template holds no literal secret and no secret-named parameter with a default."""
    template = load_template(path)
    assert secret_findings(template, path.read_text()) == []
    for name, parameter in template.get("Parameters", {}).items():
        if SECRET_NAME.search(name):
            assert "Default" not in parameter, name
            assert parameter.get("NoEcho") in (True, "true"), name


def test_secrets_generated_or_assembled_inside_aws() -> None:
    """Every Secrets Manager entry is generated, or assembled from generated ones by dynamic reference."""
    secrets = {
        name: res["Properties"]
        for path in TEMPLATES
        for name, res in resources(load_template(path), "AWS::SecretsManager::Secret").items()
    }
    assert "FmpApiKeySecret" in secrets
    for name, props in secrets.items():
        if "GenerateSecretString" in props:
            continue
        value = props["SecretString"]
        rendered = str(value)
        assert "{{resolve:secretsmanager:" in rendered, name


def test_secrets_containers_take_secrets_from_secrets_manager() -> None:
    """No ECS container passes a secret-named variable as plain environment."""
    for path in TEMPLATES:
        for name, task in resources(load_template(path), "AWS::ECS::TaskDefinition").items():
            for container in task["Properties"]["ContainerDefinitions"]:
                plain = [env["Name"] for env in environment(container)]
                assert not [n for n in plain if SECRET_NAME.search(n) or n.endswith("DATABASE_URL")], name


def test_secrets_scanner_flags_literals() -> None:
    """The scanner itself catches a literal password, a URL with a password and an access key."""
    planted = {
        "services": {"db": {"environment": {"POSTGRES_PASSWORD": "hunter2", "URL": "postgresql://u:pw@h/d"}}},
    }
    findings = secret_findings(planted, "key AKIAABCDEFGHIJKLMNOP")
    assert len(findings) == 3
    interpolated = {
        "environment": {"POSTGRES_PASSWORD": "${PW:?set PW}", "URL": "postgresql://u:${PW:?x y}@h/d"}
    }
    assert secret_findings(interpolated, "") == []
