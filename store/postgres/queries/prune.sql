-- name: PruneTokens
-- A token ends when it is revoked or when it expires, whichever is first;
-- each half takes its own index.
DELETE FROM tokens WHERE id IN (
    (SELECT id FROM tokens WHERE revoked_at < $1 LIMIT $2)
    UNION
    (SELECT id FROM tokens WHERE expires_at < $1 LIMIT $2));

-- name: PruneScriptRuns
DELETE FROM script_runs WHERE id IN (SELECT id FROM script_runs WHERE done_at < $1 LIMIT $2);

-- name: PruneMail
DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE sent_at < $1 LIMIT $2);

-- name: PruneReminders
DELETE FROM reminders WHERE id IN (SELECT id FROM reminders WHERE deleted_at < $1 LIMIT $2);

-- name: PruneJWTs
DELETE FROM ended_jwts WHERE id IN (SELECT id FROM ended_jwts WHERE expires_at < $1 LIMIT $2);
