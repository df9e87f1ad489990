-- The login throttle per account, across addresses (review M5): guesses spread over many addresses
-- (or one subscriber's /64, counted as one address by the dashboard) slow down once the account has
-- failed `p_account_free` times within `p_account_window_s`, with the same doubling delays, capped at
-- that window. The owner is not locked out: from an address that logged in to the account within
-- `p_known_days` the account-wide count does not apply (the per address counts of 095 still do).
-- 095's two-scope function stays for the previous release during a switch.
CREATE TABLE login_account_throttle (
    username         text        PRIMARY KEY,
    failures         integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at  timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON login_account_throttle FROM PUBLIC, mycfa_reader, mycfa_audit;

CREATE TABLE login_known_addresses (
    username         text        NOT NULL,
    addr             text        NOT NULL,
    last_success_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (username, addr)
);
REVOKE ALL ON login_known_addresses FROM PUBLIC, mycfa_reader, mycfa_audit;

-- 095's rule for (account, address) and address, then the account-wide one unless the address is known.
CREATE FUNCTION login_attempt_begin(
    p_username text, p_addr text, p_free integer, p_addr_free integer, p_base_s double precision,
    p_window_s double precision, p_account_free integer, p_account_window_s double precision,
    p_known_days integer
) RETURNS double precision
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    wait_ double precision;
    row_ login_account_throttle;
    count_ integer;
    window_ interval := make_interval(secs => p_account_window_s);
BEGIN
    IF EXISTS (SELECT FROM login_known_addresses WHERE username = p_username AND addr = p_addr
               AND last_success_at > now() - make_interval(days => p_known_days)) THEN
        RETURN login_attempt_begin(p_username, p_addr, p_free, p_addr_free, p_base_s, p_window_s);
    END IF;
    INSERT INTO login_account_throttle (username, failures, last_failure_at) VALUES (p_username, 0, now())
    ON CONFLICT (username) DO NOTHING;
    SELECT * INTO row_ FROM login_account_throttle WHERE username = p_username FOR UPDATE;
    count_ := CASE WHEN row_.last_failure_at < now() - window_ THEN 0 ELSE row_.failures END;
    IF count_ >= p_account_free THEN
        wait_ := least(p_base_s * 2 ^ (count_ - p_account_free), p_account_window_s)
                 - extract(epoch FROM now() - row_.last_failure_at);
        IF wait_ > 0 THEN
            RETURN wait_;
        END IF;
    END IF;
    wait_ := login_attempt_begin(p_username, p_addr, p_free, p_addr_free, p_base_s, p_window_s);
    IF wait_ = 0 THEN
        UPDATE login_account_throttle
        SET failures = count_ + 1, last_failure_at = now() WHERE username = p_username;
    END IF;
    RETURN wait_;
END;
$$;

-- The password was right: 095's bookkeeping, the attempt taken back from the account-wide count, and
-- the address remembered as the owner's.
CREATE FUNCTION login_attempt_succeeded(p_username text, p_addr text, p_known_days integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM login_attempt_succeeded(p_username, p_addr);
    UPDATE login_account_throttle SET failures = greatest(failures - 1, 0) WHERE username = p_username;
    INSERT INTO login_known_addresses (username, addr, last_success_at) VALUES (p_username, p_addr, now())
    ON CONFLICT (username, addr) DO UPDATE SET last_success_at = now();
    IF random() < 0.01 THEN  -- now and then, forget addresses not seen for long
        DELETE FROM login_known_addresses WHERE last_success_at < now() - make_interval(days => p_known_days);
    END IF;
END;
$$;

REVOKE EXECUTE ON FUNCTION
    login_attempt_begin(text, text, integer, integer, double precision, double precision, integer, double precision, integer),
    login_attempt_succeeded(text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    login_attempt_begin(text, text, integer, integer, double precision, double precision, integer, double precision, integer),
    login_attempt_succeeded(text, text, integer) TO mycfa_audit;
