-- Dashboard users: who may log in, with an argon2 password hash and one role.
-- Written only by `mycfa-dashboard users` through the owner role; the dashboard's reader role
-- needs SELECT for the login check and nothing more.

CREATE TABLE IF NOT EXISTS dashboard_users (
    username       text        PRIMARY KEY CHECK (username ~ '^[a-z0-9_.@-]{3,64}$'),
    password_hash  text        NOT NULL CHECK (password_hash LIKE '$argon2%'),
    role           text        NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

REVOKE ALL ON dashboard_users FROM PUBLIC;
GRANT SELECT ON dashboard_users TO mycfa_reader;
