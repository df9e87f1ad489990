-- What the S&P 500 series (benchmark_returns, schema 181) was last computed from beyond prices, per
-- member: its membership and its share count, each a step function of the date (serving/benchmark.py
-- `member_steps`, `share_steps`): `value` holds from `since` (0001-01-01: from the start) to the next
-- row's `since`; membership is 1 or 0, the count as looked up at the previous close. The refresh
-- compares them with what the store says now, so a restated or newly reported share count, or a
-- membership change, recomputes the series from the first day it moves, not whole (docs/serving.md).
-- Written in benchmark_returns' transaction; empty (a store before this file), the series is rebuilt
-- whole. Expand-only: a new table the dashboard never reads; an engine of the previous release
-- rebuilds the series without it, and the rows it leaves behind then differ from the store only where
-- the series already moved: those days are recomputed again (work, never a stale day).
CREATE TABLE IF NOT EXISTS benchmark_inputs (
    symbol  text             NOT NULL,
    kind    text             NOT NULL CHECK (kind IN ('member', 'shares')),
    since   date             NOT NULL,
    value   double precision NOT NULL,
    PRIMARY KEY (symbol, kind, since)
);

REVOKE ALL ON benchmark_inputs FROM PUBLIC;
GRANT SELECT ON benchmark_inputs TO mycfa_reader;
