-- The S&P 500 as a benchmark (docs/serving.md, #27): its daily returns cap-weighted and equal-weighted,
-- from the stored membership spells, prices and share counts (serving/benchmark.py says what is
-- approximated). A universe-wide series every Portfolio request would otherwise rebuild from every
-- member's prices, so the serving refresh computes it once, whole, after a run that moved prices,
-- statements, profiles or membership. Expand-only: a new table, read by this release's dashboard.

CREATE TABLE IF NOT EXISTS benchmark_returns (
    benchmark     text             NOT NULL CHECK (benchmark IN ('sp500_cap', 'sp500_equal')),
    date          date             NOT NULL,
    daily_return  double precision NOT NULL,   -- simple total return from the previous stored close
    members       integer          NOT NULL,   -- members with a return on the date
    coverage      double precision NOT NULL,   -- fraction of them with a market cap (cap weight)
    PRIMARY KEY (benchmark, date)
);

REVOKE ALL ON benchmark_returns FROM PUBLIC;
GRANT SELECT ON benchmark_returns TO mycfa_reader;
