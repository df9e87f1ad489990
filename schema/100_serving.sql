-- The serving layer (docs/serving.md): derived, typed tables the dashboard reads instead of rebuilding
-- them from statement payloads and daily prices per request. The engine fills them at the end of each
-- run for what the run changed (engine/serving.py), computing with the pure package serving/; each
-- table's rows of a refresh are replaced in one transaction (DELETE + COPY), which never blocks a
-- reader. Expand-only: nothing the previous release reads changes.

-- Per symbol, per fiscal period, per basis: FY (annual rows), Q (each quarter), TTM (rolling four
-- quarters, balances of the latest). Ratio columns are NULL on the Q basis (a quarter's flows over
-- year-end balances mean nothing comparable).
CREATE TABLE IF NOT EXISTS metric_history (
    symbol                  text             NOT NULL,
    basis                   text             NOT NULL CHECK (basis IN ('FY', 'Q', 'TTM')),
    fiscal_date             date             NOT NULL,   -- the period end (FMP `date`)
    fiscal_year             smallint,
    period                  text,                        -- FY, Q1..Q4
    fiscal_year_end         date,                        -- the FY row's date of that fiscal year, once known
    known_since             timestamptz      NOT NULL,   -- latest updated_at of the statements used
    revenue                 double precision,
    gross_profit            double precision,
    operating_income        double precision,
    ebitda                  double precision,
    net_income              double precision,
    eps_reported            double precision,            -- FMP's eps (income statement)
    eps_diluted             double precision,            -- FMP's epsDiluted
    operating_cash_flow     double precision,
    free_cash_flow          double precision,
    dividends_paid          double precision,
    total_assets            double precision,
    total_equity            double precision,
    total_debt              double precision,
    net_debt                double precision,
    shares_diluted          double precision,
    gross_margin            double precision,
    operating_margin        double precision,
    ebitda_margin           double precision,
    net_margin              double precision,
    fcf_margin              double precision,
    roa                     double precision,
    roe                     double precision,
    roic                    double precision,
    roic_fmp                double precision,
    current_ratio           double precision,
    quick_ratio             double precision,
    cash_ratio              double precision,
    debt_to_equity          double precision,
    debt_to_assets          double precision,
    net_debt_to_ebitda      double precision,
    interest_coverage       double precision,
    asset_turnover          double precision,
    dso                     double precision,
    dio                     double precision,
    dpo                     double precision,
    cash_conversion_cycle   double precision,
    revenue_per_share       double precision,
    eps                     double precision,            -- net income / diluted weighted shares
    fcf_per_share           double precision,
    book_value_per_share    double precision,
    effective_tax_rate      double precision,
    revenue_growth          double precision,
    net_income_growth       double precision,
    eps_growth              double precision,
    fcf_growth              double precision,
    PRIMARY KEY (symbol, basis, fiscal_date)
);

-- Each month's last finite close of a symbol (adjusted, else traded): what the Forecast page resamples,
-- and monthly return matrices.
CREATE TABLE IF NOT EXISTS month_end_closes (
    symbol  text             NOT NULL,
    month   date             NOT NULL,   -- the first day of the month
    date    date             NOT NULL,   -- the month's last trading day with a finite close
    close   double precision NOT NULL,
    PRIMARY KEY (symbol, month)
);

-- One row per symbol: the screener table (latest three fiscal years, last close, current share count).
CREATE TABLE IF NOT EXISTS screener_rows (
    symbol                  text             PRIMARY KEY,
    sector                  text,
    gross_margin            double precision,
    operating_margin        double precision,
    ebitda_margin           double precision,
    net_margin              double precision,
    fcf_margin              double precision,
    roa                     double precision,
    roe                     double precision,
    roic                    double precision,
    roic_fmp                double precision,
    current_ratio           double precision,
    quick_ratio             double precision,
    cash_ratio              double precision,
    debt_to_equity          double precision,
    debt_to_assets          double precision,
    net_debt_to_ebitda      double precision,
    interest_coverage       double precision,
    asset_turnover          double precision,
    dso                     double precision,
    dio                     double precision,
    dpo                     double precision,
    cash_conversion_cycle   double precision,
    revenue_per_share       double precision,
    eps                     double precision,
    fcf_per_share           double precision,
    book_value_per_share    double precision,
    effective_tax_rate      double precision,
    market_cap              double precision,
    enterprise_value        double precision,
    enterprise_value_fmp    double precision,
    pe                      double precision,
    ev_ebitda               double precision,
    ev_ebitda_fmp           double precision,
    ev_sales                double precision,
    pb                      double precision,
    p_fcf                   double precision,
    altman_z                double precision,
    altman_model            text,
    f_score                 double precision,
    revenue_growth          double precision,
    net_income_growth       double precision,
    fcf_growth              double precision,
    name                    text,
    price                   double precision,
    shares                  double precision,
    shares_source           text,
    fiscal_date             date,            -- the latest FY row's period end
    price_date              date,            -- the last close's date
    dividend_yield          double precision,
    fcf_yield               double precision,
    eps_growth              double precision,
    perf_1m                 double precision,
    perf_ytd                double precision,
    perf_1y                 double precision,
    off_52w_high            double precision,
    volatility_1y           double precision
);

CREATE INDEX IF NOT EXISTS screener_rows_sector_idx ON screener_rows (sector, symbol);

-- Per sector and metric: the median over screener_rows (NaN ignored) and how many symbols had a value.
CREATE TABLE IF NOT EXISTS sector_medians (
    sector  text             NOT NULL,
    metric  text             NOT NULL,
    median  double precision,
    n       integer          NOT NULL,
    PRIMARY KEY (sector, metric)
);

-- The state of each derived table's last refresh: what status and /health/ready report.
CREATE TABLE IF NOT EXISTS serving_refreshes (
    name          text        PRIMARY KEY,
    state         text        NOT NULL CHECK (state IN ('ok', 'failed')),
    attempted_at  timestamptz NOT NULL,
    succeeded_at  timestamptz,           -- the last successful refresh (kept when a later one fails)
    scope_from    timestamptz,           -- the run items finished after this were in the last success's scope
    run_id        bigint,
    symbols       integer     NOT NULL DEFAULT 0,
    rows          bigint      NOT NULL DEFAULT 0,
    seconds       double precision,
    error         text,
    data_as_of    text                   -- the latest price date / statement change the rows reflect
);

-- S&P 500 membership spells (one per symbol today: companies.index_added/index_removed). Point-in-time
-- screens join this view, so a later spells table can take its place without changing them.
CREATE OR REPLACE VIEW sp500_membership AS
    SELECT symbol, index_added AS added, index_removed AS removed FROM companies;


REVOKE ALL ON metric_history, month_end_closes, screener_rows, sector_medians, serving_refreshes,
    sp500_membership FROM PUBLIC;
GRANT SELECT ON metric_history, month_end_closes, screener_rows, sector_medians, serving_refreshes,
    sp500_membership TO mycfa_reader;

-- The refresh scope reads run_items by finish time (built without blocking the running engine's writes).
CREATE INDEX CONCURRENTLY IF NOT EXISTS run_items_finished_idx ON run_items (finished_at) WHERE state = 'done';
