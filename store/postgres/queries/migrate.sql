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

-- name: RekeyCandidates
-- The addresses migrations 4 and 27 may re-key: those with a character beyond ASCII.
SELECT false, id, id, email, email_key FROM users WHERE email_key IS NOT NULL AND octet_length(email) <> char_length(email)
UNION ALL
SELECT true, id, user_id, email, email_key FROM user_emails WHERE octet_length(email) <> char_length(email);

-- name: RekeyTaken
SELECT EXISTS (SELECT 1 FROM email_claims WHERE email_key = $1 AND user_id <> $2)
    OR EXISTS (SELECT 1 FROM users WHERE email_key = $1 AND deleted_at IS NULL AND id <> $2)
    OR EXISTS (SELECT 1 FROM user_emails WHERE email_key = $1 AND user_id = $2);

-- name: RekeyUser
UPDATE users SET email_key = $1 WHERE id = $2;

-- name: RekeyEmail
UPDATE user_emails SET email_key = $1 WHERE id = $2;

-- name: RekeyClaimMove
-- A re-keyed secondary address gives up its old claim unless the user
-- still holds that key otherwise; RekeyClaimAdd makes the new claim.
DELETE FROM email_claims WHERE email_key = $1 AND user_id = $2
    AND NOT EXISTS (SELECT 1 FROM users WHERE id = $2 AND email_key = $1)
    AND NOT EXISTS (SELECT 1 FROM user_emails WHERE user_id = $2 AND email_key = $1 AND confirmed_at IS NOT NULL);

-- name: RekeyClaimAdd
INSERT INTO email_claims (email_key, user_id)
SELECT e.email_key, e.user_id FROM user_emails e JOIN users u ON u.id = e.user_id
WHERE e.id = $1 AND e.confirmed_at IS NOT NULL AND u.deleted_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM email_claims c WHERE c.email_key = e.email_key AND c.user_id = e.user_id);

-- name: MigrateTableExists
SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations';

-- name: MigrateList
SELECT version, name FROM schema_migrations ORDER BY version;
