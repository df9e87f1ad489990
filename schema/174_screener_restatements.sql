-- Restatements as screener columns (#29, serving/restatements.py): per company, how many restatements
-- in the 1, 3 and 5 years to the latest close and the largest change of each window, signed (its
-- direction). Nullable, no default: nothing the previous release reads or writes changes.
ALTER TABLE screener_rows ADD COLUMN IF NOT EXISTS restatements_1y double precision;
ALTER TABLE screener_rows ADD COLUMN IF NOT EXISTS restatements_3y double precision;
ALTER TABLE screener_rows ADD COLUMN IF NOT EXISTS restatements_5y double precision;
ALTER TABLE screener_rows ADD COLUMN IF NOT EXISTS restatement_change_1y double precision;
ALTER TABLE screener_rows ADD COLUMN IF NOT EXISTS restatement_change_3y double precision;
ALTER TABLE screener_rows ADD COLUMN IF NOT EXISTS restatement_change_5y double precision;

-- The rows written before these columns existed hold NULL in them: the next refresh rebuilds the table
-- whole. Until then the Screener computes its table from the statements, restatements included.
-- why: serving_refreshes is the refresh's bookkeeping (one row per derived table), not data; forgetting
-- screener_rows' row is how a rebuild is asked for
DELETE FROM serving_refreshes WHERE name = 'screener_rows';
