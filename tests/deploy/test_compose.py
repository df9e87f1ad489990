"""compose.yaml validates with the real Docker Compose v2 CLI and wires the stack as designed."""

from __future__ import annotations

import json
from typing import Any

from engine.cli import build_parser
from fakefmp.__main__ import parse_args as fakefmp_parse_args
from tests.deploy.deploytools import COMPOSE_TEST_ENV, REPO_ROOT, run_compose

ALL_PROFILES = ("--profile", "schedule", "--profile", "tools")


def rendered() -> dict[str, Any]:
    result = run_compose(*ALL_PROFILES, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_compose_config_quiet_passes() -> None:
    """`docker compose config -q` accepts compose.yaml with every profile enabled."""
    result = run_compose(*ALL_PROFILES, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_config_missing_secret_names_variable() -> None:
    """Without a required password compose refuses to render and names the variable."""
    env = {key: value for key, value in COMPOSE_TEST_ENV.items() if key != "MYCFA_DB_PASSWORD"}
    result = run_compose("config", "-q", env=env)
    assert result.returncode != 0
    assert "MYCFA_DB_PASSWORD" in result.stderr


def test_compose_services_use_the_project_dockerfiles() -> None:
    """The engine services build Dockerfile.engine and the dashboard builds Dockerfile.dashboard."""
    services = rendered()["services"]
    for name in ("engine", "engine-migrate", "scheduler"):
        assert services[name]["build"]["dockerfile"] == "Dockerfile.engine", name
    assert services["dashboard"]["build"]["dockerfile"] == "Dockerfile.dashboard"
    assert services["primary"]["image"] == services["replica"]["image"]
    assert services["primary"]["image"].startswith("postgres:15@sha256:")


def test_compose_engine_commands_parse_with_engine_cli() -> None:
    """Every engine container's command is accepted by mycfa-engine's own parser."""
    services = rendered()["services"]
    parser, _ = build_parser()
    commands = {name: services[name]["command"] for name in ("engine", "engine-migrate", "scheduler")}
    assert commands["engine-migrate"] == ["migrate"]
    assert commands["engine"] == ["run", "--job", "full"]
    for command in commands.values():
        parser.parse_args(command)


def test_compose_engine_runs_after_migrate_against_fake_fmp() -> None:
    """The run waits for a successful migrate and a healthy fake server, which is its default API."""
    engine = rendered()["services"]["engine"]
    assert engine["depends_on"]["engine-migrate"]["condition"] == "service_completed_successfully"
    assert engine["depends_on"]["fakefmp"]["condition"] == "service_healthy"
    assert engine["environment"]["MYCFA_FMP_BASE_URL"] == "http://fakefmp:8000/stable"
    assert engine["environment"]["MYCFA_DATABASE_URL"].startswith("postgresql://mycfa:")


def test_compose_real_api_when_base_url_given() -> None:
    """Setting MYCFA_FMP_BASE_URL points the engine at the real API instead of the fake server."""
    env = {**COMPOSE_TEST_ENV, "MYCFA_FMP_BASE_URL": "https://financialmodelingprep.com/stable"}
    result = run_compose("config", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    engine = json.loads(result.stdout)["services"]["engine"]
    assert engine["environment"]["MYCFA_FMP_BASE_URL"] == "https://financialmodelingprep.com/stable"


def test_compose_dashboard_reads_replica_as_reader() -> None:
    """The dashboard reads the replica first, as mycfa_reader, with the primary as last resort; it writes
    its audit rows to the primary as mycfa_audit."""
    env = rendered()["services"]["dashboard"]["environment"]
    assert env["MYCFA_DASH_REPLICA_URLS"].startswith("postgresql://mycfa_reader:")
    assert "@replica:5432/" in env["MYCFA_DASH_REPLICA_URLS"]
    assert env["MYCFA_DASH_DATABASE_URL"].startswith("postgresql://mycfa_reader:")
    assert "@primary:5432/" in env["MYCFA_DASH_DATABASE_URL"]
    assert "MYCFA_DASH_ADMIN_DATABASE_URL" not in env  # only dashboard-admin holds an operator's login
    assert env["MYCFA_DASH_AUDIT_DATABASE_URL"].startswith("postgresql://mycfa_audit:")
    assert "@primary:5432/" in env["MYCFA_DASH_AUDIT_DATABASE_URL"]
    admin = rendered()["services"]["dashboard-admin"]["environment"]
    # `users` refuses the program roles: the operator login primary-init.sh creates, never the owner.
    assert admin["MYCFA_DASH_ADMIN_DATABASE_URL"].startswith("postgresql://mycfa_ops:")
    init = (REPO_ROOT / "deploy" / "compose" / "primary-init.sh").read_text()
    assert "CREATE ROLE mycfa_ops LOGIN" in init
    assert "IN ROLE mycfa_user_admin, mycfa_audit_reader" in init


def test_compose_databases_have_no_route_out() -> None:
    """Postgres sits only on the internal network; only the dashboard publishes a port, on loopback."""
    config = rendered()
    assert config["networks"]["data"]["internal"] is True
    for name in ("primary", "replica"):
        assert set(config["services"][name]["networks"]) == {"data"}
        assert "ports" not in config["services"][name]
    published = [svc for svc in config["services"].values() if svc.get("ports")]
    assert len(published) == 1
    assert published[0]["ports"][0]["host_ip"] == "127.0.0.1"


def test_compose_replica_is_cloned_with_basebackup() -> None:
    """The replica's entrypoint clones the primary with pg_basebackup -R and a replication slot."""
    replica = rendered()["services"]["replica"]
    script = (REPO_ROOT / "deploy" / "compose" / "replica-entrypoint.sh").read_text()
    assert replica["entrypoint"] == ["/usr/local/bin/replica-entrypoint.sh"]
    assert "pg_basebackup" in script
    assert " -R " in script
    assert '-S "$SLOT"' in script
    assert replica["depends_on"]["primary"]["condition"] == "service_healthy"


def test_compose_fake_server_command_parses_with_fakefmp_cli() -> None:
    """The fake server's command is accepted by `python -m fakefmp` and listens beyond loopback."""
    fake = rendered()["services"]["fakefmp"]
    config = fakefmp_parse_args(fake["command"])
    assert config.host == "0.0.0.0"  # noqa: S104 - inside the container network
    assert config.port == 8000
    assert fake["build"]["dockerfile"] == "Dockerfile.fakefmp"
    assert "COPY fakefmp/" in (REPO_ROOT / "Dockerfile.fakefmp").read_text()
