-- name: ScriptInsert
INSERT INTO scripts (name, kind, source, triggers, bundle, enabled, compile_error, directory, version, created_by,
                     created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING id;

-- name: ScriptByName
SELECT {{script_columns}} FROM scripts WHERE name = $1;

-- name: ScriptByNameForUpdate
SELECT {{script_columns}} FROM scripts WHERE name = $1 FOR UPDATE;

-- name: ScriptWrite
UPDATE scripts SET source = $1, triggers = $2, bundle = $3, enabled = $4, compile_error = $5,
    version = $6, updated_at = $7
WHERE id = $8;

-- name: ScriptDelete
DELETE FROM scripts WHERE name = $1;

-- name: ScriptRunInsert
INSERT INTO script_runs (script_id, event, resource, subject, actor_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

-- name: ScriptRunByID
SELECT r.id, r.script_id, s.name, r.event, r.resource, r.subject, r.actor_id, r.outcome, r.log, r.created_at, r.done_at
FROM script_runs r JOIN scripts s ON s.id = r.script_id WHERE r.id = $1;

-- name: ScriptRunsClaimed
SELECT r.id, r.script_id, s.name, r.event, r.resource, r.subject, r.actor_id, r.outcome, r.log, r.created_at, r.done_at
FROM script_runs r JOIN scripts s ON s.id = r.script_id
WHERE r.claim = $1 AND r.done_at IS NULL ORDER BY r.id;

-- name: ScriptRunDone
UPDATE script_runs SET done_at = $1, outcome = $2, log = $3, lease_until = NULL, claim = ''
WHERE id = $4 AND claim = $5 AND claim <> '' AND done_at IS NULL;

-- name: ScriptRunClaim
-- Replicas claim disjoint rows: SKIP LOCKED passes over rows another
-- sender is claiming, and the lease keeps them from being due again.
UPDATE script_runs SET lease_until = $2, claim = $3
WHERE id IN (SELECT id FROM script_runs
             WHERE done_at IS NULL AND (lease_until IS NULL OR lease_until <= $1)
             ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
RETURNING id;
