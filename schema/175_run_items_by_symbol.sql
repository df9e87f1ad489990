-- A close's provenance (dashboard/data/queries.py `price_fetches`: the Company, Screener and Portfolio
-- trails) reads one or a few symbols' finished items of one dataset. The primary key leads with run_id,
-- so without this the read probed the key once per run in the ledger, or scanned run_items whole for
-- several symbols. Built without blocking the running engine's writes, like run_items_finished_idx.
CREATE INDEX CONCURRENTLY IF NOT EXISTS run_items_symbol_done_idx
    ON run_items (symbol, dataset, finished_at) WHERE state = 'done';
