-- Daily prices: typed columns, one row per (symbol, date). `close` is FMP's unadjusted close
-- (historical-price-eod/full); `adj_close` comes from historical-price-eod/dividend-adjusted and is
-- NULL where FMP had no adjusted row for that date.
--
-- Partitioned by RANGE (date), one partition per calendar year (prices_daily_y2024, ...): ~500
-- symbols x ~252 sessions is ~126,000 rows (~15 MB with the key) a year; dashboard queries ask for one
-- symbol over a date range (the primary key serves them with pruning), and cross-sectional "all
-- symbols on day D" queries scan a single small partition.

CREATE TABLE IF NOT EXISTS prices_daily (
    symbol     text             NOT NULL,
    date       date             NOT NULL,
    open       double precision NOT NULL,
    high       double precision NOT NULL,
    low        double precision NOT NULL,
    close      double precision NOT NULL,
    adj_close  double precision,
    volume     bigint           NOT NULL CHECK (volume >= 0),
    vwap       double precision,
    PRIMARY KEY (symbol, date),
    CHECK (high >= low)
) PARTITION BY RANGE (date);

CREATE OR REPLACE FUNCTION ensure_price_partitions(first_day date, last_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    year_no integer := extract(year FROM first_day)::integer;
    created integer := 0;
    name    text;
BEGIN
    IF first_day IS NULL OR last_day IS NULL OR first_day > last_day THEN
        RETURN 0;
    END IF;
    WHILE year_no <= extract(year FROM last_day)::integer LOOP
        name := format('prices_daily_y%s', year_no);
        IF to_regclass(name) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtextextended('mycfa:partitions:prices_daily', 0));
            IF to_regclass(name) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF prices_daily FOR VALUES FROM (%L) TO (%L)',
                               name, make_date(year_no, 1, 1), make_date(year_no + 1, 1, 1));
                created := created + 1;
            END IF;
        END IF;
        year_no := year_no + 1;
    END LOOP;
    RETURN created;
END
$$;
