-- The instance's settings: named JSON values administrators change at run
-- time (per-user settings are user_settings). The value is kept as the
-- compact text the core checked (jsonb would reorder its keys). Who set it
-- last outlives that user's purge as NULL.
CREATE TABLE instance_settings (
    name       text        PRIMARY KEY,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by bigint REFERENCES users (id) ON DELETE SET NULL
);
