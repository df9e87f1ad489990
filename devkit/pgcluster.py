"""A throwaway PostgreSQL 15 primary + streaming hot-standby replica, as a library.

`Cluster(root)` is the pair described by `root/state.json`: created with `initdb` and
`pg_basebackup -R` on free loopback ports, started, stopped, asked for URLs per role. Standard
library only. PostgreSQL refuses to run as root, so as root the servers run as the `postgres`
system user. Faults (`pgfaults`) and backups (`pgbackup`) build on it; `scripts/devdb.py` is its CLI.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

from devkit.net import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
PG_MAJOR = "15"
OWNER_ROLE = "mycfa"
READER_ROLE = "mycfa_reader"
AUDIT_ROLE = "mycfa_audit"  # the dashboard's audit writer: INSERT on audit.events only (migrate grants it)
# No program logs in as these (schema/140): the audit schema's owner, and the groups of operators.
GROUP_ROLES = ("mycfa_audit_owner", "mycfa_user_admin", "mycfa_audit_reader")
OPERATOR_ROLE = "mycfa_ops"  # the dev cluster's one operator: `mycfa-dashboard users` and `audit verify`
BOOTSTRAP_SQL = REPO_ROOT / "deploy" / "sql" / "db-bootstrap.sql"
REPLICATION_ROLE = "replicator"
SUPERUSER = "postgres"
MAIN_DATABASE = "mycfa"
START_TIMEOUT_S = 60
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# A throwaway cluster: durability traded for speed (tests and benchmarks compare
# loaders against a plain COPY on the same settings, so ratios stay honest).
PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
max_connections = 300
shared_buffers = 512MB
work_mem = 16MB
maintenance_work_mem = 256MB
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = 2GB
max_wal_size = 8GB
hot_standby = on
hot_standby_feedback = on
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
log_min_error_statement = panic
"""


class ClusterError(Exception):
    """A cluster operation could not be carried out (the message says which command and why)."""


def die(message: str) -> NoReturn:
    raise ClusterError(message)


def state_dir() -> Path:
    return Path(os.environ.get("MYCFA_DEVDB_DIR", REPO_ROOT / ".devdb")).resolve()


def run_as_prefix() -> list[str]:
    """Commands that start servers run as `postgres` when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--home-dir",
                "/var/lib/postgresql",
                "--shell",
                "/bin/bash",
                "postgres",
            ],
            check=True,
        )
    return ["runuser", "-u", "postgres", "--"]


def find_bindir() -> Path:
    """Locate PostgreSQL 15's binaries, installing them with apt-get where missing."""
    candidates = [Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")]
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.insert(0, Path(out.stdout.strip()))
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            version = subprocess.run(
                [str(candidate / "pg_ctl"), "--version"], capture_output=True, text=True
            ).stdout
            if f" {PG_MAJOR}." in version:
                return candidate
    if shutil.which("apt-get") is None:
        die(f"PostgreSQL {PG_MAJOR} binaries not found and no apt-get to install them")
    print(f"devdb: installing postgresql-{PG_MAJOR} with apt-get", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-q", f"postgresql-{PG_MAJOR}", f"postgresql-client-{PG_MAJOR}"],
        check=True,
        env=env,
    )
    bindir = candidates[-1]
    if not (bindir / "initdb").exists():
        die(f"apt-get installed postgresql-{PG_MAJOR} but {bindir}/initdb is missing")
    return bindir


def chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)
        for root, dirs, files in os.walk(path):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def sh(
    args: list[str],
    *,
    as_server: bool = True,
    env: dict[str, str] | None = None,
    check: bool = True,
    capture: bool = True,
) -> subprocess.CompletedProcess[str]:
    prefix = run_as_prefix() if as_server else []
    result = subprocess.run(
        [*prefix, *args],
        capture_output=capture,
        text=True,
        env={**os.environ, **(env or {})},
        cwd="/",
    )
    if check and result.returncode != 0:
        die(f"command failed ({result.returncode}): {' '.join(args)}\n{result.stdout}{result.stderr}")
    return result


