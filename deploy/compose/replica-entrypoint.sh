#!/usr/bin/env bash
# Compose replica: on first start clone the primary with pg_basebackup -R (a streaming hot standby
# with its own replication slot), then run postgres. Later starts reuse the data volume.
set -euo pipefail

: "${PGDATA:?}" "${PRIMARY_HOST:?}" "${PGPASSWORD:?}"
SLOT="${REPLICATION_SLOT:-replica1}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -q -h "$PRIMARY_HOST" -U replicator -d postgres; do
    echo "replica: waiting for $PRIMARY_HOST" >&2
    sleep 2
  done
  # -C -S creates the slot, so the primary keeps WAL the replica has not replayed yet.
  # A slot left by an earlier replica volume is reused: retry without -C on a clean directory.
  if ! pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -R -X stream -C -S "$SLOT" -c fast; then
    find "$PGDATA" -mindepth 1 -delete
    pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -R -X stream -S "$SLOT" -c fast
  fi
  chmod 0700 "$PGDATA"
fi

exec postgres -c hot_standby=on -c hot_standby_feedback=on -c listen_addresses='*'
