-- Provenance (docs/store.md): the run that first fetched each statement payload. A loader inside a run
-- sets `mycfa.run_id` for its batch's transaction (engine/db/load.py); a new row takes it from the
-- column's default, a restated row from the trigger below, and the payload a restatement replaces
-- keeps its own run in statement_revisions. Rows written outside a run (or by an older release) hold NULL.

-- current_setting is stable: the default is evaluated once for the existing rows (NULL, no run is set
-- while migrating) and kept in the catalog.
-- why: a non-volatile default rewrites no partition (PostgreSQL 11+; engine/db/migration_plan.py agrees)
-- squawk-ignore adding-field-with-default
ALTER TABLE statements ADD COLUMN IF NOT EXISTS run_id bigint DEFAULT nullif(current_setting('mycfa.run_id', true), '')::bigint;
ALTER TABLE statement_revisions ADD COLUMN IF NOT EXISTS run_id bigint;

CREATE OR REPLACE FUNCTION statements_keep_revision() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO statement_revisions (symbol, kind, period, fiscal_date, fiscal_year, reported_currency,
                                     filing_date, payload, valid_from, valid_to, run_id)
    VALUES (OLD.symbol, OLD.kind, OLD.period, OLD.fiscal_date, OLD.fiscal_year, OLD.reported_currency,
            OLD.filing_date, OLD.payload, OLD.updated_at, NEW.updated_at, OLD.run_id);
    RETURN NULL;
END
$$;

-- A restated payload is the current run's (whatever the UPDATE's SET list says).
CREATE OR REPLACE FUNCTION statements_restated_by_run() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.run_id := nullif(current_setting('mycfa.run_id', true), '')::bigint;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER statements_restated_by_run
    BEFORE UPDATE ON statements
    FOR EACH ROW WHEN (OLD.payload IS DISTINCT FROM NEW.payload)
    EXECUTE FUNCTION statements_restated_by_run();
