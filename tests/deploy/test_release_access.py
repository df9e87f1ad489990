"""The release access cannot become account administrator (review H2): no policy grants everything,
no AdministratorAccess, CloudFormation's role reaches only the templates' services and mints roles only
under a boundary, the GitHub role changes only the application's own stacks."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.deploy.deploytools import REPO_ROOT, TEMPLATE_DIR, TEMPLATES, load_template, resources

ORIGIN = "github-oidc"
BROAD_MANAGED = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
# The IAM prefix of each service whose resource types the templates declare.
SERVICE_OF = {
    "ApplicationAutoScaling": "application-autoscaling", "Backup": "backup", "CloudFront": "cloudfront",
    "CloudWatch": "cloudwatch", "CodeDeploy": "codedeploy", "EC2": "ec2", "ECR": "ecr", "ECS": "ecs",
    "ElastiCache": "elasticache", "ElasticLoadBalancingV2": "elasticloadbalancing", "Events": "events",
    "IAM": "iam", "KMS": "kms", "Logs": "logs", "RDS": "rds", "SNS": "sns", "SSM": "ssm",
    "SecretsManager": "secretsmanager", "WAFv2": "wafv2",
}  # fmt: skip


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def application_templates() -> dict[str, dict[str, Any]]:
    return {path.stem: load_template(path) for path in TEMPLATES if path.stem != ORIGIN}


def declared_types() -> set[str]:
    return {r["Type"] for t in application_templates().values() for r in t["Resources"].values()}


def policy_statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    props = resource["Properties"]
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    if "PolicyDocument" in props:
        documents.append(props["PolicyDocument"])
    return [branch for d in documents for s in d["Statement"] for branch in branches(s)]


def branches(value: Any) -> list[Any]:
    """A statement, or each statement an `Fn::If` may give (AWS::NoValue gives none)."""
    if isinstance(value, dict) and "Fn::If" in value:
        _, yes, no = value["Fn::If"]
        return [*branches(yes), *branches(no)]
    return [] if value == {"Ref": "AWS::NoValue"} else [value]


def origin() -> dict[str, Any]:
    return load_template(TEMPLATE_DIR / f"{ORIGIN}.yaml")


def statement(resource: dict[str, Any], sid: str) -> dict[str, Any]:
    [found] = [s for s in policy_statements(resource) if s.get("Sid") == sid]
    return found


def test_no_policy_grants_everything_and_no_administrator_access() -> None:
    """No role or policy in any template allows `*` or `*:*`, or carries AdministratorAccess (or the
    other account-wide managed policies)."""
    for path in TEMPLATES:
        template = load_template(path)
        for kind in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            for name, resource in resources(template, kind).items():
                for managed in as_list(resource["Properties"].get("ManagedPolicyArns", [])):
                    assert not any(broad in text(managed) for broad in BROAD_MANAGED), (path.stem, name)
                for found in policy_statements(resource):
                    if found["Effect"] != "Allow":
                        continue
                    for action in as_list(found["Action"]):
                        assert action not in ("*", "*:*"), (path.stem, name)
                        assert not action.startswith(("iam:*", "sts:")), (path.stem, name)


def test_cloudformation_reaches_only_the_templates_services() -> None:
    """CloudFormation's role may use the services of the resource types the templates declare, and no
    other (no Lambda: no custom resource can run code); IAM it touches only through named statements."""
    role = resources(origin(), "AWS::IAM::Role")["CloudFormationExecutionRole"]
    assert "ManagedPolicyArns" not in role["Properties"]
    services = {
        action.split(":")[0]
        for found in policy_statements(role)
        if found["Effect"] == "Allow"
        for action in as_list(found["Action"])
    } - {"iam"}
    wanted = {SERVICE_OF[t.split("::")[1]] for t in declared_types()} - {"iam"}
    assert wanted <= services
    assert services - wanted <= {"backup-storage"}  # AWS Backup's vault storage, part of the Backup service
    for found in policy_statements(role):
        actions = as_list(found["Action"])
        if found["Effect"] == "Allow" and any(a.startswith("iam:") for a in actions):
            assert found["Resource"] != "*" or actions == ["iam:CreateServiceLinkedRole"], found["Sid"]


def test_cloudformation_mints_roles_only_under_the_boundary() -> None:
    """Every role CloudFormation may create or change must carry the boundary; it may attach only the
    managed policies the templates attach; the boundary grants no IAM beyond passing this
    environment's roles; every role of the application templates carries it."""
    template = origin()
    role = resources(template, "AWS::IAM::Role")["CloudFormationExecutionRole"]
    minting = statement(role, "RolesOnlyWithTheBoundary")
    assert {"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"} <= set(minting["Action"])
    assert minting["Condition"]["StringEquals"]["iam:PermissionsBoundary"] == {"Ref": "RoleBoundary"}
    attached = {
        text(arn)
        for t in application_templates().values()
        for r in resources(t, "AWS::IAM::Role").values()
        for arn in r["Properties"].get("ManagedPolicyArns", [])
    }
    deny = statement(role, "OnlyTheTemplatesManagedPolicies")
    assert deny["Effect"] == "Deny"
    assert {text(arn) for arn in deny["Condition"]["ArnNotEquals"]["iam:PolicyARN"]} == attached
    boundary = resources(template, "AWS::IAM::ManagedPolicy")["RoleBoundary"]
    iam = [a for s in policy_statements(boundary) for a in as_list(s["Action"]) if a.startswith("iam:")]
    assert iam == ["iam:PassRole"]
    name = boundary["Properties"]["ManagedPolicyName"]["Fn::Sub"]
    for stack, tpl in application_templates().items():
        for logical, app_role in resources(tpl, "AWS::IAM::Role").items():
            assert name in text(app_role["Properties"].get("PermissionsBoundary")), (stack, logical)


