-- Financial statements (income, balance, cashflow, ratios, key_metrics), annual and quarterly,
-- one row per (symbol, kind, period, fiscal_date) with FMP's row kept whole in `payload`.
--
-- Partitioned by RANGE (fiscal_date) in 5-year slices (statements_y2020_2024, ...). Why not one
-- partition per fiscal year: ~500 symbols x 5 kinds x 5 periods is only ~12,500 rows (~30 MB) a year,
-- too small to be worth a partition each; 5-year slices hold ~60,000 rows (~150 MB), a size where
-- pruning and per-partition maintenance pay off, and 1990..2030 stays at eight partitions. The key is
-- fiscal_date (the period end) rather than the fiscal_year string, so the unique key
-- (symbol, kind, period, fiscal_date) can contain the partition key as PostgreSQL requires.

CREATE TABLE IF NOT EXISTS statements (
    symbol             text        NOT NULL,
    kind               text        NOT NULL
                       CHECK (kind IN ('income', 'balance', 'cashflow', 'ratios', 'key_metrics')),
    period             text        NOT NULL CHECK (period IN ('FY', 'Q1', 'Q2', 'Q3', 'Q4')),
    fiscal_date        date        NOT NULL,   -- FMP `date`: the period end
    fiscal_year        smallint    NOT NULL,   -- FMP `fiscalYear` (a string there)
    reported_currency  text,
    filing_date        date,
    payload            jsonb       NOT NULL,   -- the FMP row as sent
    first_seen         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),  -- when the current payload was first seen
    PRIMARY KEY (symbol, kind, period, fiscal_date)
) PARTITION BY RANGE (fiscal_date);

-- Restatements: every payload a statement row had before it changed, append-only. Each version
-- is valid in [valid_from, valid_to): together with statements.updated_at that answers
-- "what did we know on date D" (statements_as_of below).
CREATE TABLE IF NOT EXISTS statement_revisions (
    revision_id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    symbol             text        NOT NULL,
    kind               text        NOT NULL,
    period             text        NOT NULL,
    fiscal_date        date        NOT NULL,
    fiscal_year        smallint    NOT NULL,
    reported_currency  text,
    filing_date        date,
    payload            jsonb       NOT NULL,
    valid_from         timestamptz NOT NULL,
    valid_to           timestamptz NOT NULL,
    CHECK (valid_from <= valid_to)
);

CREATE INDEX IF NOT EXISTS statement_revisions_key_idx
    ON statement_revisions (symbol, kind, period, fiscal_date, valid_from);

CREATE OR REPLACE FUNCTION statements_keep_revision() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO statement_revisions (symbol, kind, period, fiscal_date, fiscal_year, reported_currency,
                                     filing_date, payload, valid_from, valid_to)
    VALUES (OLD.symbol, OLD.kind, OLD.period, OLD.fiscal_date, OLD.fiscal_year, OLD.reported_currency,
            OLD.filing_date, OLD.payload, OLD.updated_at, NEW.updated_at);
    RETURN NULL;
END
$$;

-- A trigger rather than loader code, so no update path (loader, hand-written SQL) can lose history.
CREATE OR REPLACE TRIGGER statements_keep_revision
    AFTER UPDATE ON statements
    FOR EACH ROW WHEN (OLD.payload IS DISTINCT FROM NEW.payload)
    EXECUTE FUNCTION statements_keep_revision();

CREATE OR REPLACE FUNCTION statement_revisions_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'statement_revisions is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE TRIGGER statement_revisions_no_update
    BEFORE UPDATE OR DELETE ON statement_revisions
    FOR EACH ROW EXECUTE FUNCTION statement_revisions_append_only();

CREATE OR REPLACE TRIGGER statement_revisions_no_truncate
    BEFORE TRUNCATE ON statement_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION statement_revisions_append_only();

-- Point in time: every statement as the database knew it at `as_of` (rows first seen later are
-- absent; restated rows show the payload that was current then). Optionally one symbol.
CREATE OR REPLACE FUNCTION statements_as_of(as_of timestamptz, only_symbol text DEFAULT NULL)
RETURNS TABLE (symbol text, kind text, period text, fiscal_date date, fiscal_year smallint,
               reported_currency text, filing_date date, payload jsonb, known_since timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT s.symbol, s.kind, s.period, s.fiscal_date, s.fiscal_year, s.reported_currency,
           s.filing_date, s.payload, s.updated_at
      FROM statements s
     WHERE s.updated_at <= as_of
       AND (only_symbol IS NULL OR s.symbol = only_symbol)
    UNION ALL
    SELECT r.symbol, r.kind, r.period, r.fiscal_date, r.fiscal_year, r.reported_currency,
           r.filing_date, r.payload, r.valid_from
      FROM statement_revisions r
     WHERE r.valid_from <= as_of AND as_of < r.valid_to
       AND (only_symbol IS NULL OR r.symbol = only_symbol)
$$;

-- Partitions are created by the loader ahead of need (never by hand), in their own short
-- transaction: CREATE TABLE ... PARTITION OF locks the parent, so it must not sit inside a load.
CREATE OR REPLACE FUNCTION ensure_statement_partitions(first_day date, last_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    slice_start integer := (extract(year FROM first_day)::integer / 5) * 5;
    created     integer := 0;
    name        text;
BEGIN
    IF first_day IS NULL OR last_day IS NULL OR first_day > last_day THEN
        RETURN 0;
    END IF;
    WHILE slice_start <= extract(year FROM last_day)::integer LOOP
        name := format('statements_y%s_%s', slice_start, slice_start + 4);
        IF to_regclass(name) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtextextended('mycfa:partitions:statements', 0));
            IF to_regclass(name) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF statements FOR VALUES FROM (%L) TO (%L)',
                               name, make_date(slice_start, 1, 1), make_date(slice_start + 5, 1, 1));
                created := created + 1;
            END IF;
        END IF;
        slice_start := slice_start + 5;
    END LOOP;
    RETURN created;
END
$$;
