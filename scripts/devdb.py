#!/usr/bin/env python3
"""Throwaway PostgreSQL 15 primary + streaming hot-standby replica for development and tests.

Usage:
    scripts/devdb.py start [--json]     find the running cluster or create/start it; print URLs
    scripts/devdb.py status [--json]    say what runs, with replication lag
    scripts/devdb.py stop               stop both nodes (data kept)
    scripts/devdb.py destroy            stop both nodes and delete the folder
    scripts/devdb.py createdb NAME      a fresh database owned by the engine role, hardened for the reader
    scripts/devdb.py dropdb NAME
    scripts/devdb.py kill NODE          stop one node at once (`pg_ctl stop -m immediate`: a crash)
    scripts/devdb.py restart NODE [--down S]
                                        a clean restart (`pg_ctl stop -m fast`), down for S seconds
    scripts/devdb.py promote [--json]   fail over: fence the old primary, promote the replica, rebuild
                                        a replica from the new primary (`--no-rebuild` skips that)
    scripts/devdb.py archive DIR        WAL archiving on the primary into DIR (restarts the primary)
    scripts/devdb.py basebackup DIR     a base backup of the primary into DIR (for `restore`)
    scripts/devdb.py restore --from DIR --wal DIR --target-time T [--json]
                                        point-in-time recovery into MYCFA_DEVDB_DIR, primary only

Everything lives in `.devdb/` of the repository (ignored by git; `MYCFA_DEVDB_DIR` picks another
folder, as the drills do for clusters of their own), on free loopback ports.
Standard library only, so it runs before the project's virtualenv exists. PostgreSQL refuses
to run as root, so as root the servers run as the `postgres` system user.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
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


def die(message: str) -> None:
    print(f"devdb: {message}", file=sys.stderr)
    raise SystemExit(1)


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
def locked(root: Path):  # type: ignore[no-untyped-def]
    """Serialise concurrent `start`s (parallel test sessions) on one file lock."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root.parent / ".devdb.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cmd_start(cluster: Cluster, as_json: bool) -> None:
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
    info = {"status": how, **cluster.urls()}
    if as_json:
        print(json.dumps(info))
        return
    print(f"devdb: {how} primary on port {info['primary_port']}, replica on port {info['replica_port']}")
    print(f"  engine (owner):   {info['owner_url']}")
    print(f"  reader, primary:  {info['reader_url']}")
    print(f"  reader, replica:  {info['replica_reader_url']}")
    print(f"  audit writer:     {info['audit_url']}")
    print(f"  operator:         {info['operator_url']}")


def cmd_status(cluster: Cluster, as_json: bool) -> int:
    if not cluster.state:
        print("devdb: no cluster here (run `scripts/devdb.py start`)")
        return 3
    info: dict[str, Any] = {
        "primary_running": cluster.is_running("primary"),
        "replica_running": cluster.is_running("replica"),
    }
    if info["primary_running"]:
        lag = cluster.psql(
            "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), -1) "
            "FROM pg_stat_replication"
        )
        info["replay_lag_bytes"] = int(float(lag))
    info.update(cluster.urls())
    if as_json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key}: {value}")
    return 0 if info["primary_running"] and info["replica_running"] else 3


def cmd_stop(cluster: Cluster) -> None:
    for node in ("replica", "primary"):
        if cluster.is_running(node):
            sh(
                [
                    str(cluster.bindir / "pg_ctl"),
                    "stop",
                    "-m",
                    "fast",
                    "-w",
                    "-D",
                    str(cluster.node_dir(node)),
                ]
            )
            print(f"devdb: stopped {node}")