def test_deploy_role_changes_only_the_application_stacks() -> None:
    """The GitHub role may create change sets only on the seven stacks scripts/deploy deploys (not any
    `mycfa-<env>-*` name), only with the templates' resource types, never importing a resource, and
    only through the execution role."""
    deploy = resources(origin(), "AWS::IAM::Role")["DeployRole"]
    create = statement(deploy, "ChangeSetsOfTheApplicationStacks")
    assert create["Action"] == "cloudformation:CreateChangeSet"
    stacks = set(re.findall(r"^deploy_stack ([\w-]+) ", (REPO_ROOT / "scripts" / "deploy").read_text(), re.M))
    named = {
        hit.group(1)
        for r in create["Resource"]
        if (hit := re.search(r"stack/mycfa-\$\{EnvironmentName\}-([\w-]+)/\*", text(r)))
    }
    assert len(named) == len(create["Resource"])
    assert named == stacks
    condition = create["Condition"]
    assert set(condition["ForAllValues:StringEquals"]["cloudformation:ResourceTypes"]) == declared_types()
    assert condition["Null"] == {"cloudformation:ImportResourceTypes": "true"}
    assert condition["StringEquals"]["cloudformation:RoleArn"] == {
        "Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]
    }
    for found in policy_statements(deploy):
        if any(a.startswith("cloudformation:") and "Change" in a for a in as_list(found["Action"])):
            assert "mycfa-${EnvironmentName}-*" not in text(found["Resource"]), found["Sid"]


SECRET_OR_PARAMETER = ("secretsmanager:", "ssm:")
NAMELESS = {"secretsmanager:GetRandomPassword", "secretsmanager:ListSecrets", "ssm:DescribeParameters"}
OWN_NAMES = ("secret:mycfa/${EnvironmentName}/", "parameter/mycfa/${EnvironmentName}/", "secret:rds!")


def test_secrets_and_parameters_only_of_this_environment() -> None:
    """Neither the roles the stacks create (their boundary) nor CloudFormation's role may read, create
    or resolve another environment's secrets or parameters: a staging template cannot reach
    production's FMP key, database passwords or session key (H2, one account)."""
    template = origin()
    for resource in (
        resources(template, "AWS::IAM::ManagedPolicy")["RoleBoundary"],
        resources(template, "AWS::IAM::Role")["CloudFormationExecutionRole"],
    ):
        for found in policy_statements(resource):
            actions = [a for a in as_list(found["Action"]) if a.startswith(SECRET_OR_PARAMETER)]
            if found["Effect"] != "Allow" or not actions:
                continue
            if set(actions) <= NAMELESS:
                continue
            assert not set(actions) & NAMELESS, found["Sid"]
            for arn in as_list(found["Resource"]):
                assert any(own in text(arn) for own in OWN_NAMES), (found["Sid"], arn)
    for stack, tpl in application_templates().items():
        for kind in ("AWS::SecretsManager::Secret", "AWS::SSM::Parameter"):
            for logical, named in resources(tpl, kind).items():
                name = text(named["Properties"]["Name"])
                assert "mycfa/${EnvironmentName}/" in name, (stack, logical)


PULL = {
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
}


def test_production_can_have_an_account_of_its_own() -> None:
    """Separate accounts are a parameter away: staging's repositories let production's account (and
    only when named) pull, never push; production's deploy role may pull only staging's
    repositories of that account; the release copies from staging's registry when it is set."""
    cluster = load_template(TEMPLATE_DIR / "cluster.yaml")
    assert cluster["Parameters"]["ReleaseReaderAccountId"]["Default"] == ""
    for logical, repository in resources(cluster, "AWS::ECR::Repository").items():
        condition, policy, otherwise = repository["Properties"]["RepositoryPolicyText"]["Fn::If"]
        assert condition == "SharesImages", logical
        assert otherwise == {"Ref": "AWS::NoValue"}, logical
        [grant] = policy["Statement"]
        assert set(grant["Action"]) == PULL, logical
        assert "${ReleaseReaderAccountId}:root" in text(grant["Principal"]), logical
    deploy = resources(origin(), "AWS::IAM::Role")["DeployRole"]
    pull = statement(deploy, "PullTheStagedImages")
    assert set(pull["Action"]) == PULL
    assert ":${ReleaseSourceAccountId}:repository/mycfa-staging/*" in text(pull["Resource"])
    release = (REPO_ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert "SOURCE_REGISTRY: ${{ vars.RELEASE_SOURCE_REGISTRY }}" in release
    assert 'source="$source_registry/mycfa-staging/' in release
