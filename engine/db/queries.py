"""Every SQL statement the engine's store sends: parameterised DML only; table names are constants."""

from __future__ import annotations

from typing import NamedTuple

from engine.db.rows import PRICE_COLUMNS, STATEMENT_COLUMNS

# --- migrations ---------------------------------------------------------------------------------

MIGRATIONS_LOCK = "SELECT pg_advisory_lock(hashtextextended('mycfa:migrate', 0))"
MIGRATIONS_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended('mycfa:migrate', 0))"
CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    filename    text        PRIMARY KEY,
    sha256      text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""
APPLIED_MIGRATIONS = "SELECT filename, sha256 FROM schema_migrations"
RECORD_MIGRATION = "INSERT INTO schema_migrations (filename, sha256) VALUES ($1, $2)"
# The session settings `migrate` runs under ($1 application_name, $2 lock_timeout, $3 statement_timeout).
SET_MIGRATION_LIMITS = """
SELECT set_config('application_name', $1, false), set_config('lock_timeout', $2, false),
       set_config('statement_timeout', $3, false)"""
SET_LOCK_TIMEOUT_MS = "SELECT set_config('lock_timeout', $1, false)"
RESET_MIGRATION_LIMITS = "RESET lock_timeout; RESET statement_timeout; RESET application_name"
# Bytes of a table and its partitions (NULL when it does not exist yet): what makes a table "large".
TABLE_BYTES = """
SELECT CASE WHEN to_regclass($1) IS NOT NULL THEN
       (SELECT coalesce(sum(pg_table_size(tree.relid)), 0)::bigint FROM pg_partition_tree(to_regclass($1)) AS tree)
       END"""
TABLE_KIND = "SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)"
# The direct partitions of a partitioned table, and the index already attached for each (or NULL).
PARTITIONS_AND_INDEXES = """
SELECT format('%I.%I', pn.nspname, p.relname) AS partition, p.relname::text AS relname,
       (SELECT format('%I.%I', xn.nspname, xc.relname)
          FROM pg_inherits ix
          JOIN pg_index x ON x.indexrelid = ix.inhrelid
          JOIN pg_class xc ON xc.oid = x.indexrelid
          JOIN pg_namespace xn ON xn.oid = xc.relnamespace
         WHERE ix.inhparent = to_regclass($2) AND x.indrelid = p.oid) AS attached
  FROM pg_inherits i
  JOIN pg_class p ON p.oid = i.inhrelid
  JOIN pg_namespace pn ON pn.oid = p.relnamespace
 WHERE i.inhparent = to_regclass($1)
 ORDER BY p.relname"""
# An index left INVALID by a concurrent build that failed: dropped before the build is retried.
INDEX_IS_INVALID = "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)"

# --- batch guards -------------------------------------------------------------------------------

# Loads of one (dataset, symbol) serialise on this lock, so the backfill check stays true until commit.
BATCH_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
ENSURE_PRICE_PARTITIONS = "SELECT ensure_price_partitions($1::date, $2::date)"
ENSURE_STATEMENT_PARTITIONS = "SELECT ensure_statement_partitions($1::date, $2::date)"
SET_LOCK_TIMEOUT = "SET LOCAL lock_timeout = '10s'"
# The run a batch belongs to, for this transaction only (statements.run_id, schema 171).
SET_BATCH_RUN = "SELECT set_config('mycfa.run_id', $1, true)"

# The batch lock and the backfill check in one round trip ($1 is the lock key). The check reads the
# statement's snapshot, taken before the lock was granted, so it can miss rows a concurrent loader of
# the same key committed while we waited: the backfill COPY then meets them as a unique violation
# and the batch is redone as a merge (load._BackfillConflict), so the end state stays right.
LOCK_PRICES_STORED_IN_RANGE = """
SELECT EXISTS (SELECT 1 FROM prices_daily WHERE symbol = $2 AND date BETWEEN $3 AND $4), now()
  FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS batch_lock"""
LOCK_STATEMENTS_STORED_IN_RANGE = """
SELECT EXISTS (SELECT 1 FROM statements
                WHERE symbol = $2 AND kind = $3 AND period = ANY($4::text[])
                  AND fiscal_date BETWEEN $5 AND $6), now()
  FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS batch_lock"""

# --- merge path ---------------------------------------------------------------------------------

_PRICE_VALUES = [c for c in PRICE_COLUMNS if c not in ("symbol", "date")]
_P_COLS = ", ".join(PRICE_COLUMNS)
_P_OLD = ", ".join(f"p.{c}" for c in _PRICE_VALUES)
_P_STAGED = ", ".join(f"s.{c}" for c in _PRICE_VALUES)
_P_EXCLUDED = ", ".join(f"EXCLUDED.{c}" for c in _PRICE_VALUES)

