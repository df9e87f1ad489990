"""The CloudFormation templates lint clean and say what the design says: sizes, alarms, schedules, IAM."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.cli import build_parser
from engine.runs.metrics import EMF_METRICS, EMF_NAMESPACE
from tests.deploy.deploytools import TEMPLATE_DIR, TEMPLATES, load_template, resources

EXPECTED_TEMPLATES = {"network", "data", "cluster", "engine", "dashboard", "edge", "backup-dr", "github-oidc"}


def canonical(value: Any) -> str:
    """A comparable form of a value that may be an intrinsic function (ImportValue, GetAtt...)."""
    return json.dumps(value, sort_keys=True, default=str)


def secret_source(value_from: Any) -> str:
    """The secret a container's ValueFrom reads, without a `:json-key::` suffix."""
    if isinstance(value_from, dict) and "Fn::Sub" in value_from and isinstance(value_from["Fn::Sub"], list):
        pattern, variables = value_from["Fn::Sub"]
        match = re.fullmatch(r"\$\{(\w+)\}(:[\w-]*::)?", str(pattern))
        if match:
            return canonical(variables[match.group(1)])
    return canonical(value_from)


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for policy in role["Properties"].get("Policies", []):
        found.extend(policy["PolicyDocument"]["Statement"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def all_alarms() -> dict[str, dict[str, Any]]:
    alarms: dict[str, dict[str, Any]] = {}
    for path in TEMPLATES:
        alarms.update(resources(load_template(path), "AWS::CloudWatch::Alarm"))
    return alarms


def alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str]]:
    """(namespace, metric name) of every metric an alarm reads, simple or metric-math."""
    props = alarm["Properties"]
    if "MetricName" in props:
        return [(props["Namespace"], props["MetricName"])]
    return [
        (query["MetricStat"]["Metric"]["Namespace"], query["MetricStat"]["Metric"]["MetricName"])
        for query in props["Metrics"]
        if "MetricStat" in query
    ]


def test_cloudformation_template_set_is_complete() -> None:
    """Network, data, cluster, engine, dashboard, edge, the recovery vault and the release access."""
    assert {path.stem for path in TEMPLATES} == EXPECTED_TEMPLATES


