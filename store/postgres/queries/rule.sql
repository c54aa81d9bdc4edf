-- name: RuleList
SELECT role_id, resource, operation, access FROM rules WHERE role_id = $1 ORDER BY resource, operation;

-- name: RuleUpsert
INSERT INTO rules (role_id, resource, operation, access) VALUES ($1, $2, $3, $4)
ON CONFLICT (role_id, resource, operation) DO UPDATE SET access = excluded.access;

-- name: RuleDeleteOne
DELETE FROM rules WHERE role_id = $1 AND resource = $2 AND operation = $3;

-- name: RuleDeleteAll
DELETE FROM rules WHERE role_id = $1;

-- name: RulesFor
-- One query for every rule that applies to a user: those of the live roles
-- the user belongs to.
SELECT r.role_id, r.resource, r.operation, r.access
FROM memberships m
JOIN groups g ON g.id = m.group_id AND g.kind = 'role' AND g.deleted_at IS NULL AND g.archived_at IS NULL
JOIN rules r ON r.role_id = g.id
WHERE m.user_id = $1;

-- name: RulesKept
-- The rules of every role the user belongs to, archived and deleted ones
-- too, which unarchiving or restoring them switches back on.
SELECT r.role_id, r.resource, r.operation, r.access
FROM memberships m
JOIN groups g ON g.id = m.group_id AND g.kind = 'role'
JOIN rules r ON r.role_id = g.id
WHERE m.user_id = $1;
