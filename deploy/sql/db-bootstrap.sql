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
-- The audit trail's own owner and the people's groups (schema/140): no program logs in as any of them.
-- mycfa_audit_owner owns the `audit` schema once `migrate` has built it; mycfa_user_admin may manage
-- dashboard users and mycfa_audit_reader may read and verify the trail: grant them to each operator's
-- own login (CREATE ROLE alice LOGIN PASSWORD '...' IN ROLE mycfa_user_admin, mycfa_audit_reader).
SELECT 'CREATE ROLE mycfa_audit_owner NOLOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mycfa_audit_owner') \gexec
SELECT 'CREATE ROLE mycfa_user_admin NOLOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mycfa_user_admin') \gexec
SELECT 'CREATE ROLE mycfa_audit_reader NOLOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mycfa_audit_reader') \gexec
ALTER ROLE mycfa_audit_owner NOLOGIN;
GRANT mycfa_audit_owner TO CURRENT_USER;
SELECT format('GRANT CREATE ON DATABASE %I TO mycfa_audit_owner', current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO mycfa_user_admin, mycfa_audit_reader', current_database()) \gexec
GRANT USAGE ON SCHEMA public TO mycfa_user_admin;
-- BEGIN audit handover (scripts/devdb.py runs this block in each database it creates)
-- `migrate` (as mycfa) builds the `audit` schema, then calls this once to give it to
-- mycfa_audit_owner: from then on neither mycfa nor any other program role may alter, disable or
-- drop it. Owned by this (master) role; a no-op once the schema is handed over, and it refuses a
-- schema holding a SECURITY DEFINER function other than the chain's own.
CREATE OR REPLACE FUNCTION public.mycfa_audit_handover() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $handover$
DECLARE
    obj record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'audit') THEN
        RAISE EXCEPTION 'no schema audit to hand over';
    END IF;
    IF (SELECT nspowner FROM pg_namespace WHERE nspname = 'audit') = 'mycfa_audit_owner'::regrole THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT FROM pg_proc WHERE pronamespace = 'audit'::regnamespace AND prosecdef
               AND proname <> 'events_chain') THEN
        RAISE EXCEPTION 'schema audit holds an unexpected SECURITY DEFINER function: not handed over';
    END IF;
    ALTER SCHEMA audit OWNER TO mycfa_audit_owner;
    FOR obj IN SELECT c.oid::regclass AS name FROM pg_class c
               WHERE c.relnamespace = 'audit'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO mycfa_audit_owner', obj.name);
    END LOOP;
    FOR obj IN SELECT p.oid::regprocedure AS name FROM pg_proc p WHERE p.pronamespace = 'audit'::regnamespace
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO mycfa_audit_owner', obj.name);
    END LOOP;
END;
$handover$;
REVOKE ALL ON FUNCTION public.mycfa_audit_handover() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.mycfa_audit_handover() TO mycfa;
-- END audit handover
