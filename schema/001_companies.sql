-- Companies: one row per symbol ever in the S&P 500. A symbol that leaves the index is kept and
-- marked (in_index false, index_removed set), never deleted, so its history stays queryable.
-- `sector` / `sub_industry` are the GICS classification from the constituent list (what the
-- dashboard groups by); FMP's own profile classification is kept beside it in fmp_sector /
-- fmp_industry because the two differ (FMP says "Technology" where GICS says "Information Technology").

CREATE TABLE IF NOT EXISTS companies (
    symbol         text        PRIMARY KEY CHECK (symbol <> ''),
    name           text        NOT NULL,
    sector         text,                   -- GICS sector (constituent list)
    sub_industry   text,                   -- GICS sub-industry (constituent list)
    headquarters   text,
    cik            text,                   -- zero-padded as FMP sends it ("0000320193")
    founded        text,                   -- free text: the list mixes years and dates
    in_index       boolean     NOT NULL DEFAULT false,  -- on the last constituent list loaded
    index_added    date,                   -- dateFirstAdded; NULL when the list's value is unparseable
    index_removed  date,                   -- when it was first missing from the list; NULL while a member
    fmp_sector     text,                   -- FMP profile classification
    fmp_industry   text,
    profile        jsonb,                  -- the last FMP profile as sent
    constituent    jsonb,                  -- the last constituent-list row as sent
    first_seen     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS companies_sector_idx ON companies (sector, symbol);

-- Current members only: what most dashboard pages list.
CREATE OR REPLACE VIEW sp500_members AS
    SELECT * FROM companies WHERE in_index;
