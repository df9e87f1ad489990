-- statement_lines' arrays compressed with lz4 instead of pglz (#26, the ingest's upkeep). A full build of
-- the table stores ~120 MB of arrays (503 symbols, 21.7 million cells), and pglz's compression of them was
-- most of the PostgreSQL CPU its COPY cost: on 50 companies' rows 0.59 s with pglz, 0.10 s with lz4, for a
-- table 12 % larger (8.2 against 7.3 MB). Only values written from now on are compressed with lz4 (no
-- rewrite: SET COMPRESSION changes the catalog, under a lock held for an instant); readers decompress
-- either. A server built without lz4 keeps pglz (the DO block skips the change).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
        ALTER TABLE statement_lines ALTER COLUMN line_values SET COMPRESSION lz4;
        ALTER TABLE statement_lines ALTER COLUMN lines SET COMPRESSION lz4;
        ALTER TABLE statement_lines ALTER COLUMN fiscal_dates SET COMPRESSION lz4;
        ALTER TABLE statement_lines ALTER COLUMN fiscal_years SET COMPRESSION lz4;
        ALTER TABLE statement_lines ALTER COLUMN periods SET COMPRESSION lz4;
    END IF;
END
$$;
