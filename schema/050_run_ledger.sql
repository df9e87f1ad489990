-- Run ledger: one row per engine run and one per planned item (symbol x dataset).
-- An item is marked 'done' only after its rows committed, so a crashed run can be resumed
-- item by item; the dashboard's Status page reads both tables (SELECT only).

CREATE TABLE IF NOT EXISTS runs (
    run_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job           text        NOT NULL CHECK (job IN ('full', 'fundamentals', 'prices')),
    -- the --symbols / MYCFA_SYMBOLS restriction, NULL for the whole universe
    symbols       text[],
    state         text        NOT NULL DEFAULT 'running'
                  CHECK (state IN ('running', 'succeeded', 'partial', 'failed', 'interrupted', 'abandoned')),
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    resumes       integer     NOT NULL DEFAULT 0,
    exit_code     smallint,
    items_total   integer     NOT NULL DEFAULT 0,
    requests      bigint      NOT NULL DEFAULT 0,
    rows_changed  bigint      NOT NULL DEFAULT 0,
    -- counters of the last session of this run (429s, retries, budget use, duration...), as in EMF
    metrics       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error         text
);

CREATE INDEX IF NOT EXISTS runs_state_idx ON runs (state, run_id DESC);

CREATE TABLE IF NOT EXISTS run_items (
    run_id        bigint      NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    symbol        text        NOT NULL,
    dataset       text        NOT NULL,
    state         text        NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
    -- what the planner decided (price window start, statement limit): a resumed item refetches
    -- exactly what was planned, so a crash can never leave a hole behind a newer stored date
    params        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    attempts      integer     NOT NULL DEFAULT 0,
    error_class   text,
    error_message text,       -- redacted before it is written
    requests      integer     NOT NULL DEFAULT 0,
    rows_changed  bigint      NOT NULL DEFAULT 0,
    started_at    timestamptz,
    finished_at   timestamptz,
    PRIMARY KEY (run_id, symbol, dataset)
);

CREATE INDEX IF NOT EXISTS run_items_open_idx ON run_items (run_id) WHERE state IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS run_items_failed_idx ON run_items (run_id) WHERE state IN ('failed', 'skipped');

GRANT SELECT ON runs, run_items TO mycfa_reader;
