-- The audit trail, append-only for every application role, and tamper-evident.
--
-- audit.events is owned by mycfa_audit_owner, which no program logs in as: once this file has run,
-- `mycfa` (the engine and `migrate`) can neither alter, disable nor drop it, and it lives outside the
-- `public` schema that `mycfa` owns (a schema's owner may drop any table in it). The database sets
-- each row's time, position and inserting role, and chains it to the previous row by a SHA-256 hash,
-- so a row deleted or altered by anyone who could (a superuser) breaks the chain where it happened:
-- `mycfa-dashboard audit verify` walks it. mycfa_audit (the dashboard) and mycfa_user_admin (each
-- operator's own login, for `mycfa-dashboard users`) may INSERT the event's own columns and nothing
-- else; mycfa_audit_reader may read. public.audit_events (095) stays for the previous release, which
-- still inserts into it during a blue/green switch: its rows are forwarded into the chain.

DO $$
DECLARE
    name_ text;
BEGIN
    FOREACH name_ IN ARRAY ARRAY['mycfa_audit_owner', 'mycfa_user_admin', 'mycfa_audit_reader'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name_) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', name_);
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role "%" does not exist and % may not create it: run deploy/sql/db-bootstrap.sql as the master user, then migrate again', name_, current_user;
            END;
        END IF;
    END LOOP;
    IF to_regprocedure('public.mycfa_audit_handover()') IS NULL THEN
        RAISE EXCEPTION 'public.mycfa_audit_handover() is missing: run deploy/sql/db-bootstrap.sql as the master user, then migrate again';
    END IF;
END
$$;

CREATE SCHEMA audit;
REVOKE ALL ON SCHEMA audit FROM PUBLIC;

CREATE TABLE audit.chain_head (
    id    boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq   bigint  NOT NULL,
    hash  bytea   NOT NULL
);
INSERT INTO audit.chain_head (seq, hash) VALUES (0, decode(repeat('00', 32), 'hex'));

CREATE TABLE audit.events (
    seq          bigint      PRIMARY KEY,
    at           timestamptz NOT NULL,
    kind         text        NOT NULL CHECK (kind ~ '^[a-z_]{1,32}$'),
    outcome      text        NOT NULL CHECK (length(outcome) <= 64),
    username     text        CHECK (length(username) <= 64),
    role         text        CHECK (length(role) <= 32),
    client_addr  inet,
    request_id   text        CHECK (length(request_id) <= 64),
    detail       jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (octet_length(detail::text) <= 16384),
    inserted_by  text        NOT NULL,
    prev_hash    bytea       NOT NULL,
    hash         bytea       NOT NULL
);
CREATE INDEX audit_events_at ON audit.events (at);
CREATE INDEX audit_events_user_at ON audit.events (username, at);

-- What a row's hash covers: each field as <length>:<text>, '-' for NULL, in column order.
-- `mycfa-dashboard audit verify` rebuilds the same text from the stored values on its own.
CREATE FUNCTION audit.event_message(e audit.events) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT string_agg(coalesce(length(v)::text || ':' || v, '-'), '' ORDER BY n)
    FROM unnest(ARRAY[
        e.seq::text, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.kind, e.outcome,
        e.username, e.role, e.client_addr::text, e.request_id, e.detail::text, e.inserted_by
    ]) WITH ORDINALITY AS f(v, n)
$$;

-- Every insert, whoever makes it: the database's clock, the next position, the inserting login, the
-- hash over the previous row's hash and this row. The head row's lock orders concurrent inserts.
CREATE FUNCTION audit.events_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    head_ audit.chain_head;
BEGIN
    SELECT * INTO STRICT head_ FROM audit.chain_head WHERE id FOR UPDATE;
    NEW.seq := head_.seq + 1;
    NEW.at := clock_timestamp();
    NEW.inserted_by := session_user;
    NEW.prev_hash := head_.hash;
    NEW.hash := sha256(head_.hash || convert_to(audit.event_message(NEW), 'UTF8'));
    UPDATE audit.chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id;
    RETURN NEW;
END;
$$;
CREATE TRIGGER events_chain BEFORE INSERT ON audit.events FOR EACH ROW EXECUTE FUNCTION audit.events_chain();

CREATE FUNCTION audit.append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = '42501';
END;
$$;
CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON audit.events
    FOR EACH ROW EXECUTE FUNCTION audit.append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON audit.events
    FOR EACH STATEMENT EXECUTE FUNCTION audit.append_only();
CREATE TRIGGER chain_head_no_truncate BEFORE TRUNCATE ON audit.chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit.append_only();

REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA audit FROM PUBLIC;
GRANT USAGE ON SCHEMA audit TO mycfa_audit, mycfa_user_admin, mycfa_audit_reader;
GRANT INSERT (kind, outcome, username, role, client_addr, request_id, detail) ON audit.events
    TO mycfa_audit, mycfa_user_admin;
GRANT SELECT ON audit.events, audit.chain_head TO mycfa_audit_reader;

-- The trail so far, into the chain (its first rows), oldest first, each with its former id and time.
INSERT INTO audit.events (kind, outcome, username, role, client_addr, request_id, detail)
SELECT kind, outcome, username, role, client_addr, request_id,
       detail || jsonb_build_object('legacy_event_id', event_id, 'legacy_at', at)
FROM public.audit_events ORDER BY event_id;

-- The previous release's inserts reach the chain too (until 095's table is dropped a release later).
CREATE FUNCTION public.audit_events_forward() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO audit.events (kind, outcome, username, role, client_addr, request_id, detail)
    VALUES (NEW.kind, NEW.outcome, NEW.username, NEW.role, NEW.client_addr, NEW.request_id,
            NEW.detail || jsonb_build_object('legacy_event_id', NEW.event_id, 'legacy_at', NEW.at));
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_events_forward AFTER INSERT ON public.audit_events
    FOR EACH ROW EXECUTE FUNCTION public.audit_events_forward();

-- User administration by each operator's own login (`mycfa-dashboard users`), never the owner's.
GRANT SELECT, INSERT, UPDATE, DELETE ON dashboard_users TO mycfa_user_admin;

SELECT public.mycfa_audit_handover();
DO $$
BEGIN
    IF (SELECT nspowner FROM pg_namespace WHERE nspname = 'audit') <> 'mycfa_audit_owner'::regrole
       OR (SELECT c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'audit' AND c.relname = 'events') <> 'mycfa_audit_owner'::regrole THEN
        RAISE EXCEPTION 'the audit schema was not handed over to mycfa_audit_owner';
    END IF;
END
$$;
