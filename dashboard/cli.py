"""`mycfa-dashboard`: serve the app with gunicorn, and manage its users.

    mycfa-dashboard serve [--bind HOST:PORT] [--workers N] [--threads N]
    mycfa-dashboard prewarm [--once]    (each company's first-click answers into the shared cache)
    mycfa-dashboard users add NAME --role ROLE [--password-stdin]   (else a prompt that does not echo)
    mycfa-dashboard users remove NAME
    mycfa-dashboard users set-role NAME ROLE

`users` writes through an owner connection: `--database-url` or MYCFA_DASH_ADMIN_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import psycopg

from dashboard.config import ConfigError, DashboardSettings, load_dashboard_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG, EXIT_DB = 0, 1, 2, 3, 7
MIN_PASSWORD = 10
MAX_REQUESTS = 50_000  # a worker restarts after this many requests (plus up to a tenth more)
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


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
        "--worker-class=gthread",
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
    from gunicorn.app.wsgiapp import run

    # Workers already run one request per thread: a multi-threaded BLAS inside each request fights them
    # for the cores (measured: one company's analytics 676 ms CPU with BLAS threads, ~160 ms with one).
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")

    sys.argv = gunicorn_argv(settings, args.bind, args.workers, args.threads)
    warmer = start_prewarm() if settings.prewarm else None
    owner = os.getpid()
    try:
        run()
    finally:
        # gunicorn's forked workers leave through here too (sys.exit in the child): only the arbiter,
        # the process that started the prewarm, stops it.
        if warmer is not None and os.getpid() == owner:
            stop_prewarm(warmer)
    return EXIT_OK


def start_prewarm() -> subprocess.Popen[bytes]:
    """`mycfa-dashboard prewarm` as a child at low priority (it lowers its own, `--nice`)."""
    from dashboard.prewarm import NICE

    return subprocess.Popen([sys.executable, "-m", "dashboard.cli", "prewarm", "--nice", str(NICE)])


def stop_prewarm(child: subprocess.Popen[bytes], timeout_s: float = 10) -> None:
    """Terminate, then kill after `timeout_s` (fakefmp/process.py does the same; the dashboard ships alone)."""
    child.terminate()
    try:
        child.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def prewarm(args: argparse.Namespace) -> int:
    if args.nice:
        os.nice(args.nice)
    for name in BLAS_THREAD_VARIABLES:  # one core's worth at a time, as in the workers (before numpy loads)
        os.environ.setdefault(name, "1")
    from dashboard import prewarm as warmer
    from dashboard.app import create_app
    from dashboard.components.page import UNREACHABLE

    server = create_app(load_dashboard_settings()).server
    # SIGTERM (gunicorn stopping, `docker stop`) exits 0 wherever the loop is: the cache writes each
    # entry to a temporary file and renames it, so none is left half-written.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(EXIT_OK))
    if not args.once:
        warmer.loop(server)
        return EXIT_OK
    try:
        warmer.warm(server)
    except UNREACHABLE as exc:
        print(f"mycfa-dashboard: prewarm failed: {exc}", file=sys.stderr)
        return EXIT_DB
    return EXIT_OK


def _admin_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    settings = load_dashboard_settings()
    if settings.admin_database_url is None:
        raise ConfigError("configuration error: MYCFA_DASH_ADMIN_DATABASE_URL is required for `users`")
    return settings.admin_database_url.get_secret_value()


def _read_password(from_stdin: bool) -> str:
    # Scripts pipe the password in (never on the command line, where `ps` would show it).
    password = sys.stdin.readline().rstrip("\n") if from_stdin else getpass.getpass("password: ")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    return password


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
    try:
        url = _admin_url(args)
        with psycopg.connect(url, connect_timeout=5) as conn:
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
                    "UPDATE dashboard_users SET role = %s, updated_at = now() WHERE username = %s",
                    (role, name),
                ).rowcount
            if count:
                _audit_user_change(
                    conn, args.action, name, old_role, None if args.action == "remove" else role
                )
    except ValueError as exc:
        print(f"mycfa-dashboard: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except psycopg.Error as exc:
        print(f"mycfa-dashboard: database error ({type(exc).__name__})", file=sys.stderr)
        return EXIT_DB
    if count == 0:
        print(f"mycfa-dashboard: no user {name}", file=sys.stderr)
        return EXIT_FAILED
    if args.action == "add":
        print(f"user {name} ({role}) saved")
    else:
        print(f"user {name} {'removed' if args.action == 'remove' else f'is now {role}'}")
    return EXIT_OK


def _audit_user_change(
    conn: psycopg.Connection[Any], action: str, name: str, old_role: str | None, new_role: str | None
) -> None:
    """Who changed which account, old and new role: a row in the same transaction, and a JSON line."""
    from dashboard.audit_store import INSERT, AuditEvent, emit_json

    (db_role,) = conn.execute("SELECT current_user").fetchone() or ("?",)
    event = AuditEvent(
        kind="user_admin",
        outcome="ok",
        username=name,
        role=new_role,
        detail={
            "action": {"add": "add" if old_role is None else "reset password", "remove": "remove"}.get(
                action, action
            ),
            "actor": getpass.getuser(),
            "actor_db_role": db_role,
            "old_role": old_role,
            "new_role": new_role,
        },
    )
    conn.execute(INSERT, event.row())
    emit_json(event)


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
    warm = verbs.add_parser(
        "prewarm", help="compute each company's first-click answers into the shared cache"
    )
    warm.add_argument("--once", action="store_true", help="warm the current data version and exit")
    warm.add_argument("--nice", type=int, default=0, help="lower this process's priority by N first")
    warm.set_defaults(func=prewarm)
    usr = verbs.add_parser("users", help="manage who may log in").add_subparsers(dest="action", required=True)
    for action in ("add", "remove", "set-role"):
        sub = usr.add_parser(action)
        sub.add_argument("name")
        if action == "add":
            sub.add_argument("--role", required=True)
            sub.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        elif action == "set-role":
            sub.add_argument("role")
        sub.add_argument("--database-url", help="owner connection (default MYCFA_DASH_ADMIN_DATABASE_URL)")
        sub.set_defaults(func=users)
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
