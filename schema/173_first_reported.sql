-- What only this store knows, read point in time (docs/serving.md, "Point in time and restatements").

-- Each statement period in one version: every payload the store held (the current row and its
-- revisions), seen by `knowledge` (NULL: now; a pinned run's end), then per period
--   mode 'known': the version current at the end of `day` (or at `knowledge`, whichever is first):
--                 what the store knew then (statements_as_of's answer);
--   mode 'first': the first version the store saw: as first reported (filed by `day`, when given);
--   mode 'pit':   'known' where the store knew the period then, else 'first' filed by `day`: for screens
--                 dated before the store's history (or the company's) began.
-- `basis` says which each row is. Periods ending after `day` are left out.
CREATE OR REPLACE FUNCTION statement_versions(
    mode text,
    day date DEFAULT NULL,
    knowledge timestamptz DEFAULT NULL,
    only_symbols text[] DEFAULT NULL,
    only_kinds text[] DEFAULT NULL,
    only_periods text[] DEFAULT NULL,
    fiscal_from date DEFAULT NULL
)
RETURNS TABLE (symbol text, kind text, period text, fiscal_date date, fiscal_year smallint,
               reported_currency text, filing_date date, payload jsonb, known_since timestamptz,
               run_id bigint, basis text)
LANGUAGE sql STABLE AS $$
    WITH bounds AS (
        SELECT coalesce(knowledge, 'infinity'::timestamptz) AS seen_by,
               least(coalesce(knowledge, 'infinity'::timestamptz),
                     coalesce((day + 1)::timestamptz - interval '1 microsecond', 'infinity'::timestamptz)) AS at
    ), versions AS (
        SELECT s.symbol, s.kind, s.period, s.fiscal_date, s.fiscal_year, s.reported_currency, s.filing_date,
               s.payload, s.updated_at AS valid_from, NULL::timestamptz AS valid_to, s.run_id
          FROM statements s
         WHERE (only_symbols IS NULL OR s.symbol = ANY(only_symbols))
           AND (only_kinds IS NULL OR s.kind = ANY(only_kinds))
           AND (only_periods IS NULL OR s.period = ANY(only_periods))
           AND (fiscal_from IS NULL OR s.fiscal_date >= fiscal_from)
           AND (day IS NULL OR s.fiscal_date <= day)
        UNION ALL
        SELECT r.symbol, r.kind, r.period, r.fiscal_date, r.fiscal_year, r.reported_currency, r.filing_date,
               r.payload, r.valid_from, r.valid_to, r.run_id
          FROM statement_revisions r
         WHERE (only_symbols IS NULL OR r.symbol = ANY(only_symbols))
           AND (only_kinds IS NULL OR r.kind = ANY(only_kinds))
           AND (only_periods IS NULL OR r.period = ANY(only_periods))
           AND (fiscal_from IS NULL OR r.fiscal_date >= fiscal_from)
           AND (day IS NULL OR r.fiscal_date <= day)
    ), ranked AS (
        SELECT DISTINCT ON (v.symbol, v.kind, v.period, v.fiscal_date)
               v.*, (mode <> 'first' AND v.valid_from <= b.at AND (v.valid_to IS NULL OR b.at < v.valid_to))
                   AS current_then
          FROM versions v CROSS JOIN bounds b
         WHERE v.valid_from <= b.seen_by
         ORDER BY v.symbol, v.kind, v.period, v.fiscal_date,
                  (mode <> 'first' AND v.valid_from <= b.at AND (v.valid_to IS NULL OR b.at < v.valid_to)) DESC,
                  v.valid_from
    )
    SELECT symbol, kind, period, fiscal_date, fiscal_year, reported_currency, filing_date, payload,
           valid_from, run_id, CASE WHEN current_then THEN 'known' ELSE 'first' END
      FROM ranked
     WHERE current_then OR (mode <> 'known' AND (day IS NULL OR filing_date <= day))
$$;

REVOKE ALL ON FUNCTION statement_versions(text, date, timestamptz, text[], text[], text[], date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION statement_versions(text, date, timestamptz, text[], text[], text[], date)
    TO mycfa_reader;

-- Every restated figure (derived at each refresh for the symbols whose statements changed): one row per
-- statement line whose number moved from one payload to the next, income, balance and cash flow.
CREATE TABLE IF NOT EXISTS statement_changes (
    symbol           text             NOT NULL,
    kind             text             NOT NULL,
    period           text             NOT NULL,
    fiscal_date      date             NOT NULL,
    fiscal_year      smallint,
    field            text             NOT NULL,   -- FMP's field name
    old_value        double precision,            -- NULL: the field was absent or not a number
    new_value        double precision,
    change           double precision,            -- (new - old) / |old|; NULL when old is 0 or NULL
    seen_at          timestamptz      NOT NULL,   -- when the store first saw the new value
    restated_on      date             NOT NULL,   -- the restating filing's date when later, else the day seen
    old_filing_date  date,
    new_filing_date  date,
    old_run_id       bigint,
    new_run_id       bigint,
    per_share_only   boolean          NOT NULL,   -- the revision moved only share counts and per-share figures
    PRIMARY KEY (symbol, kind, period, fiscal_date, field, seen_at)
);

CREATE INDEX IF NOT EXISTS statement_changes_recent_idx ON statement_changes (restated_on DESC, symbol);

-- metric_history on the first-reported payloads, for the companies with a restatement (the others'
-- first-reported figures are metric_history's own): same key and columns.
CREATE TABLE IF NOT EXISTS metric_history_first (LIKE metric_history INCLUDING ALL);

REVOKE ALL ON statement_changes, metric_history_first FROM PUBLIC;
GRANT SELECT ON statement_changes, metric_history_first TO mycfa_reader;