STAGE_PRICES = "stage_prices"
CREATE_STAGE_PRICES = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGE_PRICES} (LIKE prices_daily) ON COMMIT DELETE ROWS"""

# `is_new` is judged in the same snapshot, under the batch lock (partitioned tables cannot RETURN xmax).
# The pre-filter drops rows identical to what is stored before they reach ON CONFLICT, which would
# otherwise lock (and dirty) every unchanged row; ON CONFLICT keeps the statement correct regardless.
MERGE_PRICES = f"""
WITH changed AS (
    SELECT s.*, p.symbol IS NULL AS is_new FROM {STAGE_PRICES} s
      LEFT JOIN prices_daily p
        ON p.symbol = s.symbol AND p.date = s.date AND p.symbol = $1 AND p.date BETWEEN $2 AND $3
     WHERE p.symbol IS NULL OR ({_P_OLD}) IS DISTINCT FROM ({_P_STAGED})
), written AS (
    INSERT INTO prices_daily AS p ({_P_COLS})
    SELECT {_P_COLS} FROM changed
    ON CONFLICT (symbol, date) DO UPDATE
       SET ({", ".join(_PRICE_VALUES)}) = ROW({_P_EXCLUDED})
     WHERE ({_P_OLD}) IS DISTINCT FROM ({_P_EXCLUDED})
    RETURNING p.symbol, p.date
)
SELECT count(*) FILTER (WHERE c.is_new) AS inserted, count(*) FILTER (WHERE NOT c.is_new) AS updated
  FROM written w JOIN changed c ON c.symbol = w.symbol AND c.date = w.date"""

STAGE_STATEMENTS = "stage_statements"
_S_COLS = ", ".join(STATEMENT_COLUMNS)
CREATE_STAGE_STATEMENTS = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGE_STATEMENTS} (
    symbol text, kind text, period text, fiscal_date date, fiscal_year smallint,
    reported_currency text, filing_date date, payload jsonb
) ON COMMIT DELETE ROWS"""

# Updating a payload fires statements_keep_revision, which appends the old payload to the history.
MERGE_STATEMENTS = f"""
WITH changed AS (
    SELECT s.*, t.symbol IS NULL AS is_new FROM {STAGE_STATEMENTS} s
      LEFT JOIN statements t
        ON t.symbol = s.symbol AND t.kind = s.kind AND t.period = s.period
       AND t.fiscal_date = s.fiscal_date AND t.symbol = $1 AND t.kind = $2
       AND t.fiscal_date BETWEEN $3 AND $4
     WHERE t.symbol IS NULL OR t.payload IS DISTINCT FROM s.payload
), written AS (
    INSERT INTO statements AS t ({_S_COLS})
    SELECT {_S_COLS} FROM changed
    ON CONFLICT (symbol, kind, period, fiscal_date) DO UPDATE
       SET (fiscal_year, reported_currency, filing_date, payload, updated_at)
         = ROW(EXCLUDED.fiscal_year, EXCLUDED.reported_currency, EXCLUDED.filing_date,
               EXCLUDED.payload, now())
     WHERE t.payload IS DISTINCT FROM EXCLUDED.payload
    RETURNING t.period, t.fiscal_date
)
SELECT count(*) FILTER (WHERE c.is_new) AS inserted, count(*) FILTER (WHERE NOT c.is_new) AS updated
  FROM written w JOIN changed c ON c.period = w.period AND c.fiscal_date = w.fiscal_date"""


# The serving layer's month-end closes of the symbol a price batch wrote, from the month of its first row
# on, in the batch's transaction (docs/serving.md): the same rows as INSERT_MONTH_END_CLOSES gives, read
# from the symbol's own rows by its primary key. A month's row changes only when its close does.
UPSERT_MONTH_END_CLOSES = """
INSERT INTO month_end_closes AS m (symbol, month, date, close)
SELECT DISTINCT ON (month) $1::text, month, date, value FROM (
    SELECT date_trunc('month', date)::date AS month, date,
           CASE WHEN adj_close IS NULL OR adj_close = 'NaN' THEN close ELSE adj_close END AS value
      FROM prices_daily WHERE symbol = $1 AND date >= date_trunc('month', $2::date)::date
) v
 WHERE value NOT IN ('NaN', 'Infinity', '-Infinity')
 ORDER BY month, date DESC
ON CONFLICT (symbol, month) DO UPDATE SET (date, close) = ROW(EXCLUDED.date, EXCLUDED.close)
 WHERE (m.date, m.close) IS DISTINCT FROM (EXCLUDED.date, EXCLUDED.close)"""
# The same rows, computed by the engine from a backfill's COPYed rows ($4 dates, $5 closes: month_ends.py),
# written only when the SQL above would read nothing else: no other stored price of the symbol from the
# month of the batch's first day $2 on, outside the batch's [$2, $3]. Returns whether they were written.
UPSERT_COPIED_MONTH_END_CLOSES = """
WITH alone AS (
    SELECT NOT EXISTS (SELECT 1 FROM prices_daily
                        WHERE symbol = $1 AND date >= date_trunc('month', $2::date)::date AND date < $2)
       AND NOT EXISTS (SELECT 1 FROM prices_daily WHERE symbol = $1 AND date > $3) AS yes
), written AS (
    INSERT INTO month_end_closes AS m (symbol, month, date, close)
    SELECT $1::text, date_trunc('month', g.date)::date, g.date, g.close
      FROM unnest($4::date[], $5::float8[]) AS g(date, close)
     WHERE (SELECT yes FROM alone)
    ON CONFLICT (symbol, month) DO UPDATE SET (date, close) = ROW(EXCLUDED.date, EXCLUDED.close)
     WHERE (m.date, m.close) IS DISTINCT FROM (EXCLUDED.date, EXCLUDED.close)
)
SELECT yes FROM alone"""


