"""Two real `mycfa-dashboard serve` instances on one database: the login throttle is shared and
per address; with both database nodes stopped /health/ready is 503 while /health/live stays 200.

The database is a whole primary + replica of its own (scripts/devdb.py in a temporary folder), since
the test stops both nodes.
"""

from __future__ import annotations

import http.client
import http.cookies
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import pytest

from devkit import seed
from devkit.net import free_port
from tests.conftest import REPO_ROOT
from tests.dashboard.conftest import PASSWORD

pytestmark = pytest.mark.e2e
SERVE = str(REPO_ROOT / ".venv" / "bin" / "mycfa-dashboard")
OWNER = "127.0.0.1"
ATTACKER = "127.0.0.1"
OWNER_ELSEWHERE = "127.0.0.2"  # loopback too: a second client address without any proxy


@dataclass
class Setup:
    ports: tuple[int, int]
    owner_url: str
    operator_url: str  # reads the audit trail (mycfa_audit_reader)
    devdb_env: dict[str, str]


def _devdb(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "devdb.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def _wait_live(port: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if _get(port, "/health/live")[0] == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"no dashboard on port {port}")


def _get(port: int, path: str, source: str = OWNER) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _login(port: int, source: str, username: str, password: str) -> int:
    """One login through the form, from `source`; the answer's status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request("GET", "/login")
        page = conn.getresponse()
        text = page.read().decode()
        jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
        for header in page.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        cookie = f"mycfa_session={jar['mycfa_session'].value}" if "mycfa_session" in jar else ""
        token = re.search(r'name="csrf_token" value="([^"]+)"', text)
        assert token
        assert cookie
        form = {"username": username, "password": password, "csrf_token": token.group(1), "next": "/"}
        conn.request(
            "POST",
            "/login",
            body=urlencode(form),
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


@pytest.fixture(scope="module")
def two_instances() -> Iterator[Setup]:
    root = Path(tempfile.mkdtemp(prefix="mycfa-gunicorn-"))
    root.chmod(0o755)
    devdb_env = {**os.environ, "MYCFA_DEVDB_DIR": str(root / "devdb")}
    servers: list[subprocess.Popen[bytes]] = []
    try:
        info = json.loads(_devdb(devdb_env, "start", "--json"))
        seed.apply_schema(info["owner_url"])
        seed.add_user(info["owner_url"], "olga", PASSWORD, "analyst")
        env = {
            **os.environ,
            "MYCFA_DASH_DATABASE_URL": info["reader_url"],
            "MYCFA_DASH_REPLICA_URLS": info["replica_reader_url"],
            "MYCFA_DASH_AUDIT_DATABASE_URL": info["audit_url"],
            "MYCFA_DASH_SECRET_KEY": secrets.token_hex(32),
            "MYCFA_DASH_SECURE_COOKIES": "false",
            "MYCFA_DASH_HEALTH_TTL_S": "0.2",
            "MYCFA_DASH_CONNECT_TIMEOUT_S": "1",
            "MYCFA_DASH_LOGIN_DELAY_BASE_S": "60",  # however slow the machine, the wait outlasts the test
        }
        ports = (free_port(), free_port())
        for n, port in enumerate(ports):
            servers.append(
                subprocess.Popen(
                    [SERVE, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
                    env=env,
                    stdout=open(root / f"gunicorn{n}.log", "wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        for port in ports:
            _wait_live(port)
        yield Setup(ports, info["owner_url"], info["operator_url"], devdb_env)
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        subprocess.run(
            [sys.executable, str(REPO_ROOT / "scripts" / "devdb.py"), "destroy"], env=devdb_env, check=False
        )
        shutil.rmtree(root, ignore_errors=True)


def test_failures_over_two_instances_throttle_the_account_not_its_owner_elsewhere(
    two_instances: Setup,
) -> None:
    """Failures spread over two gunicorn instances add up (the count lives in Postgres): the next
    attempt from that address is refused on either instance, even with the right password, while the
    owner from another address logs in."""
    first, second = two_instances.ports
    for port in (first, first, first, second, second):  # 5 = MYCFA_DASH_LOGIN_MAX_FAILURES
        assert _login(port, ATTACKER, "olga", "wrong password!") == 401
    assert _login(first, ATTACKER, "olga", PASSWORD) == 429
    assert _login(second, ATTACKER, "olga", PASSWORD) == 429
    assert _login(second, OWNER_ELSEWHERE, "olga", PASSWORD) == 302
    assert _login(first, OWNER_ELSEWHERE, "olga", PASSWORD) == 302
    with psycopg.connect(two_instances.owner_url) as conn:
        (failures,) = conn.execute(
            "SELECT failures FROM login_throttle WHERE scope = 'account' AND key = %s", (f"olga {ATTACKER}",)
        ).fetchone() or (0,)
    with psycopg.connect(two_instances.operator_url) as conn:
        reasons = [
            row[0]
            for row in conn.execute(
                "SELECT detail->>'reason' FROM audit.events WHERE kind = 'login' AND outcome = 'failure'"
                " AND host(client_addr) = %s ORDER BY seq",
                (ATTACKER,),
            )
        ]
    assert failures == 5
    assert reasons == ["wrong password"] * 5 + ["throttled"] * 2


def test_health_with_both_database_nodes_stopped(two_instances: Setup) -> None:
    """/health/ready answers 200 while a node answers and 503 once both are stopped; /health/live 200."""
    port = two_instances.ports[0]
    status, body = _get(port, "/health/ready")
    assert (status, json.loads(body)["status"]) == (200, "ready")
    _devdb(two_instances.devdb_env, "stop")
    time.sleep(0.5)  # past the health TTL
    status, body = _get(port, "/health/ready")
    assert status == 503
    assert json.loads(body)["status"] == "unavailable"
    assert _get(port, "/health/live")[0] == 200
