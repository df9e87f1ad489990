-- Logging out ends the session on the server: the session's id (a random value in the signed cookie)
-- is listed here and the dashboard refuses it from the next request on, while the account's other
-- sessions stay (that is "log out everywhere", 095). The dashboard's reader checks the list with the
-- account on every request; only `dashboard_logout_session` (as mycfa_audit) adds to it. An id is
-- kept until its session could no longer be valid anyway (the absolute lifetime), then dropped.
CREATE TABLE dashboard_revoked_sessions (
    session_id  text        PRIMARY KEY CHECK (session_id ~ '^[A-Za-z0-9_-]{16,64}$'),
    username    text        NOT NULL,
    revoked_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
REVOKE ALL ON dashboard_revoked_sessions FROM PUBLIC;
GRANT SELECT ON dashboard_revoked_sessions TO mycfa_reader;

CREATE FUNCTION dashboard_logout_session(p_username text, p_session_id text, p_lifetime_s double precision)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    DELETE FROM dashboard_revoked_sessions WHERE expires_at < now();
    INSERT INTO dashboard_revoked_sessions (session_id, username, expires_at)
    VALUES (p_session_id, p_username, now() + make_interval(secs => least(greatest(p_lifetime_s, 0), 86400)))
    ON CONFLICT (session_id) DO NOTHING;
$$;
REVOKE EXECUTE ON FUNCTION dashboard_logout_session(text, text, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dashboard_logout_session(text, text, double precision) TO mycfa_audit;
