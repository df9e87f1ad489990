#!/usr/bin/env bash
# First start of the compose primary: replication access, the `mycfa` database, then the same roles
# and grants as production (deploy/sql/db-bootstrap.sql: the owner writes, the reader may only SELECT
# what the migrations grant it). Run once by the postgres image from /docker-entrypoint-initdb.d;
# passwords come from the environment.
set -euo pipefail

: "${MYCFA_DB_PASSWORD:?}" "${MYCFA_READER_PASSWORD:?}" "${MYCFA_AUDIT_PASSWORD:?}" "${MYCFA_OPS_PASSWORD:?}" "${MYCFA_REPLICATION_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v repl_pw="$MYCFA_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator LOGIN REPLICATION PASSWORD :'repl_pw';
CREATE DATABASE mycfa;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname mycfa \
  -v owner_pw="$MYCFA_DB_PASSWORD" -v reader_pw="$MYCFA_READER_PASSWORD" -v audit_pw="$MYCFA_AUDIT_PASSWORD" \
  -f /mycfa-sql/db-bootstrap.sql
# The stack's one operator login (`dashboard-admin users ...`, `audit verify`): in AWS each operator
# has a login of their own with these two groups (docs/deploy.md, Dashboard users).
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname mycfa -v ops_pw="$MYCFA_OPS_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE mycfa_ops LOGIN PASSWORD %L IN ROLE mycfa_user_admin, mycfa_audit_reader', :'ops_pw') \gexec
SQL

# The replica connects over the compose network; scram passwords only, never trust.
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
