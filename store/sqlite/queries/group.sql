-- name: GroupInsert
INSERT INTO groups (kind, handle, handle_key, name, description, logo, organisation_id, created_at,
    updated_at, archived_at, deleted_at, version)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
RETURNING id;

-- name: GroupByID
SELECT {{group_columns}} FROM groups WHERE id = ?1;

-- name: GroupByIDForUpdate
-- SQLite has one writer: the transaction holds the database, not a row.
SELECT {{group_columns}} FROM groups WHERE id = ?1;

-- name: GroupByHandle
SELECT {{group_columns}} FROM groups WHERE kind = ?1 AND handle_key = ?2 AND deleted_at IS NULL;

-- name: GroupHandleLock

-- name: GroupWrite
UPDATE groups SET kind = ?1, handle = ?2, handle_key = ?3, name = ?4, description = ?5, logo = ?6,
    organisation_id = ?7, updated_at = ?8, archived_at = ?9, deleted_at = ?10, version = ?11
WHERE id = ?12;

-- name: GroupsDeletedBefore
SELECT id FROM groups WHERE kind = ?1 AND deleted_at < ?2 ORDER BY deleted_at, id LIMIT ?3;

-- name: GroupPurge
DELETE FROM groups WHERE id = ?1;

-- name: GroupMakerSet
UPDATE groups SET created_by = ?2 WHERE id = ?1;

-- name: DeletedTeamsMadeBy
SELECT count(*) FROM groups WHERE created_by = ?1 AND deleted_at IS NOT NULL AND kind = 'team';
