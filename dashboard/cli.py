"""`mycfa-dashboard`: serve the app with gunicorn, and manage its users.

    mycfa-dashboard serve [--bind HOST:PORT] [--workers N] [--threads N]
    mycfa-dashboard users add NAME --role ROLE [--password-stdin]   (else a prompt that does not echo)
    mycfa-dashboard users remove NAME
    mycfa-dashboard users set-role NAME ROLE
    mycfa-dashboard audit verify [--expect SEQ:HASH]   (exit 0 intact, 1 broken)

`users` and `audit` connect as the operator's own database login (a member of mycfa_user_admin,
resp. mycfa_audit_reader), never a program's role: MYCFA_DASH_ADMIN_DATABASE_URL, or
`--database-url` without a password (then PGPASSWORD or ~/.pgpass). The login is the recorded actor.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from dashboard.config import ConfigError, DashboardSettings, load_dashboard_settings, require_audit_database

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG, EXIT_DB = 0, 1, 2, 3, 7
MIN_PASSWORD = 10
MAX_REQUESTS = 50_000  # a worker restarts after this many requests (plus up to a tenth more)
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# The programs' own roles: an administrator's action under one of them could be anyone's.
PROGRAM_ROLES = frozenset({"mycfa", "mycfa_reader", "mycfa_audit", "mycfa_audit_owner"})
WHO = "SELECT session_user, (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)"


def default_workers(cpus: int | None = None) -> int:
    """CPU-bound rendering: a worker per core plus one, at least 2, at most 8 (threads cover I/O waits)."""
    count = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(2, min(8, count + 1))


def gunicorn_argv(
    settings: DashboardSettings, bind: str | None, workers: int | None, threads: int | None
) -> list[str]:
    return [
        "gunicorn",
        f"--bind={bind or settings.bind}",
        f"--workers={workers or settings.workers or default_workers()}",
        f"--threads={threads or settings.threads}",
        "--worker-class=dashboard.serve_worker.QuickExitWorker",  # gthread; Ctrl-C waits on no client
        "--timeout=60",
        "--graceful-timeout=20",
        "--keep-alive=5",
        # A leak guard only (the per-worker cache is bounded): each restart can drop a request a
        # client sends on a kept-alive connection as the leaving worker closes it (1 in 20,560 in a
        # mixed drill at 5,000), so restarts are rare: ~40 min apart per worker at 70 requests/s.
        f"--max-requests={MAX_REQUESTS}",
        f"--max-requests-jitter={MAX_REQUESTS // 10}",
        f"--forwarded-allow-ips={settings.forwarded_allow_ips}",
        f"--log-level={settings.log_level.lower()}",  # our JSON request lines replace the access log
        "dashboard.app:server",
    ]


def serve(args: argparse.Namespace) -> int:
    settings = load_dashboard_settings()  # fail fast, before gunicorn forks workers
    require_audit_database(settings)
    from gunicorn.app.wsgiapp import run

    # Workers already run one request per thread: a multi-threaded BLAS inside each request fights them
    # for the cores (measured: one company's analytics 676 ms CPU with BLAS threads, ~160 ms with one).
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")

    sys.argv = gunicorn_argv(settings, args.bind, args.workers, args.threads)
    run()
    return EXIT_OK


class NotAnOperator(ValueError):
    """The connection is not an operator's own login."""


def _admin_url(args: argparse.Namespace) -> str:
    """The operator's URL: `--database-url` (no password on the command line, where `ps` and the
    shell history would keep it) or MYCFA_DASH_ADMIN_DATABASE_URL.

    Raises:
        ValueError: the command-line URL holds a password.
        ConfigError: neither is set.
    """
    if args.database_url:
        if "password" in conninfo_to_dict(str(args.database_url)):
            raise ValueError(
                "no password in --database-url (ps and the shell history show it):"
                " use PGPASSWORD, ~/.pgpass or MYCFA_DASH_ADMIN_DATABASE_URL"
            )
        return str(args.database_url)
    settings = load_dashboard_settings()
    if settings.admin_database_url is None:
        raise ConfigError(
            "configuration error: MYCFA_DASH_ADMIN_DATABASE_URL is required for `users` and `audit`"
        )
    return settings.admin_database_url.get_secret_value()


def _operator(conn: psycopg.Connection[Any]) -> str:
    """The connected login, which the database authenticated: the actor of what follows.

    Raises:
        NotAnOperator: a program's role or a superuser (shared; nobody in particular).
    """
    name, superuser = conn.execute(WHO).fetchone() or ("", False)
    if name in PROGRAM_ROLES or superuser:
        raise NotAnOperator(
            f"connect as your own database login, not {name} (a program's or a superuser's role):"
            " see docs/deploy.md, Dashboard users and the audit trail"
        )
    return str(name)


def _read_password(from_stdin: bool) -> str:
    # Scripts pipe the password in (never on the command line, where `ps` would show it).
    password = sys.stdin.readline().rstrip("\n") if from_stdin else getpass.getpass("password: ")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    return password