class BatchSQL(NamedTuple):
    """One table's batch-load statements, in the order engine/db/load.py uses them."""

    ensure_partitions: str  # ($1 first, $2 last date) creates the yearly partitions
    lock_and_check: str  # ($1 lock key, key range...) takes the batch lock; any row stored?, now()
    create_stage: str  # the temporary staging table of the merge path
    stage: str  # its name, for the COPY
    merge: str  # (key range...) writes new or changed rows; returns inserted, updated


PRICES_BATCH_SQL = BatchSQL(
    ENSURE_PRICE_PARTITIONS, LOCK_PRICES_STORED_IN_RANGE, CREATE_STAGE_PRICES, STAGE_PRICES, MERGE_PRICES
)
STATEMENTS_BATCH_SQL = BatchSQL(
    ENSURE_STATEMENT_PARTITIONS,
    LOCK_STATEMENTS_STORED_IN_RANGE,
    CREATE_STAGE_STATEMENTS,
    STAGE_STATEMENTS,
    MERGE_STATEMENTS,
)

# --- quarantine ---------------------------------------------------------------------------------

INSERT_QUARANTINE = """
INSERT INTO quarantine AS q (dataset, symbol, kind, reason, payload)
SELECT DISTINCT ON (dataset, coalesce(symbol, ''), coalesce(kind, ''), reason, md5(payload::text))
       dataset, symbol, kind, reason, payload
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
       AS r(dataset, symbol, kind, reason, payload)
ON CONFLICT (dataset, (coalesce(symbol, '')), (coalesce(kind, '')), reason, (md5(payload::text)))
DO UPDATE SET last_seen = now(), times_seen = q.times_seen + 1"""

# --- incremental-run watermarks -----------------------------------------------------------------

# One backward index probe per symbol (per partition), instead of aggregating every stored price.
LAST_PRICE_DATES = """
SELECT s.symbol, (SELECT max(p.date) FROM prices_daily p WHERE p.symbol = s.symbol) AS last_date
  FROM unnest($1::text[]) AS s(symbol)"""
LATEST_FISCAL_DATES = """
SELECT symbol, kind, period, max(fiscal_date) AS last_date
  FROM statements WHERE symbol = ANY($1::text[])
 GROUP BY symbol, kind, period"""
# Price re-adjustment (engine/runs/readjust.py): a range scan on the primary key (symbol, date),
# pruned to the partitions the window touches; and where a refetch of the whole history starts.
STORED_CLOSES = "SELECT date, close, adj_close FROM prices_daily WHERE symbol = $1 AND date >= $2"
FIRST_STORED_DATE = "SELECT min(date) FROM prices_daily WHERE symbol = $1"
PROFILED_SYMBOLS = "SELECT symbol FROM companies WHERE symbol = ANY($1::text[]) AND profile IS NOT NULL"
STATEMENT_FETCHES = """
SELECT symbol, kind, period, fetched_on FROM statement_fetches WHERE symbol = ANY($1::text[])"""
RECORD_STATEMENT_FETCH = """
INSERT INTO statement_fetches (symbol, kind, period, fetched_on) VALUES ($1, $2, $3, $4)
ON CONFLICT (symbol, kind, period) DO UPDATE SET fetched_on = greatest(statement_fetches.fetched_on, EXCLUDED.fetched_on)"""

# --- companies ----------------------------------------------------------------------------------

_C_FIELDS = ("name", "sector", "sub_industry", "headquarters", "cik", "founded", "index_added", "constituent")
UPSERT_CONSTITUENTS = f"""
WITH written AS (
    INSERT INTO companies AS c (symbol, {", ".join(_C_FIELDS)}, in_index)
    SELECT r.*, true
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                  $8::date[], $9::jsonb[]) AS r
    ON CONFLICT (symbol) DO UPDATE
       SET ({", ".join(_C_FIELDS)}, in_index, index_removed, updated_at)
         = ROW({", ".join(f"EXCLUDED.{f}" for f in _C_FIELDS)}, true, NULL, now())
     WHERE ({", ".join(f"c.{f}" for f in _C_FIELDS)}, c.in_index)
           IS DISTINCT FROM ({", ".join(f"EXCLUDED.{f}" for f in _C_FIELDS)}, true)
    RETURNING c.xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated
  FROM written"""

# Members missing from a complete constituent list left the index: marked, never deleted.
MARK_REMOVED = """
UPDATE companies SET in_index = false, index_removed = $2, updated_at = now()
 WHERE in_index AND symbol <> ALL($1::text[])"""

