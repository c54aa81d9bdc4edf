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

-- name: RekeyCandidates
-- The addresses migrations 4 and 27 may re-key: those with a character beyond ASCII.
SELECT 0, id, id, email, email_key FROM users WHERE email_key IS NOT NULL AND length(CAST(email AS BLOB)) <> length(email)
UNION ALL
SELECT 1, id, user_id, email, email_key FROM user_emails WHERE length(CAST(email AS BLOB)) <> length(email);

-- name: RekeyTaken
SELECT EXISTS (SELECT 1 FROM email_claims WHERE email_key = ?1 AND user_id <> ?2)
    OR EXISTS (SELECT 1 FROM users WHERE email_key = ?1 AND deleted_at IS NULL AND id <> ?2)
    OR EXISTS (SELECT 1 FROM user_emails WHERE email_key = ?1 AND user_id = ?2);

-- name: RekeyUser
UPDATE users SET email_key = ?1 WHERE id = ?2;

-- name: RekeyEmail
UPDATE user_emails SET email_key = ?1 WHERE id = ?2;

-- name: RekeyClaimMove
-- A re-keyed secondary address gives up its old claim unless the user
-- still holds that key otherwise; RekeyClaimAdd makes the new claim.
DELETE FROM email_claims WHERE email_key = ?1 AND user_id = ?2
    AND NOT EXISTS (SELECT 1 FROM users WHERE id = ?2 AND email_key = ?1)
    AND NOT EXISTS (SELECT 1 FROM user_emails WHERE user_id = ?2 AND email_key = ?1 AND confirmed_at IS NOT NULL);

-- name: RekeyClaimAdd
INSERT INTO email_claims (email_key, user_id)
SELECT e.email_key, e.user_id FROM user_emails e JOIN users u ON u.id = e.user_id
WHERE e.id = ?1 AND e.confirmed_at IS NOT NULL AND u.deleted_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM email_claims c WHERE c.email_key = e.email_key AND c.user_id = e.user_id);

-- name: MigrateTableExists
SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations';

-- name: MigrateList
SELECT version, name FROM schema_migrations ORDER BY version;

-- name: Backup
-- A consistent copy of the whole database, taken inside one read
-- transaction while writers go on: SQLite's VACUUM INTO.
VACUUM INTO ?1;
