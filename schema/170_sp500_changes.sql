-- S&P 500 membership over time (docs/store.md): FMP's `historical-sp500-constituent` rows, one per
-- change (an addition, a removal, or both on one day), kept whole. Nothing is deleted: a row missing
-- from a later complete answer (FMP corrected it) is marked `withdrawn_at` and left out of the spells.

CREATE TABLE IF NOT EXISTS sp500_changes (
    change_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day             date        NOT NULL,   -- FMP `date`: the day the change took effect
    added_symbol    text,                   -- NULL: a removal alone
    added_name      text,
    removed_symbol  text,                   -- NULL: an addition alone
    removed_name    text,
    reason          text,
    payload         jsonb       NOT NULL,   -- the FMP row as sent
    first_seen      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),  -- when the current payload was first seen
    withdrawn_at    timestamptz,            -- missing from a complete answer since then
    CHECK (added_symbol IS NOT NULL OR removed_symbol IS NOT NULL)
);

CREATE UNIQUE INDEX IF NOT EXISTS sp500_changes_key_idx
    ON sp500_changes (day, (coalesce(added_symbol, '')), (coalesce(removed_symbol, '')));

-- Membership spells from the changes: each addition runs to the symbol's next removal (exclusive: a
-- company is a member on D when added <= D < removed); a removal with no addition before it since the
-- previous removal is a spell from before the list begins (added NULL). A company no change names
-- (a store that never fetched the changes) keeps its one spell from `companies`. Same columns as
-- schema 100's view, which point-in-time screens already join.
CREATE OR REPLACE VIEW sp500_membership AS
    WITH events AS (
        SELECT added_symbol AS symbol, day, true AS joins FROM sp500_changes
         WHERE added_symbol IS NOT NULL AND withdrawn_at IS NULL
        UNION ALL
        SELECT removed_symbol, day, false FROM sp500_changes
         WHERE removed_symbol IS NOT NULL AND withdrawn_at IS NULL
    ), marked AS (   -- a repeated addition (or removal) changes nothing: only the turns count
        SELECT symbol, day, joins, lag(joins) OVER (PARTITION BY symbol ORDER BY day, joins DESC) AS was
          FROM events
    ), turns AS (
        SELECT symbol, day, joins,
               lead(day) OVER (PARTITION BY symbol ORDER BY day, joins DESC) AS next_day,
               row_number() OVER (PARTITION BY symbol ORDER BY day, joins DESC) AS n
          FROM marked WHERE was IS DISTINCT FROM joins
    )
    SELECT symbol, day AS added, next_day AS removed FROM turns WHERE joins
    UNION ALL
    SELECT symbol, NULL::date, day FROM turns WHERE NOT joins AND n = 1
    UNION ALL
    SELECT c.symbol, c.index_added, c.index_removed FROM companies c
     WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.symbol = c.symbol);

REVOKE ALL ON sp500_changes FROM PUBLIC;
GRANT SELECT ON sp500_changes TO mycfa_reader;
