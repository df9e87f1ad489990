-- DuPont's factors beside the ratios (#26): the Company page's ratio table joined them to metric_history's
-- annual ratios per request (ROE = tax burden x interest burden x EBIT margin x asset turnover x equity
-- multiplier), from the income statement and balance sheet combined; the refresh now stores them on the FY
-- rows (NULL on Q and TTM rows: no page reads them there). Nullable, no default: nothing the previous
-- release reads or writes changes.
ALTER TABLE metric_history ADD COLUMN IF NOT EXISTS ebit_margin double precision;
ALTER TABLE metric_history ADD COLUMN IF NOT EXISTS tax_burden double precision;
ALTER TABLE metric_history ADD COLUMN IF NOT EXISTS interest_burden double precision;
ALTER TABLE metric_history ADD COLUMN IF NOT EXISTS equity_multiplier double precision;
-- metric_history_first (schema 173) is written with metric_history's columns: it takes them too where it
-- exists (a store migrated from empty applies this file first, and 173 then copies metric_history's columns).
ALTER TABLE IF EXISTS metric_history_first ADD COLUMN IF NOT EXISTS ebit_margin double precision;
ALTER TABLE IF EXISTS metric_history_first ADD COLUMN IF NOT EXISTS tax_burden double precision;
ALTER TABLE IF EXISTS metric_history_first ADD COLUMN IF NOT EXISTS interest_burden double precision;
ALTER TABLE IF EXISTS metric_history_first ADD COLUMN IF NOT EXISTS equity_multiplier double precision;

-- The rows written before the columns existed hold NULL in them: the next refresh rebuilds both tables
-- whole, as it does for a table that never refreshed (docs/serving.md). Until then the pages compute from
-- the statements, as on a store without the tables.
-- why: serving_refreshes is the refresh's bookkeeping (one row per derived table), not data; forgetting
-- a table's row is how a rebuild is asked for
DELETE FROM serving_refreshes WHERE name IN ('metric_history', 'metric_history_first');
