-- The instance's settings: named JSON values administrators change at run
-- time (per-user settings are user_settings). Who set one last outlives
-- that user's purge as NULL.
CREATE TABLE instance_settings (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users (id) ON DELETE SET NULL
) STRICT;