def pg_ctl(cluster: Cluster, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh([str(cluster.bindir / "pg_ctl"), *args], check=check)


def wait_until(predicate: Any, what: str, timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    die(f"timed out waiting for {what}")


def cmd_kill(cluster: Cluster, node: str, *, quiet: bool = False) -> None:
    """Stop one node the way a crash does: no checkpoint, no goodbye to clients."""
    if cluster.is_running(node):
        pid_file = cluster.node_dir(node) / "postmaster.pid"
        pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else 0
        pg_ctl(cluster, "stop", "-m", "immediate", "-w", "-D", str(cluster.node_dir(node)))
        # pg_ctl returns once postmaster.pid is gone; the process may still be removing its socket
        # lock files, which a server started next in that folder would find (and refuse to start).
        wait_until(lambda: not pid or not process_alive(pid), f"the {node}'s postmaster to exit")
        if not quiet:
            print(f"devdb: killed {node}")


def cmd_restart(cluster: Cluster, node: str, down_s: float) -> None:
    """Restart one node the way a maintenance restart does: clients are disconnected, then refused."""
    pid_file = cluster.node_dir(node) / "postmaster.pid"
    pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else 0
    pg_ctl(cluster, "stop", "-m", "fast", "-w", "-D", str(cluster.node_dir(node)))
    wait_until(lambda: not pid or not process_alive(pid), f"the {node}'s postmaster to exit")
    time.sleep(down_s)
    cluster.start_node(node)
    print(f"devdb: restarted {node} (down for at least {down_s:g} s)")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmd_promote(cluster: Cluster, *, rebuild: bool, as_json: bool) -> None:
    """Fail over to the replica; the old primary is fenced (stopped) first, so there is never two."""
    if not cluster.is_running("replica"):
        die("the replica is not running: nothing to promote")
    cmd_kill(cluster, "primary", quiet=True)
    started = time.monotonic()
    pg_ctl(cluster, "promote", "-w", "-t", str(START_TIMEOUT_S), "-D", str(cluster.node_dir("replica")))
    wait_until(lambda: cluster.psql("SELECT pg_is_in_recovery()", node="replica") == "f", "the promotion")
    promote_s = time.monotonic() - started
    # The promoted node is the primary from now on; the old primary's folder and port are the replica's.
    dirs = {"primary": cluster.node_dir("replica").name, "replica": cluster.node_dir("primary").name}
    ports = cluster.state["ports"]
    cluster.state["dirs"] = dirs
    cluster.state["ports"] = {"primary": ports["replica"], "replica": ports["primary"]}
    cluster.save()
    rebuild_s = 0.0
    if rebuild:
        started = time.monotonic()
        shutil.rmtree(cluster.node_dir("replica"), ignore_errors=True)
        cluster.clone_replica()
        rebuild_s = time.monotonic() - started
    info = {"promote_seconds": round(promote_s, 3), "rebuild_seconds": round(rebuild_s, 3), **cluster.urls()}
    if as_json:
        print(json.dumps(info))
    else:
        print(
            f"devdb: promoted the replica in {promote_s:.2f} s (primary now on port {info['primary_port']})"
        )
        if rebuild:
            print(f"devdb: new replica on port {info['replica_port']} in {rebuild_s:.1f} s")


def archive_command(folder: Path) -> str:
    # Never overwrite a segment already archived (PostgreSQL's documented recipe).
    return f"test ! -f '{folder}/%f' && cp '%p' '{folder}/%f'"


def cmd_archive(cluster: Cluster, folder: Path) -> None:
    """Continuous WAL archiving on the primary, as RDS does for point-in-time recovery."""
    folder.mkdir(parents=True, exist_ok=True)
    chown_to_server_user(folder)
    for setting in (
        "archive_mode = 'on'",
        f"archive_command = $${archive_command(folder)}$$",
        "archive_timeout = '60s'",  # a quiet primary still closes a segment a minute: the RPO bound
    ):
        cluster.psql(f"ALTER SYSTEM SET {setting}")  # one statement a call: not in a transaction block
    # archive_mode needs a restart; start_node sends the server's output to its log file.
    pg_ctl(cluster, "stop", "-m", "fast", "-w", "-D", str(cluster.node_dir("primary")))
    cluster.start_node("primary")
    print(f"devdb: archiving WAL into {folder}")


def cmd_basebackup(cluster: Cluster, folder: Path) -> None:
    """A base backup (data folder + the cluster's state, for its roles' passwords) into `folder`."""
    if folder.exists():
        die(f"{folder} exists")
    folder.mkdir(parents=True)
    chown_to_server_user(folder)
    cluster.base_backup(folder / "data", standby=False)
    (folder / "state.json").write_text(json.dumps(cluster.state))
    print(f"devdb: base backup in {folder}")


def cmd_restore(target: Cluster, backup: Path, wal: Path, target_time: str, as_json: bool) -> None:
    """Point-in-time recovery: the base backup, then archived WAL replayed up to `target_time`."""
    if target.state:
        die(f"{target.root} already holds a cluster")
    source = json.loads((backup / "state.json").read_text())
    started = time.monotonic()
    target.root.mkdir(parents=True, exist_ok=True)
    data = target.root / "primary"
    shutil.copytree(backup / "data", data, symlinks=True)
    target.state = {
        "bindir": source["bindir"],
        "ports": {"primary": free_port()},
        "passwords": source["passwords"],
        "restored_to": target_time,
    }
    with open(data / "postgresql.auto.conf", "a") as handle:
        handle.write(
            f"port = {target.state['ports']['primary']}\n"
            f"unix_socket_directories = '{data}'\n"
            f'restore_command = \'cp "{wal}/%f" "%p"\'\n'
            f"recovery_target_time = '{target_time}'\n"
            "recovery_target_action = 'promote'\n"
            "archive_mode = 'off'\n"
        )
    (data / "recovery.signal").touch()
    for stale in ("postmaster.pid", "standby.signal"):
        (data / stale).unlink(missing_ok=True)
    chown_to_server_user(target.root)
    target.save()
    target.start_node("primary")
    wait_until(lambda: target.psql("SELECT pg_is_in_recovery()") == "f", "the recovery", timeout_s=600)
    info = {"restore_seconds": round(time.monotonic() - started, 3), **target.urls()}
    if as_json:
        print(json.dumps(info))
    else:
        print(
            f"devdb: restored to {target_time} in {info['restore_seconds']} s on port {info['primary_port']}"
        )


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="verb", required=True)
    for verb in ("start", "status"):
        sub.add_parser(verb).add_argument("--json", action="store_true")
    sub.add_parser("stop")
    sub.add_parser("destroy")
    for verb in ("createdb", "dropdb"):
        sub.add_parser(verb).add_argument("name")
    sub.add_parser("kill").add_argument("node", choices=("primary", "replica"))
    restart = sub.add_parser("restart")
    restart.add_argument("node", choices=("primary", "replica"))
    restart.add_argument("--down", type=float, default=0.0, help="seconds between stop and start")
    promote = sub.add_parser("promote")
    promote.add_argument("--no-rebuild", action="store_true", help="leave the cluster without a replica")
    promote.add_argument("--json", action="store_true")
    for verb in ("archive", "basebackup"):
        sub.add_parser(verb).add_argument("folder", type=Path)
    restore = sub.add_parser("restore")
    restore.add_argument("--from", dest="backup", type=Path, required=True, help="a `basebackup` folder")
    restore.add_argument("--wal", type=Path, required=True, help="the `archive` folder")
    restore.add_argument("--target-time", required=True, help="e.g. '2026-11-30 05:10:00.123+00'")
    restore.add_argument("--json", action="store_true")
    return parser


def cmd_destroy(cluster: Cluster) -> None:
    if cluster.state:
        cmd_stop(cluster)
    shutil.rmtree(cluster.root, ignore_errors=True)
    print("devdb: destroyed")


def cmd_promote_locked(cluster: Cluster, *, rebuild: bool, as_json: bool) -> None:
    with locked(cluster.root):
        cmd_promote(Cluster(cluster.root), rebuild=rebuild, as_json=as_json)


def main() -> int:
    args = parser().parse_args()
    cluster = Cluster(state_dir())
    verbs: dict[str, Callable[[], int | None]] = {
        "start": lambda: cmd_start(cluster, args.json),
        "status": lambda: cmd_status(cluster, args.json),
        "stop": lambda: cmd_stop(cluster) if cluster.state else None,
        "destroy": lambda: cmd_destroy(cluster),
        "createdb": lambda: cluster.create_database(args.name),
        "dropdb": lambda: cluster.drop_database(args.name),
        "kill": lambda: cmd_kill(cluster, args.node),
        "restart": lambda: cmd_restart(cluster, args.node, args.down),
        "promote": lambda: cmd_promote_locked(cluster, rebuild=not args.no_rebuild, as_json=args.json),
        "archive": lambda: cmd_archive(cluster, args.folder.resolve()),
        "basebackup": lambda: cmd_basebackup(cluster, args.folder.resolve()),
        "restore": lambda: cmd_restore(
            cluster, args.backup.resolve(), args.wal.resolve(), args.target_time, args.json
        ),
    }
    return verbs[args.verb]() or 0


if __name__ == "__main__":
    sys.exit(main())
