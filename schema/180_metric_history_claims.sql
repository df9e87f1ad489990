-- Enterprise value on any basis (#27): metric_history carries the balance items the CFA enterprise
-- value subtracts and adds (serving/valuation.py enterprise_value), so the Screener's, Compare's and
-- Valuation's multiples can be taken on the trailing twelve months (flows of the last four quarters,
-- balances of the latest) and at each fiscal period end, not only on the latest fiscal year.
-- Nullable, no default: nothing the previous release reads or writes changes.
ALTER TABLE metric_history ADD COLUMN IF NOT EXISTS cash_and_equivalents double precision;
ALTER TABLE metric_history ADD COLUMN IF NOT EXISTS short_term_investments double precision;
ALTER TABLE metric_history ADD COLUMN IF NOT EXISTS cash_and_short_term_investments double precision;
ALTER TABLE metric_history ADD COLUMN IF NOT EXISTS preferred_stock double precision;
ALTER TABLE metric_history ADD COLUMN IF NOT EXISTS minority_interest double precision;
-- metric_history_first (schema 173) is written with metric_history's columns: it takes them too.
ALTER TABLE metric_history_first ADD COLUMN IF NOT EXISTS cash_and_equivalents double precision;
ALTER TABLE metric_history_first ADD COLUMN IF NOT EXISTS short_term_investments double precision;
ALTER TABLE metric_history_first ADD COLUMN IF NOT EXISTS cash_and_short_term_investments double precision;
ALTER TABLE metric_history_first ADD COLUMN IF NOT EXISTS preferred_stock double precision;
ALTER TABLE metric_history_first ADD COLUMN IF NOT EXISTS minority_interest double precision;

-- The rows written before these columns existed hold NULL in them: the next refresh rebuilds the table
-- whole, as it does for a table that never refreshed (docs/serving.md). Until then the pages compute
-- from the statements, as on a store without the table.
-- why: serving_refreshes is the refresh's bookkeeping (one row per derived table), not data; forgetting
-- metric_history's row is how a rebuild is asked for
DELETE FROM serving_refreshes WHERE name = 'metric_history';
