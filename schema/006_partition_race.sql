-- Concurrent loaders could both decide a partition was missing (the recheck after the advisory lock
-- can read a stale catalog snapshot) and the second CREATE failed. Now a partition that appears
-- meanwhile counts as created by the other loader.

CREATE OR REPLACE FUNCTION ensure_price_partitions(first_day date, last_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    year_no integer := extract(year FROM first_day)::integer;
    created integer := 0;
    name    text;
BEGIN
    IF first_day IS NULL OR last_day IS NULL OR first_day > last_day THEN
        RETURN 0;
    END IF;
    WHILE year_no <= extract(year FROM last_day)::integer LOOP
        name := format('prices_daily_y%s', year_no);
        IF to_regclass(name) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtextextended('mycfa:partitions:prices_daily', 0));
            BEGIN
                EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF prices_daily FOR VALUES FROM (%L) TO (%L)',
                               name, make_date(year_no, 1, 1), make_date(year_no + 1, 1, 1));
                created := created + 1;
            EXCEPTION WHEN duplicate_table OR unique_violation THEN
                NULL;  -- another loader created it first
            END;
        END IF;
        year_no := year_no + 1;
    END LOOP;
    RETURN created;
END
$$;

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
            BEGIN
                EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF statements FOR VALUES FROM (%L) TO (%L)',
                               name, make_date(slice_start, 1, 1), make_date(slice_start + 5, 1, 1));
                created := created + 1;
            EXCEPTION WHEN duplicate_table OR unique_violation THEN
                NULL;  -- another loader created it first
            END;
        END IF;
        slice_start := slice_start + 5;
    END LOOP;
    RETURN created;
END
$$;

REVOKE EXECUTE ON FUNCTION ensure_price_partitions(date, date), ensure_statement_partitions(date, date)
    FROM PUBLIC;
