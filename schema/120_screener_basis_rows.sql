-- The Screener's table on the TTM basis (serving/basis.py clear_basis over screener_rows and each
-- company's latest TTM metric_history row, serving/universe.py ttm_basis): what Screener, Compare and
-- Valuation read as `on_basis("ttm")` for today's restated figures. At 5,000 symbols each dashboard
-- worker computed it once per data version (~140 ms of CPU reading both tables and ~30 ms clearing the
-- basis); the engine's refresh now writes it in screener_rows' transaction, from the rows it reads back
-- there, and records it in serving_refreshes as 'screener_basis_rows' after 'screener_rows'. Pinned
-- runs, as-of dates, figures as first reported and the FY basis still compute per request.
-- The columns: screener_rows' (schema 100 and 174, same order), then the basis columns clear_basis adds.
-- Expand-only: nothing the previous release reads changes; its engine never writes this table, and the
-- dashboard reads it only when its refresh is no older than screener_rows' (dashboard/components/
-- serving_state.py `current`).
CREATE TABLE IF NOT EXISTS screener_basis_rows (
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
    fiscal_date             date,
    price_date              date,
    dividend_yield          double precision,
    fcf_yield               double precision,
    eps_growth              double precision,
    perf_1m                 double precision,
    perf_ytd                double precision,
    perf_1y                 double precision,
    off_52w_high            double precision,
    volatility_1y           double precision,
    restatements_1y         double precision,
    restatements_3y         double precision,
    restatements_5y         double precision,
    restatement_change_1y   double precision,
    restatement_change_3y   double precision,
    restatement_change_5y   double precision,
    basis                   text,                -- 'TTM', 'FY' or NULL (no statements)
    period_end              date,
    stale                   boolean          NOT NULL,
    not_meaningful          text             NOT NULL    -- the n/m ratios, comma-separated ('' for none)
);

REVOKE ALL ON screener_basis_rows FROM PUBLIC;
GRANT SELECT ON screener_basis_rows TO mycfa_reader;
