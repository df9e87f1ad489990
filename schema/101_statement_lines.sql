-- The Company page's statement tables, typed (docs/serving.md): one row per company, statement and
-- basis holding the table the page shows (its fiscal dates, line items and float values), computed by
-- the engine's refresh with serving/lines.py for the companies whose statements a run changed, so a
-- page reads one row instead of parsing ~140 JSONB payloads. Only the latest figures: as-of, first
-- reported and pinned reads still go through statements_as_of / statement_versions (schema 002, 173).
-- One row per table, not per cell: at 503 companies a cell per row is ~12 million rows (more than the
-- whole store's size again), this is ~4,000; statement_line_values gives the cells to SQL readers.
-- Expand-only: nothing the previous release reads changes.
CREATE TABLE IF NOT EXISTS statement_lines (
    symbol        text               NOT NULL,
    statement     text               NOT NULL CHECK (statement IN ('income', 'balance', 'cashflow')),
    -- FY, Q (each quarter), TTM (rolling four quarters; income and cash flow only: the TTM balance
    -- sheet is the quarterly one, balances being stocks)
    basis         text               NOT NULL CHECK (basis IN ('FY', 'Q', 'TTM')),
    fiscal_dates  date[]             NOT NULL,   -- the table's periods (FMP `date`), ascending
    fiscal_years  smallint[]         NOT NULL,   -- per period (TTM: its last quarter's)
    periods       text[]             NOT NULL,   -- per period: FY, Q1..Q4 (TTM: its last quarter)
    lines         text[]             NOT NULL,   -- FMP field names, in the table's column order
    -- per period, its lines' values (row-major: fiscal_dates x lines); NULL where FMP gave none
    line_values   double precision[] NOT NULL,
    known_since   timestamptz        NOT NULL,   -- latest updated_at of the statements used
    CHECK (cardinality(line_values) = cardinality(fiscal_dates) * cardinality(lines)),
    PRIMARY KEY (symbol, statement, basis)
);

-- The cells, one row each, for SQL readers (a line across companies, a period's figures).
CREATE OR REPLACE VIEW statement_line_values AS
    SELECT s.symbol, s.statement, s.basis, s.fiscal_dates[d] AS fiscal_date,
           s.fiscal_years[d] AS fiscal_year, s.periods[d] AS period, l AS line_no, s.lines[l] AS line,
           s.line_values[(d - 1) * cardinality(s.lines) + l] AS value, s.known_since
      FROM statement_lines s,
           generate_subscripts(s.fiscal_dates, 1) AS d,
           generate_subscripts(s.lines, 1) AS l;

REVOKE ALL ON statement_lines, statement_line_values FROM PUBLIC;
GRANT SELECT ON statement_lines, statement_line_values TO mycfa_reader;