# jsonb_typeof guards the cast: a stored profile holds whatever FMP sent
MARKET_CAP = """
SELECT (profile->'marketCap')::text::float8 FROM companies
WHERE symbol = $1 AND jsonb_typeof(profile->'marketCap') = 'number'
"""
# A company on no constituent list (a former member) takes its GICS sector from the profile's ($6).
UPSERT_PROFILES = """
WITH written AS (
    INSERT INTO companies AS c (symbol, name, fmp_sector, fmp_industry, profile, sector)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[])
    ON CONFLICT (symbol) DO UPDATE
       SET (fmp_sector, fmp_industry, profile, sector, updated_at)
         = ROW(EXCLUDED.fmp_sector, EXCLUDED.fmp_industry, EXCLUDED.profile,
               coalesce(c.sector, EXCLUDED.sector), now())
     WHERE (c.fmp_sector, c.fmp_industry, c.profile)
           IS DISTINCT FROM (EXCLUDED.fmp_sector, EXCLUDED.fmp_industry, EXCLUDED.profile)
        OR (c.sector IS NULL AND EXCLUDED.sector IS NOT NULL)
    RETURNING c.xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated
  FROM written"""

# --- S&P 500 membership changes (engine/db/membership.py) -----------------------------------------

_CHANGE_FIELDS = ("day", "added_symbol", "added_name", "removed_symbol", "removed_name", "reason", "payload")
UPSERT_SP500_CHANGES = f"""
WITH written AS (
    INSERT INTO sp500_changes AS c ({", ".join(_CHANGE_FIELDS)})
    SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
    ON CONFLICT (day, (coalesce(added_symbol, '')), (coalesce(removed_symbol, ''))) DO UPDATE
       SET (added_name, removed_name, reason, payload, updated_at, withdrawn_at)
         = ROW(EXCLUDED.added_name, EXCLUDED.removed_name, EXCLUDED.reason, EXCLUDED.payload, now(), NULL)
     WHERE c.payload IS DISTINCT FROM EXCLUDED.payload OR c.withdrawn_at IS NOT NULL
    RETURNING c.xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated
  FROM written"""
# The answer is the whole list: a stored change it no longer holds was corrected away by FMP.
WITHDRAW_SP500_CHANGES = """
UPDATE sp500_changes c SET withdrawn_at = now()
 WHERE c.withdrawn_at IS NULL
   AND NOT EXISTS (SELECT 1 FROM unnest($1::date[], $2::text[], $3::text[]) AS k(day, added, removed)
                    WHERE k.day = c.day AND coalesce(k.added, '') = coalesce(c.added_symbol, '')
                      AND coalesce(k.removed, '') = coalesce(c.removed_symbol, ''))"""
# Companies the changes removed: a non-member row named as the change names it, with its latest spell
# (sp500_membership); a current member's row is the constituent list's and is left alone.
FORMER_MEMBER_COMPANIES = """
INSERT INTO companies AS c (symbol, name, in_index, index_added, index_removed)
SELECT DISTINCT ON (x.removed_symbol) x.removed_symbol, coalesce(x.removed_name, x.removed_symbol), false,
       s.added, s.removed
  FROM sp500_changes x
  JOIN LATERAL (SELECT added, removed FROM sp500_membership m WHERE m.symbol = x.removed_symbol
                 ORDER BY coalesce(m.removed, 'infinity'::date) DESC LIMIT 1) s ON true
 WHERE x.removed_symbol IS NOT NULL AND x.withdrawn_at IS NULL
 ORDER BY x.removed_symbol, x.day DESC
ON CONFLICT (symbol) DO UPDATE SET (index_added, index_removed, updated_at)
     = ROW(EXCLUDED.index_added, EXCLUDED.index_removed, now())
 WHERE NOT c.in_index
   AND (c.index_added, c.index_removed) IS DISTINCT FROM (EXCLUDED.index_added, EXCLUDED.index_removed)"""

# --- the serving layer's refresh (engine/runs/refresh.py, docs/serving.md) -------------------------

SERVING_NOW = "SELECT now()"
SET_LOCAL_NO_JIT = "SET LOCAL jit = off"
SERVING_STATE = "SELECT name, state, succeeded_at, scope_from FROM serving_refreshes"
# Symbols whose items of these datasets wrote rows in (since, until]: the refresh's scope.
SERVING_CHANGED = """
SELECT DISTINCT symbol FROM run_items
 WHERE state = 'done' AND rows_changed > 0 AND dataset = ANY($1::text[])
   AND finished_at > $2 AND finished_at <= $3"""
