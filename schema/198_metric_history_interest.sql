-- A cost of debt from the company's own figures (#27, review V2): the Valuation page prefills the pre-tax
-- cost of debt with interest expense over total debt, from the same metric_history row as the DCF's base
-- year (the effective tax rate is already a column). Nullable, no default: nothing the previous release
-- reads or writes changes.
ALTER TABLE metric_history ADD COLUMN IF NOT EXISTS interest_expense double precision;
-- metric_history_first (schema 173) is written with metric_history's columns: it takes it too.
ALTER TABLE metric_history_first ADD COLUMN IF NOT EXISTS interest_expense double precision;

-- The rows written before the column existed hold NULL in it: the next refresh rebuilds the table whole,
-- as it does for a table that never refreshed (docs/serving.md). Until then the pages compute from the
-- statements, as on a store without the table.
-- why: serving_refreshes is the refresh's bookkeeping (one row per derived table), not data; forgetting
-- metric_history's row is how a rebuild is asked for
DELETE FROM serving_refreshes WHERE name = 'metric_history';
