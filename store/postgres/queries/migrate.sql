-- name: MigrateInit
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL
);

-- name: MigrateLock
-- Replicas starting together take turns: a session lock, held on one
-- connection until MigrateUnlock.
SELECT pg_advisory_lock(7340041);

-- name: MigrateUnlock
SELECT pg_advisory_unlock(7340041);

-- name: MigrateApplied
SELECT count(*) FROM schema_migrations WHERE version = $1;

-- name: MigrateRecord
INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3);