SERVING_COMPANIES_CHANGED = (
    "SELECT EXISTS (SELECT 1 FROM companies WHERE updated_at > $1 AND updated_at <= $2)"
)
SERVING_STATEMENT_SYMBOLS = "SELECT DISTINCT symbol FROM statements WHERE kind = 'income'"
# The companies with prices (the month-end pass of `refresh --all`): one primary-key probe per company.
# The LIMIT keeps the probe per company whatever the statistics: planned as a semi-join right after an
# ingest (no ANALYZE yet), EXISTS hashed every stored price (6.7 M rows, 3.0 s at 503 symbols).
SERVING_PRICE_SYMBOLS = """
SELECT c.symbol FROM companies c
 CROSS JOIN LATERAL (SELECT FROM prices_daily p WHERE p.symbol = c.symbol LIMIT 1) AS priced"""
# Those of them without a month-end row (prices loaded before schema 100; a table that never refreshed):
# the anti-join on month_end_closes' key leaves the few whose prices are probed.
SERVING_MONTH_END_MISSING = """
SELECT c.symbol FROM companies c
 CROSS JOIN LATERAL (SELECT FROM prices_daily p WHERE p.symbol = c.symbol LIMIT 1) AS priced
 WHERE NOT EXISTS (SELECT FROM month_end_closes m WHERE m.symbol = c.symbol)"""
SERVING_STATEMENTS = """
SELECT symbol, kind, CASE WHEN period = 'FY' THEN 'FY' ELSE 'Q' END AS grp, period, fiscal_date,
       fiscal_year, updated_at, payload::text AS payload
  FROM statements
 WHERE symbol = ANY($1::text[]) AND kind IN ('income', 'balance', 'cashflow')
 ORDER BY symbol, fiscal_date"""
# Per company, how many statement rows the statement pass would read and their latest change: the
# follower computes from the rows a run COPYed when these are theirs (engine/runs/copied.py).
SERVING_STATEMENT_COUNTS = """
SELECT symbol, count(*) AS statements, max(updated_at) AS latest
  FROM statements
 WHERE symbol = ANY($1::text[]) AND kind IN ('income', 'balance', 'cashflow')
 GROUP BY symbol"""
DELETE_METRIC_HISTORY = "DELETE FROM metric_history WHERE symbol = ANY($1::text[])"
DELETE_STATEMENT_LINES = "DELETE FROM statement_lines WHERE symbol = ANY($1::text[])"
# The same rows from each period's first-reported payload (schema 173), for metric_history_first.
SERVING_STATEMENTS_FIRST = """
SELECT symbol, kind, CASE WHEN period = 'FY' THEN 'FY' ELSE 'Q' END AS grp, period, fiscal_date,
       fiscal_year, known_since AS updated_at, payload::text AS payload
  FROM statement_versions('first', NULL, NULL, $1::text[], '{income,balance,cashflow}'::text[])
 ORDER BY symbol, fiscal_date"""
DELETE_METRIC_HISTORY_FIRST = "DELETE FROM metric_history_first WHERE symbol = ANY($1::text[])"
SERVING_RESTATED_SYMBOLS = """
SELECT DISTINCT symbol FROM statement_revisions
 WHERE symbol = ANY($1::text[]) AND kind IN ('income', 'balance', 'cashflow')"""
DELETE_STATEMENT_CHANGES = "DELETE FROM statement_changes WHERE symbol = ANY($1::text[])"
# Each restated statement line: a payload against the next one of the same period, field by field,
# where a number moved (or appeared, or went). A revision that moved only share counts and per-share
# figures is a split's restatement (`per_share_only`). restated_on: the restating filing's date when
# FMP gives a later one than the payload it replaced, else the day the store saw it.
INSERT_STATEMENT_CHANGES = """
INSERT INTO statement_changes (symbol, kind, period, fiscal_date, fiscal_year, field, old_value, new_value,
                               change, seen_at, restated_on, old_filing_date, new_filing_date, old_run_id,
                               new_run_id, per_share_only)
WITH versions AS (
    SELECT symbol, kind, period, fiscal_date, fiscal_year, filing_date, payload, valid_from, run_id
      FROM statement_revisions
     WHERE symbol = ANY($1::text[]) AND kind IN ('income', 'balance', 'cashflow')
    UNION ALL
    SELECT s.symbol, s.kind, s.period, s.fiscal_date, s.fiscal_year, s.filing_date, s.payload, s.updated_at,
           s.run_id
      FROM statements s
     WHERE s.symbol = ANY($1::text[]) AND s.kind IN ('income', 'balance', 'cashflow')
       AND EXISTS (SELECT 1 FROM statement_revisions r WHERE r.symbol = s.symbol AND r.kind = s.kind
                      AND r.period = s.period AND r.fiscal_date = s.fiscal_date)
), pairs AS (
    SELECT v.*, lead(payload) OVER w AS next_payload, lead(filing_date) OVER w AS next_filing,
           lead(run_id) OVER w AS next_run, lead(valid_from) OVER w AS next_seen
      FROM versions v WINDOW w AS (PARTITION BY symbol, kind, period, fiscal_date ORDER BY valid_from)
), moved AS (
    SELECT p.symbol, p.kind, p.period, p.fiscal_date, p.fiscal_year, k.field,
           CASE WHEN jsonb_typeof(p.payload -> k.field) = 'number' THEN (p.payload ->> k.field)::float8 END
               AS old_value,
           CASE WHEN jsonb_typeof(p.next_payload -> k.field) = 'number' THEN (p.next_payload ->> k.field)::float8 END
               AS new_value,
           p.next_seen, p.filing_date, p.next_filing, p.run_id, p.next_run
      FROM pairs p
     CROSS JOIN LATERAL (SELECT jsonb_object_keys(p.payload) UNION SELECT jsonb_object_keys(p.next_payload))
           AS k(field)
     WHERE p.next_payload IS NOT NULL
)
SELECT symbol, kind, period, fiscal_date, fiscal_year, field, old_value, new_value,
       (new_value - old_value) / nullif(abs(old_value), 0), next_seen,
       CASE WHEN next_filing > filing_date THEN next_filing ELSE next_seen::date END,
       filing_date, next_filing, run_id, next_run,
       bool_and(field IN ('eps', 'epsDiluted', 'weightedAverageShsOut', 'weightedAverageShsOutDil')
                OR field LIKE '%PerShare')
           OVER (PARTITION BY symbol, kind, period, fiscal_date, next_seen)
  FROM moved
 WHERE old_value IS DISTINCT FROM new_value"""