def test_cloudformation_cfn_lint_passes() -> None:
    """cfn-lint reports nothing (errors, warnings or informational) on every template."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *[str(path) for path in TEMPLATES]],
        capture_output=True,
        text=True,
        check=False,
        cwd=TEMPLATE_DIR,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def granted_actions(role: dict[str, Any]) -> dict[str, set[str]]:
    """Action -> resources a role allows (every statement must Allow, with no wildcard action)."""
    granted: dict[str, set[str]] = {}
    for statement in statements(role):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"wildcard action {action}"
            granted.setdefault(action, set()).update(canonical(r) for r in as_list(statement["Resource"]))
    return granted


ECR_PULL = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")


def is_parameter_store(value_from: Any) -> bool:
    return ":ssm:" in canonical(value_from)


def test_cloudformation_fargate_roles_grant_only_what_tasks_use() -> None:
    """Each execution role reads exactly its tasks' secrets and parameters, writes only their log
    group, pulls only from their image's repository; no task has a task role (the programs call no
    AWS API)."""
    checked = 0
    for path in TEMPLATES:
        template = load_template(path)
        roles = resources(template, "AWS::IAM::Role")
        tasks = resources(template, "AWS::ECS::TaskDefinition")
        for name, task in tasks.items():
            props = task["Properties"]
            assert "TaskRoleArn" not in props, name
            role = props["ExecutionRoleArn"]["Fn::GetAtt"][0]
            granted = granted_actions(roles[role])
            containers = props["ContainerDefinitions"]
            # what every task sharing this role reads when it starts
            sharing = [
                t for t in tasks.values() if t["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0] == role
            ]
            values = [
                s["ValueFrom"]
                for t in sharing
                for c in t["Properties"]["ContainerDefinitions"]
                for s in c.get("Secrets", [])
            ]

            used_secrets = {secret_source(v) for v in values if not is_parameter_store(v)}
            assert granted.pop("secretsmanager:GetSecretValue", set()) == used_secrets, name
            used_parameters = {canonical(v) for v in values if is_parameter_store(v)}
            assert granted.pop("ssm:GetParameters", set()) == used_parameters, name

            used_logs = {
                canonical({"Fn::GetAtt": [c["LogConfiguration"]["Options"]["awslogs-group"]["Ref"], "Arn"]})
                for c in containers
            }
            assert granted.pop("logs:CreateLogStream") == used_logs, name
            assert granted.pop("logs:PutLogEvents") == used_logs, name

            private = [c["Image"] for c in containers if not str(c["Image"]).startswith("public.ecr.aws/")]
            if private:
                repos = {
                    canonical(image["Fn::Sub"][1]["Repo"]).replace("RepositoryUri", "RepositoryArn")
                    for image in private
                }
                assert granted.pop("ecr:GetAuthorizationToken") == {canonical("*")}, name
                for action in ECR_PULL:
                    assert granted.pop(action) == repos, f"{name}: {action}"
            assert not granted, f"{name} grants more than it uses: {sorted(granted)}"
            checked += 1
    assert checked == 5  # engine migrate, full, prices, db-bootstrap; dashboard


def test_cloudformation_scheduler_role_starts_only_scheduled_tasks() -> None:
    """EventBridge may run exactly the task definitions its rules target and pass only their role."""
    template = load_template(TEMPLATE_DIR / "engine.yaml")
    targeted = {
        canonical(target["EcsParameters"]["TaskDefinitionArn"])
        for rule in resources(template, "AWS::Events::Rule").values()
        for target in rule["Properties"].get("Targets", [])
        if "EcsParameters" in target
    }
    tasks = resources(template, "AWS::ECS::TaskDefinition")
    passed_roles = {
        canonical(tasks[json.loads(arn)["Ref"]]["Properties"]["ExecutionRoleArn"]) for arn in targeted
    }
    grants = {
        action: {canonical(r) for r in as_list(statement["Resource"])}
        for statement in statements(resources(template, "AWS::IAM::Role")["SchedulerRole"])
        for action in as_list(statement["Action"])
    }
    assert grants == {"ecs:RunTask": targeted, "iam:PassRole": passed_roles}


@pytest.mark.parametrize(("rule", "job"), [("WeeklyFullRule", "full"), ("WeekdayPricesRule", "prices")])
def test_cloudformation_schedules_run_engine_jobs_on_spot(rule: str, job: str) -> None:
    """The weekly and weekday rules start `run --job full|prices` on Fargate Spot, accepted by the CLI."""
    template = load_template(TEMPLATE_DIR / "engine.yaml")
    target = resources(template, "AWS::Events::Rule")[rule]["Properties"]["Targets"][0]
    strategy = target["EcsParameters"]["CapacityProviderStrategy"]
    assert [s["CapacityProvider"] for s in strategy] == ["FARGATE_SPOT"]
    task = resources(template, "AWS::ECS::TaskDefinition")[
        target["EcsParameters"]["TaskDefinitionArn"]["Ref"]
    ]
    command = [str(part) for part in task["Properties"]["ContainerDefinitions"][0]["Command"]]
    assert command == ["run", "--job", job]
    parser, _ = build_parser()
    assert parser.parse_args(command).job == job


def test_cloudformation_engine_alarms_read_metrics_the_engine_emits() -> None:
    """Engine alarms use the engine's EMF namespace and metric names, and cover the design's four."""
    engine_metrics = {
        name
        for alarm in all_alarms().values()
        for ns, name in alarm_metrics(alarm)
        if ns.startswith("MyCFATool")
    }
    namespaces = {
        ns for alarm in all_alarms().values() for ns, _ in alarm_metrics(alarm) if ns.startswith("MyCFA")
    }
    assert namespaces == {EMF_NAMESPACE}
    assert engine_metrics <= set(EMF_METRICS)
    assert {"ItemsFailed", "Http429", "BudgetUtilisation", "DurationSeconds"} <= engine_metrics


def test_cloudformation_dashboard_alarms_cover_latency_errors_and_lag() -> None:
    """p95 latency, 5xx answers and replica lag each have an alarm that notifies the topic."""
    alarms = all_alarms()
    metrics = {name for alarm in alarms.values() for _, name in alarm_metrics(alarm)}
    assert {"TargetResponseTime", "HTTPCode_Target_5XX_Count", "ReplicaLag"} <= metrics
    p95 = [a for a in alarms.values() if a["Properties"].get("ExtendedStatistic") == "p95"]
    assert p95
    assert p95[0]["Properties"]["MetricName"] == "TargetResponseTime"
    assert all(a["Properties"].get("AlarmActions") for a in alarms.values())


def test_cloudformation_database_matches_design() -> None:
    """RDS: Postgres 15, encrypted, Multi-AZ, at least 7 days of backups, replicas of the primary."""
    template = load_template(TEMPLATE_DIR / "data.yaml")
    params = template["Parameters"]
    instances = resources(template, "AWS::RDS::DBInstance")
    primary = instances["Database"]["Properties"]
    assert primary["Engine"] == "postgres"
    assert str(params["PostgresVersion"]["Default"]).startswith("15.")
    assert primary["StorageEncrypted"] is True
    assert primary["MultiAZ"] is True
    assert primary["BackupRetentionPeriod"] == {"Ref": "BackupRetentionDays"}
    assert int(params["BackupRetentionDays"]["Default"]) == 7
    assert int(params["BackupRetentionDays"]["MinValue"]) >= 7
    assert instances["Database"]["DeletionPolicy"] == "Snapshot"
    replicas = [r for r in instances.values() if "SourceDBInstanceIdentifier" in r["Properties"]]
    assert len(replicas) == 2
    assert all(r["Properties"]["SourceDBInstanceIdentifier"] == {"Ref": "Database"} for r in replicas)
    groups = resources(template, "AWS::RDS::DBParameterGroup")
    assert {g["Properties"]["Family"] for g in groups.values()} == {"postgres15"}
    assert all(g["Properties"]["Parameters"]["rds.force_ssl"] == "1" for g in groups.values())


def test_cloudformation_dashboard_scales_between_two_and_ten_on_cpu() -> None:
    """The service scales 2-10 tasks on a 70 % CPU target."""
    template = load_template(TEMPLATE_DIR / "dashboard.yaml")
    params = template["Parameters"]
    assert (int(params["MinTasks"]["Default"]), int(params["MaxTasks"]["Default"])) == (2, 10)
    policy = next(iter(resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()))
    config = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert (
        config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    )
    assert int(params["CpuTargetPercent"]["Default"]) == 70


def test_cloudformation_log_groups_have_retention() -> None:
    """Every log group expires its events."""
    groups = [g for path in TEMPLATES for g in resources(load_template(path), "AWS::Logs::LogGroup").values()]
    assert len(groups) == 3  # dashboard, engine, VPC flow logs
    assert all("RetentionInDays" in g["Properties"] for g in groups)


def test_cloudformation_database_admits_only_engine_and_dashboard() -> None:
    """The database group's only ingress rules come from the engine's and the dashboard's groups."""
    template = load_template(TEMPLATE_DIR / "network.yaml")
    rules = [
        r["Properties"]
        for r in resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Ref": "DatabaseSecurityGroup"}
    ]
    sources = {r["SourceSecurityGroupId"]["Ref"] for r in rules}
    assert sources == {"EngineSecurityGroup", "DashboardSecurityGroup"}
    assert all(r["FromPort"] == r["ToPort"] == 5432 for r in rules)
    db_group = resources(template, "AWS::EC2::SecurityGroup")["DatabaseSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in db_group


ENGINE_SG = {"Fn::ImportValue": {"Fn::Sub": "mycfa-${EnvironmentName}-EngineSecurityGroupId"}}


def test_cloudformation_shared_budget_is_optional_encrypted_and_engine_only() -> None:
    """SharedBudget=true (default false) adds one Redis encrypted in transit and at rest, in the
    private subnets, whose group admits only the engine's group on 6379; the full and prices tasks
    get a rediss:// MYCFA_FMP_BUDGET_URL under the same condition and no other way."""
    template = load_template(TEMPLATE_DIR / "engine.yaml")
    parameter = template["Parameters"]["SharedBudget"]
    assert parameter["Default"] == "false"
    assert set(parameter["AllowedValues"]) == {"false", "true"}
    assert template["Conditions"]["UseSharedBudget"] == {"Fn::Equals": [{"Ref": "SharedBudget"}, "true"]}
    shared = {
        name: res
        for name, res in template["Resources"].items()
        if res["Type"].startswith("AWS::ElastiCache::") or "SharedBudget" in name
    }
    assert len(shared) == 5
    assert all(res.get("Condition") == "UseSharedBudget" for res in shared.values())

    caches = resources(template, "AWS::ElastiCache::ReplicationGroup")
    assert list(caches) == ["SharedBudgetCache"]
    cache = caches["SharedBudgetCache"]["Properties"]
    assert cache["Engine"] == "redis"
    assert cache["Port"] == 6379
    assert cache["TransitEncryptionEnabled"] is True
    assert cache["TransitEncryptionMode"] == "required"
    assert cache["AtRestEncryptionEnabled"] is True
    assert cache["KmsKeyId"] == {"Fn::ImportValue": {"Fn::Sub": "mycfa-${EnvironmentName}-RuntimeKeyArn"}}
    assert cache["SecurityGroupIds"] == [{"Ref": "SharedBudgetSecurityGroup"}]
    subnets = template["Resources"][cache["CacheSubnetGroupName"]["Ref"]]["Properties"]["SubnetIds"]
    assert "mycfa-${EnvironmentName}-PrivateSubnets" in canonical(subnets)

    group = template["Resources"]["SharedBudgetSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert [rule["CidrIp"] for rule in group["SecurityGroupEgress"]] == ["127.0.0.1/32"]
    ingress = [
        r["Properties"]
        for path in TEMPLATES
        for r in resources(load_template(path), "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Ref": "SharedBudgetSecurityGroup"}
    ]
    assert [(r.get("SourceSecurityGroupId"), r["FromPort"], r["ToPort"]) for r in ingress] == [
        (ENGINE_SG, 6379, 6379)
    ]
    egress = resources(template, "AWS::EC2::SecurityGroupEgress")["EngineToSharedBudget"]["Properties"]
    assert egress["GroupId"] == ENGINE_SG
    assert egress["FromPort"] == egress["ToPort"] == 6379
    assert egress["DestinationSecurityGroupId"] == {"Ref": "SharedBudgetSecurityGroup"}

    tasks = resources(template, "AWS::ECS::TaskDefinition")
    with_url = set()
    for name, task in tasks.items():
        for container in task["Properties"]["ContainerDefinitions"]:
            if "MYCFA_FMP_BUDGET_URL" not in canonical(container):
                continue
            with_url.add(name)
            (entry,) = container["Environment"]
            condition, then, otherwise = entry["Fn::If"]
            assert condition == "UseSharedBudget"
            assert otherwise == {"Ref": "AWS::NoValue"}
            assert then["Name"] == "MYCFA_FMP_BUDGET_URL"
            assert then["Value"]["Fn::Sub"].startswith(
                "rediss://${SharedBudgetCache.PrimaryEndPoint.Address}:"
            )
    assert with_url == {"EngineFullTaskDefinition", "EnginePricesTaskDefinition"}
