"""The templates close each finding of the deployment review (issue 12): one test per finding."""

from __future__ import annotations

import json
import ssl
import urllib.parse
from typing import Any

import psycopg

from dashboard.cli import parser as dashboard_parser
from tests.deploy.deploytools import TEMPLATE_DIR, TEMPLATES, environment, load_template, resources

ORIGIN_SECRET_NAME = "mycfa/${EnvironmentName}/origin-verify"


def template(name: str) -> dict[str, Any]:
    return load_template(TEMPLATE_DIR / f"{name}.yaml")


def text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def default(tpl: dict[str, Any], parameter: str) -> str:
    return str(tpl["Parameters"][parameter]["Default"])


def test_alb_admits_nothing_without_the_origin_secret() -> None:
    """The ALB's group admits HTTPS from CloudFront's prefix list only (the test listener from the VPC,
    nothing from 0.0.0.0/0), and its web ACL blocks every request without our origin header."""
    network = template("network")
    assert "Conditions" not in network or "BehindCloudFront" not in network["Conditions"]
    assert network["Parameters"]["CloudFrontPrefixListId"].get("Default") is None
    ingress = resources(network, "AWS::EC2::SecurityGroup")["AlbSecurityGroup"]["Properties"][
        "SecurityGroupIngress"
    ]
    assert [(r["FromPort"], "SourcePrefixListId" in r, r.get("CidrIp")) for r in ingress] == [
        (443, True, None),
        (8443, False, {"Ref": "VpcCidr"}),
    ]
    assert "0.0.0.0/0" not in text(resources(network, "AWS::EC2::SecurityGroupIngress"))

    dashboard = template("dashboard")
    acl = resources(dashboard, "AWS::WAFv2::WebACL")["AlbWebAcl"]["Properties"]
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Block": {}}
    [rule] = acl["Rules"]
    match = rule["Statement"]["ByteMatchStatement"]
    assert rule["Action"] == {"Allow": {}}
    assert match["PositionalConstraint"] == "EXACTLY"
    assert match["FieldToMatch"] == {"SingleHeader": {"Name": "x-origin-verify"}}
    assert match["SearchString"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}:SecretString}}"
    }
    [association] = resources(dashboard, "AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["ResourceArn"] == {"Ref": "LoadBalancer"}
    secret = resources(dashboard, "AWS::SecretsManager::Secret")["OriginVerifySecret"]["Properties"]
    assert secret["Name"] == {"Fn::Sub": ORIGIN_SECRET_NAME}
    assert "GenerateSecretString" in secret
    assert {"Region": "us-east-1"} in secret["ReplicaRegions"]  # where edge.yaml resolves it

    [origin] = resources(template("edge"), "AWS::CloudFront::Distribution")["Distribution"]["Properties"][
        "DistributionConfig"
    ]["Origins"]
    [header] = origin["OriginCustomHeaders"]
    assert header["HeaderName"].lower() == "x-origin-verify"
    assert header["HeaderValue"] == {
        "Fn::Sub": "{{resolve:secretsmanager:" + ORIGIN_SECRET_NAME + ":SecretString}}"
    }


def test_tls_policies_are_tls13() -> None:
    """CloudFront's viewers and both ALB listeners accept TLS 1.3 only."""
    distribution = resources(template("edge"), "AWS::CloudFront::Distribution")["Distribution"]
    viewer = distribution["Properties"]["DistributionConfig"]["ViewerCertificate"]
    assert viewer["MinimumProtocolVersion"].startswith("TLSv1.3")
    dashboard = template("dashboard")
    listeners = resources(dashboard, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert len(listeners) == 2
    for listener in listeners:
        assert listener["Properties"]["Protocol"] == "HTTPS"
        assert listener["Properties"]["SslPolicy"] == {"Ref": "AlbSslPolicy"}
    allowed = dashboard["Parameters"]["AlbSslPolicy"]["AllowedValues"]
    assert all(policy.startswith("ELBSecurityPolicy-TLS13-1-3") for policy in allowed)


def test_database_urls_verify_the_server() -> None:
    """Every database URL verifies the server's certificate and name (verify-full with the RDS CA
    bundle) unless an environment opts out; both environments' parameter files keep verify-full."""
    data = template("data")
    assert default(data, "DatabaseSslMode") == "verify-full"
    query = data["Mappings"]["SslModes"]["verify-full"]["Query"]
    assert query == "sslmode=verify-full&sslrootcert=/etc/mycfa/tls/rds-global-bundle.pem"
    urls = [
        s
        for s in resources(data, "AWS::SecretsManager::Secret").values()
        if "SecretString" in s["Properties"]
    ]
    assert len(urls) == 4  # engine, dashboard reader, replicas, dashboard audit writer
    for secret in urls:
        body = text(secret["Properties"]["SecretString"])
        assert "sslmode=require" not in body
        assert "${SslQuery}" in body


def test_kms_keys_are_customer_managed_and_used() -> None:
    """RDS, the backup vaults, the alarm topic and the ECR repositories are encrypted with keys the
    templates create (customer-managed, rotated), not AWS-managed ones."""
    for name in ("data", "cluster", "backup-dr"):
        keys = resources(template(name), "AWS::KMS::Key")
        assert keys, name
        assert all(k["Properties"]["EnableKeyRotation"] is True for k in keys.values()), name
    data = template("data")
    primary = resources(data, "AWS::RDS::DBInstance")["Database"]["Properties"]
    assert primary["KmsKeyId"] == {"Ref": "DataKey"}
    assert primary["StorageEncrypted"] is True
    assert resources(data, "AWS::Backup::BackupVault")["BackupVault"]["Properties"]["EncryptionKeyArn"] == {
        "Fn::GetAtt": ["DataKey", "Arn"]
    }
    dr = resources(template("backup-dr"), "AWS::Backup::BackupVault")["DrBackupVault"]["Properties"]
    assert dr["EncryptionKeyArn"] == {"Fn::GetAtt": ["DrKey", "Arn"]}
    cluster = template("cluster")
    topic = resources(cluster, "AWS::SNS::Topic")["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "RuntimeKey"}
    for repo in resources(cluster, "AWS::ECR::Repository").values():
        assert repo["Properties"]["EncryptionConfiguration"] == {
            "EncryptionType": "KMS",
            "KmsKey": {"Fn::GetAtt": ["RuntimeKey", "Arn"]},
        }
    # CloudWatch alarms and EventBridge must be able to publish to the encrypted topic.
    policy = resources(cluster, "AWS::KMS::Key")["RuntimeKey"]["Properties"]["KeyPolicy"]["Statement"]
    publishers = [s for s in policy if s.get("Principal", {}).get("Service")]
    assert set(publishers[0]["Principal"]["Service"]) == {"cloudwatch.amazonaws.com", "events.amazonaws.com"}


def test_every_rds_instance_has_its_alarms() -> None:
    """CPU, free storage and connections alarms on every instance, replica lag on every replica, each
    with its instance's condition."""
    data = template("data")
    instances = resources(data, "AWS::RDS::DBInstance")
    alarms = resources(data, "AWS::CloudWatch::Alarm").values()
    by_instance: dict[str, set[str]] = {name: set() for name in instances}
    for alarm in alarms:
        props = alarm["Properties"]
        if props.get("Namespace") != "AWS/RDS":
            continue
        [dimension] = props["Dimensions"]
        instance = dimension["Value"]["Ref"]
        assert alarm.get("Condition") == instances[instance].get("Condition"), instance
        assert props["AlarmActions"], instance
        by_instance[instance].add(props["MetricName"])
    for name, instance in instances.items():
        wanted = {"CPUUtilization", "FreeStorageSpace", "DatabaseConnections"}
        if "SourceDBInstanceIdentifier" in instance["Properties"]:
            wanted.add("ReplicaLag")
        assert by_instance[name] == wanted, name
    assert len(instances) == 3


def test_backups_are_hourly_and_copied_to_another_region() -> None:
    """AWS Backup takes the primary hourly, and every rule copies to the recovery region's vault, which
    must be in another region and locked against early deletion."""
    data = template("data")
    plan = resources(data, "AWS::Backup::BackupPlan")["BackupPlan"]["Properties"]["BackupPlan"]
    rules = plan["BackupPlanRule"]
    assert "cron(0 * ? * * *)" in [rule["ScheduleExpression"] for rule in rules]
    for rule in rules:
        assert [c["DestinationBackupVaultArn"] for c in rule["CopyActions"]] == [{"Ref": "DrBackupVaultArn"}]
    selection = resources(data, "AWS::Backup::BackupSelection")["BackupSelection"]["Properties"][
        "BackupSelection"
    ]
    assert "${Database}" in text(selection["Resources"])
    dr = template("backup-dr")
    assert "NotThePrimaryRegion" in dr["Rules"]
    assert resources(dr, "AWS::Backup::BackupVault")["DrBackupVault"]["Properties"]["LockConfiguration"]
    assert "NumberOfCopyJobsFailed" in text(resources(data, "AWS::CloudWatch::Alarm")["BackupFailedAlarm"])


def test_network_has_acls_a_nat_per_az_and_endpoints() -> None:
    """Every subnet has a network ACL, each private subnet routes through its own AZ's NAT, and tasks
    reach ECR, Secrets Manager, SSM, CloudWatch Logs and S3 without any NAT."""
    network = template("network")
    subnets = set(resources(network, "AWS::EC2::Subnet"))
    associated = {
        a["Properties"]["SubnetId"]["Ref"]
        for a in resources(network, "AWS::EC2::SubnetNetworkAclAssociation").values()
    }
    assert associated == subnets
    nats = resources(network, "AWS::EC2::NatGateway")
    assert {n["Properties"]["SubnetId"]["Ref"] for n in nats.values()} == {"PublicSubnetA", "PublicSubnetB"}
    tables = {
        a["Properties"]["SubnetId"]["Ref"]: a["Properties"]["RouteTableId"]["Ref"]
        for a in resources(network, "AWS::EC2::SubnetRouteTableAssociation").values()
    }
    routes = {
        r["Properties"]["RouteTableId"]["Ref"]: r["Properties"].get("NatGatewayId", {}).get("Ref")
        for r in resources(network, "AWS::EC2::Route").values()
    }
    assert routes[tables["PrivateSubnetA"]] == "NatGatewayA"
    assert routes[tables["PrivateSubnetB"]] == "NatGatewayB"
    services = {
        text(e["Properties"]["ServiceName"]).split("${AWS::Region}.")[1].rstrip('"}')
        for e in resources(network, "AWS::EC2::VPCEndpoint").values()
    }
    assert services == {"ecr.api", "ecr.dkr", "secretsmanager", "ssm", "logs", "s3"}


def test_vpc_flow_logs_record_every_flow_for_a_year() -> None:
    """The VPC's accepted and rejected flows go to a log group kept a year (review L7), delivered by a
    role only the flow-log service of this account assumes, which may only write that group."""
    network = template("network")
    [flow] = resources(network, "AWS::EC2::FlowLog").values()
    props = flow["Properties"]
    assert props["ResourceType"] == "VPC"
    assert props["ResourceId"] == {"Ref": "Vpc"}
    assert props["TrafficType"] == "ALL"
    group = resources(network, "AWS::Logs::LogGroup")[props["LogGroupName"]["Ref"]]
    assert group["Properties"]["RetentionInDays"] >= 365
    role = resources(network, "AWS::IAM::Role")[props["DeliverLogsPermissionArn"]["Fn::GetAtt"][0]]
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    [policy] = role["Properties"]["Policies"]
    [grant] = policy["PolicyDocument"]["Statement"]
    assert all(action.startswith("logs:") for action in grant["Action"])
    assert grant["Resource"] == {"Fn::GetAtt": [props["LogGroupName"]["Ref"], "Arn"]}


def test_dashboard_deploys_blue_green_with_alarm_rollback() -> None:
    """The service is deployed by CodeDeploy: two target groups, a test listener apart from the
    production one, automatic rollback on failure and on the alarms, which exist in the template."""
    dashboard = template("dashboard")
    service = resources(dashboard, "AWS::ECS::Service")["Service"]["Properties"]
    assert service["DeploymentController"] == {"Type": "CODE_DEPLOY"}
    assert "DeploymentCircuitBreaker" not in text(service)
    group = resources(dashboard, "AWS::CodeDeploy::DeploymentGroup")["DeploymentGroup"]["Properties"]
    assert group["DeploymentStyle"] == {
        "DeploymentType": "BLUE_GREEN",
        "DeploymentOption": "WITH_TRAFFIC_CONTROL",
    }
    [pair] = group["LoadBalancerInfo"]["TargetGroupPairInfoList"]
    assert pair["ProdTrafficRoute"]["ListenerArns"] == [{"Ref": "HttpsListener"}]
    assert pair["TestTrafficRoute"]["ListenerArns"] == [{"Ref": "TestListener"}]
    assert len(pair["TargetGroups"]) == 2
    assert group["AutoRollbackConfiguration"] == {
        "Enabled": True,
        "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    alarms = resources(dashboard, "AWS::CloudWatch::Alarm")
    named = [a["Name"]["Ref"] for a in group["AlarmConfiguration"]["Alarms"]]
    assert named
    assert set(named) <= set(alarms)
    assert group["AlarmConfiguration"]["Enabled"] is True
    assert default(dashboard, "DeploymentConfigName").startswith("CodeDeployDefault.ECSCanary")


def test_dashboard_scales_on_memory_and_drops_its_floor_off_peak() -> None:
    """Target tracking on memory as well as CPU, and scheduled actions that lower and restore the floor."""
    dashboard = template("dashboard")
    metrics = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]
        for p in resources(dashboard, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"}
    target = resources(dashboard, "AWS::ApplicationAutoScaling::ScalableTarget")["ScalableTarget"][
        "Properties"
    ]
    floors = [a["ScalableTargetAction"]["MinCapacity"] for a in target["ScheduledActions"]]
    assert floors == [{"Ref": "OffPeakMinTasks"}, {"Ref": "MinTasks"}]
    assert int(default(dashboard, "OffPeakMinTasks")) < int(default(dashboard, "MinTasks"))


def test_ingestion_has_its_own_cluster() -> None:
    """Scheduled engine runs and their exit events use the dedicated ingest cluster; the dashboard
    service stays on the other."""
    cluster = template("cluster")
    assert set(resources(cluster, "AWS::ECS::Cluster")) == {"Cluster", "IngestCluster"}
    engine = text(template("engine")["Resources"])
    assert "IngestClusterArn" in engine
    assert '-ClusterArn"' not in engine
    service = resources(template("dashboard"), "AWS::ECS::Service")["Service"]["Properties"]
    assert "-ClusterName" in text(service["Cluster"])
    assert "Ingest" not in text(service["Cluster"])


def test_database_sizes_and_settings_match_the_design() -> None:
    """db.r6g.xlarge, 500 GiB gp3 with autoscaling, and the design's memory and checkpoint settings."""
    data = template("data")
    assert default(data, "DbInstanceClass") == "db.r6g.xlarge"
    assert int(default(data, "AllocatedStorageGiB")) == 500
    assert int(default(data, "MaxAllocatedStorageGiB")) > 500
    primary = resources(data, "AWS::RDS::DBInstance")["Database"]["Properties"]
    assert primary["StorageType"] == "gp3"
    assert primary["MaxAllocatedStorage"] == {"Ref": "MaxAllocatedStorageGiB"}
    params = resources(data, "AWS::RDS::DBParameterGroup")["PrimaryParameterGroup"]["Properties"][
        "Parameters"
    ]
    assert params["shared_buffers"] == {"Ref": "SharedBuffers"}
    assert default(data, "SharedBuffers") == str(8 * 1024**3 // 8192)
    assert params["work_mem"] == str(64 * 1024)  # kB
    assert params["maintenance_work_mem"] == str(1024 * 1024)  # kB
    assert params["wal_buffers"] == str(16 * 1024 // 8)  # 8 kB pages
    assert params["checkpoint_completion_target"] == "0.9"


def test_dashboard_trusts_forwarded_headers_only_from_the_alb_subnets() -> None:
    """No `--forwarded-allow-ips=*` anywhere; the task runs `mycfa-dashboard serve` (as its parser
    accepts) with the trusted range set to the public subnets the ALB lives in."""
    assert all("forwarded-allow-ips=*" not in path.read_text() for path in TEMPLATES)
    task = resources(template("dashboard"), "AWS::ECS::TaskDefinition")["DashboardTaskDefinition"]
    [container] = task["Properties"]["ContainerDefinitions"]
    assert container["EntryPoint"] == ["python", "-m", "dashboard.cli"]
    dashboard_parser().parse_args(container["Command"])
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["MYCFA_DASH_FORWARDED_ALLOW_IPS"] == {
        "Fn::ImportValue": {"Fn::Sub": "mycfa-${EnvironmentName}-PublicSubnetCidrs"}
    }
    # CloudFront (edge.yaml's distribution, origin = the ALB) then the ALB append to X-Forwarded-For.
    origins = resources(template("edge"), "AWS::CloudFront::Distribution")
    assert origins, "the edge stack puts CloudFront in front of the ALB"
    assert env["MYCFA_DASH_PROXY_HOPS"] == "2"


def test_non_secret_settings_come_from_parameter_store() -> None:
    """Tuning settings reach the tasks from SSM parameters the same stack writes; secrets stay in
    Secrets Manager."""
    for name, wanted in (
        ("engine", {"MYCFA_FMP_RATE_LIMIT", "MYCFA_FMP_CONCURRENCY"}),
        ("dashboard", {"MYCFA_DASH_WORKERS", "MYCFA_DASH_THREADS"}),
    ):
        tpl = template(name)
        parameters = set(resources(tpl, "AWS::SSM::Parameter"))
        from_ssm = set()
        for task in resources(tpl, "AWS::ECS::TaskDefinition").values():
            for container in task["Properties"]["ContainerDefinitions"]:
                for secret in container.get("Secrets", []):
                    source = text(secret["ValueFrom"])
                    if ":ssm:" in source:
                        assert any("${" + p + "}" in source for p in parameters), source
                        from_ssm.add(secret["Name"])
                    else:
                        assert "Secret" in source, source
                assert not wanted & {e["Name"] for e in environment(container)}
        assert from_ssm == wanted, name


def test_images_carry_the_trust_roots_the_database_urls_name() -> None:
    """Both Dockerfiles copy deploy/tls/ (where the release puts the RDS CA bundle) to the directory the
    verify-full URLs read, and the build context admits it."""
    query = template("data")["Mappings"]["SslModes"]["verify-full"]["Query"]
    directory = query.split("sslrootcert=", 1)[1].rsplit("/", 1)[0] + "/"
    root = TEMPLATE_DIR.parents[1]
    for dockerfile in ("Dockerfile.engine", "Dockerfile.dashboard"):
        assert f"COPY deploy/tls/ {directory}" in (root / dockerfile).read_text(), dockerfile
    assert "!deploy/tls/" in (root / ".dockerignore").read_text().splitlines()


def waf_transform(value: str, transformations: list[dict[str, Any]]) -> str:
    """What AWS WAF's text transformations (the ones the rules use) make of a value, in priority order."""
    for step in sorted(transformations, key=lambda t: t["Priority"]):
        kind = step["Type"]
        if kind == "URL_DECODE":
            value = urllib.parse.unquote(value)
        elif kind == "NORMALIZE_PATH":  # merge slashes, drop /./, resolve /../
            parts: list[str] = []
            for part in value.split("/"):
                if part in ("", "."):
                    continue
                if part == "..":
                    parts = parts[:-1]
                else:
                    parts.append(part)
            value = "/" + "/".join(parts)
        elif kind == "LOWERCASE":
            value = value.lower()
        else:
            raise AssertionError(f"no emulation of {kind}")
    return value


def test_waf_login_limit_matches_the_path_the_app_sees() -> None:
    """The /login rate rule matches the path after decoding and normalising it: `/%6Cogin` (review L5),
    `//login`, `/./login`, `/x/../login` and `/LOGIN` all reach the login view, and all count; other
    paths do not. A general per-address rate rule covers every request (review M4)."""
    rules = {
        r["Name"]: r
        for r in resources(template("edge"), "AWS::WAFv2::WebACL")["WebAcl"]["Properties"]["Rules"]
    }
    match = rules["login-rate-limit"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"][
        "ByteMatchStatement"
    ]
    assert match["PositionalConstraint"] == "STARTS_WITH"
    for path in ("/login", "/%6Cogin", "/%6c%6f%67%69%6e", "//login", "/./login", "/x/../login", "/LOGIN"):
        assert waf_transform(path, match["TextTransformations"]).startswith(match["SearchString"]), path
    assert not waf_transform("/company", match["TextTransformations"]).startswith(match["SearchString"])
    general = rules["request-rate-limit"]["Statement"]["RateBasedStatement"]
    assert general["AggregateKeyType"] == "IP"
    assert "ScopeDownStatement" not in general


def test_database_accepts_tls_13_only_and_the_drivers_speak_it() -> None:
    """Both RDS parameter groups refuse anything below TLS 1.3 (review L8(2)); the engine's asyncpg
    (Python's ssl module) and the dashboard's psycopg (libpq 12 or later) support it."""
    for group in resources(template("data"), "AWS::RDS::DBParameterGroup").values():
        assert group["Properties"]["Parameters"]["ssl_min_protocol_version"] == "TLSv1.3"
    assert ssl.HAS_TLSv1_3
    assert psycopg.pq.version() >= 120000


def test_dashboard_logs_keep_the_audit_lines_a_year() -> None:
    """The dashboard's log group (the audit trail's JSON lines beside the rows) keeps them at least a
    year, whatever the parameter says (review L8(6))."""
    dashboard = template("dashboard")
    [group] = resources(dashboard, "AWS::Logs::LogGroup").values()
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    allowed = dashboard["Parameters"]["LogRetentionDays"]["AllowedValues"]
    assert min(int(days) for days in allowed) >= 365
