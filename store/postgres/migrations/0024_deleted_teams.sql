-- Housekeeping deletes for good the teams deleted long enough ago
-- (Store.GroupsDeletedBefore, GroupPurge): a deleted team holds its handle
-- and its rows until then. This finds them without reading the table.
CREATE INDEX groups_deleted ON groups (deleted_at) WHERE deleted_at IS NOT NULL;
