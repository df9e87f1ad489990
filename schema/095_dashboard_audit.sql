-- The dashboard's audit trail, its shared login throttle and revocable sessions.
--
-- audit_events is append-only: the dashboard writes it as `mycfa_audit`, which may INSERT and
-- nothing else (no SELECT, UPDATE or DELETE); a trigger refuses UPDATE, DELETE and TRUNCATE even
-- for the owner. `mycfa_reader` gets nothing on it (the owner's default privileges may have granted
-- SELECT on new tables: revoked here). Auditors read it as the owner.
-- `mycfa_audit` also runs three SECURITY DEFINER functions, each touching only its own rows:
-- the login throttle (begin/succeeded) and "log out everywhere".

-- Like 000 for the reader: the audit role must exist before the grants below name it. Production,
-- compose and scripts/devdb.py create it with a password first; elsewhere `migrate` makes it a
-- NOLOGIN role when it may create roles, or stops with one sentence saying what to run.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mycfa_audit') THEN
        BEGIN
            CREATE ROLE mycfa_audit NOLOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'role "mycfa_audit" does not exist and % may not create it: as a superuser run CREATE ROLE mycfa_audit NOLOGIN; (or deploy/sql/db-bootstrap.sql), then migrate again', current_user;
        END;
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS audit_events (
    event_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    kind         text        NOT NULL
                 CHECK (kind IN ('login', 'logout', 'page_view', 'export', 'denied', 'user_admin', 'session')),
    outcome      text        NOT NULL,
    username     text,
    role         text,
    client_addr  inet,
    request_id   text,
    detail       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    stored_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
CREATE INDEX IF NOT EXISTS audit_events_user_at ON audit_events (username, at);

CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP USING ERRCODE = '42501';
END;
$$;
DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events;
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

REVOKE ALL ON audit_events FROM PUBLIC, mycfa_reader, mycfa_audit;
GRANT INSERT ON audit_events TO mycfa_audit;

-- Login throttle: failures per (account, client address) and per client address, shared by every
-- dashboard task. Growing delays, not a lock: an address that failed too often waits
-- base * 2^(failures - free) seconds (capped at the window) between attempts; the account's owner
-- from another address is not slowed by someone else's failures.
CREATE TABLE IF NOT EXISTS login_throttle (
    scope            text             NOT NULL CHECK (scope IN ('account', 'address')),
    key              text             NOT NULL,
    failures         integer          NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at  timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
REVOKE ALL ON login_throttle FROM PUBLIC, mycfa_reader, mycfa_audit;

-- Reserve one attempt: returns 0 and counts the attempt as a failure (undone by
-- login_attempt_succeeded), or the seconds to wait (nothing counted). Both rows are locked in a fixed
-- order, so concurrent attempts from every task serialise and the count cannot be overrun.
CREATE OR REPLACE FUNCTION login_attempt_begin(
    p_username text, p_addr text, p_free integer, p_addr_free integer,
    p_base_s double precision, p_window_s double precision
) RETURNS double precision
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    row_ record;
    free_ integer;
    count_ integer;
    wait_ double precision := 0;
    window_ interval := make_interval(secs => p_window_s);
BEGIN
    INSERT INTO login_throttle (scope, key, failures, last_failure_at)
    VALUES ('account', p_username || ' ' || p_addr, 0, now()), ('address', p_addr, 0, now())
    ON CONFLICT (scope, key) DO NOTHING;
    FOR row_ IN
        SELECT scope, failures, last_failure_at FROM login_throttle
        WHERE (scope, key) IN (('account', p_username || ' ' || p_addr), ('address', p_addr))
        ORDER BY scope FOR UPDATE
    LOOP
        count_ := CASE WHEN row_.last_failure_at < now() - window_ THEN 0 ELSE row_.failures END;
        free_ := CASE WHEN row_.scope = 'account' THEN p_free ELSE p_addr_free END;
        IF count_ >= free_ THEN
            wait_ := greatest(wait_, least(p_base_s * 2 ^ (count_ - free_), p_window_s)
                     - extract(epoch FROM now() - row_.last_failure_at));
        END IF;
    END LOOP;
    IF wait_ > 0 THEN
        RETURN wait_;
    END IF;
    UPDATE login_throttle
    SET failures = CASE WHEN last_failure_at < now() - window_ THEN 1 ELSE failures + 1 END,
        last_failure_at = now()
    WHERE (scope, key) IN (('account', p_username || ' ' || p_addr), ('address', p_addr));
    IF random() < 0.01 THEN  -- now and then, forget quiet keys
        DELETE FROM login_throttle WHERE last_failure_at < now() - 2 * window_;
    END IF;
    RETURN 0;
END;
$$;

-- The password was right: forget this address's failures on this account, and un-count the attempt
-- for the address.
CREATE OR REPLACE FUNCTION login_attempt_succeeded(p_username text, p_addr text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    DELETE FROM login_throttle WHERE scope = 'account' AND key = p_username || ' ' || p_addr;
    UPDATE login_throttle SET failures = greatest(failures - 1, 0) WHERE scope = 'address' AND key = p_addr;
$$;

-- Revocable sessions: a cookie carries the version it was issued under; the dashboard refuses an
-- older one. A password or role change bumps it (trigger, whoever writes the row); so does
-- "log out everywhere". Removing the user refuses every cookie anyway.
ALTER TABLE dashboard_users ADD COLUMN IF NOT EXISTS session_version integer NOT NULL DEFAULT 1;

CREATE OR REPLACE FUNCTION dashboard_users_bump_session() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.password_hash IS DISTINCT FROM OLD.password_hash OR NEW.role IS DISTINCT FROM OLD.role THEN
        NEW.session_version := OLD.session_version + 1;
    END IF;
    RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS dashboard_users_session ON dashboard_users;
CREATE TRIGGER dashboard_users_session BEFORE UPDATE ON dashboard_users
    FOR EACH ROW EXECUTE FUNCTION dashboard_users_bump_session();

CREATE OR REPLACE FUNCTION dashboard_logout_everywhere(p_username text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    UPDATE dashboard_users SET session_version = session_version + 1, updated_at = now()
    WHERE username = p_username;
$$;

REVOKE EXECUTE ON FUNCTION login_attempt_begin(text, text, integer, integer, double precision, double precision),
    login_attempt_succeeded(text, text), dashboard_logout_everywhere(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION login_attempt_begin(text, text, integer, integer, double precision, double precision),
    login_attempt_succeeded(text, text), dashboard_logout_everywhere(text) TO mycfa_audit;
