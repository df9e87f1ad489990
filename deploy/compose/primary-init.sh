#!/usr/bin/env bash
# First start of the compose primary: the three roles, replication access and the `mycfa` database,
# hardened like scripts/devdb.py does it (the owner writes, the reader may only SELECT).
# Run once by the postgres image from /docker-entrypoint-initdb.d; passwords come from the environment.
set -euo pipefail

: "${MYCFA_DB_PASSWORD:?}" "${MYCFA_READER_PASSWORD:?}" "${MYCFA_REPLICATION_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$MYCFA_DB_PASSWORD" -v reader_pw="$MYCFA_READER_PASSWORD" \
  -v repl_pw="$MYCFA_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator LOGIN REPLICATION PASSWORD :'repl_pw';
CREATE ROLE mycfa LOGIN CREATEDB PASSWORD :'owner_pw';
CREATE ROLE mycfa_reader LOGIN NOCREATEDB NOCREATEROLE PASSWORD :'reader_pw';
ALTER ROLE mycfa_reader SET default_transaction_read_only = on;
CREATE DATABASE mycfa OWNER mycfa;
REVOKE ALL ON DATABASE mycfa FROM PUBLIC;
GRANT CONNECT, TEMPORARY, CREATE ON DATABASE mycfa TO mycfa;
GRANT CONNECT ON DATABASE mycfa TO mycfa_reader;
\connect mycfa
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO mycfa_reader;
ALTER SCHEMA public OWNER TO mycfa;
ALTER DEFAULT PRIVILEGES FOR ROLE mycfa IN SCHEMA public GRANT SELECT ON TABLES TO mycfa_reader;
SQL

# The replica connects over the compose network; scram passwords only, never trust.
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
