-- Roles and grants of a new MyCFATool database, run once before the first `mycfa-engine migrate`
-- (and again after a password rotation: it is idempotent). The AWS db-bootstrap task runs this
-- file's text (deploy/cloudformation/engine.yaml holds a copy, kept equal by a test), compose's
-- primary runs the file itself, and tests/deploy/test_db_bootstrap.py runs it on a real Postgres.
--   psql -v ON_ERROR_STOP=1 -v owner_pw=... -v reader_pw=... -v audit_pw=... -d mycfa -f deploy/sql/db-bootstrap.sql
-- Run as a role that may create roles (RDS master user, postgres). No default privileges for the
-- reader: it gets exactly the tables the migrations grant it (not quarantine, not schema_migrations).
SELECT 'CREATE ROLE mycfa LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mycfa') \gexec
SELECT 'CREATE ROLE mycfa_reader LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mycfa_reader') \gexec
SELECT format('ALTER ROLE mycfa PASSWORD %L', :'owner_pw') \gexec
SELECT format('ALTER ROLE mycfa_reader LOGIN PASSWORD %L', :'reader_pw') \gexec
ALTER ROLE mycfa_reader SET default_transaction_read_only = on;
GRANT mycfa TO CURRENT_USER;
SELECT format('ALTER DATABASE %I OWNER TO mycfa', current_database()) \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT, TEMPORARY, CREATE ON DATABASE %I TO mycfa', current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO mycfa_reader', current_database()) \gexec
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO mycfa;
GRANT USAGE ON SCHEMA public TO mycfa_reader;
-- The dashboard's audit writer: it may only INSERT into audit_events, which `migrate` grants.
SELECT 'CREATE ROLE mycfa_audit LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mycfa_audit') \gexec
SELECT format('ALTER ROLE mycfa_audit LOGIN NOCREATEDB NOCREATEROLE PASSWORD %L', :'audit_pw') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO mycfa_audit', current_database()) \gexec
GRANT USAGE ON SCHEMA public TO mycfa_audit;
