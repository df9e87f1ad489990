-- When each statement series (symbol, kind, annual/quarter) was last fetched, on the engine's date.
-- The weekly refresh fetches a stored series only when the company reported (earnings calendar) or
-- when the rotating sweep comes round; this is what "not fetched for N weeks" is measured against.
-- One row per series (~5,000 for the S&P 500), written after the series' batch committed.

CREATE TABLE IF NOT EXISTS statement_fetches (
    symbol     text NOT NULL,
    kind       text NOT NULL,
    period     text NOT NULL CHECK (period IN ('annual', 'quarter')),
    fetched_on date NOT NULL,
    PRIMARY KEY (symbol, kind, period)
);

REVOKE ALL ON statement_fetches FROM PUBLIC;