def _as_operator(args: argparse.Namespace, work: Callable[[psycopg.Connection[Any], str], int]) -> int:
    """`work(conn, actor)` in one transaction on the operator's own login; errors as exit codes."""
    try:
        with psycopg.connect(_admin_url(args), connect_timeout=5) as conn:
            return work(conn, _operator(conn))
    except NotAnOperator as exc:
        print(f"mycfa-dashboard: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ValueError as exc:
        print(f"mycfa-dashboard: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except psycopg.Error as exc:
        print(f"mycfa-dashboard: database error ({type(exc).__name__})", file=sys.stderr)
        return EXIT_DB


def users(args: argparse.Namespace) -> int:
    from dashboard.auth import ROLES, USERNAME, hash_password

    name = args.name.strip().lower()
    if not USERNAME.match(name):
        print("mycfa-dashboard: user names are 3-64 of a-z 0-9 _ . @ -", file=sys.stderr)
        return EXIT_USAGE
    role = getattr(args, "role", None)
    if role is not None and role not in ROLES:
        print(f"mycfa-dashboard: role must be one of {', '.join(ROLES)}", file=sys.stderr)
        return EXIT_USAGE

    def change(conn: psycopg.Connection[Any], actor: str) -> int:
        before = conn.execute(
            "SELECT role FROM dashboard_users WHERE username = %s FOR UPDATE", (name,)
        ).fetchone()
        old_role = before[0] if before else None
        if args.action == "add":
            conn.execute(
                "INSERT INTO dashboard_users (username, password_hash, role) VALUES (%s, %s, %s)"
                " ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
                " role = EXCLUDED.role, updated_at = now()",
                (name, hash_password(_read_password(args.password_stdin)), role),
            )
            count = 1
        elif args.action == "remove":
            count = conn.execute("DELETE FROM dashboard_users WHERE username = %s", (name,)).rowcount
        else:
            count = conn.execute(
                "UPDATE dashboard_users SET role = %s, updated_at = now() WHERE username = %s", (role, name)
            ).rowcount
        if count == 0:
            print(f"mycfa-dashboard: no user {name}", file=sys.stderr)
            return EXIT_FAILED
        _audit_user_change(
            conn, actor, args.action, name, old_role, None if args.action == "remove" else role
        )
        return EXIT_OK

    code = _as_operator(args, change)
    if code == EXIT_OK and args.action == "add":
        print(f"user {name} ({role}) saved")
    elif code == EXIT_OK:
        print(f"user {name} {'removed' if args.action == 'remove' else f'is now {role}'}")
    return code


def _audit_user_change(
    conn: psycopg.Connection[Any],
    actor: str,
    action: str,
    name: str,
    old_role: str | None,
    new_role: str | None,
) -> None:
    """Who changed which account, old and new role: a row in the same transaction, and a JSON line.

    `actor` is the database login (the row's `inserted_by` says the same, set by the database);
    the OS user is kept beside it as a hint only, since anyone can set $LOGNAME.
    """
    from dashboard.audit_store import INSERT, AuditEvent, emit_json

    event = AuditEvent(
        kind="user_admin",
        outcome="ok",
        username=name,
        role=new_role,
        detail={
            "action": {"add": "add" if old_role is None else "reset password", "remove": "remove"}.get(
                action, action
            ),
            "actor": actor,
            "os_user": getpass.getuser(),
            "old_role": old_role,
            "new_role": new_role,
        },
    )
    conn.execute(INSERT, event.row())
    emit_json(event)


def audit(args: argparse.Namespace) -> int:
    """`audit verify`: walk the chain; exit 0 when intact, 1 at the first break."""
    from dashboard.audit_chain import verify

    expect = None
    if args.expect:
        seq, _, digest = str(args.expect).partition(":")
        if not seq.isdigit() or len(digest) != 64:
            print("mycfa-dashboard: --expect takes SEQ:HASH as `audit verify` printed it", file=sys.stderr)
            return EXIT_USAGE
        expect = (int(seq), digest.lower())

    def walk(conn: psycopg.Connection[Any], _actor: str) -> int:
        conn.commit()  # the walk in one snapshot of its own: rows and head as of one moment
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        report = verify(conn, expect)
        print(report.line())
        return EXIT_OK if report.intact else EXIT_FAILED

    return _as_operator(args, walk)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="mycfa-dashboard", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    verbs = top.add_subparsers(dest="verb", required=True)
    srv = verbs.add_parser("serve", help="run the dashboard under gunicorn")
    srv.add_argument("--bind")
    srv.add_argument("--workers", type=int)
    srv.add_argument("--threads", type=int)
    srv.set_defaults(func=serve)
    usr = verbs.add_parser("users", help="manage who may log in").add_subparsers(dest="action", required=True)
    for action in ("add", "remove", "set-role"):
        sub = usr.add_parser(action)
        sub.add_argument("name")
        if action == "add":
            sub.add_argument("--role", required=True)
            sub.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        elif action == "set-role":
            sub.add_argument("role")
        sub.add_argument(
            "--database-url", help="your own login, no password (default MYCFA_DASH_ADMIN_DATABASE_URL)"
        )
        sub.set_defaults(func=users)
    trail = verbs.add_parser("audit", help="check the audit trail").add_subparsers(
        dest="action", required=True
    )
    check = trail.add_parser("verify", help="walk the hash chain; exit 1 at the first break")
    check.add_argument("--expect", help="SEQ:HASH a previous verify printed: that row must still match")
    check.add_argument(
        "--database-url", help="your own login, no password (default MYCFA_DASH_ADMIN_DATABASE_URL)"
    )
    check.set_defaults(func=audit)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
