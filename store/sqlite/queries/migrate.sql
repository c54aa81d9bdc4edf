-- name: MigrateInit
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT;

-- name: MigrateLock
-- Each migration runs in a BEGIN IMMEDIATE transaction that holds the
-- database; nothing more is needed.
SELECT 1;

-- name: MigrateUnlock
SELECT 1;

-- name: MigrateApplied
SELECT count(*) FROM schema_migrations WHERE version = ?1;

-- name: MigrateRecord
INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3);
