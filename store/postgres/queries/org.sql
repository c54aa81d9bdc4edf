-- name: OrgInsert
INSERT INTO organisations (handle, handle_key, name, created_at, updated_at, archived_at, deleted_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id;

-- name: OrgByID
SELECT {{org_columns}} FROM organisations WHERE id = $1;

-- name: OrgByIDForUpdate
SELECT {{org_columns}} FROM organisations WHERE id = $1 FOR UPDATE;

-- name: OrgByIDForShare
-- Held against a change of the row (its deletion) until the transaction
-- ends; other holders share it.
SELECT {{org_columns}} FROM organisations WHERE id = $1 FOR SHARE;

-- name: OrgByHandle
SELECT {{org_columns}} FROM organisations WHERE handle_key = $1 AND deleted_at IS NULL;

-- name: OrgWrite
UPDATE organisations SET handle = $1, handle_key = $2, name = $3, updated_at = $4, archived_at = $5, deleted_at = $6
WHERE id = $7;