# Each month's last finite close (adjusted, else traded) from each symbol's `since` on: what the
# Forecast page read per request before (dashboard/data/queries.py month_end_closes).
DELETE_MONTH_END_CLOSES = """
DELETE FROM month_end_closes m USING unnest($1::text[], $2::date[]) AS s(symbol, since)
 WHERE m.symbol = s.symbol AND m.month >= date_trunc('month', s.since)::date"""
INSERT_MONTH_END_CLOSES = """
INSERT INTO month_end_closes (symbol, month, date, close)
SELECT DISTINCT ON (symbol, month) symbol, month, date, value FROM (
    SELECT p.symbol, date_trunc('month', p.date)::date AS month, p.date,
           CASE WHEN p.adj_close IS NULL OR p.adj_close = 'NaN' THEN p.close ELSE p.adj_close END AS value
      FROM unnest($1::text[], $2::date[]) AS s(symbol, since)
      JOIN prices_daily p ON p.symbol = s.symbol AND p.date >= date_trunc('month', s.since)::date
) v
 WHERE value NOT IN ('NaN', 'Infinity', '-Infinity')
 ORDER BY symbol, month, date DESC"""
# The screener's inputs, as the dashboard read them (dashboard/data/queries.py), for the serving
# universe only: the index's current members (the view sp500_members, the one definition both programs
# use). Former members keep their statements, prices and metric_history for point-in-time reads, but are
# neither screened nor in the sector medians (serving/universe.py screener_table drops them all the same).
SERVING_RECENT_ANNUAL = """
SELECT kind, symbol, fiscal_date, payload::text AS payload FROM (
    SELECT kind, symbol, fiscal_date, payload,
           row_number() OVER (PARTITION BY symbol, kind ORDER BY fiscal_date DESC) AS rn
      FROM statements WHERE period = 'FY' AND kind = ANY($1::text[])
       AND symbol IN (SELECT symbol FROM sp500_members)) ranked
 WHERE rn <= $2"""
# The restated lines the screener counts per company (serving/restatements.py), splits left out.
SERVING_RESTATEMENTS = """
SELECT symbol, kind, period, fiscal_date, seen_at, restated_on, change FROM statement_changes
 WHERE NOT per_share_only"""
SERVING_LATEST_CLOSES = """
SELECT c.symbol, p.date, p.close FROM sp500_members c CROSS JOIN LATERAL
       (SELECT date, close FROM prices_daily d WHERE d.symbol = c.symbol ORDER BY date DESC LIMIT 1) p"""
SERVING_SHARE_COUNTS = """
SELECT c.symbol,
       CASE WHEN jsonb_typeof(c.profile->'marketCap') = 'number' AND jsonb_typeof(c.profile->'price') = 'number'
            THEN CAST(c.profile->>'marketCap' AS float8) / NULLIF(CAST(c.profile->>'price' AS float8), 0)
       END AS profile_shares,
       CASE WHEN jsonb_typeof(q.payload->'weightedAverageShsOutDil') = 'number'
            THEN CAST(q.payload->>'weightedAverageShsOutDil' AS float8) END AS quarter_shares
  FROM sp500_members c LEFT JOIN LATERAL (
       SELECT payload FROM statements s
        WHERE s.symbol = c.symbol AND s.kind = 'income' AND s.period = ANY('{Q1,Q2,Q3,Q4}'::text[])
        ORDER BY fiscal_date DESC LIMIT 1) q ON true"""
