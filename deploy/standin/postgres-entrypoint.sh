#!/usr/bin/env bash
# Entrypoint of the stand-in for the official postgres:15 image (scripts/stack builds it from Debian's
# postgresql-15 when no container registry is reachable). It does the part of the official
# entrypoint compose.yaml relies on: as root, own $PGDATA and drop to `postgres`; on an empty $PGDATA,
# initdb with POSTGRES_PASSWORD (scram for TCP, trust on the local socket), listen on all addresses,
# run /docker-entrypoint-initdb.d/*.sh against a socket-only server, then exec the command.
set -euo pipefail

: "${PGDATA:?}"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
  export POSTGRES_USER="${POSTGRES_USER:-postgres}"
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" >/dev/null
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  for script in /docker-entrypoint-initdb.d/*.sh; do
    [ -e "$script" ] || continue
    echo "postgres-entrypoint: running $script" >&2
    bash "$script"
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi

exec "$@"
