-- Rows that failed validation, with the reason and the raw FMP payload: never loaded into the main
-- tables, never silently dropped. A row failing again for the same reason bumps times_seen instead of
-- piling up duplicates.

CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset        text        NOT NULL,   -- prices, prices_adjusted, statements, companies, profiles
    symbol         text,
    kind           text,                   -- statements.kind for statement rows
    reason         text        NOT NULL,
    payload        jsonb       NOT NULL,
    first_seen     timestamptz NOT NULL DEFAULT now(),
    last_seen      timestamptz NOT NULL DEFAULT now(),
    times_seen     integer     NOT NULL DEFAULT 1
);

CREATE UNIQUE INDEX IF NOT EXISTS quarantine_dedup_idx
    ON quarantine (dataset, (coalesce(symbol, '')), (coalesce(kind, '')), reason, (md5(payload::text)));
CREATE INDEX IF NOT EXISTS quarantine_recent_idx ON quarantine (last_seen DESC);
