-- The dashboard's group role must exist before the grants below it (005, 050, 090) name it. On a
-- fresh Postgres `migrate` creates it as a NOLOGIN group when the migrating role may create roles;
-- otherwise it stops with one sentence saying what to run. Production creates it with a password
-- first (deploy/sql/db-bootstrap.sql).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mycfa_reader') THEN
        BEGIN
            CREATE ROLE mycfa_reader NOLOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'role "mycfa_reader" does not exist and % may not create it: as a superuser run CREATE ROLE mycfa_reader NOLOGIN; (or deploy/sql/db-bootstrap.sql), then migrate again', current_user;
        END;
    END IF;
END
$$;

-- The reader gets exactly the tables each migration grants it, never whatever the owner creates:
-- undo the default privilege older AWS and compose bootstraps set (tables created from here on).
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM mycfa_reader;
