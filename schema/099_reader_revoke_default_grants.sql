-- Databases bootstrapped before deploy/sql/db-bootstrap.sql (AWS db-bootstrap task, compose) had a
-- default privilege that let the reader SELECT every table the owner created. Take back what no
-- migration grants: the quarantine (raw rejected payloads), the migration ledger and the partitions
-- (reads go through the partitioned parents, which keep their explicit grants).
REVOKE ALL ON quarantine, schema_migrations FROM mycfa_reader;

DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN
        SELECT child.oid::regclass
        FROM pg_inherits
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        WHERE child.relnamespace = 'public'::regnamespace AND child.relkind IN ('r', 'p')
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM mycfa_reader', part);
    END LOOP;
END
$$;
