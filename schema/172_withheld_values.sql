-- Withheld values (docs/store.md): the quarantine as the dashboard may read it, one row per refused row
-- with the rule that fired (from the reason's wording, engine/db/validate.py and plausibility.py; a test
-- proves each wording maps to its rule), the field it named and that field's raw value. The quarantine
-- table itself stays closed to mycfa_reader; this view runs with its owner's rights.

CREATE OR REPLACE VIEW withheld_values AS
    SELECT q.quarantine_id, q.dataset, q.symbol, q.kind,
           CASE WHEN q.payload->>'period' IN ('FY', 'Q1', 'Q2', 'Q3', 'Q4') THEN q.payload->>'period' END
               AS period,
           CASE WHEN q.payload->>'date' ~ '^\d{4}-\d{2}-\d{2}' THEN left(q.payload->>'date', 10) END AS day,
           r.rule, r.field,
           CASE WHEN r.field IS NOT NULL THEN left(q.payload->>r.field, 60) END AS raw_value,
           q.reason, q.first_seen, q.last_seen, q.times_seen
      FROM quarantine q
     CROSS JOIN LATERAL (
        SELECT CASE
                 WHEN q.reason LIKE 'non-finite %' THEN 'non-finite number'
                 WHEN q.reason LIKE 'non-numeric %' THEN 'text where a number belongs'
                 WHEN q.reason LIKE 'negative %' THEN 'negative where it cannot be'
                 WHEN q.reason LIKE '% out of bounds: %' THEN 'out of bounds'
                 WHEN q.reason LIKE '% is over %x the company''s median %' THEN 'far above the company''s history'
                 WHEN q.reason LIKE '% is over %x the market cap %' THEN 'far above the market cap'
                 WHEN q.reason LIKE 'assets != liabilities + equity%' THEN 'balance sheet does not balance'
                 WHEN q.reason LIKE 'symbol mismatch%' THEN 'another company''s row'
                 WHEN q.reason LIKE 'high < low%' OR q.reason LIKE 'fractional volume%' THEN 'impossible price row'
                 WHEN q.reason LIKE 'adjusted row without%' THEN 'adjusted price without a traded one'
                 WHEN q.reason LIKE 'unparseable %' OR q.reason LIKE '% out of range: %'
                      OR q.reason LIKE 'unknown period%' THEN 'bad date or period'
                 WHEN q.reason LIKE 'missing %' OR q.reason LIKE 'names neither %' THEN 'missing field'
                 ELSE 'other'
               END AS rule,
               coalesce(substring(q.reason FROM '^(?:non-finite|non-numeric|negative|missing) ([A-Za-z]\w*)'),
                        substring(q.reason FROM '^([A-Za-z]\w*) (?:out of bounds|\S+ is over)')) AS field
     ) r;

REVOKE ALL ON withheld_values FROM PUBLIC;
GRANT SELECT ON withheld_values TO mycfa_reader;