SERVING_COMPANIES = "SELECT symbol, name, sector, sub_industry FROM sp500_members ORDER BY symbol"
# Per symbol, from its last ~13 months of prices (adjusted closes, else traded): the screener's
# performance, distance from the 52-week high and annualised volatility of daily log returns.
SERVING_PRICE_STATS = """
WITH last AS (
    SELECT c.symbol, p.date AS last_date FROM sp500_members c CROSS JOIN LATERAL
           (SELECT date FROM prices_daily d WHERE d.symbol = c.symbol ORDER BY date DESC LIMIT 1) p
), recent AS (
    SELECT p.symbol, p.date, l.last_date,
           CASE WHEN p.adj_close IS NULL OR p.adj_close = 'NaN' THEN p.close ELSE p.adj_close END AS value
      FROM last l JOIN prices_daily p
        ON p.symbol = l.symbol AND p.date > (l.last_date - interval '13 months')::date
     -- the same bound over all symbols, a constant the executor prunes the yearly partitions by (without
     -- it every stored price was scanned: ~5 s of the screener's ~6 s in the database at 503 symbols)
     WHERE p.date > (SELECT (min(last_date) - interval '13 months')::date FROM last)
), stepped AS (
    SELECT *, ln(value / nullif(lag(value) OVER (PARTITION BY symbol ORDER BY date), 0)) AS step,
           row_number() OVER (PARTITION BY symbol ORDER BY date DESC) AS back
      FROM recent WHERE value > 0 AND value <> 'Infinity'
)
SELECT symbol, max(last_date) AS price_date,
       max(value) FILTER (WHERE date = last_date)
         / nullif((array_agg(value ORDER BY date DESC) FILTER (WHERE date <= (last_date - interval '1 month')::date))[1], 0) - 1 AS perf_1m,
       max(value) FILTER (WHERE date = last_date)
         / nullif((array_agg(value ORDER BY date DESC) FILTER (WHERE date < date_trunc('year', last_date)::date))[1], 0) - 1 AS perf_ytd,
       max(value) FILTER (WHERE date = last_date)
         / nullif((array_agg(value ORDER BY date DESC) FILTER (WHERE date <= (last_date - interval '1 year')::date))[1], 0) - 1 AS perf_1y,
       max(value) FILTER (WHERE date = last_date)
         / nullif(max(value) FILTER (WHERE date > (last_date - interval '1 year')::date), 0) - 1 AS off_52w_high,
       stddev_samp(step) FILTER (WHERE back <= 252) * sqrt(252) AS volatility_1y
  FROM stepped GROUP BY symbol"""
# Refreshes of one table serialise (a run's and `mycfa-engine refresh`), so a DELETE never misses rows
# another refresh's COPY just committed.
SERVING_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('mycfa:serving:' || $1, 0))"
DELETE_SCREENER_ROWS = "DELETE FROM screener_rows"
DELETE_SCREENER_BASIS_ROWS = "DELETE FROM screener_basis_rows"
# screener_rows read back in the refresh's transaction, and each company's latest TTM metric_history row:
# what the dashboard reads to compute the TTM basis (dashboard/data/queries.py screener_rows, latest_ttm).
SERVING_SCREENER_ROWS = "SELECT * FROM screener_rows"
SERVING_LATEST_TTM = (
    "SELECT DISTINCT ON (symbol) * FROM metric_history WHERE basis = 'TTM' ORDER BY symbol, fiscal_date DESC"
)
# The S&P 500 benchmark (schema 181, serving/benchmark.py), a batch of companies at a time: their prices
# packed as one bytea per company (per price, as PostgreSQL sends them: the days since 1970 as int4, the
# close and the adjusted close, else the close, as float8; in no order, the refresh sorts them), which
# numpy reads as one array: no sort and no Python object per price (three ordered array_agg took twice
# the database's time and a Python float per price); and their reported share counts.
SERVING_BENCHMARK_SYMBOLS = "SELECT DISTINCT symbol FROM sp500_membership ORDER BY symbol"
_PACKED_PRICE = (
    "int4send(p.date - DATE '1970-01-01') || float8send(p.close) || float8send(CASE WHEN p.adj_close IS NULL"
    " OR p.adj_close = 'NaN' THEN p.close ELSE p.adj_close END)"
)
# Of each company only its prices while in the index: from its last price before its first spell (its
# first day's return reads that close) to its last removal (a spell still open: to its last price). A day
# outside every spell adds nothing to the series, and each kept day keeps the price before it, so the sums
# are the same; it leaves out ~30 % of the stored prices (those of companies before they joined).
SERVING_BENCHMARK_PRICES = f"""
SELECT s.symbol, string_agg({_PACKED_PRICE}, ''::bytea) AS packed
  FROM (SELECT symbol, CASE WHEN bool_or(added IS NULL) THEN NULL ELSE min(added) END AS added,
               CASE WHEN bool_or(removed IS NULL) THEN NULL ELSE max(removed) END AS removed
          FROM sp500_membership WHERE symbol = ANY($1::text[]) GROUP BY symbol) AS s
  CROSS JOIN LATERAL (SELECT max(q.date) AS day FROM prices_daily q
                       WHERE q.symbol = s.symbol AND q.date < s.added) AS before
  JOIN prices_daily p ON p.symbol = s.symbol AND p.date >= coalesce(before.day, s.added, '-infinity'::date)
                     AND p.date < coalesce(s.removed, 'infinity'::date)
 GROUP BY s.symbol"""
