-- FMP plans as they really are (issue 31): what `mycfa-engine probe` found the key's plan allows,
-- the requests spent per UTC day (the free plan allows 250), and what each run's plan withheld.

CREATE TABLE IF NOT EXISTS fmp_probes (
    probe_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    probed_at     timestamptz NOT NULL DEFAULT now(),
    plan          text        NOT NULL,  -- free | starter | premium | ultimate, as the checks point
    -- the checks (name, allowed, status, FMP's words) and what a run may ask; never the key
    entitlements  jsonb       NOT NULL,
    requests      integer     NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS fmp_probes_latest_idx ON fmp_probes (probed_at DESC);

-- FMP requests per UTC day, added to by every command that talks to FMP (run, plan, probe), so a
-- run knows what was spent today before it started.
CREATE TABLE IF NOT EXISTS fmp_usage (
    day           date        PRIMARY KEY,
    requests      bigint      NOT NULL DEFAULT 0 CHECK (requests >= 0),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- What the plan made a run leave out or change, said once per run: the universe's source, the
-- datasets withheld and FMP's words for each (`status` prints it).
ALTER TABLE runs ADD COLUMN IF NOT EXISTS notes jsonb NOT NULL DEFAULT '{}'::jsonb;

GRANT SELECT ON fmp_probes, fmp_usage TO mycfa_reader;