class Cluster:
    """The primary + replica pair described by `.devdb/state.json`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state_file = root / "state.json"
        self.state: dict[str, Any] = (
            json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        )

    @property
    def bindir(self) -> Path:
        return Path(self.state["bindir"])

    def node_dir(self, node: str) -> Path:
        # After `promote` the roles point at swapped folders (a running data folder cannot move).
        return self.root / str(self.state.get("dirs", {}).get(node, node))

    def is_running(self, node: str) -> bool:
        if not self.state or not self.node_dir(node).exists():
            return False
        status = sh([str(self.bindir / "pg_ctl"), "status", "-D", str(self.node_dir(node))], check=False)
        return status.returncode == 0

    def psql(self, sql: str, *, node: str = "primary", database: str = "postgres") -> str:
        port = self.state["ports"][node]
        out = sh(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.node_dir(node)),
                "-p",
                str(port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ]
        )
        return out.stdout.strip()

    def start_node(self, node: str) -> None:
        if self.is_running(node):
            return
        log = self.root / f"{node}.log"
        if os.geteuid() == 0 and not log.exists():
            log.touch()
            chown_to_server_user(log)
        sh(
            [
                str(self.bindir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "-D",
                str(self.node_dir(node)),
                "-l",
                str(log),
            ]
        )

    def wait_streaming(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") != "0":
                return
            time.sleep(0.2)
        die("the replica did not start streaming; see .devdb/replica.log")

    def create(self) -> None:
        bindir = find_bindir()
        prefix = run_as_prefix()
        self.root.mkdir(parents=True, exist_ok=True)
        passwords = {
            role: secrets.token_hex(12)
            for role in (SUPERUSER, OWNER_ROLE, READER_ROLE, AUDIT_ROLE, OPERATOR_ROLE, REPLICATION_ROLE)
        }
        self.state = {
            "bindir": str(bindir),
            "ports": {"primary": free_port(), "replica": free_port()},
            "passwords": passwords,
        }
        primary = self.node_dir("primary")
        pwfile = self.root / "superuser.pw"
        pwfile.write_text(passwords[SUPERUSER] + "\n")
        chown_to_server_user(self.root)
        if prefix and not os.access(self.root, os.X_OK):
            die(f"{self.root} must be reachable by the postgres user")
        sh(
            [
                str(bindir / "initdb"),
                "-D",
                str(primary),
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
            ]
        )
        pwfile.unlink()
        conf = PRIMARY_CONF.format(port=self.state["ports"]["primary"], socket_dir=primary)
        with open(primary / "postgresql.conf", "a") as handle:
            handle.write(conf)
        with open(primary / "pg_hba.conf", "a") as handle:
            handle.write(f"host replication {REPLICATION_ROLE} 127.0.0.1/32 scram-sha-256\n")
        self.save()
        self.start_node("primary")
        self.psql(
            f"CREATE ROLE {REPLICATION_ROLE} LOGIN REPLICATION PASSWORD '{passwords[REPLICATION_ROLE]}';"
            f"CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB PASSWORD '{passwords[OWNER_ROLE]}';"
            f"CREATE ROLE {READER_ROLE} LOGIN NOCREATEDB NOCREATEROLE PASSWORD '{passwords[READER_ROLE]}';"
            f"ALTER ROLE {READER_ROLE} SET default_transaction_read_only = on;"
        )
        self.ensure_audit_role()
        self.create_database(MAIN_DATABASE)
        self.clone_replica()

    def clone_replica(self) -> None:
        """A hot standby of the primary in the replica's folder (`pg_basebackup -R`), started and streaming."""
        replica = self.node_dir("replica")
        self.base_backup(replica)
        # Socket lock files are not data: any that came along or were left behind are stale.
        for stale in replica.glob(".s.PGSQL.*"):
            stale.unlink(missing_ok=True)
        # The primary's settings came along; the last lines of the file win.
        with open(replica / "postgresql.conf", "a") as handle:
            handle.write(
                f"\nport = {self.state['ports']['replica']}\nunix_socket_directories = '{replica}'\n"
            )
        self.start_node("replica")
        self.wait_streaming()

    def base_backup(self, target: Path, *, standby: bool = True) -> None:
        """Copy the running primary into `target`; a `standby` copy gets its primary_conninfo (-R)."""
        sh(
            [
                str(self.bindir / "pg_basebackup"),
                *("-D", str(target), *(["-R"] if standby else []), "-X", "stream", "-c", "fast", "--no-sync"),
                *("-h", "127.0.0.1", "-p", str(self.state["ports"]["primary"]), "-U", REPLICATION_ROLE),
            ],
            env={"PGPASSWORD": self.state["passwords"][REPLICATION_ROLE]},
        )

    def ensure_audit_role(self) -> None:
        """The audit roles (writer, owner, the operators' groups, the dev operator): made with the
        cluster, or added to a cluster made before they existed, with the main database's handover."""
        passwords = self.state["passwords"]
        for role in (AUDIT_ROLE, OPERATOR_ROLE):
            if role not in passwords:
                passwords[role] = secrets.token_hex(12)
                self.save()
        if self.psql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{AUDIT_ROLE}'") == "0":
            self.psql(
                f"CREATE ROLE {AUDIT_ROLE} LOGIN NOCREATEDB NOCREATEROLE PASSWORD '{passwords[AUDIT_ROLE]}'"
            )
        for role in GROUP_ROLES:
            if self.psql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{role}'") == "0":
                self.psql(f"CREATE ROLE {role} NOLOGIN")
        if self.psql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{OPERATOR_ROLE}'") == "0":
            self.psql(
                f"CREATE ROLE {OPERATOR_ROLE} LOGIN PASSWORD '{passwords[OPERATOR_ROLE]}'"
                " IN ROLE mycfa_user_admin, mycfa_audit_reader"
            )
        if self.psql(f"SELECT count(*) FROM pg_database WHERE datname = '{MAIN_DATABASE}'") == "1":
            self.install_audit_handover(MAIN_DATABASE)

    def install_audit_handover(self, name: str) -> None:
        """What deploy/sql/db-bootstrap.sql gives a database for the audit schema: the groups' access
        and its handover function (the file's marked block, run as the superuser as the master runs it)."""
        text = BOOTSTRAP_SQL.read_text()
        block = (
            text.split("-- BEGIN audit handover", 1)[1].split("\n", 1)[1].split("-- END audit handover", 1)[0]
        )
        self.psql(
            f"GRANT CREATE ON DATABASE {name} TO mycfa_audit_owner;"
            f"GRANT CONNECT ON DATABASE {name} TO mycfa_user_admin, mycfa_audit_reader;"
        )
        self.psql("GRANT USAGE ON SCHEMA public TO mycfa_user_admin;" + block, database=name)

    def create_database(self, name: str) -> None:
        """A database owned by the engine role, where the reader may connect but create nothing."""
        if not IDENTIFIER.match(name):
            die(f"bad database name {name!r}")
        self.psql(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}")
        self.psql(
            f"REVOKE ALL ON DATABASE {name} FROM PUBLIC;"
            f"GRANT CONNECT, TEMPORARY, CREATE ON DATABASE {name} TO {OWNER_ROLE};"
            f"GRANT CONNECT ON DATABASE {name} TO {READER_ROLE}, {AUDIT_ROLE};",
        )
        self.psql(
            f"REVOKE ALL ON SCHEMA public FROM PUBLIC;"
            f"GRANT USAGE ON SCHEMA public TO {READER_ROLE}, {AUDIT_ROLE};"
            f"ALTER SCHEMA public OWNER TO {OWNER_ROLE};",
            database=name,
        )
        self.install_audit_handover(name)

    def drop_database(self, name: str) -> None:
        if not IDENTIFIER.match(name):
            die(f"bad database name {name!r}")
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.state, indent=2))
        self.state_file.chmod(0o600)

    def urls(self) -> dict[str, Any]:
        # A restored cluster has a primary only: its replica URLs name the primary.
        ports, pw = self.state["ports"], self.state["passwords"]
        ports = {"replica": ports["primary"], **ports}

        def url(role: str, node: str, database: str = MAIN_DATABASE) -> str:
            return f"postgresql://{role}:{pw[role]}@127.0.0.1:{ports[node]}/{database}"

        return {
            "primary_port": ports["primary"],
            "replica_port": ports["replica"],
            "owner_url": url(OWNER_ROLE, "primary"),
            "reader_url": url(READER_ROLE, "primary"),
            "replica_reader_url": url(READER_ROLE, "replica"),
            "audit_url": url(AUDIT_ROLE, "primary"),
            "operator_url": url(OPERATOR_ROLE, "primary"),
            "admin_url": url(SUPERUSER, "primary", "postgres"),
            "admin_replica_url": url(SUPERUSER, "replica", "postgres"),
        }


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Serialise concurrent `start`s (parallel test sessions) on one file lock."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root.parent / ".devdb.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pg_ctl(cluster: Cluster, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh([str(cluster.bindir / "pg_ctl"), *args], check=check)


def stop(cluster: Cluster) -> list[str]:
    """Stop both nodes cleanly (data kept); the nodes that were running, in the order stopped."""
    stopped = []
    for node in ("replica", "primary"):
        if cluster.is_running(node):
            pg_ctl(cluster, "stop", "-m", "fast", "-w", "-D", str(cluster.node_dir(node)))
            stopped.append(node)
    return stopped


def start(cluster: Cluster) -> tuple[Cluster, str]:
    """Find the running cluster or create/start it, serialised with other callers on a file lock.

    Returns the cluster as it now is and how: `created`, `reused` or `started`.
    """
    with locked(cluster.root):
        cluster = Cluster(cluster.root)
        if not cluster.state:
            cluster.create()
            how = "created"
        elif cluster.is_running("primary") and cluster.is_running("replica"):
            how = "reused"
        else:
            cluster.start_node("primary")
            cluster.start_node("replica")
            cluster.wait_streaming()
            how = "started"
        cluster.ensure_audit_role()
    return cluster, how


def wait_until(predicate: Any, what: str, timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    die(f"timed out waiting for {what}")