# The same from `$2` on, with each company's last price before it (the first return's previous close).
SERVING_BENCHMARK_PRICES_FROM = f"""
SELECT s.symbol, string_agg({_PACKED_PRICE}, ''::bytea) AS packed
  FROM unnest($1::text[]) AS s(symbol)
  CROSS JOIN LATERAL (SELECT max(q.date) AS day FROM prices_daily q
                       WHERE q.symbol = s.symbol AND q.date < $2::date) AS before
  JOIN prices_daily p ON p.symbol = s.symbol AND p.date >= coalesce(before.day, $2::date)
 GROUP BY s.symbol"""
# The earliest price day the price items done since a refresh may have changed (each item's window
# start, or its re-adjusted history's), and whether one had no window (its whole history).
SERVING_PRICES_CHANGED_FROM = """
SELECT min(least(CAST(params->>'from' AS date), CAST(params->'readjusted'->>'from' AS date))) AS start,
       coalesce(bool_or(params->>'from' IS NULL), false) AS whole
  FROM run_items
 WHERE state = 'done' AND rows_changed > 0 AND dataset = 'prices' AND finished_at > $1 AND finished_at <= $2"""
SERVING_MEMBERSHIP = "SELECT symbol, added, removed FROM sp500_membership"
# The share count of a current member from its profile (market cap over price): the S&P 500 series'
# count for a company without a reported one.
SERVING_PROFILE_SHARES = """
SELECT symbol, CAST(profile->>'marketCap' AS float8) / NULLIF(CAST(profile->>'price' AS float8), 0) AS shares
  FROM sp500_members
 WHERE jsonb_typeof(profile->'marketCap') = 'number' AND jsonb_typeof(profile->'price') = 'number'"""
SERVING_COMPANIES_CHANGED_SYMBOLS = "SELECT symbol FROM companies WHERE updated_at > $1 AND updated_at <= $2"
# What the series was last computed from (schema 111): every membership step, and the share-count steps
# of the companies asked for.
SERVING_BENCHMARK_INPUTS_KEPT = "SELECT EXISTS (SELECT 1 FROM benchmark_inputs)"
SERVING_BENCHMARK_INPUTS = """
SELECT symbol, kind, since, value FROM benchmark_inputs
 WHERE kind = 'member' OR (kind = 'shares' AND symbol = ANY($1::text[]))"""
DELETE_BENCHMARK_INPUTS = "DELETE FROM benchmark_inputs"
DELETE_BENCHMARK_INPUTS_OF = (
    "DELETE FROM benchmark_inputs WHERE kind = 'member' OR (kind = 'shares' AND symbol = ANY($1::text[]))"
)
SERVING_REPORTED_SHARES = """
SELECT symbol, fiscal_date,
       CASE WHEN jsonb_typeof(payload->'weightedAverageShsOut') = 'number'
            THEN CAST(payload->>'weightedAverageShsOut' AS float8)
            WHEN jsonb_typeof(payload->'weightedAverageShsOutDil') = 'number'
            THEN CAST(payload->>'weightedAverageShsOutDil' AS float8) END AS shares
  FROM statements WHERE kind = 'income' AND symbol = ANY($1::text[])
 ORDER BY symbol, fiscal_date, period = 'FY'"""
SERVING_MEMBERSHIP_CHANGED = """
SELECT EXISTS (SELECT 1 FROM sp500_changes
                WHERE greatest(first_seen, updated_at, coalesce(withdrawn_at, first_seen)) > $1
                  AND greatest(first_seen, updated_at, coalesce(withdrawn_at, first_seen)) <= $2)"""
DELETE_BENCHMARK_RETURNS = "DELETE FROM benchmark_returns"
DELETE_BENCHMARK_RETURNS_FROM = "DELETE FROM benchmark_returns WHERE date >= $1"
DELETE_SECTOR_MEDIANS = "DELETE FROM sector_medians"
SERVING_RECORD = """
INSERT INTO serving_refreshes AS r (name, state, attempted_at, succeeded_at, scope_from, run_id, symbols, rows,
                                    seconds, error, data_as_of)
VALUES ($1, $2, now(), CASE WHEN $2 = 'ok' THEN now() END, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (name) DO UPDATE SET
    state = EXCLUDED.state, attempted_at = EXCLUDED.attempted_at,
    succeeded_at = coalesce(EXCLUDED.succeeded_at, r.succeeded_at),
    scope_from = coalesce(EXCLUDED.scope_from, r.scope_from), run_id = EXCLUDED.run_id,
    symbols = EXCLUDED.symbols, rows = EXCLUDED.rows, seconds = EXCLUDED.seconds, error = EXCLUDED.error,
    data_as_of = coalesce(EXCLUDED.data_as_of, r.data_as_of)"""
SERVING_STATUS = """
SELECT name, state, attempted_at, succeeded_at, run_id, symbols, rows, seconds, error, data_as_of
  FROM serving_refreshes ORDER BY name"""
